package contract

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// ReasonUsername is why a username is refused.
const ReasonUsername = "username must be 1 to 64 printable characters"

// NormalizeUsername returns the one form of a username: trimmed, in
// Unicode normal form C and in lower case, so "Alice", "alice " and
// "ALICE" are one user. Every place a username enters the bank goes
// through it. (Full case folding, x/text's cases.Fold, is not idempotent
// for some scripts: a fuzzer found Cherokee flipping between cases.)
func NormalizeUsername(s string) string {
	return norm.NFC.String(strings.ToLower(norm.NFC.String(strings.TrimSpace(s))))
}

// CheckUsername returns why a normalized username is refused (a zero
// Reason when it is not).
func CheckUsername(s string) Reason {
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxUsername {
		return UsernameInvalid
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return UsernameInvalid
		}
	}
	return Reason{}
}

// IsNormalUsername reports whether s is a valid username in its normal
// form: the command handler takes no other.
func IsNormalUsername(s string) bool {
	return !CheckUsername(s).Failed() && NormalizeUsername(s) == s
}
