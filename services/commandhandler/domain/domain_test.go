package domain

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

var (
	ibanAnn = iban.Open("0000000001")
	ibanBob = iban.Open("0000000002")
	ibanNew = iban.Open("0000000003") // valid, ours, never opened
	outside = "NL91ABNA0417164300"
)

// fundingID is the transfer that put ann's first €100 on her account.
var fundingID = FixedID("test-funding")

func env() Env {
	n := 0
	return Env{NewToken: func() string { n++; return fmt.Sprintf("%020d", n) }}
}

// bank returns a state with users ann and bob, each owning one account:
// ann's holds €100, bob's nothing.
func bank(t *testing.T) *State {
	t.Helper()
	s := NewState()
	for _, e := range []schemas.Record{
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ann", Password: "h1"},
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "bob", Password: "h2"},
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "eve", Password: "h3"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ibanAnn, Token: "tok-ann", Username: "ann"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ibanBob, Token: "tok-bob", Username: "bob"},
		&schemas.MoneyCreditedEvent{ID: fundingID, IBAN: ibanAnn, Amount: 10_000},
	} {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func reasonOf(d Decision) string {
	for _, fb := range d.Feedback {
		if f, ok := fb.(*schemas.CommandFailed); ok {
			return f.Reason
		}
	}
	return ""
}

func TestUserAndAccountRules(t *testing.T) {
	id := schemas.NewID()
	tests := []struct {
		name   string
		cmd    schemas.Record
		reason string // "" for success
		events int
	}{
		{"new user", &schemas.CreateUserAccountCommand{ID: id, Username: "carl", Password: "h"}, "", 1},
		{"user exists", &schemas.CreateUserAccountCommand{ID: id, Username: "ann", Password: "h"}, contract.UserExists.Text, 0},
		{"empty username", &schemas.CreateUserAccountCommand{ID: id, Password: "h"}, contract.UsernameInvalid.Text, 0},
		{"empty password", &schemas.CreateUserAccountCommand{ID: id, Username: "carl"}, contract.PasswordEmpty.Text, 0},
		{"new account", &schemas.CreateBankAccountCommand{ID: id, IBAN: ibanNew, Username: "ann"}, "", 1},
		{"account exists", &schemas.CreateBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann"}, contract.IBANExists.Text, 0},
		{"iban of another bank", &schemas.CreateBankAccountCommand{ID: id, IBAN: outside, Username: "ann"}, contract.IBANInvalidOpen.Text, 0},
		{"iban with bad check digits", &schemas.CreateBankAccountCommand{ID: id, IBAN: "NL00OPEN0000000003", Username: "ann"}, contract.IBANInvalidOpen.Text, 0},
		{"add owner", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann", Token: "tok-ann", UserToAdd: "bob"}, "", 1},
		{"add owner twice", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann", Token: "tok-ann", UserToAdd: "ann"}, contract.AlreadyOwner.Text, 0},
		{"add unknown user", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann", Token: "tok-ann", UserToAdd: "zed"}, contract.UserUnknown.Text, 0},
		{"add by non-owner", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "eve", Token: "tok-ann", UserToAdd: "eve"}, contract.NotAuthorized.Text, 0},
		{"add with wrong token", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann", Token: "tok-bob", UserToAdd: "bob"}, contract.NotAuthorized.Text, 0},
		{"add to unknown account", &schemas.AddUserToBankAccountCommand{ID: id, IBAN: ibanNew, Username: "ann", Token: "tok-ann", UserToAdd: "bob"}, contract.NotAuthorized.Text, 0},
		{"last owner leaves empty account", &schemas.RemoveUserFromBankAccountCommand{ID: id, IBAN: ibanBob, Username: "bob", Token: "tok-bob"}, "", 1},
		{"last owner can't leave money behind", &schemas.RemoveUserFromBankAccountCommand{ID: id, IBAN: ibanAnn, Username: "ann", Token: "tok-ann"}, contract.LastOwnerBalance.Text, 0},
		{"leave with wrong token", &schemas.RemoveUserFromBankAccountCommand{ID: id, IBAN: ibanBob, Username: "bob", Token: "x"}, contract.NotAuthorized.Text, 0},
		{"debit", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 100, Token: "tok-ann", Username: "ann"}, "", 1},
		{"debit down to just above the limit", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 10_000 + 49_999, Token: "tok-ann", Username: "ann"}, "", 1},
		{"debit reaching the limit", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 10_000 + 50_000, Token: "tok-ann", Username: "ann"}, "insufficient funds would be below the limit of -€500,00", 0},
		{"debit by non-owner", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 1, Token: "tok-ann", Username: "bob"}, contract.NotAuthorized.Text, 0},
		{"debit with wrong token", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 1, Token: "tok-bob", Username: "ann"}, contract.NotAuthorized.Text, 0},
		{"debit of unknown account", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanNew, Amount: 1, Token: "t", Username: "ann"}, contract.NotAuthorized.Text, 0},
		{"negative debit", &schemas.DebitMoneyCommand{ID: id, IBAN: ibanAnn, Amount: -5, Token: "tok-ann", Username: "ann"}, contract.AmountNotPositive.Text, 0},
		{"credit", &schemas.CreditMoneyCommand{ID: id, IBAN: ibanBob, Amount: 5}, "", 1},
		{"credit of unknown account", &schemas.CreditMoneyCommand{ID: id, IBAN: ibanNew, Amount: 5}, contract.AccountUnknown.Text, 0},
		{"zero credit", &schemas.CreditMoneyCommand{ID: id, IBAN: ibanBob}, contract.AmountNotPositive.Text, 0},
		{"return", &schemas.ReturnMoneyCommand{ID: id, IBAN: ibanAnn, Amount: 5, Reason: "r"}, "", 1},
		{"return to unknown account", &schemas.ReturnMoneyCommand{ID: id, IBAN: ibanNew, Amount: 5, Reason: "r"}, contract.AccountUnknown.Text, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bank(t)
			d, err := s.Decide(tt.cmd, env())
			if err != nil {
				t.Fatal(err)
			}
			if got := reasonOf(d); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			if len(d.Events) != tt.events || len(d.Feedback) != 1 {
				t.Fatalf("%d events, %d feedback: %+v", len(d.Events), len(d.Feedback), d)
			}
			for _, e := range d.Events {
				if err := s.Apply(e); err != nil {
					t.Fatalf("apply own event: %v", err)
				}
			}
		})
	}
}

func TestTokensAreInEventsNeverInFeedback(t *testing.T) {
	s := bank(t)
	d := s.CreateBankAccount(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ibanNew, Username: "eve"}, env())
	tok := d.Events[0].(*schemas.BankAccountCreatedEvent).Token
	if tok == "" || d.Feedback[0].(*schemas.CommandSucceeded).AdditionalInfo != nil {
		t.Fatalf("token %q, feedback %+v", tok, d.Feedback[0])
	}
	s.Apply(d.Events[0])
	if s.Accounts[ibanNew].Tokens["eve"] != tok || s.Accounts[ibanNew].Limit != Limit {
		t.Fatalf("account %+v", s.Accounts[ibanNew])
	}
	add := s.AddUserToBankAccount(&schemas.AddUserToBankAccountCommand{ID: schemas.NewID(), IBAN: ibanNew, Username: "eve", Token: tok, UserToAdd: "ann"}, env())
	if len(add.Events) != 1 || add.Events[0].(*schemas.UserAddedToBankAccountEvent).Token == "" || add.Feedback[0].(*schemas.CommandSucceeded).AdditionalInfo != nil {
		t.Fatalf("add owner: %+v", add)
	}
}

// runSaga plays a transfer through the saga as the handler would, routing
// each step command and its feedback, and returns the MoneyTransferCommand's
// final feedback and every event written.
func runSaga(t *testing.T, s *State, cmd *schemas.MoneyTransferCommand) (schemas.Record, []schemas.Record) {
	t.Helper()
	return runSagaWith(t, s, cmd, env())
}

// runSagaWith is runSaga deciding with env.
func runSagaWith(t *testing.T, s *State, cmd *schemas.MoneyTransferCommand, env Env) (schemas.Record, []schemas.Record) {
	t.Helper()
	var events []schemas.Record
	var final schemas.Record
	queue := []schemas.Record{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 20 {
			t.Fatal("saga does not end")
		}
		in := queue[0]
		queue = queue[1:]
		d, err := s.Decide(in, env)
		if err != nil {
			t.Fatalf("decide %s: %v", in.AvroName(), err)
		}
		for _, e := range d.Events {
			if err := s.Apply(e); err != nil {
				t.Fatal(err)
			}
			events = append(events, e)
		}
		queue = append(queue, d.Commands...)
		for _, fb := range d.Feedback {
			switch name := commandName(fb); name {
			case moneyTransfer:
				if final != nil {
					t.Fatalf("two outcomes: %+v and %+v", final, fb)
				}
				final = fb
			case debitMoney, creditMoney, returnMoney:
				queue = append(queue, fb) // to the saga
			default:
				t.Fatalf("unexpected feedback for %s", name)
			}
		}
	}
	return final, events
}

func commandName(fb schemas.Record) string {
	switch fb := fb.(type) {
	case *schemas.CommandSucceeded:
		return fb.CommandName
	case *schemas.CommandFailed:
		return fb.CommandName
	}
	return ""
}

func eventNames(es []schemas.Record) string {
	var names []string
	for _, e := range es {
		n := e.AvroName()
		names = append(names, strings.TrimSuffix(n[strings.LastIndexByte(n, '.')+1:], "Event"))
	}
	return strings.Join(names, " ")
}

func TestTransferSaga(t *testing.T) {
	tests := []struct {
		name               string
		from, to, token    string
		username           string
		amount             int64
		teller             bool
		reason             string // "" when it completes
		events             string
		annAfter, bobAfter int64
	}{
		{name: "cash deposit", from: Cash, to: ibanBob, username: "bob", token: "tok-bob", amount: 500,
			events: "TransferStarted MoneyCredited TransferCompleted", annAfter: 10_000, bobAfter: 500},
		{name: "internal transfer", from: ibanAnn, to: ibanBob, token: "tok-ann", username: "ann", amount: 2_500,
			events: "TransferStarted MoneyDebited MoneyCredited TransferCompleted", annAfter: 7_500, bobAfter: 2_500},
		{name: "into the overdraft", from: ibanAnn, to: ibanBob, token: "tok-ann", username: "ann", amount: 59_999,
			events: "TransferStarted MoneyDebited MoneyCredited TransferCompleted", annAfter: -49_999, bobAfter: 59_999},
		{name: "to an outside IBAN", from: ibanAnn, to: outside, token: "tok-ann", username: "ann", amount: 1_000,
			events: "TransferStarted MoneyDebited TransferCompleted", annAfter: 9_000},
		{name: "insufficient funds", from: ibanAnn, to: ibanBob, token: "tok-ann", username: "ann", amount: 60_000,
			reason: "insufficient funds would be below the limit of -€500,00", events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "wrong token", from: ibanAnn, to: ibanBob, token: "tok-bob", username: "ann", amount: 1,
			reason: contract.NotAuthorized.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "not the owner", from: ibanAnn, to: ibanBob, token: "tok-bob", username: "bob", amount: 1,
			reason: contract.NotAuthorized.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "unknown to-account: money returned", from: ibanAnn, to: ibanNew, token: "tok-ann", username: "ann", amount: 300,
			reason: contract.AccountUnknown.Text, events: "TransferStarted MoneyDebited MoneyReturned TransferFailed", annAfter: 10_000},
		{name: "cash to unknown account", from: Cash, to: ibanNew, teller: true, amount: 300,
			reason: contract.AccountUnknown.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "cash to outside IBAN", from: Cash, to: outside, amount: 300,
			reason: contract.CashToOutside.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "from = to", from: ibanAnn, to: ibanAnn, token: "tok-ann", username: "ann", amount: 1,
			reason: contract.SameFromTo.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "invalid from", from: "NL00OPEN0000000001", to: ibanBob, amount: 1,
			reason: contract.FromInvalid.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "from another bank", from: outside, to: ibanBob, amount: 1,
			reason: contract.FromInvalid.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "invalid to", from: ibanAnn, to: "somewhere", token: "tok-ann", username: "ann", amount: 1,
			reason: contract.ToInvalid.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "negative amount", from: ibanBob, to: ibanAnn, token: "tok-bob", username: "bob", amount: -10_000,
			reason: contract.AmountNotPositive.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
		{name: "zero amount", from: Cash, to: ibanAnn, amount: 0,
			reason: contract.AmountNotPositive.Text, events: "TransferStarted TransferFailed", annAfter: 10_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := bank(t)
			cmd := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: tt.token, Amount: tt.amount, From: tt.from,
				To: tt.to, Description: "test", Username: tt.username, Teller: tt.teller}
			final, events := runSaga(t, s, cmd)
			if got := eventNames(events); got != tt.events {
				t.Errorf("events %s, want %s", got, tt.events)
			}
			switch f := final.(type) {
			case *schemas.CommandSucceeded:
				if tt.reason != "" {
					t.Errorf("succeeded, want %q", tt.reason)
				}
			case *schemas.CommandFailed:
				if f.Reason != tt.reason {
					t.Errorf("failed with %q, want %q", f.Reason, tt.reason)
				}
			default:
				t.Fatalf("no outcome: %v", final)
			}
			if a := s.Accounts[ibanAnn].Balance; a != tt.annAfter {
				t.Errorf("ann has %d, want %d", a, tt.annAfter)
			}
			if b := s.Accounts[ibanBob].Balance; b != tt.bobAfter {
				t.Errorf("bob has %d, want %d", b, tt.bobAfter)
			}
			if step := s.Transfers[cmd.ID].Step; !step.Ended() {
				t.Errorf("saga left in step %s", step)
			}
			// Replaying the events on a fresh state gives the same state.
			replayed := bank(t)
			for _, e := range events {
				if err := replayed.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(replayed, s) {
				t.Error("replaying the events gives another state")
			}
		})
	}
}

func TestRepeatedTransferAnswersTheFirstOutcome(t *testing.T) {
	s := bank(t)
	cmd := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: "tok-ann", Amount: 100, From: ibanAnn, To: ibanBob, Username: "ann"}
	// Started but not ended: a repeat answers nothing yet and moves no money.
	d := s.MoneyTransfer(cmd, env())
	for _, e := range d.Events {
		s.Apply(e)
	}
	again := s.MoneyTransfer(cmd, env())
	if len(again.Events)+len(again.Commands)+len(again.Feedback) != 0 {
		t.Fatalf("repeat of a running transfer did something: %+v", again)
	}
	// Let it finish, then repeat: the first outcome, nothing more.
	delete(s.Transfers, cmd.ID)
	s = bank(t)
	first, _ := runSaga(t, s, cmd)
	balance := s.Accounts[ibanAnn].Balance
	again = s.MoneyTransfer(cmd, env())
	if len(again.Events)+len(again.Commands) != 0 || len(again.Feedback) != 1 || !reflect.DeepEqual(again.Feedback[0], first) {
		t.Fatalf("repeat answered %+v, first answered %+v", again, first)
	}
	if s.Accounts[ibanAnn].Balance != balance {
		t.Fatal("repeat moved money")
	}
	// Same id, other content: refused.
	other := *cmd
	other.Amount = 999
	if r := reasonOf(s.MoneyTransfer(&other, env())); r != contract.TransferStarted.Text {
		t.Fatalf("reused id: %q", r)
	}
	// A failed transfer's repeat repeats its reason.
	bad := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: "nope", Amount: 1, From: ibanAnn, To: ibanBob, Username: "ann"}
	runSaga(t, s, bad)
	if r := reasonOf(s.MoneyTransfer(bad, env())); r != contract.NotAuthorized.Text {
		t.Fatalf("repeat of failed transfer: %q", r)
	}
}

func TestFeedbackForEndedOrUnknownTransfers(t *testing.T) {
	s := bank(t)
	cmd := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 1, From: Cash, To: ibanBob, Username: "bob", Token: "tok-bob"}
	runSaga(t, s, cmd)
	d, err := s.StepDone(&schemas.CommandSucceeded{ID: cmd.ID, CommandName: creditMoney})
	if err != nil || len(d.Events)+len(d.Commands)+len(d.Feedback) != 0 {
		t.Fatalf("duplicate feedback for an ended saga: %+v, %v", d, err)
	}
	if _, err := s.StepDone(&schemas.CommandSucceeded{ID: schemas.NewID(), CommandName: debitMoney}); err == nil {
		t.Fatal("feedback for an unknown transfer accepted")
	}
}

func TestMarkingTransfersByHand(t *testing.T) {
	s := bank(t)
	start := func() schemas.ID {
		c := &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: "tok-ann", Amount: 10, From: ibanAnn, To: ibanBob, Username: "ann"}
		for _, e := range s.MoneyTransfer(c, env()).Events {
			s.Apply(e)
		}
		return c.ID
	}
	running := start()
	if r := reasonOf(s.MarkTransferCompleted(&schemas.MarkTransferCompletedCommand{ID: running})); !strings.Contains(r, "has not arrived") {
		t.Fatalf("completing a transfer whose money has not moved: %q", r)
	}
	d := s.MarkTransferFailed(&schemas.MarkTransferFailedCommand{ID: running, Reason: "stuck"})
	if reasonOf(d) != "stuck" || len(d.Events) != 1 {
		t.Fatalf("fail by hand: %+v", d)
	}
	s.Apply(d.Events[0])
	if r := reasonOf(s.MarkTransferFailed(&schemas.MarkTransferFailedCommand{ID: running, Reason: "x"})); r != "transfer already failed" {
		t.Fatalf("failing twice: %q", r)
	}
	debited := start()
	s.Apply(&schemas.MoneyDebitedEvent{ID: debited, IBAN: ibanAnn, Amount: 10})
	if r := reasonOf(s.MarkTransferFailed(&schemas.MarkTransferFailedCommand{ID: debited})); !strings.Contains(r, "money has moved") {
		t.Fatalf("failing a debited transfer: %q", r)
	}
	if r := reasonOf(s.MarkTransferCompleted(&schemas.MarkTransferCompletedCommand{ID: schemas.NewID()})); r != contract.TransferUnknown.Text {
		t.Fatalf("unknown: %q", r)
	}
}

func TestRollbackUndoesAppliedEvents(t *testing.T) {
	s := bank(t)
	before := bank(t)
	s.Begin()
	for _, e := range []schemas.Record{
		&schemas.MoneyDebitedEvent{ID: schemas.NewID(), IBAN: ibanAnn, Amount: 7},
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "new", Password: "h"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ibanNew, Token: "t", Username: "new"},
		&schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), IBAN: ibanBob, Username: "ann", Token: "t2"},
		&schemas.TransferStartedEvent{ID: schemas.NewID(), From: Cash, To: ibanBob, Amount: 1},
		&schemas.MoneyCreditedEvent{ID: schemas.NewID(), IBAN: ibanAnn, Amount: 3},
	} {
		if err := s.Apply(e); err != nil {
			t.Fatal(err)
		}
	}
	s.Rollback()
	if !reflect.DeepEqual(s, before) {
		t.Fatal("rollback left changes behind")
	}
	s.Begin()
	s.Apply(&schemas.MoneyDebitedEvent{ID: schemas.NewID(), IBAN: ibanAnn, Amount: 7})
	s.Commit()
	if s.Accounts[ibanAnn].Balance != 9_993 {
		t.Fatal("commit lost the change")
	}
}

func TestApplyRejectsEventsOfUnknownAggregates(t *testing.T) {
	s := NewState()
	for _, e := range []schemas.Record{
		&schemas.MoneyCreditedEvent{IBAN: ibanAnn, Amount: 1},
		&schemas.UserAddedToBankAccountEvent{IBAN: ibanAnn},
		&schemas.TransferCompletedEvent{ID: schemas.NewID()},
		&schemas.FindUserQuery{},
	} {
		if err := s.Apply(e); err == nil {
			t.Errorf("applied %s", e.AvroName())
		}
	}
}

// With several instances, the one ending a saga applies its end at once but
// reads the step before it, written by another instance, from the log
// later. The saga must stay ended: a repeat of the transfer then answers its
// outcome, and late feedback ends nothing twice.
func TestAStepReadAfterTheEndLeavesTheSagaEnded(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cmd      *schemas.MoneyTransferCommand
		steps    []schemas.Record // other instances' events, read late
		end      schemas.Record   // this instance's
		wantStep Step
	}{{
		name:     "credited after completed",
		cmd:      &schemas.MoneyTransferCommand{Token: "tok-ann", Amount: 100, From: ibanAnn, To: ibanBob, Username: "ann"},
		steps:    []schemas.Record{&schemas.MoneyDebitedEvent{IBAN: ibanAnn, Amount: 100}, &schemas.MoneyCreditedEvent{IBAN: ibanBob, Amount: 100}},
		end:      &schemas.TransferCompletedEvent{},
		wantStep: Completed,
	}, {
		name:     "deposit credited after completed",
		cmd:      &schemas.MoneyTransferCommand{Amount: 100, From: Cash, To: ibanBob, Teller: true},
		steps:    []schemas.Record{&schemas.MoneyCreditedEvent{IBAN: ibanBob, Amount: 100}},
		end:      &schemas.TransferCompletedEvent{},
		wantStep: Completed,
	}, {
		name:     "returned after failed",
		cmd:      &schemas.MoneyTransferCommand{Token: "tok-ann", Amount: 100, From: ibanAnn, To: ibanBob, Username: "ann"},
		steps:    []schemas.Record{&schemas.MoneyDebitedEvent{IBAN: ibanAnn, Amount: 100}, &schemas.MoneyReturnedEvent{IBAN: ibanAnn, Amount: 100}},
		end:      &schemas.TransferFailedEvent{Reason: "credit refused"},
		wantStep: Failed,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := bank(t)
			tc.cmd.ID = schemas.NewID()
			setID := func(r schemas.Record) schemas.Record {
				switch e := r.(type) {
				case *schemas.MoneyDebitedEvent:
					e.ID = tc.cmd.ID
				case *schemas.MoneyCreditedEvent:
					e.ID = tc.cmd.ID
				case *schemas.MoneyReturnedEvent:
					e.ID = tc.cmd.ID
				case *schemas.TransferCompletedEvent:
					e.ID = tc.cmd.ID
				case *schemas.TransferFailedEvent:
					e.ID = tc.cmd.ID
				}
				return r
			}
			for _, e := range s.MoneyTransfer(tc.cmd, env()).Events {
				if err := s.Apply(e); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range append([]schemas.Record{tc.end}, tc.steps...) { // the end first
				if err := s.Apply(setID(e)); err != nil {
					t.Fatal(err)
				}
			}
			if got := s.Transfers[tc.cmd.ID].Step; got != tc.wantStep {
				t.Fatalf("step %s, want %s", got, tc.wantStep)
			}
			if again := s.MoneyTransfer(tc.cmd, env()); len(again.Feedback) != 1 {
				t.Errorf("a repeat answered %+v, want its outcome", again)
			}
			late, err := s.StepDone(&schemas.CommandSucceeded{ID: tc.cmd.ID, CommandName: creditMoney})
			if err != nil || len(late.Events)+len(late.Commands)+len(late.Feedback) != 0 {
				t.Errorf("late feedback decided %+v, %v", late, err)
			}
		})
	}
}

func TestAlertRules(t *testing.T) {
	existing := schemas.NewID()
	withRule := func(t *testing.T) *State {
		s := bank(t)
		if err := s.Apply(&schemas.AlertRuleCreatedEvent{ID: existing, IBAN: ibanAnn, Username: "ann", Kind: "BALANCE_BELOW", Amount: 100}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	create := func(mod func(*schemas.CreateAlertRuleCommand)) *schemas.CreateAlertRuleCommand {
		c := &schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ibanAnn, Username: "ann", Token: "tok-ann", Kind: "INCOMING_ABOVE", Amount: 50_000}
		if mod != nil {
			mod(c)
		}
		return c
	}
	tests := []struct {
		name   string
		cmd    schemas.Record
		reason string // "" for success
	}{
		{"set a rule", create(nil), ""},
		{"with a webhook", create(func(c *schemas.CreateAlertRuleCommand) {
			c.Kind, c.Word, c.Webhook = "DESCRIPTION_CONTAINS", "casino", "https://example.org/hook"
		}), ""},
		{"same id again", create(func(c *schemas.CreateAlertRuleCommand) { c.ID = existing }), contract.RuleExists.Text},
		{"not an owner", create(func(c *schemas.CreateAlertRuleCommand) { c.Username = "bob" }), contract.NotAuthorized.Text},
		{"wrong token", create(func(c *schemas.CreateAlertRuleCommand) { c.Token = "tok-bob" }), contract.NotAuthorized.Text},
		{"unknown account", create(func(c *schemas.CreateAlertRuleCommand) { c.IBAN = ibanNew }), contract.NotAuthorized.Text},
		{"unknown kind", create(func(c *schemas.CreateAlertRuleCommand) { c.Kind = "SOMETIMES" }),
			`kind "SOMETIMES" is not one of BALANCE_BELOW, INCOMING_ABOVE, OUTGOING_ABOVE, DESCRIPTION_CONTAINS`},
		{"negative amount", create(func(c *schemas.CreateAlertRuleCommand) { c.Amount = -1 }), "amount may not be negative"},
		{"bad webhook", create(func(c *schemas.CreateAlertRuleCommand) { c.Webhook = "javascript:alert(1)" }), "webhook must be an http or https URL"},
		{"delete", &schemas.DeleteAlertRuleCommand{ID: existing, IBAN: ibanAnn, Username: "ann", Token: "tok-ann"}, ""},
		{"delete an unknown rule", &schemas.DeleteAlertRuleCommand{ID: schemas.NewID(), IBAN: ibanAnn, Username: "ann", Token: "tok-ann"}, contract.RuleUnknown.Text},
		{"delete another account's rule", &schemas.DeleteAlertRuleCommand{ID: existing, IBAN: ibanBob, Username: "bob", Token: "tok-bob"}, contract.RuleUnknown.Text},
		{"delete by a non-owner", &schemas.DeleteAlertRuleCommand{ID: existing, IBAN: ibanAnn, Username: "bob", Token: "tok-bob"}, contract.NotAuthorized.Text},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := withRule(t)
			d, err := s.Decide(tt.cmd, env())
			if err != nil {
				t.Fatal(err)
			}
			if got := reasonOf(d); got != tt.reason {
				t.Fatalf("reason %q, want %q", got, tt.reason)
			}
			wantEvents := 0
			if tt.reason == "" {
				wantEvents = 1
			}
			if len(d.Events) != wantEvents || len(d.Feedback) != 1 {
				t.Fatalf("%d events, %d feedback: %+v", len(d.Events), len(d.Feedback), d)
			}
			for _, e := range d.Events {
				if err := s.Apply(e); err != nil {
					t.Fatalf("apply own event: %v", err)
				}
			}
		})
	}

	// At most MaxRules per account; ending one makes room.
	s := bank(t)
	var ids []schemas.ID
	for range MaxRules {
		c := create(nil)
		ids = append(ids, c.ID)
		d := s.CreateAlertRule(c)
		for _, e := range d.Events {
			s.Apply(e)
		}
	}
	if r := reasonOf(s.CreateAlertRule(create(nil))); r != contract.TooManyRules.Text {
		t.Fatalf("rule %d: %q", MaxRules+1, r)
	}
	for _, e := range s.DeleteAlertRule(&schemas.DeleteAlertRuleCommand{ID: ids[0], IBAN: ibanAnn, Username: "ann", Token: "tok-ann"}).Events {
		s.Apply(e)
	}
	if r := reasonOf(s.CreateAlertRule(create(nil))); r != "" {
		t.Fatalf("after ending one: %q", r)
	}
	// A rolled-back rule is gone again.
	s.Begin()
	c := create(func(c *schemas.CreateAlertRuleCommand) { c.IBAN, c.Username, c.Token = ibanBob, "bob", "tok-bob" })
	for _, e := range s.CreateAlertRule(c).Events {
		s.Apply(e)
	}
	s.Rollback()
	if _, ok := s.Accounts[ibanBob].Rules[c.ID]; ok {
		t.Fatal("a rolled-back rule stayed")
	}
}
