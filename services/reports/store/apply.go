package store

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openbank/bank/schemas"
)

// writes are the rows one batch adds or changes: the cache's, until
// materialize copies them.
type writes struct {
	seq          uint64 // the batch's
	events       [][]any
	transactions [][]any
	accounts     map[string]*account // new or changed
	owners       map[string]bool     // accounts whose owners changed
	transfers    map[schemas.ID]*transfer
	users        map[string]*user
	once         [][]any // applied_once rows
	result       Result
}

func newWrites(seq uint64) *writes {
	return &writes{seq: seq, accounts: map[string]*account{}, owners: map[string]bool{}, transfers: map[schemas.ID]*transfer{}, users: map[string]*user{}}
}

// notApplied is an event that changes nothing for a reason other than
// being a repeat (money on an account the log never opened, say): the
// projector logs and skips those too.
type notApplied struct{ error }

// apply adds one event's rows to w: its audit row always, and whatever
// it changes.
func (s *Store) apply(e Event, w *writes) error {
	var txID int64
	var note string
	if e.Record == nil {
		note = fmt.Sprintf("not decodable: %v", e.Err)
	} else {
		id, err := s.applyRecord(e.Record, e.At, w)
		var na notApplied
		switch {
		case errors.Is(err, ErrDuplicate):
			w.result.Duplicates++
			note = err.Error()
			s.log.Error("duplicate event in the log not applied", "topic", e.Topic, "offset", e.Offset, "err", err)
		case errors.As(err, &na):
			note = "not applied: " + err.Error()
			s.log.Error("event does not apply", "topic", e.Topic, "offset", e.Offset, "err", err)
		case err != nil:
			return err
		}
		txID = id
	}
	row, err := auditRow(e, txID, note)
	if err != nil {
		return err
	}
	w.events = append(w.events, row)
	w.result.Events++
	return nil
}

// applyRecord applies one decoded event and returns the id of the
// transaction it made, if any.
func (s *Store) applyRecord(rec schemas.Record, at time.Time, w *writes) (int64, error) {
	c := s.c
	switch e := rec.(type) {
	case *schemas.UserAccountCreatedEvent:
		u := c.users[e.Username]
		if u != nil && !u.createdAt.IsZero() {
			return 0, fmt.Errorf("user %s created again: %w", e.Username, ErrDuplicate)
		}
		u = c.linkUser(e.Username, w)
		u.createdAt = at.UTC()
		w.users[u.name] = u
	case *schemas.PasswordChangedEvent:
		return 0, c.once(e, w) // the hash is a secret: nothing else to keep
	case *schemas.BankAccountCreatedEvent:
		if c.accounts[e.IBAN] != nil {
			return 0, fmt.Errorf("account %s created again: %w", e.IBAN, ErrDuplicate)
		}
		a := &account{iban: e.IBAN, owners: []string{e.Username}, openedAt: at.UTC()}
		c.accounts[e.IBAN] = a
		w.accounts[e.IBAN] = a
		c.linkUser(e.Username, w)
	case *schemas.UserAddedToBankAccountEvent, *schemas.UserRemovedFromBankAccountEvent:
		return 0, s.applyOwner(e, w)
	case *schemas.TransferStartedEvent:
		t := c.transferOf(e.ID)
		if t.known {
			return 0, fmt.Errorf("transfer %s started again: %w", e.ID, ErrDuplicate)
		}
		t.known, t.from, t.to, t.amount, t.desc, t.status, t.startedAt = true, e.From, e.To, e.Amount, e.Description, "started", at.UTC()
		w.transfers[e.ID] = t
	case *schemas.TransferCompletedEvent:
		return 0, c.end(e.ID, "completed", "", at, w)
	case *schemas.TransferFailedEvent:
		return 0, c.end(e.ID, "failed", e.Reason, at, w)
	case *schemas.MoneyDebitedEvent:
		return c.move(e.ID, stepDebit, e.IBAN, -e.Amount, "", at, w)
	case *schemas.MoneyCreditedEvent:
		return c.move(e.ID, stepCredit, e.IBAN, e.Amount, "", at, w)
	case *schemas.MoneyReturnedEvent:
		return c.move(e.ID, stepReturn, e.IBAN, e.Amount, e.Reason, at, w)
	case *schemas.AlertRuleCreatedEvent, *schemas.AlertRuleDeletedEvent:
		// In the audit log only.
	default:
		return 0, notApplied{fmt.Errorf("%s is not an event", rec.AvroName())}
	}
	return 0, nil
}

// applyOwner adds an owner to an account or removes one, once per event.
func (s *Store) applyOwner(rec schemas.Record, w *writes) error {
	c := s.c
	switch e := rec.(type) {
	case *schemas.UserAddedToBankAccountEvent:
		a := c.accounts[e.IBAN]
		if a == nil {
			return notApplied{fmt.Errorf("user added to unknown account %s", e.IBAN)}
		}
		if err := c.once(e, w); err != nil {
			return err
		}
		if !slices.Contains(a.owners, e.Username) {
			a.owners = append(slices.Clone(a.owners), e.Username)
			slices.Sort(a.owners)
			w.accounts[a.iban], w.owners[a.iban] = a, true
		}
		c.linkUser(e.Username, w)
	case *schemas.UserRemovedFromBankAccountEvent:
		if err := c.once(e, w); err != nil {
			return err
		}
		if a := c.accounts[e.IBAN]; a != nil && slices.Contains(a.owners, e.Username) {
			a.owners = slices.DeleteFunc(slices.Clone(a.owners), func(u string) bool { return u == e.Username })
			w.accounts[a.iban], w.owners[a.iban] = a, true
		}
	}
	return nil
}

// once records an event by its kind and id, or refuses it as a repeat:
// load has read whether the table holds it.
func (c *cache) once(e schemas.Record, w *writes) error {
	k := onceKey{e.AvroName(), e.RecordID()}
	if _, seen := c.applied[k]; seen {
		return fmt.Errorf("%s %s applied before: %w", k.kind, k.id, ErrDuplicate)
	}
	c.applied[k] = w.seq
	w.once = append(w.once, []any{k.kind, [16]byte(k.id)})
	return nil
}

// linkUser returns a user, adding one the log names as an owner before
// (or without) creating it.
func (c *cache) linkUser(name string, w *writes) *user {
	u := c.users[name]
	if u == nil {
		u = &user{name: name}
		c.users[name] = u
		w.users[name] = u
	}
	return u
}

// end ends a transfer, once; one this store never saw start is left be.
func (c *cache) end(id schemas.ID, status, reason string, at time.Time, w *writes) error {
	t := c.transfers[id]
	switch {
	case t == nil || !t.known:
		return nil
	case t.status != "started":
		return fmt.Errorf("transfer %s %s after it %s: %w", id, status, t.status, ErrDuplicate)
	}
	t.status, t.reason, t.endedAt = status, reason, at.UTC()
	w.transfers[id] = t
	return nil
}

// move applies a money step of a transfer, once, and records the
// transaction with the next id. The counterparty is the transfer's other
// side; a return names the debit it cancels.
func (c *cache) move(id schemas.ID, step uint8, iban string, delta int64, reason string, at time.Time, w *writes) (int64, error) {
	t := c.transferOf(id)
	if t.steps&step != 0 {
		return 0, fmt.Errorf("%s of transfer %s applied before: %w", stepNames[step], id, ErrDuplicate)
	}
	t.steps |= step
	t.seq = w.seq
	a := c.accounts[iban]
	if a == nil {
		return 0, notApplied{fmt.Errorf("money moved on unknown account %s", iban)}
	}
	a.balance += delta
	w.accounts[iban] = a
	c.lastTx++
	counterparty, desc := t.to, t.desc
	switch step {
	case stepCredit:
		counterparty = t.from
	case stepDebit:
		t.debitTx = c.lastTx
	case stepReturn:
		desc = fmt.Sprintf("returned: transaction %d cancelled because %s", t.debitTx, reason)
	}
	w.transactions = append(w.transactions, []any{c.lastTx, iban, delta, a.balance, counterparty, desc, [16]byte(id), stepNames[step], at.UTC()})
	w.result.Transactions++
	return c.lastTx, nil
}
