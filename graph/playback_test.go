package graph

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
)

// playbackBank is a projector of one account, NL11, owned by alice, with
// transactions 1 to 5 (balance 100 each time), and bob owning it until
// transaction 3; and a reports service of three events.
type playbackBank struct {
	asOf  []*schemas.AccountAsOfQuery
	audit []*schemas.AuditLogQuery
}

func (p *playbackBank) answer(rec schemas.Record) (schemas.Record, error) {
	switch q := rec.(type) {
	case *schemas.FindUserQuery:
		if q.Username == "alice" {
			return answered(contract.User{Username: "alice", Accounts: []string{"NL11"}})
		}
		return answered(contract.User{Username: q.Username, Accounts: []string{}})
	case *schemas.AccountAsOfQuery:
		p.asOf = append(p.asOf, q)
		if q.IBAN != "NL11" {
			return refused(contract.AccountNotFound.Text)
		}
		upTo := int64(5)
		if q.AsOfTransactionID > 0 {
			upTo = min(upTo, q.AsOfTransactionID)
		}
		a := contract.AccountAsOf{IBAN: "NL11", AsOfTransactionID: upTo, Balance: 100 * upTo, Owners: []string{"alice"}}
		if upTo < 3 {
			a.Owners = []string{"alice", "bob"}
		}
		for id := upTo; id >= 1 && len(a.Transactions) < int(q.MaxItems); id-- {
			a.Transactions = append(a.Transactions, contract.Transaction{ID: id, IBAN: "NL11", NewBalance: 100 * id, ChangedBy: 100,
				At: time.Date(2026, 11, 1, 12, int(id), 0, 0, time.UTC)})
		}
		return answered(a)
	case *schemas.AuditLogQuery:
		p.audit = append(p.audit, q)
		body := json.RawMessage(`{"iban":"NL11","amount":100}`)
		return answered(contract.AuditPage{Events: []contract.AuditEvent{
			{Cursor: "c1", Topic: "bank_events", Offset: 7, At: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC), Type: "MoneyCreditedEvent",
				Aggregate: "NL11", Body: body, Transaction: &contract.AuditTransaction{ID: 1, IBAN: "NL11", Change: 100, Balance: 100}},
		}, Next: "c1", HasMore: true})
	}
	return failed("unexpected " + shortName(rec))
}

func TestHistoryPages(t *testing.T) {
	const q = `query($iban: String!, $first: Int, $after: String, $from: String) {
		history(iban: $iban, first: $first, after: $after, from: $from) { items { transaction_id at } next has_more } }`
	type page struct {
		History *struct {
			Items []struct {
				TransactionID int64 `json:"transaction_id"`
				At            *string
			}
			Next    *string
			HasMore bool `json:"has_more"`
		}
	}
	p := &playbackBank{}
	var got page
	if errs := runCoded(t, &fakeBus{answer: p.answer}, alice, q, map[string]any{"iban": "NL11", "first": 2}, &got); errs != nil {
		t.Fatal(errs)
	}
	if h := got.History; h == nil || len(h.Items) != 2 || h.Items[0].TransactionID != 5 || !h.HasMore || str(h.Next) != "4" ||
		str(h.Items[0].At) != "2026-11-01T12:05:00Z" {
		t.Fatalf("first page %+v", got.History)
	}
	var walked []int64
	for after := ""; ; {
		vars := map[string]any{"iban": "NL11", "first": 2}
		if after != "" {
			vars["after"] = after
		}
		got = page{}
		if errs := runCoded(t, &fakeBus{answer: p.answer}, alice, q, vars, &got); errs != nil {
			t.Fatal(errs)
		}
		for _, it := range got.History.Items {
			walked = append(walked, it.TransactionID)
		}
		if !got.History.HasMore {
			break
		}
		after = *got.History.Next
	}
	if fmt.Sprint(walked) != "[5 4 3 2 1]" {
		t.Fatalf("paged through %v, want every transaction once, newest first", walked)
	}

	for _, tc := range []struct {
		name string
		who  asWho
		vars map[string]any
		want contract.Code
	}{
		{"someone else's account", alice, map[string]any{"iban": "NL22"}, contract.NotYourAccount.Code},
		{"anonymous", anonymous, map[string]any{"iban": "NL11"}, contract.NotYourAccount.Code},
		{"an employee reads an unknown account: not found", employee, map[string]any{"iban": "NL99"}, contract.AccountNotFound.Code},
		{"page size 0", alice, map[string]any{"iban": "NL11", "first": 0}, "PAGE_SIZE_INVALID"},
		{"page size 101", alice, map[string]any{"iban": "NL11", "first": 101}, "PAGE_SIZE_INVALID"},
		{"a cursor we never gave", alice, map[string]any{"iban": "NL11", "after": "'; drop table"}, contract.CursorInvalid.Code},
		{"a negative cursor", alice, map[string]any{"iban": "NL11", "after": "-5"}, contract.CursorInvalid.Code},
		{"not a time", alice, map[string]any{"iban": "NL11", "from": "yesterday"}, "TIME_INVALID"},
		{"before 1970", alice, map[string]any{"iban": "NL11", "from": "1969-12-31T23:59:59Z"}, "TIME_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := runCoded(t, &fakeBus{answer: (&playbackBank{}).answer}, tc.who, q, tc.vars, nil)
			if len(errs) != 1 || errs[0].Extensions.Code != string(tc.want) {
				t.Fatalf("errors %+v, want code %s", errs, tc.want)
			}
		})
	}
	p = &playbackBank{}
	runCoded(t, &fakeBus{answer: p.answer}, alice, q, map[string]any{"iban": "NL11", "from": "2026-11-01T12:03:00Z"}, nil)
	if len(p.asOf) != 1 || p.asOf[0].FromMillis != time.Date(2026, 11, 1, 12, 3, 0, 0, time.UTC).UnixMilli() || p.asOf[0].MaxItems != 21 {
		t.Fatalf("query sent %+v", p.asOf)
	}
}

func TestAccountAsOf(t *testing.T) {
	const q = `query($at: Int64, $time: String) { account_as_of(iban: "NL11", at_transaction: $at, at_time: $time) { as_of_transaction balance_cents owners } }`
	type result struct {
		AccountAsOf *struct {
			AsOfTransaction int64 `json:"as_of_transaction"`
			BalanceCents    int64 `json:"balance_cents"`
			Owners          []string
		} `json:"account_as_of"`
	}
	for at := int64(1); at <= 5; at++ {
		var got result
		if errs := runCoded(t, &fakeBus{answer: (&playbackBank{}).answer}, alice, q, map[string]any{"at": at}, &got); errs != nil {
			t.Fatal(errs)
		}
		if a := got.AccountAsOf; a == nil || a.AsOfTransaction != at || a.BalanceCents != 100*at {
			t.Fatalf("as of %d: %+v", at, a)
		}
	}
	// bob owned it then, not now: he may look at then, not at now.
	bob := func(vars map[string]any) []gqlError {
		return runCoded(t, &fakeBus{answer: (&playbackBank{}).answer}, asBob, q, vars, nil)
	}
	if errs := bob(map[string]any{"at": 2}); errs != nil {
		t.Fatalf("a former owner at a time he owned it: %+v", errs)
	}
	if errs := bob(map[string]any{"at": 4}); len(errs) != 1 || errs[0].Extensions.Code != "NOT_YOUR_ACCOUNT" {
		t.Fatalf("a former owner after he left: %+v", errs)
	}
	for _, vars := range []map[string]any{{}, {"at": 2, "time": "2026-11-01T12:00:00Z"}, {"at": 0}, {"at": -1}} {
		if errs := runCoded(t, &fakeBus{}, alice, q, vars, nil); len(errs) != 1 || errs[0].Extensions.Code != string(contract.AsOfInvalid.Code) {
			t.Fatalf("%v: %+v, want AS_OF_INVALID and nothing sent", vars, errs)
		}
	}
}

func TestAuditLog(t *testing.T) {
	const q = `query($after: String, $first: Int) { audit_log(after: $after, first: $first) {
		events { cursor type aggregate offset at body transaction { change_cents balance_cents balance_before_cents } } next has_more } }`
	var got struct {
		AuditLog *struct {
			Events []struct {
				Type        string
				Offset      int64
				At          string
				Body        string
				Transaction *struct {
					Before int64 `json:"balance_before_cents"`
					After  int64 `json:"balance_cents"`
				}
			}
			Next    *string
			HasMore bool `json:"has_more"`
		} `json:"audit_log"`
	}
	p := &playbackBank{}
	if errs := runCoded(t, &fakeBus{answer: p.answer}, employee, q, map[string]any{"after": "c0", "first": 50}, &got); errs != nil {
		t.Fatal(errs)
	}
	a := got.AuditLog
	if a == nil || len(a.Events) != 1 || a.Events[0].Transaction == nil || a.Events[0].Transaction.Before != 0 ||
		a.Events[0].Transaction.After != 100 || a.Events[0].At != "2026-11-01T12:00:00Z" || !a.HasMore || str(a.Next) != "c1" {
		t.Fatalf("audit page %+v", a)
	}
	if len(p.audit) != 1 || p.audit[0].After != "c0" || p.audit[0].First != 50 {
		t.Fatalf("query sent %+v", p.audit)
	}
	for _, who := range []asWho{anonymous, alice} {
		if errs := runCoded(t, &fakeBus{}, who, q, nil, nil); len(errs) != 1 || errs[0].Extensions.Code != "EMPLOYEES_ONLY" {
			t.Fatalf("as %d: %+v", who, errs)
		}
	}
	if errs := runCoded(t, &fakeBus{}, employee, q, map[string]any{"first": 501}, nil); len(errs) != 1 || errs[0].Extensions.Code != "PAGE_SIZE_INVALID" {
		t.Fatalf("501 a page: %+v", errs)
	}
}
