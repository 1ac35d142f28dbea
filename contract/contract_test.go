package contract

import (
	"math"
	"strings"
	"testing"
)

func TestUsernamesHaveOneForm(t *testing.T) {
	for in, want := range map[string]string{
		"alice": "alice", "Alice": "alice", " alice ": "alice", "ALICE\t": "alice",
		"Straße": "straße", "e\u0301": "\u00e9", // a combining accent composes
	} {
		if got := NormalizeUsername(in); got != want {
			t.Errorf("NormalizeUsername(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUsernameRules(t *testing.T) {
	for s, ok := range map[string]bool{
		"ann": true, strings.Repeat("a", 64): true, strings.Repeat("é", 64): true,
		"": false, strings.Repeat("a", 65): false, "a\x00b": false, "a\nb": false, "\xff": false,
	} {
		if got := !CheckUsername(s).Failed(); got != ok {
			t.Errorf("CheckUsername(%q) accepted %v, want %v", s, got, ok)
		}
	}
	if IsNormalUsername("Ann") || !IsNormalUsername("ann") {
		t.Error("IsNormalUsername must take only the normal form")
	}
}

func FuzzNormalizeUsername(f *testing.F) {
	for _, s := range []string{"Alice", " ß ", "ǅ", "\u0130", "e\u0301"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeUsername(s)
		if NormalizeUsername(n) != n {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, n, NormalizeUsername(n))
		}
	})
}

func TestAmountLimits(t *testing.T) {
	l := DefaultAmountLimits()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	for amount, ok := range map[int64]bool{
		math.MinInt64: false, -1: false, 0: false, 1: true, DefaultMaxTransfer: true,
		DefaultMaxTransfer + 1: false, math.MaxInt64: false,
	} {
		if got := !l.CheckAmount(amount).Failed(); got != ok {
			t.Errorf("CheckAmount(%d) accepted %v, want %v", amount, got, ok)
		}
	}
	if got := l.CheckAmount(DefaultMaxTransfer + 1); got.Text != "amount may be at most €1.000.000,00 per transfer" || got.Code != "AMOUNT_TOO_LARGE" {
		t.Errorf("reason %q", got)
	}
	for _, bad := range []AmountLimits{{}, {MaxTransfer: 10, MaxDeposit: 11, MaxDepositsPerDay: 20}, {MaxTransfer: 10, MaxDeposit: 5, MaxDepositsPerDay: 4}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestDescriptions(t *testing.T) {
	for s, ok := range map[string]bool{
		"": true, "rent": true, strings.Repeat("€", 140): true,
		strings.Repeat("a", 141): false, "a\nb": false, "\xff": false, strings.Repeat("x", 10<<20): false,
	} {
		if got := !CheckDescription(s).Failed(); got != ok {
			t.Errorf("CheckDescription(%.20q…) accepted %v, want %v", s, got, ok)
		}
	}
}
