package store_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/services/reports/store"
)

// A batch prepared while the one before is not written yet changes
// nothing of that one: written, the one before leaves the tables as they
// were after it alone.
func TestABatchPreparedAheadLeavesTheOneBeforeAsItWas(t *testing.T) {
	acct := "NL66OPEN0000000004"
	pool, s, l := funded(t, acct)
	first := len(l.events)
	l.add(time.Now(), transfer(schemas.NewID(), "cash", acct, 3, "in", "credited")...)
	l.add(time.Now(), &schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), IBAN: acct, Username: "bob"})

	b1, err := s.Prepare(t.Context(), l.events[:first])
	if err != nil {
		t.Fatal(err)
	}
	b2, err := s.Prepare(t.Context(), l.events[first:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(t.Context(), b1); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT balance, owners FROM reports.accounts"); !slices.Equal(got, []string{"7 [ann]"}) {
		t.Errorf("after the first batch: account %v, want 7 [ann]", got)
	}
	if got := reportstest.Rows(t, pool, "SELECT count(*) FROM reports.events"); !slices.Equal(got, []string{fmt.Sprint(first)}) {
		t.Errorf("after the first batch: %v events, want %d", got, first)
	}
	if _, err := s.Write(t.Context(), b2); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT balance, owners FROM reports.accounts"); !slices.Equal(got, []string{"10 [ann bob]"}) {
		t.Errorf("after both: account %v, want 10 [ann bob]", got)
	}
}

// Batches are written in the order prepared; one written out of order
// fails the writer until it reads the stored position again.
func TestBatchesAreWrittenInTheOrderPrepared(t *testing.T) {
	acct := "NL66OPEN0000000005"
	pool, s, l := funded(t, acct)
	b1, err := s.Prepare(t.Context(), l.events[:1])
	if err != nil {
		t.Fatal(err)
	}
	b2, err := s.Prepare(t.Context(), l.events[1:])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(t.Context(), b2); err == nil {
		t.Fatal("the second batch was written before the first")
	}
	if _, err := s.Write(t.Context(), b1); err == nil {
		t.Fatal("a batch was written after a failed one")
	}
	if got := reportstest.Rows(t, pool, "SELECT count(*) FROM reports.events"); !slices.Equal(got, []string{"0"}) {
		t.Fatalf("%v events written", got)
	}
	if _, err := s.Offsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT balance FROM reports.accounts"); !slices.Equal(got, []string{"7"}) {
		t.Errorf("balance %v", got)
	}
}

// Prepared ahead and written behind, any split of a random log into
// batches gives the tables of the same log applied one batch at a time:
// transfers of every outcome, owners added and removed, password
// changes, and repeats of each.
func TestPreparingAheadGivesTheTablesOfOneBatchAtATime(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 7))
			l := randomLog(rng)
			serial, ahead := open(t, pool, store.Live), open(t, pool, store.Next)
			for _, b := range split(rng, l.events) {
				if _, err := serial.Apply(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}
			// Up to three batches prepared ahead of the one written.
			var pending []*store.Batch
			for _, b := range split(rng, l.events) {
				p, err := ahead.Prepare(t.Context(), b)
				if err != nil {
					t.Fatal(err)
				}
				pending = append(pending, p)
				for len(pending) > rng.IntN(4) {
					if _, err := ahead.Write(t.Context(), pending[0]); err != nil {
						t.Fatal(err)
					}
					pending = pending[1:]
				}
			}
			for _, p := range pending {
				if _, err := ahead.Write(t.Context(), p); err != nil {
					t.Fatal(err)
				}
			}
			for _, table := range []string{"users", "accounts", "transfers", "transactions", "events", "offsets", "applied_once"} {
				want, got := dump(t, pool, store.Live, table), dump(t, pool, store.Next, table)
				if !slices.Equal(got, want) {
					t.Errorf("%s prepared ahead:\n%v\none batch at a time:\n%v", table, got, want)
				}
			}
			for _, schema := range []string{store.Live, store.Next} {
				if _, err := pool.Exec(t.Context(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// randomLog is a log of accounts, transfers of every outcome, owner and
// password events, with some events repeated.
func randomLog(rng *rand.Rand) *log {
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	l := newLog()
	accounts := []string{"NL66OPEN0000000010", "NL66OPEN0000000011", "NL66OPEN0000000012"}
	for _, a := range accounts {
		l.add(at, &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "u" + a[len(a)-2:], Password: "hash"})
		l.add(at, &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: a, Username: "u" + a[len(a)-2:], Token: "t"})
	}
	outcomes := []string{"credited", "out", "returned"}
	for range 300 {
		at = at.Add(time.Second)
		from, to := accounts[rng.IntN(3)], accounts[rng.IntN(3)]
		if rng.IntN(5) == 0 {
			from = "cash"
		}
		var recs []schemas.Record
		switch rng.IntN(10) {
		case 0:
			recs = []schemas.Record{&schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), IBAN: to, Username: "co" + fmt.Sprint(rng.IntN(3))}}
		case 1:
			recs = []schemas.Record{&schemas.UserRemovedFromBankAccountEvent{ID: schemas.NewID(), IBAN: to, Username: "co" + fmt.Sprint(rng.IntN(3))}}
		case 2:
			recs = []schemas.Record{&schemas.PasswordChangedEvent{ID: schemas.NewID(), Username: "u10", Password: "hash2"}}
		default:
			recs = transfer(schemas.NewID(), from, to, int64(1+rng.IntN(100)), "t", outcomes[rng.IntN(3)])
		}
		l.add(at, recs...)
		if rng.IntN(8) == 0 { // a repeat, as a crash may leave in the log
			l.add(at, recs[rng.IntN(len(recs))])
		}
	}
	return l
}

// split cuts events into batches of 1 to 40.
func split(rng *rand.Rand, events []store.Event) [][]store.Event {
	var out [][]store.Event
	for len(events) > 0 {
		n := min(len(events), 1+rng.IntN(40))
		out, events = append(out, events[:n]), events[n:]
	}
	return out
}

// dump lists a table's rows in a fixed order.
func dump(t *testing.T, pool *pgxpool.Pool, schema, table string) []string {
	t.Helper()
	return reportstest.Rows(t, pool, "SELECT x::text FROM "+schema+"."+table+" x ORDER BY x::text")
}

// The edges of a batch: an empty one is nothing to write and moves
// nothing; one that goes back below the position is refused, and the
// writer with it until it reads the stored position again; a gap in the
// offsets (a compacted or aborted stretch) is taken as it is, however far.
func TestTheEdgesOfABatch(t *testing.T) {
	acct := "NL66OPEN0000000007"
	pool, s, l := funded(t, acct)
	empty, err := s.Prepare(t.Context(), nil)
	if err != nil || empty != nil {
		t.Fatalf("an empty batch: %v, %v", empty, err)
	}
	if res, err := s.Write(t.Context(), empty); err != nil || res != (store.Result{}) {
		t.Fatalf("writing an empty batch: %v, %v", res, err)
	}
	if _, err := s.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}
	back := l.events[len(l.events)-1]
	back.Offset--
	if _, err := s.Prepare(t.Context(), []store.Event{back}); err == nil {
		t.Fatal("a batch below the position was prepared")
	}
	far := newLog().add(time.Now(), transfer(schemas.NewID(), "cash", acct, 3, "in", "credited")...).events
	for i := range far {
		far[i].Offset = 1<<62 + int64(i)
	}
	if _, err := s.Apply(t.Context(), far); !errors.Is(err, store.ErrFailed) {
		t.Fatalf("after a refused batch: %v, want ErrFailed", err)
	}
	if _, err := s.Offsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(t.Context(), far); err != nil {
		t.Fatal(err)
	}
	if got := reportstest.Rows(t, pool, "SELECT balance FROM reports.accounts"); !slices.Equal(got, []string{"10"}) {
		t.Errorf("balance %v, want 10", got)
	}
	want := fmt.Sprint(int64(1<<62) + int64(len(far)))
	if got := reportstest.Rows(t, pool, "SELECT next_offset FROM reports.offsets WHERE topic = $1", far[0].Topic); !slices.Equal(got, []string{want}) {
		t.Errorf("stored offset %v, want %s", got, want)
	}
}
