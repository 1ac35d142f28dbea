package store_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/services/reports/store"
)

// reportQueries reads docs/reports.sql: each query by its `-- name:`.
func reportQueries(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("../../../docs/reports.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, part := range regexp.MustCompile(`(?m)^-- name: `).Split(string(b), -1)[1:] {
		name, query, _ := strings.Cut(part, "\n")
		out[strings.TrimSpace(name)] = query
	}
	return out
}

// The back office's reports (docs/reports.sql) give the figures worked
// out by hand for a known month-end: deposits, transfers between
// customers, payments out of the bank, a transfer to an account that does
// not exist (the money comes back) and one refused for lack of funds.
func TestReportsOnAKnownDataSet(t *testing.T) {
	pool, _ := reportstest.Pool(t)
	s := open(t, pool, store.Live)
	const a, b, outside, nowhere = "NL66OPEN0000000010", "NL66OPEN0000000020", "NL91ABNA0417164300", "NL66OPEN0000000099"
	day := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, time.UTC) }
	ids := make([]schemas.ID, 8)
	for i := range ids {
		ids[i] = schemas.NewID()
	}
	l := newLog().add(day(10, 30, 9, 0), &schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: a, Username: "ann"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: b, Username: "bob"})
	l.add(day(10, 30, 10, 0), transfer(ids[0], "cash", a, 1000, "salary", "credited")...)
	l.add(day(10, 30, 12, 0), transfer(ids[1], a, b, 300, "rent", "credited")...)
	l.add(day(10, 31, 9, 0), transfer(ids[2], a, outside, 200, "shop", "out")...)
	l.add(time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC), transfer(ids[3], "cash", b, 50, "tip", "credited")...)
	l.add(day(11, 1, 8, 0), transfer(ids[4], a, nowhere, 100, "typo", "returned")...)
	l.add(day(11, 1, 9, 0), &schemas.TransferStartedEvent{ID: ids[5], From: b, To: a, Amount: 1000, Description: "too much"},
		&schemas.TransferFailedEvent{ID: ids[5], Reason: "insufficient funds"})
	l.add(day(11, 2, 10, 0), transfer(ids[6], b, outside, 150, "bill", "out")...)
	l.add(day(11, 2, 11, 0), transfer(ids[7], a, b, 250, "loan", "credited")...)
	if _, err := s.Apply(t.Context(), l.events); err != nil {
		t.Fatal(err)
	}

	date := func(m time.Month, d int) string { return time.Date(2026, m, d, 0, 0, 0, 0, time.UTC).String() }
	want := map[string][]string{
		"daily_totals": {
			date(10, 30) + " credit 2 1300", date(10, 30) + " debit 1 300",
			date(10, 31) + " credit 1 50", date(10, 31) + " debit 1 200",
			date(11, 1) + " credit 1 100", date(11, 1) + " debit 1 100",
			date(11, 2) + " credit 1 250", date(11, 2) + " debit 2 400",
		},
		"month_end_balances": {
			date(10, 31) + " " + a + " 500", date(10, 31) + " " + b + " 350",
			date(11, 30) + " " + a + " 250", date(11, 30) + " " + b + " 450",
		},
		"largest_transfers": {
			row(ids[0], "cash", a, 1000, "salary", day(10, 30, 10, 0)), row(ids[1], a, b, 300, "rent", day(10, 30, 12, 0)),
			row(ids[7], a, b, 250, "loan", day(11, 2, 11, 0)), row(ids[2], a, outside, 200, "shop", day(10, 31, 9, 0)),
			row(ids[6], b, outside, 150, "bill", day(11, 2, 10, 0)), row(ids[3], "cash", b, 50, "tip", time.Date(2026, 10, 31, 23, 59, 59, 0, time.UTC)),
		},
		"sent_outside_per_day": {date(10, 31) + " 1 200", date(11, 2) + " 1 150"},
		"failed_by_reason":     {"account does not exist 1 100", "insufficient funds 1 1000"},
	}
	queries := reportQueries(t)
	if len(queries) != len(want) {
		t.Errorf("docs/reports.sql has %d queries, the test knows %d", len(queries), len(want))
	}
	for name, rows := range want {
		got := reportstest.Rows(t, pool, queries[name])
		if !slices.Equal(got, rows) {
			t.Errorf("%s:\n got %q\nwant %q", name, got, rows)
		}
	}
}

func row(id schemas.ID, from, to string, amount int64, desc string, ended time.Time) string {
	return fmt.Sprint([16]byte(id), " ", from, " ", to, " ", amount, " ", desc, " ", ended.Local())
}
