// Package domain decides on the bank's commands. It holds the aggregates —
// users, bank accounts and transfers — as they follow from the events, one
// Apply for every event, and one decide function per command that returns
// the events, next saga commands and feedback it leads to, or a failure
// reason. There is no Kafka here: the command handler feeds events and
// commands in and sends what comes out.
package domain

import (
	"fmt"
	"maps"

	"github.com/openbank/bank/schemas"
)

// Limit is how far below zero a new account may go, in cents (€500).
const Limit = -50_000

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
	// Rules holds the ids of the account's alert rules.
	Rules map[schemas.ID]bool
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

	// journal holds the value of every aggregate changed since Begin, so
	// Rollback can undo them when their events fail to commit.
	journal *journal
}

type journal struct {
	users     map[string]*User
	accounts  map[string]*Account
	transfers map[schemas.ID]*Transfer
}

// NewState returns an empty state.
func NewState() *State {
	return &State{Users: map[string]*User{}, Accounts: map[string]*Account{}, Transfers: map[schemas.ID]*Transfer{}}
}

// Begin starts recording changes, so that Rollback can undo what is applied
// from now on.
func (s *State) Begin() {
	s.journal = &journal{users: map[string]*User{}, accounts: map[string]*Account{}, transfers: map[schemas.ID]*Transfer{}}
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

// Apply changes the state by one event. Replay and live processing share it,
// so a rebuild cannot diverge from what was decided.
func (s *State) Apply(e schemas.Record) error {
	switch e := e.(type) {
	case *schemas.UserAccountCreatedEvent:
		remember(s.saved().users, s.Users, e.Username, cloneUser)
		s.Users[e.Username] = &User{Username: e.Username, PasswordHash: e.Password}
	case *schemas.BankAccountCreatedEvent:
		remember(s.saved().accounts, s.Accounts, e.IBAN, (*Account).clone)
		s.Accounts[e.IBAN] = &Account{IBAN: e.IBAN, Limit: Limit, Tokens: map[string]string{e.Username: e.Token}}
	case *schemas.UserAddedToBankAccountEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("user added to unknown account %s", e.IBAN)
		}
		a.Tokens[e.Username] = e.Token
	case *schemas.UserRemovedFromBankAccountEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("user removed from unknown account %s", e.IBAN)
		}
		delete(a.Tokens, e.Username)
	case *schemas.AlertRuleCreatedEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("alert rule on unknown account %s", e.IBAN)
		}
		if a.Rules == nil {
			a.Rules = map[schemas.ID]bool{}
		}
		a.Rules[e.ID] = true
	case *schemas.AlertRuleDeletedEvent:
		a, ok := s.account(e.IBAN)
		if !ok {
			return fmt.Errorf("alert rule ended on unknown account %s", e.IBAN)
		}
		delete(a.Rules, e.ID)
	case *schemas.MoneyCreditedEvent:
		return s.move(e.IBAN, e.Amount, e.ID, Credited)
	case *schemas.MoneyDebitedEvent:
		return s.move(e.IBAN, -e.Amount, e.ID, Debited)
	case *schemas.MoneyReturnedEvent:
		return s.move(e.IBAN, e.Amount, e.ID, Returned)
	case *schemas.TransferStartedEvent:
		remember(s.saved().transfers, s.Transfers, e.ID, cloneTransfer)
		s.Transfers[e.ID] = &Transfer{Request: *e, Step: Started}
	case *schemas.TransferCompletedEvent:
		t, ok := s.transfer(e.ID)
		if !ok {
			return fmt.Errorf("unknown transfer %s completed", e.ID)
		}
		t.Step = Completed
	case *schemas.TransferFailedEvent:
		t, ok := s.transfer(e.ID)
		if !ok {
			return fmt.Errorf("unknown transfer %s failed", e.ID)
		}
		t.Step, t.Reason = Failed, e.Reason
	default:
		return fmt.Errorf("%s is not an event of the command handler", e.AvroName())
	}
	return nil
}

// move changes a balance and records the saga step it belongs to. An ended
// saga stays ended: an instance applies the end it decided at once, and
// may read another instance's earlier step (a credit, say) from the log
// only after that.
func (s *State) move(iban string, delta int64, transfer schemas.ID, step Step) error {
	a, ok := s.account(iban)
	if !ok {
		return fmt.Errorf("money moved on unknown account %s", iban)
	}
	a.Balance += delta
	if t, ok := s.transfer(transfer); ok && !t.Step.Ended() {
		t.Step = step
	}
	return nil
}
