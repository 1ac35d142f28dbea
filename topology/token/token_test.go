package token

import "testing"

func TestNewTokensAreTwentyDigitsAndDistinct(t *testing.T) {
	seen := map[string]bool{}
	counts := [10]int{}
	for range 2000 {
		s := New()
		if !Valid(s) {
			t.Fatalf("New() = %q", s)
		}
		if seen[s] {
			t.Fatalf("repeated token %s", s)
		}
		seen[s] = true
		for i := range len(s) {
			counts[s[i]-'0']++
		}
	}
	// 40,000 digits: each should appear about 4,000 times.
	for d, c := range counts {
		if c < 3500 || c > 4500 {
			t.Errorf("digit %d appeared %d times in 40,000", d, c)
		}
	}
}

func TestValid(t *testing.T) {
	for s, want := range map[string]bool{
		"01234567890123456789": true, "0123456789012345678": false,
		"0123456789012345678a": false, "": false, "012345678901234567890": false,
	} {
		if Valid(s) != want {
			t.Errorf("Valid(%q) = %v", s, !want)
		}
	}
}
