// Package iban validates IBANs (ISO 13616, mod-97 check digits) and issues
// the IBANs of this bank: NL, two check digits, OPEN, ten digits.
package iban

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
)

// Company is the bank's own account, opened at start with the initial cash.
const Company = "NL66OPEN0000000000"

const (
	country  = "NL"
	bankCode = "OPEN"
	// openLength is the length of an IBAN of this bank.
	openLength = 18
)

// Valid reports whether s is a well-formed IBAN of any bank: two letters,
// two check digits, then up to 30 letters or digits (no spaces), with
// correct mod-97 check digits.
func Valid(s string) bool {
	if len(s) < 15 || len(s) > 34 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case i < 2 && (c < 'A' || c > 'Z'):
			return false
		case i >= 2 && i < 4 && (c < '0' || c > '9'):
			return false
		case i >= 4 && !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z'):
			return false
		}
	}
	// Check digits 00, 01 and 99 never come out of the computation (which
	// gives 02 to 98), though 00 and 01 pass the mod-97 test where 97 and
	// 98 would: ISO 13616 rejects them.
	if check := s[2:4]; check == "00" || check == "01" || check == "99" {
		return false
	}
	return mod97(s[4:]+s[:4]) == 1
}

// IsOpen reports whether s is a valid IBAN of this bank.
func IsOpen(s string) bool {
	if len(s) != openLength || !strings.HasPrefix(s, country) || s[4:8] != bankCode {
		return false
	}
	for i := 8; i < openLength; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return Valid(s)
}

// New returns a fresh random IBAN of this bank (never Company).
func New() string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(10_000_000_000))
		if err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err))
		}
		if n.Sign() == 0 {
			continue
		}
		return Open(fmt.Sprintf("%010d", n))
	}
}

// Open returns the IBAN of this bank with the given ten-digit account
// number, with its check digits computed.
func Open(account string) string {
	bban := bankCode + account
	check := 98 - mod97(bban+country+"00")
	return fmt.Sprintf("%s%02d%s", country, check, bban)
}

// mod97 computes the remainder by 97 of the number formed by replacing each
// letter of s with two digits (A=10 … Z=35), piecewise so it never
// overflows.
func mod97(s string) int {
	r := 0
	for i := range len(s) {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			v := int(c-'A') + 10
			r = (r*100 + v) % 97
		} else {
			r = (r*10 + int(c-'0')) % 97
		}
	}
	return r
}
