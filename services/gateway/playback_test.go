package gateway_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
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
