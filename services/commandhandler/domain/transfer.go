package domain

import (
	"errors"
	"fmt"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/money"
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
// Checks that need no account (same from and to, invalid IBANs, an amount
// outside 1 cent to the limit, a deposit by someone who does not own the
// account) fail the transfer at once. Each money step is applied at most
// once per transfer (State.Moved): a step command that comes again is
// answered with the first outcome. The MoneyTransferCommand's own
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
	Reason  contract.Reason // why it failed
}

// Cash is the "from" of a deposit: money entering the bank.
const Cash = contract.Cash

// ErrUnknownTransfer is returned for feedback about a transfer the state does
// not hold: the handler parks it.
var ErrUnknownTransfer = errors.New("unknown transfer")

// MoneyTransfer starts a transfer saga. What a request could make huge —
// the description, the username, the token — is checked before anything
// is stored: a refused value never reaches the log.
func (s *State) MoneyTransfer(c *schemas.MoneyTransferCommand, env Env) Decision {
	if reason := tooLong(c); reason != (contract.Reason{}) {
		return failed(c.ID, moneyTransfer, reason)
	}
	req := schemas.TransferStartedEvent{ID: c.ID, Token: c.Token, Amount: c.Amount, From: c.From,
		To: c.To, Description: c.Description, Username: c.Username, Teller: c.Teller}
	if t := s.Transfers[c.ID]; t != nil {
		if t.Request != req {
			return failed(c.ID, moneyTransfer, contract.TransferStarted)
		}
		// A retry: answer with the outcome once there is one; a running
		// saga answers when it ends.
		return Decision{Feedback: outcome(t)}
	}
	d := Decision{Events: []schemas.Record{&req}}
	fail := func(r contract.Reason) Decision {
		d.Events = append(d.Events, &schemas.TransferFailedEvent{ID: c.ID, Reason: r.Text, Code: string(r.Code)})
		d.Feedback = append(d.Feedback, commandFailed(c.ID, moneyTransfer, r))
		return d
	}
	genesis := isGenesis(c)
	limits := env.limits()
	if reason := limits.CheckAmount(c.Amount); reason != (contract.Reason{}) && !(genesis && c.Amount > 0) {
		return fail(reason)
	}
	cash := c.From == Cash
	switch {
	case c.From == c.To:
		return fail(contract.SameFromTo)
	case !cash && !iban.IsOpen(c.From):
		return fail(contract.FromInvalid)
	case !iban.Valid(c.To):
		return fail(contract.ToInvalid)
	case cash && !iban.IsOpen(c.To):
		return fail(contract.CashToOutside)
	case cash && genesis:
		d.Commands = append(d.Commands, &schemas.CreditMoneyCommand{ID: c.ID, IBAN: c.To, Amount: c.Amount})
	case cash && c.Amount > limits.MaxDeposit:
		return fail(contract.DepositTooLarge(limits.MaxDeposit))
	case cash:
		// Who may deposit is checked by the credit, on the instance that
		// owns the account: this one may not have read its opening yet.
		d.Commands = append(d.Commands, &schemas.CreditMoneyCommand{ID: c.ID, IBAN: c.To, Amount: c.Amount, Deposit: true,
			Teller: c.Teller, Username: c.Username, Token: c.Token})
	default:
		d.Commands = append(d.Commands, &schemas.DebitMoneyCommand{ID: c.ID, IBAN: c.From, Amount: c.Amount, Token: c.Token, Username: c.Username})
	}
	return d
}

// tooLong returns why a transfer's text fields are refused (a zero Reason
// when they are not).
func tooLong(c *schemas.MoneyTransferCommand) contract.Reason {
	if reason := contract.CheckDescription(c.Description); reason != (contract.Reason{}) {
		return reason
	}
	if len(c.Username) > 4*contract.MaxUsername || len(c.Token) > contract.MaxToken ||
		len(c.From) > contract.MaxIBAN || len(c.To) > contract.MaxIBAN {
		return contract.FieldTooLong
	}
	return contract.Reason{}
}

// outcome is the MoneyTransferCommand's feedback for an ended saga, none
// for a running one.
func outcome(t *Transfer) []schemas.Record {
	switch t.Step {
	case Completed:
		return []schemas.Record{succeeded(t.Request.ID, moneyTransfer, "")}
	case Failed:
		return []schemas.Record{commandFailed(t.Request.ID, moneyTransfer, t.Reason)}
	}
	return nil
}

// end finishes a saga: its last event and the MoneyTransferCommand's
// feedback; a zero reason completes it.
func end(t *Transfer, reason contract.Reason) Decision {
	id := t.Request.ID
	if reason == (contract.Reason{}) {
		return Decision{
			Events:   []schemas.Record{&schemas.TransferCompletedEvent{ID: id}},
			Feedback: []schemas.Record{succeeded(id, moneyTransfer, "")},
		}
	}
	return Decision{
		Events:   []schemas.Record{&schemas.TransferFailedEvent{ID: id, Reason: reason.Text, Code: string(reason.Code)}},
		Feedback: []schemas.Record{commandFailed(id, moneyTransfer, reason)},
	}
}

// StepDone moves a saga on when one of its steps answers: fb is the
// CommandSucceeded or CommandFailed of a DebitMoney, CreditMoney or
// ReturnMoney command, whose id is the transfer id.
func (s *State) StepDone(fb schemas.Record) (Decision, error) {
	var (
		id      schemas.ID
		command string
		failure contract.Reason // zero when the step succeeded
		info    string
	)
	switch fb := fb.(type) {
	case *schemas.CommandSucceeded:
		id, command = fb.ID, fb.CommandName
		if fb.AdditionalInfo != nil {
			info = *fb.AdditionalInfo
		}
	case *schemas.CommandFailed:
		id, command, failure = fb.ID, fb.CommandName, contract.ReasonOf(fb.Code, fb.Reason)
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
	ok := failure == (contract.Reason{})
	switch {
	case command == debitMoney && !ok:
		return end(t, failure), nil
	case command == debitMoney && iban.IsOpen(r.To):
		return Decision{Commands: []schemas.Record{&schemas.CreditMoneyCommand{ID: id, IBAN: r.To, Amount: r.Amount}}}, nil
	case command == debitMoney:
		return end(t, contract.Reason{}), nil // to an outside IBAN: the money left the bank
	case command == creditMoney && ok:
		return end(t, contract.Reason{}), nil
	case command == creditMoney && r.From == Cash:
		return end(t, failure), nil
	case command == creditMoney:
		return Decision{Commands: []schemas.Record{&schemas.ReturnMoneyCommand{ID: id, IBAN: r.From, Amount: r.Amount, Reason: failure.Text}}}, nil
	case command == returnMoney && ok:
		// The return's feedback carries the credit's failure sentence; its
		// code is that sentence's (credits fail with fixed ones).
		if info == "" {
			return end(t, contract.MoneyReturned), nil
		}
		return end(t, contract.ReasonOf("", info)), nil
	case command == returnMoney:
		// Returning cannot fail for an account that was just debited; if it
		// does, say so loudly rather than lose track of the money.
		return Decision{}, fmt.Errorf("return of transfer %s failed: %s", id, failure.Text)
	}
	return Decision{}, fmt.Errorf("feedback of %s does not belong to a transfer saga", command)
}

// MarkTransferCompleted ends a transfer by hand; only a transfer whose money
// has arrived (or left the bank) may be marked completed.
func (s *State) MarkTransferCompleted(c *schemas.MarkTransferCompletedCommand) Decision {
	t := s.Transfers[c.ID]
	switch {
	case t == nil:
		return failed(c.ID, markCompleted, contract.TransferUnknown)
	case t.Step.Ended():
		return failed(c.ID, markCompleted, contract.TransferState("transfer already "+t.Step.String()))
	case t.Step != Credited && !(t.Step == Debited && !iban.IsOpen(t.Request.To)):
		return failed(c.ID, markCompleted, contract.TransferState("transfer is "+t.Step.String()+", its money has not arrived"))
	}
	d := end(t, contract.Reason{})
	d.Feedback = append(d.Feedback, succeeded(c.ID, markCompleted, ""))
	return d
}

// MarkTransferFailed ends a transfer by hand; only one that has not moved
// money yet may be marked failed.
func (s *State) MarkTransferFailed(c *schemas.MarkTransferFailedCommand) Decision {
	t := s.Transfers[c.ID]
	switch {
	case t == nil:
		return failed(c.ID, markFailed, contract.TransferUnknown)
	case t.Step.Ended():
		return failed(c.ID, markFailed, contract.TransferState("transfer already "+t.Step.String()))
	case t.Step != Started:
		return failed(c.ID, markFailed, contract.TransferState("transfer is "+t.Step.String()+", money has moved"))
	}
	d := end(t, contract.MarkedFailed(c.Reason))
	d.Feedback = append(d.Feedback, succeeded(c.ID, markFailed, ""))
	return d
}

// The money steps. Each runs on the instance that owns the account it
// changes (the commands are keyed by IBAN), and each is applied at most once
// per transfer: a repeat is answered with the first outcome. Every balance
// change is checked before it is made (money.Add, money.Sub): no amount,
// however large, can wrap a balance around.

// DebitMoney decides on taking money from an account for a transfer.
func (s *State) DebitMoney(c *schemas.DebitMoneyCommand, env Env) Decision {
	if done, d := s.stepDone(c.ID, debitMoney, MovedDebit, ""); done {
		return d
	}
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	if reason != (contract.Reason{}) {
		return failed(c.ID, debitMoney, reason)
	}
	if reason := env.limits().CheckAmount(c.Amount); reason != (contract.Reason{}) {
		return failed(c.ID, debitMoney, reason)
	}
	if after, ok := money.Sub(a.Balance, c.Amount); !ok || after <= a.Limit {
		return failed(c.ID, debitMoney, contract.InsufficientFunds(a.Limit))
	}
	return Decision{
		Events:   []schemas.Record{&schemas.MoneyDebitedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount}},
		Feedback: []schemas.Record{succeeded(c.ID, debitMoney, "")},
	}
}

// CreditMoney decides on putting money on an account for a transfer. A
// cash deposit is taken from an owner of the account (its username and
// token) or a teller, and counts toward the account's daily cash limit:
// both checked here, where one instance decides every credit of the
// account in turn, with its state up to date.
func (s *State) CreditMoney(c *schemas.CreditMoneyCommand, env Env) Decision {
	if done, d := s.stepDone(c.ID, creditMoney, MovedCredit, ""); done {
		return d
	}
	if s.Moved[c.ID]&MovedReturn != 0 {
		return failed(c.ID, creditMoney, contract.TransferEnded)
	}
	if c.Deposit && !c.Teller {
		if _, reason := s.authorize(c.IBAN, c.Username, c.Token); reason != (contract.Reason{}) {
			return failed(c.ID, creditMoney, contract.CashNeedsOwner) // the same for an account that does not exist
		}
	}
	a, reason := s.receivable(c.IBAN, c.Amount)
	if reason != (contract.Reason{}) {
		return failed(c.ID, creditMoney, reason)
	}
	event := &schemas.MoneyCreditedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount}
	if c.Deposit {
		limits := env.limits()
		now := env.now().UnixMilli()
		total, ok := money.Add(a.depositedOn(now/msPerDay), c.Amount)
		switch {
		case c.Amount > limits.MaxDeposit:
			return failed(c.ID, creditMoney, contract.DepositTooLarge(limits.MaxDeposit))
		case !ok || total > limits.MaxDepositsPerDay:
			return failed(c.ID, creditMoney, contract.DailyDepositLimit(limits.MaxDepositsPerDay))
		}
		event.DepositedAt = max(now, 1)
	}
	return Decision{
		Events:   []schemas.Record{event},
		Feedback: []schemas.Record{succeeded(c.ID, creditMoney, "")},
	}
}

// ReturnMoney decides on giving debited money back after a failed credit. It
// has no limit to check: the money left this account moments ago.
func (s *State) ReturnMoney(c *schemas.ReturnMoneyCommand) Decision {
	if done, d := s.stepDone(c.ID, returnMoney, MovedReturn, c.Reason); done {
		return d
	}
	if s.Moved[c.ID]&MovedCredit != 0 {
		return failed(c.ID, returnMoney, contract.NothingToReturn)
	}
	if _, reason := s.receivable(c.IBAN, c.Amount); reason != (contract.Reason{}) {
		return failed(c.ID, returnMoney, reason)
	}
	return Decision{
		Events: []schemas.Record{&schemas.MoneyReturnedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount, Reason: c.Reason}},
		// The saga ends the transfer with this reason.
		Feedback: []schemas.Record{succeeded(c.ID, returnMoney, c.Reason)},
	}
}

// receivable checks that amount may be put on the account: it exists, the
// amount is at least a cent, and the balance cannot wrap around.
func (s *State) receivable(ibanCode string, amount int64) (*Account, contract.Reason) {
	a := s.Accounts[ibanCode]
	switch {
	case a == nil:
		return nil, contract.AccountUnknown
	case amount < contract.MinAmount:
		return nil, contract.AmountNotPositive
	}
	if _, ok := money.Add(a.Balance, amount); !ok {
		return nil, contract.BalanceTooLarge
	}
	return a, contract.Reason{}
}

// stepDone answers a money step that was decided before: the first
// outcome when its money moved, a refusal when the transfer has ended
// without it (its first attempt failed). done is false for a step to
// decide now.
func (s *State) stepDone(id schemas.ID, command string, bit Moves, info string) (done bool, d Decision) {
	if s.Moved[id]&bit != 0 {
		return true, Decision{Feedback: []schemas.Record{succeeded(id, command, info)}}
	}
	if t := s.Transfers[id]; t != nil && t.Step.Ended() {
		return true, failed(id, command, contract.TransferEnded)
	}
	return false, Decision{}
}
