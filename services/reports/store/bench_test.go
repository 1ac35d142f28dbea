package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/services/reports/store"
)

// BenchmarkApply writes batches of 4,000 events shaped as `bankbench
// fill` writes them (transfers between 1,000 accounts, each a started,
// debited, credited, completed saga) into a PostgreSQL of the tests.
var perBatch = 4000 // events per batch, the service's default

func BenchmarkApply(b *testing.B) {
	pool, _ := reportstest.Pool(b)
	if err := store.Migrate(b.Context(), pool, store.Live); err != nil {
		b.Fatal(err)
	}
	s := store.New(pool, store.Live, nil)
	if _, err := s.Offsets(b.Context()); err != nil {
		b.Fatal(err)
	}
	l := newLog()
	accounts := make([]string, 1000)
	at := time.Now()
	for i := range accounts {
		accounts[i] = fmt.Sprintf("NL66OPEN%010d", i)
		l.add(at, &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: accounts[i], Username: "u", Token: "t"})
		l.add(at, transfer(schemas.NewID(), "cash", accounts[i], 1_000_000, "funding", "credited")...)
	}
	if _, err := s.Apply(b.Context(), l.events); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		l.events = l.events[:0]
		for j := range perBatch / 4 {
			from, to := accounts[(i*250+j)%1000], accounts[(i*250+j*7+1)%1000]
			l.add(at, transfer(schemas.NewID(), from, to, 1, "bench", "credited")...)
		}
		if _, err := s.Apply(b.Context(), l.events); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "events/s")
}
