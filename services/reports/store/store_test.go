package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/services/reports/store"
	"github.com/openbank/bank/topology"
)

func TestMain(m *testing.M) { os.Exit(reportstest.Main(m)) }

// log builds a log of events: offsets count per topic, times are given.
type log struct {
	next   map[string]int64
	events []store.Event
}

func newLog() *log { return &log{next: map[string]int64{}} }

func (l *log) add(at time.Time, recs ...schemas.Record) *log {
	for _, r := range recs {
		topic := topology.BankEvents
		if _, ok := r.(*schemas.UserAccountCreatedEvent); ok {
			topic = topology.UserEvents
		}
		if _, ok := r.(*schemas.PasswordChangedEvent); ok {
			topic = topology.UserEvents
		}
		l.events = append(l.events, store.Event{Topic: topic, Offset: l.next[topic], At: at, Key: r.Key(), Record: r})
		l.next[topic]++
	}
	return l
}

// transfer is the events of a transfer's saga from its start.
func transfer(id schemas.ID, from, to string, amount int64, desc string, outcome string) []schemas.Record {
	recs := []schemas.Record{&schemas.TransferStartedEvent{ID: id, From: from, To: to, Amount: amount, Description: desc, Token: "secret-token", Username: "ann"}}
	if from != "cash" {
		recs = append(recs, &schemas.MoneyDebitedEvent{ID: id, IBAN: from, Amount: amount})
	}
	switch outcome {
	case "credited":
		recs = append(recs, &schemas.MoneyCreditedEvent{ID: id, IBAN: to, Amount: amount}, &schemas.TransferCompletedEvent{ID: id})
	case "out":
		recs = append(recs, &schemas.TransferCompletedEvent{ID: id})
	case "returned":
		recs = append(recs, &schemas.MoneyReturnedEvent{ID: id, IBAN: from, Amount: amount, Reason: "account does not exist"},
			&schemas.TransferFailedEvent{ID: id, Reason: "account does not exist"})
	}
	return recs
}

// funded returns the tests' database, a writer on fresh live tables and
// a log that opens acct for ann and pays 7 into it from cash.
func funded(t *testing.T, acct string) (*pgxpool.Pool, *store.Store, *log) {
	t.Helper()
	pool, _ := reportstest.Pool(t)
	l := newLog().add(time.Now(), &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: acct, Username: "ann"})
	l.add(time.Now(), transfer(schemas.NewID(), "cash", acct, 7, "in", "credited")...)
	return pool, open(t, pool, store.Live), l
}

func open(t *testing.T, pool *pgxpool.Pool, schema string) *store.Store {
	t.Helper()
	if err := store.Migrate(context.Background(), pool, schema); err != nil {
		t.Fatal(err)
	}
	s := store.New(pool, schema, nil)
	if _, err := s.Offsets(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMigrationsRunOnce(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	for range 3 {
		if err := store.Migrate(t.Context(), pool, store.Live); err != nil {
			t.Fatal(err)
		}
	}
	got := reportstest.Rows(t, pool, "SELECT version, name FROM reports.schema_migrations ORDER BY version")
	if len(got) == 0 || got[0] != "1 0001_tables.sql" {
		t.Fatalf("migrations recorded: %v", got)
	}
	entries, _ := os.ReadDir("migrations")
	if len(got) != len(entries) {
		t.Errorf("%d migrations recorded, %d files", len(got), len(entries))
	}
	tables := reportstest.Rows(t, pool, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'reports' ORDER BY 1")
	for _, want := range []string{"accounts", "events", "offsets", "transactions", "transfers", "users"} {
		if !slices.Contains(tables, want) {
			t.Errorf("no table %s: %v", want, tables)
		}
	}
}

// Repeats in the log move no money and end nothing twice, as in the
// projector; each is counted, and still listed in the audit log with a
// note.
func TestRepeatsApplyOnce(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	s := open(t, pool, store.Live)
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	ann, id := "NL66OPEN0000000001", schemas.NewID()
	added := &schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), Username: "bob", IBAN: ann, Token: "t2"}
	l := newLog().add(at, &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ann", Password: "hash"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ann, Username: "ann", Token: "t1"}, added)
	l.add(at, transfer(id, "cash", ann, 500, "in", "credited")...)
	// Repeated: the credit, the start, the end, the owner added, the account.
	l.add(at.Add(time.Second), &schemas.MoneyCreditedEvent{ID: id, IBAN: ann, Amount: 500}, &schemas.TransferStartedEvent{ID: id},
		&schemas.TransferCompletedEvent{ID: id}, added, &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ann, Username: "eve"},
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ann", Password: "hash"})
	// Half in one batch, half in the next: repeats are found across batches.
	total := store.Result{}
	for _, part := range [][]store.Event{l.events[:5], l.events[5:]} {
		r, err := s.Apply(t.Context(), part)
		if err != nil {
			t.Fatal(err)
		}
		total.Events, total.Transactions, total.Duplicates = total.Events+r.Events, total.Transactions+r.Transactions, total.Duplicates+r.Duplicates
	}
	if total != (store.Result{Events: len(l.events), Transactions: 1, Duplicates: 6}) {
		t.Errorf("result %+v", total)
	}
	want := map[string][]string{
		"SELECT iban, owners, balance FROM reports.accounts":                               {"NL66OPEN0000000001 [ann bob] 500"},
		"SELECT id, change, balance, step FROM reports.transactions":                       {"1 500 500 credit"},
		"SELECT status FROM reports.transfers":                                             {"completed"},
		"SELECT username, created_at IS NOT NULL FROM reports.users ORDER BY 1":            {"ann true", "bob false"},
		"SELECT count(*) FROM reports.events WHERE note LIKE '%duplicate event%'":          {"6"},
		"SELECT count(*) FROM reports.events WHERE body::text ~ 'hash|secret-token|t1|t2'": {"0"},
	}
	for q, rows := range want {
		if got := reportstest.Rows(t, pool, q); !slices.Equal(got, rows) {
			t.Errorf("%s: %v, want %v", q, got, rows)
		}
	}
}

// Two writers on the same tables cannot both apply a range: the second
// finds the offsets moved and writes nothing.
func TestASecondWriterConflicts(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	a, b := open(t, pool, store.Live), open(t, pool, store.Live)
	at := time.Now()
	acct := "NL66OPEN0000000002"
	l := newLog().add(at, &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: acct, Username: "ann"})
	l.add(at, transfer(schemas.NewID(), "cash", acct, 7, "in", "credited")...)
	if _, err := a.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Apply(t.Context(), l.events); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second writer: %v", err)
	}
	// Started again from the stored position, it goes on.
	if _, err := b.Offsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	n := len(l.events)
	more := l.add(at, transfer(schemas.NewID(), "cash", acct, 3, "in", "credited")...).events[n:]
	if _, err := b.Apply(t.Context(), more); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT balance FROM reports.accounts"); !slices.Equal(got, []string{"10"}) {
		t.Errorf("balance %v", got)
	}
	if got := reportstest.Rows(t, pool, "SELECT id, balance FROM reports.transactions ORDER BY id"); !slices.Equal(got, []string{"1 7", "2 10"}) {
		t.Errorf("transactions %v", got)
	}
}

// A second writer whose batch names none of the partitions the first
// moved conflicts too: every partition the writer knows is checked, not
// only the batch's (else its cache, which missed the first writer's rows,
// would number transactions again).
func TestASecondWriterOnOtherPartitionsConflicts(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	first := open(t, pool, store.Live)
	at := time.Now()
	acct := "NL66OPEN0000000006"
	l := newLog().add(at, &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ann", Password: "hash"})
	l.add(at, &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: acct, Username: "ann"})
	if _, err := first.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}
	a, b := open(t, pool, store.Live), open(t, pool, store.Live) // both at the same position
	n := len(l.events)
	l.add(at, transfer(schemas.NewID(), "cash", acct, 7, "in", "credited")...) // bank_events only
	if _, err := a.Apply(t.Context(), l.events[n:]); err != nil {
		t.Fatal(err)
	}
	n = len(l.events)
	l.add(at, &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "bob", Password: "hash"}) // user_events only
	if _, err := b.Apply(t.Context(), l.events[n:]); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a second writer on another partition: %v, want ErrConflict", err)
	}
	if got := reportstest.Rows(t, pool, "SELECT count(*) FROM reports.users"); !slices.Equal(got, []string{"1"}) {
		t.Errorf("users %v, want only ann's", got)
	}
}

// A failed batch leaves nothing behind, in the tables or in the writer:
// the writer refuses more until it has read the stored position again.
func TestAFailedBatchWritesNothing(t *testing.T) {
	acct := "NL66OPEN0000000003"
	pool, s, l := funded(t, acct)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Apply(ctx, l.events); err == nil {
		t.Fatal("applied on an ended context")
	}
	if got := reportstest.Rows(t, pool, "SELECT count(*) FROM reports.events"); got[0] != "0" {
		t.Fatalf("%v events after a failed batch", got)
	}
	if _, err := s.Apply(t.Context(), l.events); err == nil {
		t.Fatal("applied after a failed batch without reading the offsets again")
	}
	if _, err := s.Offsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT id, balance FROM reports.transactions"); !slices.Equal(got, []string{"1 7"}) {
		t.Errorf("transactions %v", got)
	}
}
