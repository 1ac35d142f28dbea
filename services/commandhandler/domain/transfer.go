package domain

import (
	"errors"
	"fmt"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// The transfer saga, per transfer id:
//
//	MoneyTransferCommand ──► started ──(from = cash)──► CreditMoney(to)
//	                            │
//	                            └──► DebitMoney(from)
//	debit failed      ──► failed
//	debit succeeded   ──► to is ours ? CreditMoney(to) : completed (money left the bank)
//	credit succeeded  ──► completed
//	credit failed     ──► from = cash ? failed : ReturnMoney(from)
//	return succeeded  ──► failed
//
// Checks that need no account (same from and to, invalid IBANs, amount not
// positive) fail the transfer at once. The MoneyTransferCommand's own
// feedback is sent when the saga ends, so whoever sent it learns the outcome,
// and a repeat of the command gets the first one's outcome.

// Step is where a transfer is in its saga.
type Step int

// The steps, as the events record them.
const (
	Started Step = iota
	Debited
	Credited
	Returned
	Completed
	Failed
)

func (s Step) String() string {
	return [...]string{"started", "debited", "credited", "returned", "completed", "failed"}[s]
}

// Ended reports whether the saga is over.
func (s Step) Ended() bool { return s == Completed || s == Failed }

// Transfer is a transfer saga's state.
type Transfer struct {
	Request schemas.TransferStartedEvent
	Step    Step
	Reason  string // why it failed
}

// Cash is the "from" of a deposit: money entering the bank.
const Cash = "cash"

// Failure reasons of transfers.
const (
	ReasonAlreadyStarted    = "transfer was already started"
	ReasonSameFromTo        = "from and to can't be same for transfer"
	ReasonFromInvalid       = "from is invalid"
	ReasonToInvalid         = "to is invalid"
	ReasonCashToOutside     = "cash can only be deposited on an account of this bank"
	ReasonAmountNotPositive = "amount should be positive"
	ReasonUnknownTransfer   = "transfer does not exist"
)

// ErrUnknownTransfer is returned for feedback about a transfer the state does
// not hold (yet): the handler catches up with the events and tries again.
var ErrUnknownTransfer = errors.New("unknown transfer")

// MoneyTransfer starts a transfer saga.
func (s *State) MoneyTransfer(c *schemas.MoneyTransferCommand) Decision {
	req := schemas.TransferStartedEvent{ID: c.ID, Token: c.Token, Amount: c.Amount, From: c.From,
		To: c.To, Description: c.Description, Username: c.Username}
	if t := s.Transfers[c.ID]; t != nil {
		if t.Request != req {
			return failed(c.ID, moneyTransfer, ReasonAlreadyStarted)
		}
		// A retry: answer with the outcome once there is one; a running
		// saga answers when it ends.
		return Decision{Feedback: outcome(t)}
	}
	d := Decision{Events: []schemas.Record{&req}}
	fail := func(reason string) Decision {
		d.Events = append(d.Events, &schemas.TransferFailedEvent{ID: c.ID, Reason: reason})
		d.Feedback = append(d.Feedback, &schemas.CommandFailed{ID: c.ID, CommandName: moneyTransfer, Reason: reason})
		return d
	}
	switch {
	case c.Amount <= 0:
		return fail(ReasonAmountNotPositive)
	case c.From == c.To:
		return fail(ReasonSameFromTo)
	case c.From != Cash && !iban.IsOpen(c.From):
		return fail(ReasonFromInvalid)
	case !iban.Valid(c.To):
		return fail(ReasonToInvalid)
	case c.From == Cash && !iban.IsOpen(c.To):
		return fail(ReasonCashToOutside)
	case c.From == Cash:
		d.Commands = append(d.Commands, &schemas.CreditMoneyCommand{ID: c.ID, IBAN: c.To, Amount: c.Amount})
	default:
		d.Commands = append(d.Commands, &schemas.DebitMoneyCommand{ID: c.ID, IBAN: c.From, Amount: c.Amount, Token: c.Token, Username: c.Username})
	}
	return d
}

// outcome is the MoneyTransferCommand's feedback for an ended saga, none
// for a running one.
func outcome(t *Transfer) []schemas.Record {
	switch t.Step {
	case Completed:
		return []schemas.Record{succeeded(t.Request.ID, moneyTransfer, "")}
	case Failed:
		return []schemas.Record{&schemas.CommandFailed{ID: t.Request.ID, CommandName: moneyTransfer, Reason: t.Reason}}
	}
	return nil
}

// end finishes a saga: its last event and the MoneyTransferCommand's feedback.
func end(t *Transfer, reason string) Decision {
	id := t.Request.ID
	if reason == "" {
		return Decision{
			Events:   []schemas.Record{&schemas.TransferCompletedEvent{ID: id}},
			Feedback: []schemas.Record{succeeded(id, moneyTransfer, "")},
		}
	}
	return Decision{
		Events:   []schemas.Record{&schemas.TransferFailedEvent{ID: id, Reason: reason}},
		Feedback: []schemas.Record{&schemas.CommandFailed{ID: id, CommandName: moneyTransfer, Reason: reason}},
	}
}

// StepDone moves a saga on when one of its steps answers: fb is the
// CommandSucceeded or CommandFailed of a DebitMoney, CreditMoney or
// ReturnMoney command, whose id is the transfer id.
func (s *State) StepDone(fb schemas.Record) (Decision, error) {
	var (
		id      schemas.ID
		command string
		reason  string // empty when the step succeeded
		info    string
	)
	switch fb := fb.(type) {
	case *schemas.CommandSucceeded:
		id, command = fb.ID, fb.CommandName
		if fb.AdditionalInfo != nil {
			info = *fb.AdditionalInfo
		}
	case *schemas.CommandFailed:
		id, command, reason = fb.ID, fb.CommandName, fb.Reason
	default:
		return Decision{}, fmt.Errorf("%s is not feedback", fb.AvroName())
	}
	t := s.Transfers[id]
	if t == nil {
		return Decision{}, fmt.Errorf("%s for transfer %s: %w", command, id, ErrUnknownTransfer)
	}
	if t.Step.Ended() {
		return Decision{}, nil // already decided; nothing more to do
	}
	r := t.Request
	switch {
	case command == debitMoney && reason != "":
		return end(t, reason), nil
	case command == debitMoney && iban.IsOpen(r.To):
		return Decision{Commands: []schemas.Record{&schemas.CreditMoneyCommand{ID: id, IBAN: r.To, Amount: r.Amount}}}, nil
	case command == debitMoney:
		return end(t, ""), nil // to an outside IBAN: the money left the bank
	case command == creditMoney && reason == "":
		return end(t, ""), nil
	case command == creditMoney && r.From == Cash:
		return end(t, reason), nil
	case command == creditMoney:
		return Decision{Commands: []schemas.Record{&schemas.ReturnMoneyCommand{ID: id, IBAN: r.From, Amount: r.Amount, Reason: reason}}}, nil
	case command == returnMoney && reason == "":
		// The return's feedback carries the credit's failure reason.
		if info == "" {
			info = "the credit failed and the money was returned"
		}
		return end(t, info), nil
	case command == returnMoney:
		// Returning cannot fail for an account that was just debited; if it
		// does, say so loudly rather than lose track of the money.
		return Decision{}, fmt.Errorf("return of transfer %s failed: %s", id, reason)
	}
	return Decision{}, fmt.Errorf("feedback of %s does not belong to a transfer saga", command)
}

// MarkTransferCompleted ends a transfer by hand; only a transfer whose money
// has arrived (or left the bank) may be marked completed.
func (s *State) MarkTransferCompleted(c *schemas.MarkTransferCompletedCommand) Decision {
	t := s.Transfers[c.ID]
	switch {
	case t == nil:
		return failed(c.ID, markCompleted, ReasonUnknownTransfer)
	case t.Step.Ended():
		return failed(c.ID, markCompleted, "transfer already "+t.Step.String())
	case t.Step != Credited && !(t.Step == Debited && !iban.IsOpen(t.Request.To)):
		return failed(c.ID, markCompleted, "transfer is "+t.Step.String()+", its money has not arrived")
	}
	d := end(t, "")
	d.Feedback = append(d.Feedback, succeeded(c.ID, markCompleted, ""))
	return d
}

// MarkTransferFailed ends a transfer by hand; only one that has not moved
// money yet may be marked failed.
func (s *State) MarkTransferFailed(c *schemas.MarkTransferFailedCommand) Decision {
	t := s.Transfers[c.ID]
	switch {
	case t == nil:
		return failed(c.ID, markFailed, ReasonUnknownTransfer)
	case t.Step.Ended():
		return failed(c.ID, markFailed, "transfer already "+t.Step.String())
	case t.Step != Started:
		return failed(c.ID, markFailed, "transfer is "+t.Step.String()+", money has moved")
	}
	d := end(t, c.Reason)
	d.Feedback = append(d.Feedback, succeeded(c.ID, markFailed, ""))
	return d
}
