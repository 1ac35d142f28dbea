package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openbank/bank/schemas"
)

// cache holds the rows a batch reads (balances, transfers and their money
// steps, users, the events applied once), loaded from the tables the first
// time a batch needs them and changed in place as events apply; the tables
// stay the truth. It runs ahead of the tables by the batches prepared and
// not yet written: a row is dropped only once the batch that last changed
// it is written, so a row the cache lacks is never one a pending batch
// holds. A batch that fails drops the whole cache.
type cache struct {
	lastTx    int64 // id of the newest transaction
	accounts  map[string]*account
	transfers map[schemas.ID]*transfer
	users     map[string]*user
	applied   map[onceKey]uint64 // events applied once, by the batch that did (0: read from the table)
}

// onceKey names an event applied once: its kind and id.
type onceKey struct {
	kind string
	id   schemas.ID
}

type account struct {
	iban     string
	owners   []string
	balance  int64
	openedAt time.Time
	stored   bool // has a row
}

// transfer is a transfer's row, or only its money steps (known false) for
// money moved by a transfer whose start the log does not hold.
type transfer struct {
	id                 schemas.ID
	known              bool
	from, to, desc     string
	amount             int64
	status, reason     string
	startedAt, endedAt time.Time
	steps              uint8  // money steps applied: debit, credit, return
	debitTx            int64  // the debit's transaction id, which a return names
	stored             bool   // has a row
	seq                uint64 // the batch that last changed it
}

type user struct {
	name      string
	createdAt time.Time // zero: an owner whose creation the log does not hold
	stored    bool
}

const (
	stepDebit  uint8 = 1
	stepCredit uint8 = 2
	stepReturn uint8 = 4
)

var stepNames = map[uint8]string{stepDebit: "debit", stepCredit: "credit", stepReturn: "return"}

// maxTransfers bounds the transfers kept between batches: beyond it,
// ended ones are dropped (and read again if the log ever repeats them).
const maxTransfers = 50_000

// load makes sure the cache holds every row the events touch. It reads
// what the tables hold now, outside any transaction: a row a batch not
// yet written changes is in the cache already (see cache).
func (s *Store) load(ctx context.Context, events []Event) error {
	if s.c == nil {
		c := &cache{accounts: map[string]*account{}, transfers: map[schemas.ID]*transfer{}, users: map[string]*user{}, applied: map[onceKey]uint64{}}
		if err := s.pool.QueryRow(ctx, "SELECT coalesce(max(id), 0) FROM "+s.q+".transactions").Scan(&c.lastTx); err != nil {
			return fmt.Errorf("apply: last transaction: %w", err)
		}
		s.c = c
	}
	ibans, ids, names, once := s.c.missing(events)
	b := &pgx.Batch{}
	if len(ibans) > 0 {
		b.Queue("SELECT iban, owners, balance, opened_at FROM "+s.q+".accounts WHERE iban = ANY($1)", ibans).Query(s.c.scanAccounts)
	}
	if len(ids) > 0 {
		b.Queue("SELECT id, from_account, to_account, amount, description, status, coalesce(reason, ''), started_at, coalesce(ended_at, 'epoch') FROM "+
			s.q+".transfers WHERE id = ANY($1)", ids).Query(s.c.scanTransfers)
		b.Queue("SELECT transfer_id, step, id FROM "+s.q+".transactions WHERE transfer_id = ANY($1)", ids).Query(s.c.scanSteps)
	}
	if len(names) > 0 {
		b.Queue("SELECT username, coalesce(created_at, 'epoch') FROM "+s.q+".users WHERE username = ANY($1)", names).Query(s.c.scanUsers)
	}
	if len(once) > 0 {
		// Both key columns, so the primary key is used (by id alone, the
		// table was scanned whole).
		b.Queue("SELECT kind, id FROM "+s.q+".applied_once WHERE kind = ANY($1) AND id = ANY($2)", onceKinds, once).Query(s.c.scanOnce)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("apply: read the rows the batch changes: %w", err)
	}
	return nil
}

// missing lists what events touch and the cache lacks: accounts,
// transfers, users, and whether events applied once were.
func (c *cache) missing(events []Event) (ibans []string, ids [][16]byte, names []string, once [][16]byte) {
	seenI, seenT, seenU := map[string]bool{}, map[schemas.ID]bool{}, map[string]bool{}
	iban := func(i string) {
		if c.accounts[i] == nil && !seenI[i] {
			seenI[i] = true
			ibans = append(ibans, i)
		}
	}
	id := func(t schemas.ID) {
		if c.transfers[t] == nil && !seenT[t] {
			seenT[t] = true
			ids = append(ids, t)
		}
	}
	name := func(u string) {
		if c.users[u] == nil && !seenU[u] {
			seenU[u] = true
			names = append(names, u)
		}
	}
	applied := func(r schemas.Record) {
		if _, ok := c.applied[onceKey{r.AvroName(), r.RecordID()}]; !ok {
			once = append(once, r.RecordID())
		}
	}
	for _, e := range events {
		switch r := e.Record.(type) {
		case *schemas.UserAccountCreatedEvent:
			name(r.Username)
		case *schemas.PasswordChangedEvent:
			applied(r)
		case *schemas.BankAccountCreatedEvent:
			iban(r.IBAN)
			name(r.Username)
		case *schemas.UserAddedToBankAccountEvent:
			iban(r.IBAN)
			name(r.Username)
			applied(r)
		case *schemas.UserRemovedFromBankAccountEvent:
			iban(r.IBAN)
			applied(r)
		case *schemas.TransferStartedEvent, *schemas.TransferCompletedEvent, *schemas.TransferFailedEvent:
			id(r.RecordID())
		case *schemas.MoneyCreditedEvent:
			iban(r.IBAN)
			id(r.ID)
		case *schemas.MoneyDebitedEvent:
			iban(r.IBAN)
			id(r.ID)
		case *schemas.MoneyReturnedEvent:
			iban(r.IBAN)
			id(r.ID)
		}
	}
	return ibans, ids, names, once
}

func (c *cache) scanAccounts(rows pgx.Rows) error {
	for rows.Next() {
		a := &account{stored: true}
		if err := rows.Scan(&a.iban, &a.owners, &a.balance, &a.openedAt); err != nil {
			return err
		}
		c.accounts[a.iban] = a
	}
	return rows.Err()
}

func (c *cache) scanTransfers(rows pgx.Rows) error {
	for rows.Next() {
		t := &transfer{known: true, stored: true}
		var id [16]byte
		if err := rows.Scan(&id, &t.from, &t.to, &t.amount, &t.desc, &t.status, &t.reason, &t.startedAt, &t.endedAt); err != nil {
			return err
		}
		t.id = id
		if t.endedAt.Unix() == 0 {
			t.endedAt = time.Time{}
		}
		c.transfers[t.id] = t
	}
	return rows.Err()
}

// scanSteps reads the money steps of transfers, known or not.
func (c *cache) scanSteps(rows pgx.Rows) error {
	for rows.Next() {
		var id [16]byte
		var step string
		var txID int64
		if err := rows.Scan(&id, &step, &txID); err != nil {
			return err
		}
		t := c.transferOf(id)
		for bit, name := range stepNames {
			if name == step {
				t.steps |= bit
			}
		}
		if step == "debit" {
			t.debitTx = txID
		}
	}
	return rows.Err()
}

// onceKinds are the kinds of events applied once (see cache.once).
var onceKinds = []string{(&schemas.PasswordChangedEvent{}).AvroName(), (&schemas.UserAddedToBankAccountEvent{}).AvroName(),
	(&schemas.UserRemovedFromBankAccountEvent{}).AvroName()}

func (c *cache) scanOnce(rows pgx.Rows) error {
	for rows.Next() {
		var k onceKey
		var id [16]byte
		if err := rows.Scan(&k.kind, &id); err != nil {
			return err
		}
		k.id = id
		c.applied[k] = 0
	}
	return rows.Err()
}

func (c *cache) scanUsers(rows pgx.Rows) error {
	for rows.Next() {
		u := &user{stored: true}
		if err := rows.Scan(&u.name, &u.createdAt); err != nil {
			return err
		}
		if u.createdAt.Unix() == 0 {
			u.createdAt = time.Time{}
		}
		c.users[u.name] = u
	}
	return rows.Err()
}

// transferOf returns the transfer with id, an unknown one if need be.
func (c *cache) transferOf(id schemas.ID) *transfer {
	t := c.transfers[id]
	if t == nil {
		t = &transfer{id: id}
		c.transfers[id] = t
	}
	return t
}

// evict keeps the cache bounded: beyond maxTransfers, it drops the
// transfers and events applied once that no batch still to be written
// (after written) changed; whatever the log names again is read again.
func (c *cache) evict(written uint64) {
	if len(c.transfers) > maxTransfers {
		for id, t := range c.transfers {
			if (!t.known || t.status != "started") && t.seq <= written {
				delete(c.transfers, id)
			}
		}
	}
	if len(c.applied) > maxTransfers {
		for k, seq := range c.applied {
			if seq <= written {
				delete(c.applied, k)
			}
		}
	}
}
