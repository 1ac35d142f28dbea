// Package domain decides on the bank's commands. It holds the aggregates —
// users, bank accounts and transfers — as they follow from the events, one
// Apply for every event, and one decide function per command that returns
// the events, next saga commands and feedback it leads to, or a failure
// reason. There is no Kafka here: the command handler feeds events and
// commands in and sends what comes out.
package domain

import (
	"errors"
	"fmt"
	"maps"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
)

// Limit is how far below zero a new account may go, in cents.
const Limit = contract.OverdraftLimit

// User is a user aggregate.
type User struct {
	Username     string
	PasswordHash string
}

// Account is a bank-account aggregate.
type Account struct {
	IBAN    string
	Balance int64
	Limit   int64
	// Tokens holds each owner's token by username.
	Tokens map[string]string
	// Rules holds the account's alert rules: the username that set each.
	Rules map[schemas.ID]string
	// DepositDay is the UTC day (days since 1970-01-01) of the latest
	// cash deposit counted against the daily limit, Deposited the cash
	// deposited on that day.
	DepositDay, Deposited int64
}

// depositedOn returns the cash deposited on the account on day.
func (a *Account) depositedOn(day int64) int64 {
	if a.DepositDay != day {
		return 0
	}
	return a.Deposited
}

func (a *Account) clone() *Account {
	c := *a
	c.Tokens = maps.Clone(a.Tokens)
	c.Rules = maps.Clone(a.Rules)
	return &c
}

// State is everything the command handler knows, rebuilt from events.
type State struct {
	Users     map[string]*User
	Accounts  map[string]*Account
	Transfers map[schemas.ID]*Transfer
	// Moved records, per transfer id, which money steps (debit, credit,
	// return) have been applied, so that none is ever applied twice: not
	// when a command comes again, not when the log holds an event twice.
	// It is apart from Transfers because an instance may apply a step
	// before it reads the TransferStartedEvent another instance wrote.
	Moved map[schemas.ID]Moves
	// Seen holds the ids of the events that change owners, rules and
	// passwords, so that a repeat of an old one (a co-owner added again
	// after leaving, say) is refused rather than applied out of order.
	Seen map[EventKey]bool

	// journal holds the value of every aggregate changed since Begin, so
	// Rollback can undo them when their events fail to commit.
	journal *journal
}

type journal struct {
	users     map[string]*User
	accounts  map[string]*Account
	transfers map[schemas.ID]*Transfer
	moved     map[schemas.ID]*Moves
	seen      []EventKey
}

// EventKey names one event: its record type and id.
type EventKey struct {
	Kind string
	ID   schemas.ID
}

// Moves is a set of money steps applied for one transfer.
type Moves uint8

// The money steps of a transfer.
const (
	MovedDebit Moves = 1 << iota
	MovedCredit
	MovedReturn
)

// NewState returns an empty state.
func NewState() *State {
	return &State{Users: map[string]*User{}, Accounts: map[string]*Account{}, Transfers: map[schemas.ID]*Transfer{},
		Moved: map[schemas.ID]Moves{}, Seen: map[EventKey]bool{}}
}

// Begin starts recording changes, so that Rollback can undo what is applied
// from now on.
func (s *State) Begin() {
	s.journal = &journal{users: map[string]*User{}, accounts: map[string]*Account{}, transfers: map[schemas.ID]*Transfer{},
		moved: map[schemas.ID]*Moves{}}
}

// Commit keeps the changes since Begin.
func (s *State) Commit() { s.journal = nil }

// Rollback undoes every change since Begin.
func (s *State) Rollback() {
	j := s.journal
	if j == nil {
		return
	}
	restore(s.Users, j.users)
	restore(s.Accounts, j.accounts)
	restore(s.Transfers, j.transfers)
	for _, k := range j.seen {
		delete(s.Seen, k)
	}
	for id, m := range j.moved {
		if m == nil {
			delete(s.Moved, id)
		} else {
			s.Moved[id] = *m
		}
	}
	s.journal = nil
}

func restore[K comparable, V any](m map[K]*V, saved map[K]*V) {
	for k, v := range saved {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

// remember saves the value of key (nil if absent) before its first change
// since Begin; saved is nil when nothing is being recorded.
func remember[K comparable, V any](saved map[K]*V, m map[K]*V, key K, clone func(*V) *V) {
	if saved == nil {
		return
	}
	if _, done := saved[key]; done {
		return
	}
	if v, ok := m[key]; ok {
		saved[key] = clone(v)
	} else {
		saved[key] = nil
	}
}

// writable returns the value of key to change in place: after Begin, a copy
// replaces it, and the original is saved for Rollback.
func writable[K comparable, V any](saved map[K]*V, m map[K]*V, key K, clone func(*V) *V) (*V, bool) {
	v, ok := m[key]
	if !ok {
		return nil, false
	}
	if saved != nil {
		if _, done := saved[key]; !done {
			saved[key] = v
			v = clone(v)
			m[key] = v
		}
	}
	return v, true
}

// notRecording has nil maps: nothing is saved while no Begin is open.
var notRecording = &journal{}

// saved is the journal to record in.
func (s *State) saved() *journal {
	if s.journal == nil {
		return notRecording
	}
	return s.journal
}

func cloneUser(u *User) *User             { c := *u; return &c }
func cloneTransfer(t *Transfer) *Transfer { c := *t; return &c }

func (s *State) account(iban string) (*Account, bool) {
	return writable(s.saved().accounts, s.Accounts, iban, (*Account).clone)
}

func (s *State) transfer(id schemas.ID) (*Transfer, bool) {
	return writable(s.saved().transfers, s.Transfers, id, cloneTransfer)
}

// ErrDuplicate is returned by Apply for an event that repeats one applied
// before (the same money step of a transfer, a second start or end of a
// saga): the state is left as it was. A sound log never holds one; the
// handler counts and logs it.
var ErrDuplicate = errors.New("duplicate event not applied")

// Apply changes the state by one event. Replay and live processing share it,
// so a rebuild cannot diverge from what was decided. It never checks the
// rules a decision checks (those held when the event was written), but it
// refuses to apply an event twice.
// It is one case per event type, each short: the list of what the
// aggregates apply, kept in one place.
func (s *State) Apply(e schemas.Record) error {
	switch e := e.(type) {
	case *schemas.UserAccountCreatedEvent:
		if s.Users[e.Username] != nil {
			return fmt.Errorf("user %s created again: %w", e.Username, ErrDuplicate)
		}
		remember(s.saved().users, s.Users, e.Username, cloneUser)
		s.Users[e.Username] = &User{Username: e.Username, PasswordHash: e.Password}
	case *schemas.PasswordChangedEvent:
		if s.Users[e.Username] == nil {
			return fmt.Errorf("password changed of unknown user %s", e.Username)
		}
		if err := s.once(e); err != nil {
			return err
		}
		remember(s.saved().users, s.Users, e.Username, cloneUser)
		s.Users[e.Username] = &User{Username: e.Username, PasswordHash: e.Password}
	case *schemas.SessionsRevokedEvent:
		// Sessions are the gateways' concern; nothing here depends on them.
	case *schemas.BankAccountCreatedEvent:
		if s.Accounts[e.IBAN] != nil {
			return fmt.Errorf("account %s created again: %w", e.IBAN, ErrDuplicate)
		}
		remember(s.saved().accounts, s.Accounts, e.IBAN, (*Account).clone)
		s.Accounts[e.IBAN] = &Account{IBAN: e.IBAN, Limit: Limit, Tokens: map[string]string{e.Username: e.Token}}
	case *schemas.UserAddedToBankAccountEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("user added to unknown account %s", e.IBAN)
		}
		if err := s.once(e); err != nil {
			return err
		}
		a.Tokens[e.Username] = e.Token
	case *schemas.UserRemovedFromBankAccountEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("user removed from unknown account %s", e.IBAN)
		}
		if err := s.once(e); err != nil {
			return err
		}
		delete(a.Tokens, e.Username)
	case *schemas.AlertRuleCreatedEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("alert rule on unknown account %s", e.IBAN)
		}
		if err := s.once(e); err != nil {
			return err
		}
		if a.Rules == nil {
			a.Rules = map[schemas.ID]string{}
		}
		a.Rules[e.ID] = e.Username
	case *schemas.AlertRuleDeletedEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("alert rule ended on unknown account %s", e.IBAN)
		}
		if err := s.once(e); err != nil {
			return err
		}
		delete(a.Rules, e.ID)
	case *schemas.MoneyCreditedEvent:
		return s.move(e.IBAN, e.Amount, e.ID, Credited, e.DepositedAt)
	case *schemas.MoneyDebitedEvent:
		return s.move(e.IBAN, -e.Amount, e.ID, Debited, 0)
	case *schemas.MoneyReturnedEvent:
		return s.move(e.IBAN, e.Amount, e.ID, Returned, 0)
	case *schemas.TransferStartedEvent:
		if s.Transfers[e.ID] != nil {
			return fmt.Errorf("transfer %s started again: %w", e.ID, ErrDuplicate)
		}
		remember(s.saved().transfers, s.Transfers, e.ID, cloneTransfer)
		s.Transfers[e.ID] = &Transfer{Request: *e, Step: Started}
	case *schemas.TransferCompletedEvent:
		return s.end(e.ID, Completed, contract.Reason{})
	case *schemas.TransferFailedEvent:
		return s.end(e.ID, Failed, contract.ReasonOf(e.Code, e.Reason))
	default:
		return fmt.Errorf("%s is not an event of the command handler", e.AvroName())
	}
	return nil
}

// Repeats reports whether Apply would refuse e as a repeat (ErrDuplicate),
// without changing anything: the handler checks a decision's events before
// applying any of them.
func (s *State) Repeats(e schemas.Record) bool {
	switch e := e.(type) {
	case *schemas.UserAccountCreatedEvent:
		return s.Users[e.Username] != nil
	case *schemas.BankAccountCreatedEvent:
		return s.Accounts[e.IBAN] != nil
	case *schemas.TransferStartedEvent:
		return s.Transfers[e.ID] != nil
	case *schemas.TransferCompletedEvent:
		return s.Transfers[e.ID] != nil && s.Transfers[e.ID].Step.Ended()
	case *schemas.TransferFailedEvent:
		return s.Transfers[e.ID] != nil && s.Transfers[e.ID].Step.Ended()
	case *schemas.MoneyCreditedEvent:
		return s.Moved[e.ID]&MovedCredit != 0
	case *schemas.MoneyDebitedEvent:
		return s.Moved[e.ID]&MovedDebit != 0
	case *schemas.MoneyReturnedEvent:
		return s.Moved[e.ID]&MovedReturn != 0
	case *schemas.PasswordChangedEvent, *schemas.UserAddedToBankAccountEvent, *schemas.UserRemovedFromBankAccountEvent,
		*schemas.AlertRuleCreatedEvent, *schemas.AlertRuleDeletedEvent:
		return s.decided(e)
	}
	return false
}

// once records an event by its key, or refuses it as a repeat.
func (s *State) once(e schemas.Record) error {
	k := EventKey{Kind: e.AvroName(), ID: e.RecordID()}
	if s.Seen[k] {
		return fmt.Errorf("%s %s applied before: %w", e.AvroName(), e.RecordID(), ErrDuplicate)
	}
	s.Seen[k] = true
	if s.journal != nil {
		s.journal.seen = append(s.journal.seen, k)
	}
	return nil
}

// end ends a saga, once.
func (s *State) end(id schemas.ID, step Step, reason contract.Reason) error {
	t, ok := s.transfer(id)
	switch {
	case !ok:
		return fmt.Errorf("unknown transfer %s %s", id, step)
	case t.Step.Ended():
		return fmt.Errorf("transfer %s %s after it %s: %w", id, step, t.Step, ErrDuplicate)
	}
	t.Step, t.Reason = step, reason
	return nil
}

// moveBit is the Moves bit of a money step.
func moveBit(step Step) Moves {
	switch step {
	case Debited:
		return MovedDebit
	case Credited:
		return MovedCredit
	}
	return MovedReturn
}

// move changes a balance and records the saga step it belongs to, once per
// transfer and step. An ended saga stays ended: an instance applies the end
// it decided at once, and may read another instance's earlier step (a
// credit, say) from the log only after that. depositedAt (Unix ms) counts a
// cash deposit toward its day's limit.
func (s *State) move(iban string, delta int64, transfer schemas.ID, step Step, depositedAt int64) error {
	bit := moveBit(step)
	if s.Moved[transfer]&bit != 0 {
		return fmt.Errorf("%s of transfer %s on %s applied before: %w", step, transfer, iban, ErrDuplicate)
	}
	a, ok := s.account(iban)
	if !ok {
		return fmt.Errorf("money moved on unknown account %s", iban)
	}
	s.rememberMoved(transfer)
	s.Moved[transfer] |= bit
	a.Balance += delta
	if depositedAt > 0 {
		day := depositedAt / msPerDay
		a.Deposited = a.depositedOn(day) + delta
		a.DepositDay = day
	}
	if t, ok := s.transfer(transfer); ok && !t.Step.Ended() {
		t.Step = step
	}
	return nil
}

const msPerDay = 24 * 60 * 60 * 1000

func (s *State) rememberMoved(id schemas.ID) {
	saved := s.saved().moved
	if saved == nil {
		return
	}
	if _, done := saved[id]; done {
		return
	}
	if m, ok := s.Moved[id]; ok {
		saved[id] = &m
	} else {
		saved[id] = nil
	}
}
