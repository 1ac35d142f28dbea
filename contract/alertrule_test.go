package contract

import (
	"strings"
	"testing"

	"github.com/openbank/bank/topology/iban"
)

var ann = iban.Open("0000000001")

func TestValidate(t *testing.T) {
	cases := []struct {
		name string
		rule AlertRule
		want string // part of the error; "" for valid
	}{
		{"balance rule", AlertRule{IBAN: ann, Kind: BalanceBelow, Amount: 0}, ""},
		{"word rule with a webhook", AlertRule{IBAN: ann, Kind: DescriptionContains, Word: "casino", Webhook: "https://example.org/hook"}, ""},
		{"bad IBAN", AlertRule{IBAN: "NL00", Kind: BalanceBelow}, "not a valid IBAN"},
		{"negative amount", AlertRule{IBAN: ann, Kind: IncomingAbove, Amount: -1}, "may not be negative"},
		{"empty word", AlertRule{IBAN: ann, Kind: DescriptionContains, Word: "  "}, "word must be 1 to 100"},
		{"long word", AlertRule{IBAN: ann, Kind: DescriptionContains, Word: strings.Repeat("x", 101)}, "word must be 1 to 100"},
		{"unknown kind", AlertRule{IBAN: ann, Kind: "SOMETHING"}, `kind "SOMETHING" is not one of`},
		{"webhook not http", AlertRule{IBAN: ann, Kind: BalanceBelow, Webhook: "ftp://example.org"}, "webhook must be an http or https URL"},
		{"webhook without host", AlertRule{IBAN: ann, Kind: BalanceBelow, Webhook: "https:///x"}, "webhook must be an http or https URL"},
		{"webhook at the length limit", AlertRule{IBAN: ann, Kind: BalanceBelow, Webhook: "https://example.org/" + strings.Repeat("x", MaxWebhookLength-20)}, ""},
		{"webhook too long", AlertRule{IBAN: ann, Kind: BalanceBelow, Webhook: "https://example.org/" + strings.Repeat("x", MaxWebhookLength-19)}, "webhook may be at most 2048 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rule.Validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
