package projector

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology/iban"
)

func TestAnswerTimeTravelAndTransfers(t *testing.T) {
	m := projection.New()
	acct := iban.Open("0000000001")
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	dep := schemas.NewID()
	events := []schemas.Record{
		&schemas.BankAccountCreatedEvent{IBAN: acct, Username: "ann", Token: "t"},
		&schemas.TransferStartedEvent{ID: dep, From: "cash", To: acct, Amount: 100},
	}
	for i := range 5 {
		id := dep
		if i > 0 {
			id = schemas.NewID() // one credit per transfer: a repeat would not apply
		}
		events = append(events, &schemas.MoneyCreditedEvent{ID: id, IBAN: acct, Amount: int64(100 * (i + 1))})
	}
	for i, e := range events {
		if _, err := m.Apply(e, t0.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		q       *schemas.AccountAsOfQuery
		asOf    int64
		balance int64
		items   int
		reason  contract.Reason
	}{
		{"now", &schemas.AccountAsOfQuery{IBAN: acct, MaxItems: 20}, 5, 1_500, 5, contract.Reason{}},
		{"after transaction 2", &schemas.AccountAsOfQuery{IBAN: acct, AsOfTransactionID: 2, MaxItems: 20}, 2, 300, 2, contract.Reason{}},
		{"after transaction 3, newest two", &schemas.AccountAsOfQuery{IBAN: acct, AsOfTransactionID: 3, MaxItems: 2}, 3, 600, 2, contract.Reason{}},
		{"at a time", &schemas.AccountAsOfQuery{IBAN: acct, AsOfMillis: t0.Add(3*time.Hour + time.Minute).UnixMilli(), MaxItems: 20}, 2, 300, 2, contract.Reason{}},
		{"before everything", &schemas.AccountAsOfQuery{IBAN: acct, AsOfMillis: t0.Add(-time.Hour).UnixMilli(), MaxItems: 20}, 0, 0, 0, contract.Reason{}},
		{"unknown account", &schemas.AccountAsOfQuery{IBAN: iban.Open("0000000002"), MaxItems: 20}, 0, 0, 0, contract.AccountNotFound},
		{"too many items", &schemas.AccountAsOfQuery{IBAN: acct, MaxItems: 5000}, 0, 0, 0, contract.MaxItemsInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Answer(m, tt.q)
			if reason != tt.reason {
				t.Fatalf("reason %q, want %q", reason, tt.reason)
			}
			if reason.Failed() {
				return
			}
			a := got.(AccountAsOf)
			if a.AsOfTransactionID != tt.asOf || a.Balance != tt.balance || len(a.Transactions) != tt.items {
				t.Errorf("got as of %d, balance %d, %d items; want %d, %d, %d", a.AsOfTransactionID, a.Balance, len(a.Transactions), tt.asOf, tt.balance, tt.items)
			}
		})
	}
	tr, reason := Answer(m, &schemas.TransferByIdQuery{TransferID: dep})
	if reason.Failed() || tr.(projection.Transfer).Status != "started" {
		t.Errorf("transfer %+v %q", tr, reason)
	}
	if _, reason := Answer(m, &schemas.TransferByIdQuery{TransferID: schemas.NewID()}); reason != contract.TransferNotFound {
		t.Errorf("unknown transfer: %q", reason)
	}
	if _, reason := Answer(m, &schemas.FindUserQuery{Username: "x"}); reason != contract.UserNotFound {
		t.Errorf("unknown user: %q", reason)
	}
}

// Only FindCredentialsQuery, which the gateway asks to check a login, may
// answer with a password hash or a token.
func TestOnlyTheCredentialsQueryCarriesSecrets(t *testing.T) {
	m := projection.New()
	acct := iban.Open("0000000001")
	for _, e := range []schemas.Record{
		&schemas.UserAccountCreatedEvent{Username: "ann", Password: "secret-hash"},
		&schemas.BankAccountCreatedEvent{IBAN: acct, Username: "ann", Token: "secret-token"},
	} {
		if _, err := m.Apply(e, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []schemas.Record{
		&schemas.FindUserQuery{Username: "ann"},
		&schemas.FindBankAccountQuery{IBAN: acct},
		&schemas.FindBankAccountsForUserQuery{Username: "ann"},
		&schemas.AllLastTransactionsQuery{},
		&schemas.TransactionsByIbanQuery{IBAN: acct, MaxItems: 10},
		&schemas.AccountAsOfQuery{IBAN: acct, MaxItems: 10},
		&schemas.FindCredentialsQuery{Username: "ann"},
	} {
		got, reason := Answer(m, q)
		if reason.Failed() {
			t.Fatalf("%s: %s", q.AvroName(), reason)
		}
		b, _ := json.Marshal(got)
		secret := strings.Contains(string(b), "secret")
		if _, creds := q.(*schemas.FindCredentialsQuery); secret != creds {
			t.Errorf("%s answers %s", q.AvroName(), b)
		}
	}
}

func TestAnswerAlertRules(t *testing.T) {
	m := projection.New()
	acct, empty := iban.Open("0000000001"), iban.Open("0000000002")
	rule := schemas.NewID()
	for _, e := range []schemas.Record{
		&schemas.BankAccountCreatedEvent{IBAN: acct, Username: "ann", Token: "t"},
		&schemas.BankAccountCreatedEvent{IBAN: empty, Username: "bob", Token: "t"},
		&schemas.AlertRuleCreatedEvent{ID: rule, IBAN: acct, Username: "ann", Kind: "BALANCE_BELOW", Amount: 100},
	} {
		if _, err := m.Apply(e, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	got, reason := Answer(m, &schemas.AlertRulesQuery{IBAN: acct})
	if rules, ok := got.([]projection.AlertRule); reason.Failed() || !ok || len(rules) != 1 || rules[0].ID != rule.String() {
		t.Fatalf("rules of %s: %v %q", acct, got, reason)
	}
	got, reason = Answer(m, &schemas.AlertRulesQuery{IBAN: empty})
	if js, _ := json.Marshal(got); reason.Failed() || string(js) != "[]" {
		t.Fatalf("rules of an account without: %s %q, want []", js, reason)
	}
	if _, reason := Answer(m, &schemas.AlertRulesQuery{IBAN: iban.Open("0000000003")}); reason != contract.AccountNotFound {
		t.Fatalf("rules of an unknown account: %q", reason)
	}
}
