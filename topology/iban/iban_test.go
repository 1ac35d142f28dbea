package iban

import "testing"

func TestValidation(t *testing.T) {
	tests := []struct {
		iban       string
		valid, own bool
	}{
		{Company, true, true},
		{"NL91ABNA0417164300", true, false}, // a real Dutch IBAN of another bank
		{"GB82WEST12345698765432", true, false},
		{"DE89370400440532013000", true, false},
		{"NL67OPEN0000000000", false, false}, // wrong check digits
		{"NL00OPEN0044000000", false, false}, // passes mod-97 (00 ≡ 97) but 00 is no check digit
		{"NL97OPEN0044000000", true, true},   // the same account's real check digits
		{"NL66OPEN000000000", false, false},  // too short
		{"NL66OPEN00000000000", false, false},
		{"nl66OPEN0000000000", false, false},
		{"NL66open0000000000", false, false},
		{"NL66OPEN00000000A0", false, false},
		{"NL66 OPEN 0000 0000 00", false, false},
		{"", false, false},
		{"cash", false, false},
		{"NLXXOPEN0000000000", false, false},
		{Open("1234567890"), true, true},
		{Open("0000000001"), true, true},
	}
	for _, tt := range tests {
		t.Run(tt.iban, func(t *testing.T) {
			if got := Valid(tt.iban); got != tt.valid {
				t.Errorf("Valid = %v, want %v", got, tt.valid)
			}
			if got := IsOpen(tt.iban); got != tt.own {
				t.Errorf("IsOpen = %v, want %v", got, tt.own)
			}
		})
	}
}

func TestNewIssuesValidDistinctIBANs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		s := New()
		if !IsOpen(s) || s == Company {
			t.Fatalf("New() = %s", s)
		}
		if seen[s] {
			t.Fatalf("New() repeated %s", s)
		}
		seen[s] = true
	}
}

func TestOpenOfZeroIsTheCompanyAccount(t *testing.T) {
	if got := Open("0000000000"); got != Company {
		t.Fatalf("Open(0) = %s", got)
	}
}

func FuzzValid(f *testing.F) {
	f.Add(Company)
	f.Add("GB82WEST12345698765432")
	f.Add("NL66OPEN00000000A0")
	f.Fuzz(func(t *testing.T, s string) {
		if IsOpen(s) && !Valid(s) {
			t.Fatalf("%q is ours but not valid", s)
		}
		if IsOpen(s) && Open(s[8:]) != s {
			t.Fatalf("%q accepted with check digits other than Open's", s)
		}
	})
}
