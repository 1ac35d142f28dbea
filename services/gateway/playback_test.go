package gateway_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// Playback over the whole stack (handler, projector, gateway over HTTP):
// account_as_of at every transaction of an account equals the running
// balance its history shows there, history pages through everything once,
// every row has its time, and a former owner sees the account as it was
// while they owned it, not after.
func TestPlaybackMatchesTheHistory(t *testing.T) {
	s := startStack(t, nil)
	sfx := suffix()
	ann := s.signUp(t, "ann-"+sfx, "pw")
	bob := s.signUp(t, "bob-"+sfx, "pw")
	start := time.Now().Add(-time.Second)
	for i, amount := range []int{10_000, 2_500, 700, 40_000} {
		if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, amount, contract.Cash, ann.IBAN, "deposit"); r.Success == nil || !*r.Success {
			t.Fatalf("deposit %d: %+v", i, r)
		}
	}
	if r := do(t, s.srv.URL+"/graphql", ann.Session, `mutation($iban: String!, $u: String!) { add_owner(iban: $iban, username: $u) { success reason } }`,
		map[string]any{"iban": ann.IBAN, "u": bob.Username}); r.errs() != "" {
		t.Fatal(r.errs())
	}
	for i, amount := range []int{1_000, 3_000} {
		to := []string{bob.IBAN, "NL91ABNA0417164300"}[i]
		if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, amount, ann.IBAN, to, "out"); r.Success == nil || !*r.Success {
			t.Fatalf("transfer %d: %+v", i, r)
		}
	}
	if r := do(t, s.srv.URL+"/graphql", bob.Session, `mutation($iban: String!) { leave_account(iban: $iban) { success reason } }`,
		map[string]any{"iban": ann.IBAN}); r.errs() != "" {
		t.Fatal(r.errs())
	}

	type row struct {
		TransactionID   int64   `json:"transaction_id"`
		NewBalanceCents int64   `json:"new_balance_cents"`
		At              *string `json:"at"`
	}
	var rows []row
	after := ""
	for {
		vars := map[string]any{"iban": ann.IBAN, "first": 2}
		if after != "" {
			vars["after"] = after
		}
		page := field[struct {
			Items   []row   `json:"items"`
			Next    *string `json:"next"`
			HasMore bool    `json:"has_more"`
		}](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($iban: String!, $first: Int, $after: String) {
			history(iban: $iban, first: $first, after: $after) { items { transaction_id new_balance_cents at } next has_more } }`, vars), "history")
		rows = append(rows, page.Items...)
		if !page.HasMore {
			break
		}
		after = *page.Next
	}
	if len(rows) != 6 {
		t.Fatalf("history of %d rows, want 6: %+v", len(rows), rows)
	}
	for i, r := range rows {
		at, err := time.Parse(time.RFC3339Nano, deref(r.At))
		if err != nil || at.Before(start) || at.After(time.Now().Add(time.Minute)) {
			t.Errorf("row %d: time %q", i, deref(r.At))
		}
		if i > 0 && r.TransactionID >= rows[i-1].TransactionID {
			t.Errorf("rows not newest first: %+v", rows)
		}
	}
	asOf := func(session string, tx int64) response {
		return do(t, s.srv.URL+"/graphql", session, `query($iban: String!, $tx: Int64) {
			account_as_of(iban: $iban, at_transaction: $tx) { as_of_transaction balance_cents owners } }`,
			map[string]any{"iban": ann.IBAN, "tx": tx})
	}
	for i, r := range rows {
		a := field[struct {
			AsOf    int64    `json:"as_of_transaction"`
			Balance int64    `json:"balance_cents"`
			Owners  []string `json:"owners"`
		}](t, asOf(ann.Session, r.TransactionID), "account_as_of")
		if a.AsOf != r.TransactionID || a.Balance != r.NewBalanceCents {
			t.Errorf("as of %d: %+v, want the running balance %d", r.TransactionID, a, r.NewBalanceCents)
		}
		wantOwners := fmt.Sprint([]string{ann.Username})
		if i < 2 { // the two transfers out, made while bob owned it
			wantOwners = fmt.Sprint([]string{ann.Username, bob.Username})
		}
		if fmt.Sprint(a.Owners) != wantOwners {
			t.Errorf("owners as of %d: %v, want %v", r.TransactionID, a.Owners, wantOwners)
		}
	}
	// bob owned it for the two transfers out (the newest two rows), not before.
	if r := asOf(bob.Session, rows[0].TransactionID); r.errs() != "" {
		t.Errorf("a former owner, at a time he owned it: %s", r.errs())
	}
	if r := asOf(bob.Session, rows[len(rows)-1].TransactionID); len(r.Errors) != 1 || r.Errors[0].Message != contract.NotYourAccount.Text {
		t.Errorf("a former owner, before he owned it: %+v", r)
	}
	newest := rows[0]
	byTime := field[struct {
		Balance int64 `json:"balance_cents"`
	}](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($iban: String!, $at: String) { account_as_of(iban: $iban, at_time: $at) { balance_cents } }`,
		map[string]any{"iban": ann.IBAN, "at": time.Now().Add(time.Hour).Format(time.RFC3339)}), "account_as_of")
	if byTime.Balance != newest.NewBalanceCents {
		t.Errorf("as of an hour from now: %d, want %d", byTime.Balance, newest.NewBalanceCents)
	}
}

func TestMain(m *testing.M) { os.Exit(reportstest.Main(m)) }

// audit_log over the whole stack, the reports service answering from
// PostgreSQL: an employee pages through every event once, in log order,
// each money event with the balance before and after; a customer may not.
func TestAuditLogPagesThroughEveryEvent(t *testing.T) {
	s := startStack(t, nil)
	db := reportstest.DB(t)
	kafkatest.Run(t, "reports", func(ctx context.Context, ready func()) error {
		return reports.Run(ctx, reports.Config{Brokers: s.env.Brokers, Registry: s.env.Registry, DB: db,
			InstanceID: "r", Log: kafkatest.Log(t), OnReady: ready})
	})
	sfx := suffix()
	ann := s.signUp(t, "ann-"+sfx, "pw")
	for _, amount := range []int{10_000, 2_500} {
		if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, amount, contract.Cash, ann.IBAN, "deposit"); r.Success == nil || !*r.Success {
			t.Fatalf("deposit: %+v", r)
		}
	}
	emp := s.employee(t)
	type event struct {
		Cursor      string `json:"cursor"`
		Type        string `json:"type"`
		Aggregate   string `json:"aggregate"`
		At          string `json:"at"`
		Transaction *struct {
			Before int64 `json:"balance_before_cents"`
			After  int64 `json:"balance_cents"`
			IBAN   string
		} `json:"transaction"`
	}
	// On a shared Kafka the log also holds what earlier packages wrote, so
	// the page size and the bound on pages follow the log's length: small
	// pages when it is short, about a hundred pages when it is long.
	logged := len(s.env.ReadAll(t, topology.UserEvents)) + len(s.env.ReadAll(t, topology.BankEvents))
	first := min(max(3, logged/100+1), contract.MaxAuditPage)
	var events []event
	after := ""
	for pages := 0; ; pages++ {
		vars := map[string]any{"first": first}
		if after != "" {
			vars["after"] = after
		}
		page := field[struct {
			Events  []event `json:"events"`
			Next    *string `json:"next"`
			HasMore bool    `json:"has_more"`
		}](t, do(t, s.srv.URL+"/graphql", emp, `query($first: Int, $after: String) {
			audit_log(first: $first, after: $after) { events { cursor type aggregate at transaction { iban balance_before_cents balance_cents } } next has_more } }`, vars), "audit_log")
		events = append(events, page.Events...)
		if !page.HasMore {
			break
		}
		after = *page.Next
		if pages > logged/first+1 {
			t.Fatal("audit log without an end")
		}
	}
	seen := map[string]bool{}
	var annMoney []event
	for _, e := range events {
		if seen[e.Cursor] {
			t.Fatalf("event %s twice", e.Cursor)
		}
		seen[e.Cursor] = true
		if e.Transaction != nil && e.Aggregate != "" && e.Transaction.IBAN == ann.IBAN {
			annMoney = append(annMoney, e)
		}
	}
	if len(events) != logged {
		t.Errorf("%d audit events, the log holds %d", len(events), logged)
	}
	if len(annMoney) != 2 || annMoney[0].Transaction.Before != 0 || annMoney[0].Transaction.After != 10_000 ||
		annMoney[1].Transaction.Before != 10_000 || annMoney[1].Transaction.After != 12_500 {
		t.Errorf("ann's money events: %+v", annMoney)
	}
	if r := do(t, s.srv.URL+"/graphql", ann.Session, `{ audit_log(first: 3) { events { type } } }`, nil); len(r.Errors) != 1 || r.Errors[0].Message != contract.EmployeesOnly.Text {
		t.Errorf("a customer asked the audit log: %+v", r)
	}
}
