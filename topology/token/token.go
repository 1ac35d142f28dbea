// Package token issues the secrets that let a user act on a bank account.
package token

import (
	"crypto/rand"
	"fmt"
)

// Length is the number of digits in a token.
const Length = 20

// New returns Length random decimal digits from crypto/rand.
func New() string {
	var out [Length]byte
	var buf [32]byte
	n := 0
	for n < Length {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		for _, b := range buf {
			// 250 is the largest multiple of 10 below 256: rejecting
			// the rest keeps every digit equally likely.
			if b < 250 && n < Length {
				out[n] = '0' + b%10
				n++
			}
		}
	}
	return string(out[:])
}

// Valid reports whether s has the form of a token.
func Valid(s string) bool {
	if len(s) != Length {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
