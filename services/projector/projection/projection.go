// Package projection builds the bank's read models from its events alone:
// accounts and their owners, every account's transactions, the users'
// accounts and the transfers. A credit, debit or return becomes a
// Transaction with a global id counted along bank_events, so replaying the
// log gives every transaction the same id again. There is no Kafka here.
package projection

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/money"

	"github.com/openbank/bank/schemas"
)

// The read model's answers are the contract's types: the projector builds
// them, the gateway reads them.
type (
	Transaction  = contract.Transaction
	Account      = contract.Account
	User         = contract.User
	Credentials  = contract.Credentials
	AccountToken = contract.AccountToken
	Transfer     = contract.Transfer
	AlertRule    = contract.AlertRule
)

// Model is the read model.
type Model struct {
	users        map[string]*User
	accounts     map[string]*Account
	transfers    map[schemas.ID]*Transfer
	transactions map[string][]Transaction // per IBAN, oldest first
	all          txLog                    // by id: all.at(id-1)
	credentials  map[string]*credentials
	// debits remembers each transfer's debit transaction, which a return
	// cancels.
	debits map[schemas.ID]int64
	rules  map[string]map[schemas.ID]AlertRule // per IBAN
	// moved and seen make applying idempotent: each money step of a
	// transfer, and each owner, rule or password event, is applied once,
	// however often the log holds it (the command handler keeps the same
	// sets: services/commandhandler/domain).
	moved map[schemas.ID]uint8
	seen  map[seenKey]bool
	// owners keeps every account's owners after each change, oldest
	// first, for the owners as of a past point.
	owners map[string][]ownersChange
}

// ownersChange is an account's owners from a change on.
type ownersChange struct {
	afterTx int64 // the bank's transactions so far when it changed
	at      time.Time
	users   []string
}

type seenKey struct {
	kind string
	id   schemas.ID
}

// ErrDuplicate is returned by Apply for an event the model has applied
// before; the model is left as it was. A sound log never holds one.
var ErrDuplicate = errors.New("duplicate event not applied")

// once records an event by its kind and id, or refuses it as a repeat.
func (m *Model) once(e schemas.Record) error {
	k := seenKey{e.AvroName(), e.RecordID()}
	if m.seen[k] {
		return fmt.Errorf("%s %s applied before: %w", e.AvroName(), e.RecordID(), ErrDuplicate)
	}
	m.seen[k] = true
	return nil
}

// step records a money step of a transfer, or refuses it as a repeat.
func (m *Model) step(id schemas.ID, bit uint8, what string) error {
	if m.moved[id]&bit != 0 {
		return fmt.Errorf("%s of transfer %s applied before: %w", what, id, ErrDuplicate)
	}
	m.moved[id] |= bit
	return nil
}

// AlertRules returns the alert rules of iban, by id.
func (m *Model) AlertRules(iban string) []AlertRule {
	out := []AlertRule{}
	for _, r := range m.rules[iban] {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b AlertRule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// New returns an empty model.
func New() *Model {
	return &Model{
		users: map[string]*User{}, accounts: map[string]*Account{}, transfers: map[schemas.ID]*Transfer{},
		transactions: map[string][]Transaction{}, debits: map[schemas.ID]int64{}, credentials: map[string]*credentials{},
		rules: map[string]map[schemas.ID]AlertRule{}, moved: map[schemas.ID]uint8{}, seen: map[seenKey]bool{}, owners: map[string][]ownersChange{},
	}
}

// Apply adds one event, written at the given time, to the model and returns
// the transactions it makes (none for events that move no money). It is
// one case per event type, each short: the list of what the read model
// applies, kept in one place.
func (m *Model) Apply(e schemas.Record, at time.Time) ([]Transaction, error) {
	switch e := e.(type) {
	case *schemas.UserAccountCreatedEvent:
		if c := m.credentials[e.Username]; c != nil && c.passwordHash != "" {
			// Created before (an account may name an owner this model has
			// not seen created: the company account's, in an old log).
			return nil, fmt.Errorf("user %s created again: %w", e.Username, ErrDuplicate)
		}
		if m.users[e.Username] == nil {
			m.users[e.Username] = &User{Username: e.Username, Accounts: []string{}}
		}
		m.credentialsOf(e.Username).passwordHash = e.Password
	case *schemas.PasswordChangedEvent:
		if err := m.once(e); err != nil {
			return nil, err
		}
		m.credentialsOf(e.Username).passwordHash = e.Password
	case *schemas.BankAccountCreatedEvent:
		if m.accounts[e.IBAN] != nil {
			return nil, fmt.Errorf("account %s created again: %w", e.IBAN, ErrDuplicate)
		}
		m.accounts[e.IBAN] = &Account{IBAN: e.IBAN, Users: []string{e.Username}}
		m.linkUser(e.Username, e.IBAN)
		m.credentialsOf(e.Username).tokens[e.IBAN] = e.Token
		m.ownersChanged(e.IBAN, at)
	case *schemas.UserAddedToBankAccountEvent:
		a, ok := m.accounts[e.IBAN]
		if !ok {
			return nil, fmt.Errorf("user added to unknown account %s", e.IBAN)
		}
		if err := m.once(e); err != nil {
			return nil, err
		}
		if !slices.Contains(a.Users, e.Username) {
			a.Users = append(a.Users, e.Username)
			slices.Sort(a.Users)
		}
		m.linkUser(e.Username, e.IBAN)
		m.credentialsOf(e.Username).tokens[e.IBAN] = e.Token
		m.ownersChanged(e.IBAN, at)
	case *schemas.UserRemovedFromBankAccountEvent:
		if err := m.once(e); err != nil {
			return nil, err
		}
		if a, ok := m.accounts[e.IBAN]; ok {
			a.Users = slices.DeleteFunc(a.Users, func(u string) bool { return u == e.Username })
			m.ownersChanged(e.IBAN, at)
		}
		if u, ok := m.users[e.Username]; ok {
			u.Accounts = slices.DeleteFunc(u.Accounts, func(i string) bool { return i == e.IBAN })
		}
		delete(m.credentialsOf(e.Username).tokens, e.IBAN)
	case *schemas.TransferStartedEvent:
		if m.transfers[e.ID] != nil {
			return nil, fmt.Errorf("transfer %s started again: %w", e.ID, ErrDuplicate)
		}
		m.transfers[e.ID] = &Transfer{ID: e.ID.String(), From: e.From, To: e.To, Amount: e.Amount,
			Description: e.Description, Status: "started"}
	case *schemas.TransferCompletedEvent:
		return nil, m.end(e.ID, "completed", contract.Reason{})
	case *schemas.TransferFailedEvent:
		return nil, m.end(e.ID, "failed", contract.ReasonOf(e.Code, e.Reason))
	case *schemas.MoneyDebitedEvent:
		if err := m.step(e.ID, 1, "debit"); err != nil {
			return nil, err
		}
		t := m.transfers[e.ID]
		tx, err := m.move(e.IBAN, -e.Amount, e.ID, counterparty(t, false), description(t), contract.KindTransfer, at)
		if err != nil {
			return nil, err
		}
		m.debits[e.ID] = tx.ID
		return []Transaction{tx}, nil
	case *schemas.MoneyCreditedEvent:
		if err := m.step(e.ID, 2, "credit"); err != nil {
			return nil, err
		}
		t := m.transfers[e.ID]
		kind := contract.KindTransfer
		if t != nil && t.From == contract.Cash {
			kind = contract.KindDeposit
		}
		tx, err := m.move(e.IBAN, e.Amount, e.ID, counterparty(t, true), description(t), kind, at)
		if err != nil {
			return nil, err
		}
		return []Transaction{tx}, nil
	case *schemas.MoneyReturnedEvent:
		if err := m.step(e.ID, 4, "return"); err != nil {
			return nil, err
		}
		t := m.transfers[e.ID]
		desc := fmt.Sprintf("returned: transaction %d cancelled because %s", m.debits[e.ID], e.Reason)
		tx, err := m.move(e.IBAN, e.Amount, e.ID, counterparty(t, false), desc, contract.KindReturn, at)
		if err != nil {
			return nil, err
		}
		return []Transaction{tx}, nil
	case *schemas.AlertRuleCreatedEvent:
		if err := m.once(e); err != nil {
			return nil, err
		}
		if m.rules[e.IBAN] == nil {
			m.rules[e.IBAN] = map[schemas.ID]AlertRule{}
		}
		m.rules[e.IBAN][e.ID] = AlertRule{ID: e.ID.String(), IBAN: e.IBAN, Owner: e.Username, Kind: contract.AlertKind(e.Kind),
			Amount: e.Amount, Word: e.Word, Webhook: e.Webhook}
	case *schemas.AlertRuleDeletedEvent:
		if err := m.once(e); err != nil {
			return nil, err
		}
		delete(m.rules[e.IBAN], e.ID)
		if len(m.rules[e.IBAN]) == 0 {
			delete(m.rules, e.IBAN)
		}
	default:
		return nil, fmt.Errorf("%s is not an event", e.AvroName())
	}
	return nil, nil
}

// end ends a transfer, once.
func (m *Model) end(id schemas.ID, status string, reason contract.Reason) error {
	t, ok := m.transfers[id]
	switch {
	case !ok:
		return nil // a transfer this model never saw start (an old log)
	case t.Status != "started":
		return fmt.Errorf("transfer %s %s after it %s: %w", id, status, t.Status, ErrDuplicate)
	}
	t.Status, t.Reason, t.ReasonCode = status, reason.Text, reason.Code
	return nil
}

func (m *Model) linkUser(username, iban string) {
	u := m.users[username]
	if u == nil {
		// An account's owner whose creation this model has not seen (the
		// company account's owner, say).
		u = &User{Username: username, Accounts: []string{}}
		m.users[username] = u
	}
	if !slices.Contains(u.Accounts, iban) {
		u.Accounts = append(u.Accounts, iban)
	}
}

type credentials struct {
	passwordHash string
	tokens       map[string]string // by IBAN
}

func (m *Model) credentialsOf(username string) *credentials {
	c := m.credentials[username]
	if c == nil {
		c = &credentials{tokens: map[string]string{}}
		m.credentials[username] = c
	}
	return c
}

// counterparty is the other side of a transfer, seen from the account
// credited (incoming) or debited.
func counterparty(t *Transfer, incoming bool) string {
	if t == nil {
		return ""
	}
	if incoming {
		return t.From
	}
	return t.To
}

func description(t *Transfer) string {
	if t == nil {
		return ""
	}
	return t.Description
}

// move changes a balance and records the transaction, with the next id.
func (m *Model) move(iban string, delta int64, transfer schemas.ID, fromTo, desc, kind string, at time.Time) (Transaction, error) {
	a, ok := m.accounts[iban]
	if !ok {
		return Transaction{}, fmt.Errorf("money moved on unknown account %s", iban)
	}
	a.Balance += delta
	tx := Transaction{ID: int64(m.all.len()) + 1, IBAN: iban, NewBalance: a.Balance, ChangedBy: delta,
		FromTo: fromTo, Description: desc, TransferID: transfer.String(), Kind: kind, At: at.UTC()}
	m.all.append(tx)
	m.transactions[iban] = append(m.transactions[iban], tx)
	return tx, nil
}

// Summary is the bank in four figures; false when the balances' sum does
// not fit in 64 bits (each balance does; their sum could, in principle,
// not).
func (m *Model) Summary() (contract.BankSummary, bool) {
	s := contract.BankSummary{Users: int64(len(m.users)), Accounts: int64(len(m.accounts)), Transactions: m.Transactions()}
	for _, a := range m.accounts {
		sum, ok := money.Add(s.Balances, a.Balance)
		if !ok {
			return contract.BankSummary{}, false
		}
		s.Balances = sum
	}
	return s, true
}

// Transactions counts the transactions so far: the id of the newest.
func (m *Model) Transactions() int64 { return int64(m.all.len()) }

// TransactionByID returns one transaction.
func (m *Model) TransactionByID(id int64) (Transaction, bool) {
	if id < 1 || id > int64(m.all.len()) {
		return Transaction{}, false
	}
	return m.all.at(int(id - 1)), true
}

// TransactionsByIBAN returns an account's newest max transactions, newest
// first.
func (m *Model) TransactionsByIBAN(iban string, max int) []Transaction {
	txs := m.transactions[iban]
	out := make([]Transaction, 0, min(max, len(txs)))
	for i := len(txs) - 1; i >= 0 && len(out) < max; i-- {
		out = append(out, txs[i])
	}
	return out
}

// LastTransactions returns the newest transaction of every account that has
// one, newest first.
func (m *Model) LastTransactions() []Transaction {
	out := make([]Transaction, 0, len(m.transactions))
	for _, txs := range m.transactions {
		out = append(out, txs[len(txs)-1])
	}
	slices.SortFunc(out, func(a, b Transaction) int { return int(b.ID - a.ID) })
	return out
}

// Account returns an account.
func (m *Model) Account(iban string) (Account, bool) {
	a, ok := m.accounts[iban]
	if !ok {
		return Account{}, false
	}
	return Account{IBAN: a.IBAN, Balance: a.Balance, Users: slices.Clone(a.Users)}, true
}

// User returns a user and the IBANs of the accounts they own.
func (m *Model) User(username string) (User, bool) {
	u, ok := m.users[username]
	if !ok {
		return User{}, false
	}
	return User{Username: u.Username, Accounts: slices.Clone(u.Accounts)}, true
}

// Credentials returns a user's password hash and tokens.
func (m *Model) Credentials(username string) (Credentials, bool) {
	c, ok := m.credentials[username]
	u := m.users[username]
	if !ok || u == nil {
		return Credentials{}, false
	}
	out := Credentials{Username: username, PasswordHash: c.passwordHash, Accounts: []AccountToken{}}
	for _, iban := range u.Accounts {
		out.Accounts = append(out.Accounts, AccountToken{IBAN: iban, Token: c.tokens[iban]})
	}
	return out, true
}

// AccountsOf returns the accounts a user owns.
func (m *Model) AccountsOf(username string) []Account {
	u, ok := m.users[username]
	if !ok {
		return []Account{}
	}
	out := make([]Account, 0, len(u.Accounts))
	for _, iban := range u.Accounts {
		if a, ok := m.Account(iban); ok {
			out = append(out, a)
		}
	}
	return out
}

// Transfer returns a transfer's progress.
func (m *Model) Transfer(id schemas.ID) (Transfer, bool) {
	t, ok := m.transfers[id]
	if !ok {
		return Transfer{}, false
	}
	return *t, true
}

// ownersChanged records an account's owners as they are now.
func (m *Model) ownersChanged(iban string, at time.Time) {
	m.owners[iban] = append(m.owners[iban], ownersChange{afterTx: int64(m.all.len()), at: at.UTC(),
		users: slices.Clone(m.accounts[iban].Users)})
}

// OwnersAsOf returns an account's owners as they were when transaction
// txID was written (changes made after it, even before the next one, are
// not counted), or at time t when txID is 0. Nil if it had none yet.
func (m *Model) OwnersAsOf(iban string, txID int64, t time.Time) []string {
	var owners []string
	for _, c := range m.owners[iban] {
		if (txID > 0 && c.afterTx >= txID) || (txID == 0 && c.at.After(t)) {
			break
		}
		owners = c.users
	}
	return slices.Clone(owners)
}

// History answers a page of an account's history, newest first: at most
// max transactions with ids up to upTo written from from on (any time when
// zero).
func (m *Model) History(iban string, upTo int64, from time.Time, max int) []Transaction {
	_, history := m.AsOf(iban, upTo, max)
	if !from.IsZero() {
		cut := slices.IndexFunc(history, func(t Transaction) bool { return t.At.Before(from) })
		if cut >= 0 {
			history = history[:cut]
		}
	}
	return history
}

// AsOf is an account as it stood after the transaction with the given id:
// its balance then and its history up to it, newest first. Time travel: any
// past point of the log can be looked at.
func (m *Model) AsOf(iban string, txID int64, max int) (balance int64, history []Transaction) {
	txs := m.transactions[iban]
	n, _ := slices.BinarySearchFunc(txs, txID, func(t Transaction, id int64) int { return int(t.ID - id) })
	if n < len(txs) && txs[n].ID == txID {
		n++
	}
	// txs[:n] are the account's transactions with id <= txID.
	if n > 0 {
		balance = txs[n-1].NewBalance
	}
	for i := n - 1; i >= 0 && len(history) < max; i-- {
		history = append(history, txs[i])
	}
	return balance, history
}

// AsOfTime is AsOf for the last transaction written at or before t.
func (m *Model) AsOfTime(iban string, t time.Time, max int) (balance int64, history []Transaction) {
	return m.AsOf(iban, m.TransactionsUntil(t), max)
}

// TransactionsUntil returns the id of the last transaction written at or
// before t (0 if none). Event timestamps rise with the log (the broker
// stamps them), so this is a binary search.
func (m *Model) TransactionsUntil(t time.Time) int64 {
	return int64(m.all.firstAfter(t)) // the first n were written at or before t
}
