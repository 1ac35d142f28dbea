package domain

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// limitsEnv decides at a fixed time with the default limits.
func limitsEnv(now time.Time) Env {
	e := env()
	e.Now = func() time.Time { return now }
	return e
}

// Amounts are checked when a command is decided: 1 cent to the limit per
// transfer, the deposit limits for cash, and no balance may wrap around.
func TestAmountsAreBoundedWhenDecided(t *testing.T) {
	l := contract.DefaultAmountLimits()
	tooLarge := contract.AmountTooLarge(l.MaxTransfer)
	tests := []struct {
		name           string
		from, to       string
		user, token    string
		teller         bool
		amount         int64
		reason         string
		annAfter, bobA int64
	}{
		{"MaxInt64 out of the bank", ibanAnn, outside, "ann", "tok-ann", false, math.MaxInt64, tooLarge, 10_000, 0},
		{"MinInt64 out of the bank", ibanAnn, outside, "ann", "tok-ann", false, math.MinInt64, contract.AmountNotPositive.Text, 10_000, 0},
		{"MaxInt64 cash", Cash, ibanAnn, "ann", "tok-ann", false, math.MaxInt64, tooLarge, 10_000, 0},
		{"MinInt64 cash", Cash, ibanAnn, "ann", "tok-ann", false, math.MinInt64, contract.AmountNotPositive.Text, 10_000, 0},
		{"minus one", ibanAnn, ibanBob, "ann", "tok-ann", false, -1, contract.AmountNotPositive.Text, 10_000, 0},
		{"zero", ibanAnn, ibanBob, "ann", "tok-ann", false, 0, contract.AmountNotPositive.Text, 10_000, 0},
		{"one cent", ibanAnn, ibanBob, "ann", "tok-ann", false, 1, "", 9_999, 1},
		{"the limit + 1", ibanAnn, outside, "ann", "tok-ann", false, l.MaxTransfer + 1, tooLarge, 10_000, 0},
		{"the limit, without the funds", ibanAnn, outside, "ann", "tok-ann", false, l.MaxTransfer, contract.InsufficientFunds(Limit).Text, 10_000, 0},
		{"a deposit of the deposit limit", Cash, ibanAnn, "ann", "tok-ann", false, l.MaxDeposit, "", 10_000 + l.MaxDeposit, 0},
		{"a deposit over the deposit limit", Cash, ibanAnn, "ann", "tok-ann", false, l.MaxDeposit + 1, contract.DepositTooLarge(l.MaxDeposit).Text, 10_000, 0},
		{"a teller's deposit", Cash, ibanBob, "", "", true, 500, "", 10_000, 500},
		{"an anonymous deposit", Cash, ibanBob, "nobody", "x", false, 500, contract.CashNeedsOwner.Text, 10_000, 0},
		{"a deposit by another user", Cash, ibanBob, "ann", "tok-ann", false, 500, contract.CashNeedsOwner.Text, 10_000, 0},
		{"a deposit with a wrong token", Cash, ibanBob, "bob", "tok-ann", false, 500, contract.CashNeedsOwner.Text, 10_000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bank(t)
			final, _ := runSagaWith(t, s, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: tt.amount,
				From: tt.from, To: tt.to, Username: tt.user, Token: tt.token, Teller: tt.teller}, env())
			if got := reasonOfRecord(final); got != tt.reason {
				t.Errorf("reason %q, want %q", got, tt.reason)
			}
			if a, b := s.Accounts[ibanAnn].Balance, s.Accounts[ibanBob].Balance; a != tt.annAfter || b != tt.bobA {
				t.Errorf("ann %d, bob %d; want %d, %d", a, b, tt.annAfter, tt.bobA)
			}
		})
	}
}

func TestCashDepositsAreLimitedPerAccountAndDay(t *testing.T) {
	l := contract.DefaultAmountLimits()
	s := bank(t)
	day := time.Date(2026, 11, 27, 23, 0, 0, 0, time.UTC)
	deposit := func(at time.Time, amount int64) string {
		final, _ := runSagaWith(t, s, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: amount, From: Cash,
			To: ibanBob, Username: "bob", Token: "tok-bob"}, limitsEnv(at))
		return reasonOfRecord(final)
	}
	for range l.MaxDepositsPerDay / l.MaxDeposit {
		if r := deposit(day, l.MaxDeposit); r != "" {
			t.Fatalf("deposit within the daily limit: %q", r)
		}
	}
	rest := l.MaxDepositsPerDay % l.MaxDeposit
	if r := deposit(day, rest+1); r != contract.DailyDepositLimit(l.MaxDepositsPerDay).Text {
		t.Fatalf("deposit 1 cent over the daily limit: %q", r)
	}
	if rest > 0 {
		if r := deposit(day, rest); r != "" {
			t.Fatalf("deposit up to the daily limit: %q", r)
		}
	}
	// A teller's deposits count too; the next UTC day starts afresh.
	final, _ := runSagaWith(t, s, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 1, From: Cash, To: ibanBob, Teller: true}, limitsEnv(day))
	if r := reasonOfRecord(final); r != contract.DailyDepositLimit(l.MaxDepositsPerDay).Text {
		t.Fatalf("teller over the daily limit: %q", r)
	}
	if r := deposit(day.Add(time.Hour), l.MaxDeposit); r != "" {
		t.Fatalf("deposit the next day: %q", r)
	}
	if got := s.Accounts[ibanBob].Balance; got != l.MaxDepositsPerDay+l.MaxDeposit {
		t.Fatalf("bob has %d", got)
	}
}

// The company account's initial deposit brings the bank's capital in: it
// alone is above the limits.
func TestTheGenesisDepositIsExempt(t *testing.T) {
	s := bank(t)
	s.Apply(&schemas.UserAccountCreatedEvent{ID: CompanyOwnerID, Username: CompanyOwner, Password: NoPassword})
	s.Apply(&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: iban.Company, Username: CompanyOwner, Token: "t"})
	final, _ := runSagaWith(t, s, &schemas.MoneyTransferCommand{ID: GenesisID, Amount: 100_000_000_000, From: Cash,
		To: iban.Company, Username: CompanyOwner}, env())
	if r := reasonOfRecord(final); r != "" {
		t.Fatalf("genesis: %q", r)
	}
	// The same amount under any other id is refused.
	final, _ = runSagaWith(t, s, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 100_000_000_000, From: Cash,
		To: iban.Company, Teller: true}, env())
	if r := reasonOfRecord(final); r == "" {
		t.Fatal("a second capital injection went through")
	}
	// And no one else may become the company account's owner.
	d := s.CreateUserAccount(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: CompanyOwner, Password: "h"})
	if reasonOf(d) != contract.UserExists.Text {
		t.Fatalf("signing up as the company owner: %+v", d)
	}
}

// No credit can wrap a balance around, however it arrives.
func TestBalancesCannotWrapAround(t *testing.T) {
	s := bank(t)
	s.Apply(&schemas.MoneyCreditedEvent{ID: schemas.NewID(), IBAN: ibanBob, Amount: math.MaxInt64 - 5})
	for _, c := range []schemas.Record{
		&schemas.CreditMoneyCommand{ID: schemas.NewID(), IBAN: ibanBob, Amount: 6},
		&schemas.ReturnMoneyCommand{ID: schemas.NewID(), IBAN: ibanBob, Amount: 6},
		&schemas.CreditMoneyCommand{ID: schemas.NewID(), IBAN: ibanBob, Amount: math.MaxInt64},
	} {
		d, _ := s.Decide(c, env())
		if reasonOf(d) != contract.BalanceTooLarge.Text || len(d.Events) != 0 {
			t.Errorf("%s: %+v", c.AvroName(), d)
		}
	}
	// A debit from the most negative balance cannot wrap it up either.
	s.Accounts[ibanAnn].Balance = math.MinInt64 + 10
	d := s.DebitMoney(&schemas.DebitMoneyCommand{ID: schemas.NewID(), IBAN: ibanAnn, Amount: 100, Username: "ann", Token: "tok-ann"}, env())
	if reasonOf(d) != contract.InsufficientFunds(Limit).Text {
		t.Errorf("debit below MinInt64: %+v", d)
	}
}

// Text a request could make huge is refused before anything is stored.
func TestOversizeFieldsAreNeverStored(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	for name, c := range map[string]*schemas.MoneyTransferCommand{
		"description of 141 characters": {Description: strings.Repeat("é", 141)},
		"description of 10 MB":          {Description: huge},
		"description with a newline":    {Description: "rent\nIGNORE PREVIOUS"},
		"username of 10 MB":             {Username: huge},
		"token of 10 MB":                {Token: huge},
		"from of 10 MB":                 {From: huge},
		"to of 10 MB":                   {To: huge},
	} {
		t.Run(name, func(t *testing.T) {
			s := bank(t)
			c.ID, c.Amount = schemas.NewID(), 1
			if c.From == "" {
				c.From = ibanAnn
			}
			if c.To == "" {
				c.To = ibanBob
			}
			d := s.MoneyTransfer(c, env())
			if reasonOf(d) == "" || len(d.Events)+len(d.Commands) != 0 {
				t.Fatalf("decided %d events, %d commands, reason %q", len(d.Events), len(d.Commands), reasonOf(d))
			}
		})
	}
	ok := bank(t).MoneyTransfer(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 1, From: ibanAnn, To: ibanBob,
		Username: "ann", Token: "tok-ann", Description: strings.Repeat("é", 140)}, env())
	if reasonOf(ok) != "" || len(ok.Events) != 1 {
		t.Fatalf("a 140-character description: %+v", ok)
	}
}

// A money step that comes again — a repeated command, a revived
// transaction — is answered with its first outcome and never applied
// twice; an event repeated in the log is refused.
func TestMoneyStepsApplyOnce(t *testing.T) {
	s := bank(t)
	id := schemas.NewID()
	s.Apply(&schemas.TransferStartedEvent{ID: id, Amount: 100, From: ibanAnn, To: ibanBob, Username: "ann", Token: "tok-ann"})
	debit := &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 100, Username: "ann", Token: "tok-ann"}
	credit := &schemas.CreditMoneyCommand{ID: id, IBAN: ibanBob, Amount: 100}
	for range 3 {
		for _, c := range []schemas.Record{debit, credit} {
			d, err := s.Decide(c, env())
			if err != nil || reasonOf(d) != "" {
				t.Fatalf("%s: %+v %v", c.AvroName(), d, err)
			}
			for _, e := range d.Events {
				if err := s.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if a, b := s.Accounts[ibanAnn].Balance, s.Accounts[ibanBob].Balance; a != 9_900 || b != 100 {
		t.Fatalf("ann %d, bob %d after repeats", a, b)
	}
	// A return after the credit would create money: refused.
	if r := reasonOf(s.ReturnMoney(&schemas.ReturnMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 100})); r != contract.NothingToReturn.Text {
		t.Fatalf("return after credit: %q", r)
	}
	// The log repeating the debit changes nothing.
	if err := s.Apply(&schemas.MoneyDebitedEvent{ID: id, IBAN: ibanAnn, Amount: 100}); err == nil || s.Accounts[ibanAnn].Balance != 9_900 {
		t.Fatalf("repeated debit event: %v, balance %d", err, s.Accounts[ibanAnn].Balance)
	}
	// A step of a transfer that ended without it is refused.
	failedID := schemas.NewID()
	s.Apply(&schemas.TransferStartedEvent{ID: failedID, Amount: 100, From: ibanAnn, To: ibanBob})
	s.Apply(&schemas.TransferFailedEvent{ID: failedID, Reason: "insufficient"})
	if r := reasonOf(s.DebitMoney(&schemas.DebitMoneyCommand{ID: failedID, IBAN: ibanAnn, Amount: 100, Username: "ann", Token: "tok-ann"}, env())); r != contract.TransferEnded.Text {
		t.Fatalf("debit of an ended transfer: %q", r)
	}
	// A second end is refused: a saga ends once.
	if err := s.Apply(&schemas.TransferCompletedEvent{ID: failedID}); err == nil || s.Transfers[failedID].Step != Failed {
		t.Fatalf("second end: %v, step %s", err, s.Transfers[failedID].Step)
	}
}

func TestALeavingOwnerTakesTheirAlertRules(t *testing.T) {
	s := bank(t)
	s.Apply(&schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), IBAN: ibanAnn, Username: "bob", Token: "tok-bob2"})
	mine, theirs := schemas.NewID(), schemas.NewID()
	s.Apply(&schemas.AlertRuleCreatedEvent{ID: mine, IBAN: ibanAnn, Username: "ann", Kind: "INCOMING_ABOVE", Amount: 1})
	s.Apply(&schemas.AlertRuleCreatedEvent{ID: theirs, IBAN: ibanAnn, Username: "bob", Kind: "INCOMING_ABOVE", Amount: 1})
	d := s.RemoveUserFromBankAccount(&schemas.RemoveUserFromBankAccountCommand{ID: schemas.NewID(), IBAN: ibanAnn, Username: "bob", Token: "tok-bob2"})
	if got := eventNames(d.Events); got != "UserRemovedFromBankAccount AlertRuleDeleted" {
		t.Fatalf("events %s", got)
	}
	if d.Events[1].(*schemas.AlertRuleDeletedEvent).ID != theirs {
		t.Fatal("deleted the other owner's rule")
	}
}

func TestSessionsEndWithLogOutAndPasswordChange(t *testing.T) {
	s := bank(t)
	d := s.ChangePassword(&schemas.ChangePasswordCommand{ID: schemas.NewID(), Username: "ann", Password: "new-hash", RevokedAt: 42})
	if got := eventNames(d.Events); got != "PasswordChanged SessionsRevoked" || reasonOf(d) != "" {
		t.Fatalf("change password: %s %q", got, reasonOf(d))
	}
	for _, e := range d.Events {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	if s.Users["ann"].PasswordHash != "new-hash" {
		t.Fatal("hash not changed")
	}
	if r := reasonOf(s.RevokeSessions(&schemas.RevokeSessionsCommand{ID: schemas.NewID(), Username: "zed"})); r != contract.UserUnknown.Text {
		t.Fatalf("log out of an unknown user: %q", r)
	}
	if got := eventNames(s.RevokeSessions(&schemas.RevokeSessionsCommand{ID: schemas.NewID(), Username: "ann", RevokedAt: 43}).Events); got != "SessionsRevoked" {
		t.Fatalf("log out: %s", got)
	}
}

func reasonOfRecord(r schemas.Record) string {
	if f, ok := r.(*schemas.CommandFailed); ok {
		return f.Reason
	}
	return ""
}
