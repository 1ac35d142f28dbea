package contract

import (
	"errors"
	"fmt"
	"regexp"
	"testing"
)

// made lists a failure of every code whose sentence is made per failure.
var madeReasons = []Reason{
	AmountTooLargeReason(100), DepositTooLarge(100), DailyDepositLimit(100), InsufficientFunds(-100),
	TransferState("the transfer has not started"), MarkedFailed("operator: stuck"),
	RuleInvalid(errors.New("kind must be one of …")), RuleInvalid(fmt.Errorf("webhooks go to public addresses only: %s", "10.0.0.1 is private")),
	NoAnswer("no answer to CreateUserAccountCommand within 5s"), NoOutcome("no outcome within 5s"),
	KafkaUnavailable("kafka unavailable: no broker"), TooManyDeposits(3), TooManyLogins(3), TooManySignUps(3),
	ModelBehind(12), ModelUnavailable(errors.New("catching up")), QueryUnknown("Nope"),
	QueryTooDeep(10), OneLogInPerRequest(2), ComplexityLimit(500), TooManyAliases(40, 30), ResponseTooLarge(1 << 20),
	TooManySubscriptions("too many subscriptions on this connection: at most 10"), SubscriberTooSlow(256, "alerts"),
	PageSizeInvalid(100), TimeInvalid("from", "yesterday"),
}

func TestCodesAreStableIdentifiers(t *testing.T) {
	shape := regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	texts := map[string]Code{}
	for _, c := range Codes() {
		if !shape.MatchString(string(c)) {
			t.Errorf("code %q: want upper case words joined by _ (a GraphQL enum value)", c)
		}
		if Sentence(c) == "" {
			t.Errorf("code %s has no sentence to document it", c)
		}
		if text := FixedText(c); text != "" {
			if other, dup := texts[text]; dup {
				t.Errorf("codes %s and %s share the sentence %q: a record without a code could not tell them apart", c, other, text)
			}
			texts[text] = c
		}
	}
}

// A record written before codes existed carries only its sentence: every
// sentence we write finds its code again.
func TestReasonOfFindsTheCodeOfEverySentence(t *testing.T) {
	seen := map[Code]bool{UnknownReason: true}
	for _, c := range Codes() {
		if text := FixedText(c); text != "" {
			if got := ReasonOf("", text); got.Code != c {
				t.Errorf("ReasonOf(%q) = %s, want %s", text, got.Code, c)
			}
			seen[c] = true
		}
	}
	for _, r := range madeReasons {
		if !Known(r.Code) {
			t.Errorf("%q has the unknown code %s", r.Text, r.Code)
		}
		if got := ReasonOf("", r.Text); got.Code != r.Code && r.Code != transferState && r.Code != markedFailed && r.Code != RuleInvalidCode && r.Code != queryUnknown && r.Code != tooManyAliases && r.Code != tooManySubscriptions {
			// Those take their sentence from elsewhere: only
			// their code tells them.
			t.Errorf("ReasonOf(%q) = %s, want %s", r.Text, got.Code, r.Code)
		}
		if got := ReasonOf(string(r.Code), r.Text); got != r {
			t.Errorf("ReasonOf with its code = %+v, want %+v", got, r)
		}
		seen[r.Code] = true
	}
	for _, c := range Codes() {
		if !seen[c] {
			t.Errorf("code %s: neither a fixed sentence nor in madeReasons; add it to the test", c)
		}
	}
	if got := ReasonOf("", "something no version of us ever said"); got.Code != UnknownReason {
		t.Errorf("an unknown sentence got the code %s", got.Code)
	}
}

func TestReasonsCompareByCode(t *testing.T) {
	worded := Reason{UserExists.Code, "the user exists (reworded)"}
	if !errors.Is(fmt.Errorf("create: %w", worded), UserExists) {
		t.Error("a reworded reason must still match its code")
	}
	if errors.Is(UserExists, UserUnknown) {
		t.Error("different codes matched")
	}
	if (Reason{}).Failed() || !UserExists.Failed() {
		t.Error("only the zero Reason is no failure")
	}
}
