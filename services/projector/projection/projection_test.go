package projection

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

var (
	ann     = iban.Open("0000000001")
	bob     = iban.Open("0000000002")
	outside = "NL91ABNA0417164300"
	t0      = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
)

// history is a log of events: two users, two accounts, a deposit, a
// transfer, a transfer out of the bank, and one returned for an unknown
// account.
func history() []schemas.Record {
	dep, tr, out, ret := schemas.NewID(), schemas.NewID(), schemas.NewID(), schemas.NewID()
	return []schemas.Record{
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ann", Password: "secret-hash"},
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "bob", Password: "secret-hash"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: ann, Token: "secret-token", Username: "ann"},
		&schemas.BankAccountCreatedEvent{ID: schemas.NewID(), IBAN: bob, Token: "secret-token", Username: "bob"},
		&schemas.TransferStartedEvent{ID: dep, Amount: 10_000, From: "cash", To: ann, Description: "salary"},
		&schemas.MoneyCreditedEvent{ID: dep, IBAN: ann, Amount: 10_000},
		&schemas.TransferCompletedEvent{ID: dep},
		&schemas.TransferStartedEvent{ID: tr, Amount: 2_500, From: ann, To: bob, Description: "rent", Token: "secret-token"},
		&schemas.MoneyDebitedEvent{ID: tr, IBAN: ann, Amount: 2_500},
		&schemas.MoneyCreditedEvent{ID: tr, IBAN: bob, Amount: 2_500},
		&schemas.TransferCompletedEvent{ID: tr},
		&schemas.TransferStartedEvent{ID: out, Amount: 1_000, From: bob, To: outside, Description: "gift"},
		&schemas.MoneyDebitedEvent{ID: out, IBAN: bob, Amount: 1_000},
		&schemas.TransferCompletedEvent{ID: out},
		&schemas.TransferStartedEvent{ID: ret, Amount: 700, From: ann, To: iban.Open("0000000009"), Description: "typo"},
		&schemas.MoneyDebitedEvent{ID: ret, IBAN: ann, Amount: 700},
		&schemas.MoneyReturnedEvent{ID: ret, IBAN: ann, Amount: 700, Reason: "account does not exist"},
		&schemas.TransferFailedEvent{ID: ret, Reason: "account does not exist"},
		&schemas.UserAddedToBankAccountEvent{ID: schemas.NewID(), IBAN: ann, Username: "bob", Token: "secret-token"},
	}
}

func build(t *testing.T, events []schemas.Record) (*Model, []Transaction) {
	t.Helper()
	m := New()
	var txs []Transaction
	for i, e := range events {
		got, err := m.Apply(e, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, got...)
	}
	return m, txs
}

func TestTransactionsFollowTheMoney(t *testing.T) {
	m, txs := build(t, history())
	type row struct {
		iban       string
		changedBy  int64
		newBalance int64
		fromTo     string
		descr      string
		kind       string
	}
	want := []row{
		{ann, 10_000, 10_000, "cash", "salary", "deposit"},
		{ann, -2_500, 7_500, bob, "rent", "transfer"},
		{bob, 2_500, 2_500, ann, "rent", "transfer"},
		{bob, -1_000, 1_500, outside, "gift", "transfer"},
		{ann, -700, 6_800, iban.Open("0000000009"), "typo", "transfer"},
		{ann, 700, 7_500, iban.Open("0000000009"), "returned: transaction 5 cancelled because account does not exist", "return"},
	}
	if len(txs) != len(want) {
		t.Fatalf("%d transactions, want %d", len(txs), len(want))
	}
	for i, w := range want {
		tx := txs[i]
		if tx.ID != int64(i+1) {
			t.Errorf("transaction %d has id %d: ids must count up from 1 without gaps", i, tx.ID)
		}
		got := row{tx.IBAN, tx.ChangedBy, tx.NewBalance, tx.FromTo, tx.Description, tx.Kind}
		if got != w {
			t.Errorf("transaction %d:\n got %+v\nwant %+v", tx.ID, got, w)
		}
	}
	if a, _ := m.Account(ann); a.Balance != 7_500 || !reflect.DeepEqual(a.Users, []string{"ann", "bob"}) {
		t.Errorf("ann's account %+v", a)
	}
	if u, _ := m.User("bob"); !reflect.DeepEqual(u.Accounts, []string{bob, ann}) {
		t.Errorf("bob's accounts %v", u.Accounts)
	}
}

func TestSummary(t *testing.T) {
	m, _ := build(t, history())
	got, ok := m.Summary()
	// 10,000 deposited, 1,000 left the bank; the return came back.
	if want := (contract.BankSummary{Users: 2, Accounts: 2, Transactions: 6, Balances: 9_000}); !ok || got != want {
		t.Errorf("summary %+v %v, want %+v", got, ok, want)
	}
}

func TestReplayGivesTheSameIDs(t *testing.T) {
	events := history()
	_, first := build(t, events)
	_, second := build(t, events)
	if !reflect.DeepEqual(first, second) {
		t.Fatal("a rebuild from the same log derived other transactions")
	}
}

func TestQueries(t *testing.T) {
	m, _ := build(t, history())
	if tx, ok := m.TransactionByID(3); !ok || tx.IBAN != bob {
		t.Errorf("TransactionByID(3) = %+v, %v", tx, ok)
	}
	for _, id := range []int64{0, -1, 7} {
		if _, ok := m.TransactionByID(id); ok {
			t.Errorf("TransactionByID(%d) found something", id)
		}
	}
	got := m.TransactionsByIBAN(ann, 2)
	if len(got) != 2 || got[0].ID != 6 || got[1].ID != 5 {
		t.Errorf("newest two of ann: %+v", got)
	}
	if got := m.TransactionsByIBAN(ann, 100); len(got) != 4 {
		t.Errorf("all of ann: %d", len(got))
	}
	if got := m.TransactionsByIBAN("NL00NOPE", 5); len(got) != 0 {
		t.Errorf("unknown account: %+v", got)
	}
	last := m.LastTransactions()
	if len(last) != 2 || last[0].ID != 6 || last[1].ID != 4 {
		t.Errorf("last transactions: %+v", last)
	}
	if accts := m.AccountsOf("bob"); len(accts) != 2 {
		t.Errorf("bob owns %+v", accts)
	}
	if accts := m.AccountsOf("nobody"); len(accts) != 0 {
		t.Errorf("nobody owns %+v", accts)
	}
}

func TestAnswersNeverCarrySecrets(t *testing.T) {
	m, txs := build(t, history())
	var all []any
	for _, u := range []string{"ann", "bob"} {
		user, _ := m.User(u)
		all = append(all, user, m.AccountsOf(u))
	}
	all = append(all, txs, m.LastTransactions())
	b, err := json.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); strings.Contains(s, "secret") {
		t.Fatalf("a query answer shows a token or password hash: %s", s)
	}
}

func TestTimeTravel(t *testing.T) {
	m, _ := build(t, history())
	tests := []struct {
		asOf    int64
		balance int64
		history int
	}{
		{0, 0, 0},
		{1, 10_000, 1},
		{2, 7_500, 2},
		{4, 7_500, 2}, // transactions of other accounts change nothing here
		{5, 6_800, 3},
		{6, 7_500, 4},
		{99, 7_500, 4},
	}
	for _, tt := range tests {
		balance, hist := m.AsOf(ann, tt.asOf, 100)
		if balance != tt.balance || len(hist) != tt.history {
			t.Errorf("AsOf(%d) = %d, %d transactions; want %d, %d", tt.asOf, balance, len(hist), tt.balance, tt.history)
		}
	}
	// The second transaction (ann's rent) was written at event 8, t0+8m.
	if balance, hist := m.AsOfTime(ann, t0.Add(8*time.Minute), 100); balance != 7_500 || len(hist) != 2 {
		t.Errorf("AsOfTime(t0+8m) = %d, %d", balance, len(hist))
	}
	if balance, _ := m.AsOfTime(ann, t0.Add(-time.Hour), 100); balance != 0 {
		t.Errorf("before anything: %d", balance)
	}
}

// Owners as of a point: bob is added to ann's account after the last
// transaction (event 18, t0+18m), and removed a minute later.
func TestOwnersAsOf(t *testing.T) {
	events := append(history(), &schemas.UserRemovedFromBankAccountEvent{ID: schemas.NewID(), IBAN: ann, Username: "bob"})
	m, _ := build(t, events)
	tests := []struct {
		name string
		tx   int64
		at   time.Time
		want []string
	}{
		{"at its first transaction", 1, time.Time{}, []string{"ann"}},
		{"at the newest transaction: bob came after it", 6, time.Time{}, []string{"ann"}},
		{"before it was opened", 0, t0.Add(time.Minute), nil},
		{"when it was opened", 0, t0.Add(2 * time.Minute), []string{"ann"}},
		{"while bob owned it", 0, t0.Add(18 * time.Minute), []string{"ann", "bob"}},
		{"after bob left", 0, t0.Add(time.Hour), []string{"ann"}},
	}
	for _, tt := range tests {
		if got := m.OwnersAsOf(ann, tt.tx, tt.at); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: owners %v, want %v", tt.name, got, tt.want)
		}
	}
}

// History pages: newest first, up to an id, from a time on.
func TestHistoryPages(t *testing.T) {
	m, _ := build(t, history())
	ids := func(txs []Transaction) (out []int64) {
		for _, tx := range txs {
			out = append(out, tx.ID)
		}
		return out
	}
	tests := []struct {
		name string
		upTo int64
		from time.Time
		max  int
		want []int64
	}{
		{"newest two", 6, time.Time{}, 2, []int64{6, 5}},
		{"the page after", 4, time.Time{}, 2, []int64{2, 1}},
		{"the end", 0, time.Time{}, 2, nil},
		{"from a time on", 6, t0.Add(8 * time.Minute), 10, []int64{6, 5, 2}},
		{"from after the newest", 6, t0.Add(time.Hour), 10, nil},
	}
	for _, tt := range tests {
		if got := ids(m.History(ann, tt.upTo, tt.from, tt.max)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestTransfers(t *testing.T) {
	events := history()
	m, _ := build(t, events)
	ret := events[14].(*schemas.TransferStartedEvent).ID
	if tr, ok := m.Transfer(ret); !ok || tr.Status != "failed" || tr.Reason != "account does not exist" {
		t.Errorf("returned transfer %+v", tr)
	}
	if _, ok := m.Transfer(schemas.NewID()); ok {
		t.Error("unknown transfer found")
	}
}

func TestApplyRejectsMoneyOnUnknownAccounts(t *testing.T) {
	m := New()
	if _, err := m.Apply(&schemas.MoneyCreditedEvent{IBAN: ann, Amount: 1}, t0); err == nil {
		t.Error("credited an unknown account")
	}
	if _, err := m.Apply(&schemas.FindUserQuery{}, t0); err == nil {
		t.Error("applied a query")
	}
}

func TestCredentialsFollowOwnership(t *testing.T) {
	events := append(history(),
		&schemas.UserRemovedFromBankAccountEvent{ID: schemas.NewID(), IBAN: bob, Username: "bob"})
	m, _ := build(t, events)
	anns, _ := m.Credentials("ann")
	if anns.PasswordHash != "secret-hash" || !reflect.DeepEqual(anns.Accounts, []AccountToken{{IBAN: ann, Token: "secret-token"}}) {
		t.Errorf("ann's credentials: %+v", anns)
	}
	bobs, _ := m.Credentials("bob")
	if !reflect.DeepEqual(bobs.Accounts, []AccountToken{{IBAN: ann, Token: "secret-token"}}) {
		t.Errorf("bob added to ann's account and removed from his own: %v", bobs.Accounts)
	}
	if _, ok := m.Credentials("carol"); ok {
		t.Error("credentials of a user who never signed up")
	}
}

func TestAlertRules(t *testing.T) {
	m := New()
	for _, e := range history() {
		if _, err := m.Apply(e, t0); err != nil {
			t.Fatal(err)
		}
	}
	r1, r2 := schemas.NewID(), schemas.NewID()
	for _, e := range []schemas.Record{
		&schemas.AlertRuleCreatedEvent{ID: r1, IBAN: ann, Username: "ann", Kind: "BALANCE_BELOW", Amount: 5_000},
		&schemas.AlertRuleCreatedEvent{ID: r2, IBAN: ann, Username: "ann", Kind: "DESCRIPTION_CONTAINS", Word: "casino", Webhook: "https://example.org/h"},
		&schemas.AlertRuleCreatedEvent{ID: schemas.NewID(), IBAN: bob, Username: "bob", Kind: "INCOMING_ABOVE", Amount: 1},
	} {
		if txs, err := m.Apply(e, t0); err != nil || len(txs) != 0 {
			t.Fatalf("apply %T: %v, transactions %v", e, err, txs)
		}
	}
	got := m.AlertRules(ann)
	if len(got) != 2 || len(m.AlertRules(bob)) != 1 {
		t.Fatalf("ann's rules %+v, bob's %+v", got, m.AlertRules(bob))
	}
	for _, r := range got {
		if r.ID == r2.String() && (r.Kind != "DESCRIPTION_CONTAINS" || r.Word != "casino" || r.Webhook != "https://example.org/h" || r.Owner != "ann") {
			t.Errorf("rule %+v", r)
		}
	}
	if _, err := m.Apply(&schemas.AlertRuleDeletedEvent{ID: r1, IBAN: ann, Username: "ann"}, t0); err != nil {
		t.Fatal(err)
	}
	if got := m.AlertRules(ann); len(got) != 1 || got[0].ID != r2.String() {
		t.Fatalf("after deleting one: %+v", got)
	}
	if got := m.AlertRules(outside); got == nil || len(got) != 0 {
		t.Fatalf("an account without rules: %#v, want an empty list", got)
	}
}

// A log that holds an event twice (a crash of a broker that is not
// crash-safe did this) must not change the model twice: every repeat is
// refused with ErrDuplicate and the model equals the one built without
// repeats, transaction ids included.
func TestRepeatedEventsAreAppliedOnce(t *testing.T) {
	events := history()
	clean, cleanTxs := build(t, events)
	m := New()
	var txs []Transaction
	for i, e := range events {
		got, err := m.Apply(e, t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, got...)
		// Every event comes again, at once and after all the others.
		if again, err := m.Apply(e, t0); !errors.Is(err, ErrDuplicate) || len(again) != 0 {
			t.Fatalf("repeat of %s: %d transactions, %v", e.AvroName(), len(again), err)
		}
	}
	for _, e := range events {
		if again, err := m.Apply(e, t0); !errors.Is(err, ErrDuplicate) || len(again) != 0 {
			t.Fatalf("late repeat of %s: %d transactions, %v", e.AvroName(), len(again), err)
		}
	}
	if !reflect.DeepEqual(txs, cleanTxs) {
		t.Fatalf("transactions differ:\n%+v\n%+v", txs, cleanTxs)
	}
	for _, acct := range []string{ann, bob} {
		a, _ := m.Account(acct)
		b, _ := clean.Account(acct)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %+v, without repeats %+v", acct, a, b)
		}
	}
}

func TestAPasswordChangeReplacesTheHash(t *testing.T) {
	m, _ := build(t, history())
	change := &schemas.PasswordChangedEvent{ID: schemas.NewID(), Username: "ann", Password: "new-hash"}
	if _, err := m.Apply(change, t0); err != nil {
		t.Fatal(err)
	}
	if c, _ := m.Credentials("ann"); c.PasswordHash != "new-hash" {
		t.Fatalf("hash %q", c.PasswordHash)
	}
	// A creation event for the same user does not bring an old hash back.
	if _, err := m.Apply(history()[0], t0); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("user created twice: %v", err)
	}
	if c, _ := m.Credentials("ann"); c.PasswordHash != "new-hash" {
		t.Fatalf("hash %q after a repeat", c.PasswordHash)
	}
}
