package reports_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/reports"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/services/reports/store"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

func TestMain(m *testing.M) { os.Exit(reportstest.Main(m)) }

// The command handler and the projector run in the test to make and check
// the events; the reports service never imports them.
func startBank(t *testing.T, env *kafkatest.Env) {
	kafkatest.Run(t, "command handler", func(ctx context.Context, ready func()) error {
		return commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "h", Log: kafkatest.Log(t), OnReady: ready})
	})
	kafkatest.Run(t, "projector", func(ctx context.Context, ready func()) error {
		return projector.Run(ctx, projector.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "p", Log: kafkatest.Log(t), OnReady: ready})
	})
}

func startReports(t *testing.T, env *kafkatest.Env, db string, rebuild bool) *kafkatest.Service {
	return kafkatest.Run(t, "reports", func(ctx context.Context, ready func()) error {
		return reports.Run(ctx, reports.Config{Brokers: env.Brokers, Registry: env.Registry, DB: db,
			InstanceID: "r", Rebuild: rebuild, Log: kafkatest.Log(t), OnReady: ready})
	})
}

type client struct {
	t   testing.TB
	bus *bus.Bus
}

func newClient(t testing.TB, env *kafkatest.Env) client {
	b, err := bus.New(context.Background(), env.Brokers, env.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return client{t, b}
}

func (c client) ask(req schemas.Record) (bool, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fb, err := c.bus.Send(ctx, req)
	if err != nil {
		c.t.Fatalf("%s: %v", req.AvroName(), err)
	}
	return bus.Result(fb)
}

func (c client) must(req schemas.Record, into any) {
	c.t.Helper()
	ok, info := c.ask(req)
	if !ok {
		c.t.Fatalf("%s: %s", req.AvroName(), info)
	}
	if into != nil {
		if err := json.Unmarshal([]byte(info), into); err != nil {
			c.t.Fatalf("%s: %v in %s", req.AvroName(), err, info)
		}
	}
}

// stream drives a random stream of transfers through the command handler:
// deposits, transfers between customers, some beyond the balance, some
// with a wrong token, payments out of the bank, and transfers to an
// account of this bank that does not exist (the money comes back). It
// returns the accounts and the transfer ids.
func stream(t *testing.T, env *kafkatest.Env, c client, n int, seed uint64) (accounts []string, transfers []schemas.ID) {
	rng := rand.New(rand.NewPCG(seed, 1))
	owners := map[string]string{}
	tokens := map[string]string{}
	suffix := schemas.NewID().String()[:6]
	for i := range 5 {
		user, acct := fmt.Sprintf("user%d-%s", i, suffix), iban.New()
		c.must(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: user, Password: "hash-" + user}, nil)
		c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: acct, Username: user}, nil)
		accounts, owners[acct] = append(accounts, acct), user
		tokens[acct] = env.Token(t, acct, user)
	}
	for range n {
		from := accounts[rng.IntN(len(accounts))]
		tr := &schemas.MoneyTransferCommand{ID: schemas.NewID(), From: from, Username: owners[from], Token: tokens[from],
			Amount: int64(1 + rng.IntN(40_000)), Description: fmt.Sprintf("transfer %d", rng.IntN(1000))}
		switch k := rng.IntN(10); {
		case k < 3:
			tr.From, tr.To, tr.Teller, tr.Username, tr.Token = "cash", from, true, "", ""
		case k < 6:
			tr.To = accounts[rng.IntN(len(accounts))]
			if tr.To == from {
				tr.To = accounts[(slices.Index(accounts, from)+1)%len(accounts)]
			}
		case k == 6:
			tr.To = "NL91ABNA0417164300" // out of the bank
		case k == 7:
			tr.To = iban.New() // of this bank, never opened: returned
		case k == 8:
			tr.To, tr.Token = accounts[0], "wrong"
		default:
			tr.To, tr.Amount = accounts[1], 10_000_000 // beyond any balance
		}
		c.ask(tr)
		transfers = append(transfers, tr.ID)
	}
	return accounts, transfers
}

// waitCaughtUp asks the reports service until it answers: then its tables
// hold every event written before.
func waitCaughtUp(t *testing.T, c client) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ok, reason := c.ask(&schemas.AuditLogQuery{ID: schemas.NewID(), First: 1})
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reports service never caught up: %s", reason)
		}
	}
}

func pool(t *testing.T, db string) *pgxpool.Pool {
	p, err := pgxpool.New(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// After a random stream of transfers, every table says what the projector
// says: balances and owners, every account's history with its running
// balances and transaction ids, every transfer's status and reason, the
// users; and no password hash or token reached the store.
func TestTablesMatchTheProjector(t *testing.T) {
	env := kafkatest.Synced(t)
	startBank(t, env)
	db := reportstest.DB(t)
	startReports(t, env, db, false)
	c := newClient(t, env)
	accounts, transfers := stream(t, env, c, 120, 7)
	waitCaughtUp(t, c)
	p := pool(t, db)
	compareWithProjector(t, c, p, accounts, transfers)
	// The stream held every kind of transfer.
	for what, q := range map[string]string{
		"returns":       "SELECT count(*) > 0 FROM reports.transactions WHERE step = 'return'",
		"failures":      "SELECT count(*) > 0 FROM reports.transfers WHERE status = 'failed' AND reason LIKE 'insufficient%'",
		"payments out":  "SELECT count(*) > 0 FROM reports.transfers WHERE status = 'completed' AND to_account = 'NL91ABNA0417164300'",
		"wrong tokens":  "SELECT count(*) > 0 FROM reports.transfers WHERE status = 'failed' AND reason LIKE '%token%'",
		"internal ones": "SELECT count(*) > 0 FROM reports.transfers t JOIN reports.accounts a ON a.iban = t.to_account WHERE t.from_account <> 'cash'",
	} {
		if got := reportstest.Rows(t, p, q); !slices.Equal(got, []string{"true"}) {
			t.Errorf("the stream made no %s", what)
		}
	}
}

// projected is a transaction as the projector answers it.
type projected struct {
	ID          int64     `json:"id"`
	IBAN        string    `json:"iban"`
	NewBalance  int64     `json:"new_balance"`
	ChangedBy   int64     `json:"changed_by"`
	FromTo      string    `json:"from_to"`
	Description string    `json:"description"`
	TransferID  string    `json:"transfer_id"`
	At          time.Time `json:"at"`
}

func compareWithProjector(t *testing.T, c client, db *pgxpool.Pool, accounts []string, transfers []schemas.ID) {
	t.Helper()
	for _, acct := range accounts {
		var a struct {
			Balance int64    `json:"balance"`
			Users   []string `json:"users"`
		}
		c.must(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: acct}, &a)
		want := fmt.Sprintf("%d [%s]", a.Balance, strings.Join(a.Users, " "))
		if got := reportstest.Rows(t, db, "SELECT balance, owners FROM reports.accounts WHERE iban = $1", acct); !slices.Equal(got, []string{want}) {
			t.Errorf("account %s: %v, the projector says %s", acct, got, want)
		}
		var txs []projected
		c.must(&schemas.TransactionsByIbanQuery{ID: schemas.NewID(), IBAN: acct, MaxItems: 1000}, &txs)
		var wantRows []string
		for _, tx := range txs {
			wantRows = append(wantRows, fmt.Sprintf("%d %d %d %s %s %s %s", tx.ID, tx.NewBalance, tx.ChangedBy, tx.FromTo, tx.Description,
				tx.TransferID, tx.At.UTC().Format(time.RFC3339Nano)))
		}
		got := reportstest.Rows(t, db, "SELECT id, balance, change, counterparty, description, transfer_id::text, "+
			"to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM reports.transactions WHERE iban = $1 ORDER BY id DESC", acct)
		if len(got) == 0 || len(got) != len(wantRows) {
			t.Errorf("account %s: %d transactions, the projector has %d", acct, len(got), len(wantRows))
		}
		for i := range min(len(got), len(wantRows)) {
			if normalizeMillis(got[i]) != normalizeMillis(wantRows[i]) {
				t.Errorf("account %s transaction %d:\n got %s\nwant %s", acct, i, got[i], wantRows[i])
			}
		}
	}
	for _, id := range transfers {
		var tr struct{ Status, Reason string }
		c.must(&schemas.TransferByIdQuery{ID: schemas.NewID(), TransferID: id}, &tr)
		want := strings.TrimSpace(tr.Status + " " + tr.Reason)
		got := reportstest.Rows(t, db, "SELECT status || coalesce(' ' || reason, '') FROM reports.transfers WHERE id = $1", [16]byte(id))
		if !slices.Equal(got, []string{want}) {
			t.Errorf("transfer %s: %v, the projector says %q", id, got, want)
		}
	}
	ids := reportstest.Rows(t, db, "SELECT count(*) = max(id) AND min(id) = 1 FROM reports.transactions")
	if !slices.Equal(ids, []string{"true"}) {
		t.Errorf("transaction ids are not 1…n: %v", ids)
	}
	if got := reportstest.Rows(t, db, "SELECT count(*) FROM reports.events WHERE body::text ~ '\"(password|token)\"|hash-user'"); got[0] != "0" {
		t.Errorf("%s audit rows carry a secret", got[0])
	}
}

// normalizeMillis drops trailing zeros of milliseconds, which JSON and
// to_char write differently.
func normalizeMillis(s string) string {
	s = strings.Replace(s, ".000Z", "Z", 1)
	for strings.Contains(s, "0Z") && strings.Contains(s, ".") {
		s = strings.Replace(s, "0Z", "Z", 1)
	}
	return s
}

// dump returns every row of every table of schema, ordered, for comparing
// a store with another whole.
func dump(t *testing.T, db *pgxpool.Pool, schema string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, order := range map[string]string{
		"users": "username", "accounts": "iban", "transfers": "id", "transactions": "id",
		"events": "topic, partition, log_offset", "offsets": "topic, partition",
	} {
		out[table] = reportstest.Rows(t, db, fmt.Sprintf("SELECT * FROM %s.%s ORDER BY %s", schema, table, order))
	}
	return out
}

// A rebuild builds the same tables again from the log and swaps them in;
// the service goes on following the log afterwards.
func TestRebuildGivesIdenticalTables(t *testing.T) {
	env := kafkatest.Synced(t)
	startBank(t, env)
	db := reportstest.DB(t)
	live := startReports(t, env, db, false)
	c := newClient(t, env)
	accounts, _ := stream(t, env, c, 60, 11)
	waitCaughtUp(t, c)
	p := pool(t, db)
	before := dump(t, p, store.Live)
	live.Stop(t)

	startReports(t, env, db, true)
	after := dump(t, p, store.Live)
	for table, rows := range before {
		if len(rows) == 0 {
			t.Errorf("%s is empty", table)
		}
		if !slices.Equal(rows, after[table]) {
			t.Errorf("%s differs after the rebuild: %d rows before, %d after", table, len(rows), len(after[table]))
		}
	}
	if got := reportstest.Rows(t, p, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'reports%' ORDER BY 1"); !slices.Equal(got, []string{"reports"}) {
		t.Errorf("schemas after the rebuild: %v", got)
	}
	// Live again: a new transfer shows.
	c.must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), From: "cash", To: accounts[0], Amount: 5, Teller: true}, nil)
	waitCaughtUp(t, c)
	if got := reportstest.Rows(t, p, "SELECT count(*) FROM reports.transactions"); got[0] == fmt.Sprint(len(before["transactions"])) {
		t.Errorf("no new transaction after the rebuild: %v", got)
	}
}

// audit_log pages through the whole log in order: no event missing, none
// twice, the pages in (time, topic, partition, offset) order, every
// record of both topics once; a time range bounds it.
func TestAuditLogPagesWithoutGapsOrRepeats(t *testing.T) {
	env := kafkatest.Synced(t)
	startBank(t, env)
	db := reportstest.DB(t)
	startReports(t, env, db, false)
	c := newClient(t, env)
	// Against a real Kafka the log holds other tests' events too: this
	// test pages through its own, from its start on.
	from := time.Now().Add(-time.Second)
	stream(t, env, c, 25, 3)
	waitCaughtUp(t, c)

	var all []store.AuditEvent
	after := ""
	for pages := 0; ; pages++ {
		var page store.AuditPage
		c.must(&schemas.AuditLogQuery{ID: schemas.NewID(), FromMillis: from.UnixMilli(), After: after, First: 7}, &page)
		all = append(all, page.Events...)
		after = page.Next
		if !page.HasMore {
			break
		}
		if pages > 1000 {
			t.Fatal("endless paging")
		}
	}
	// The pages, end to end, are the table in its order: nothing missing,
	// nothing twice.
	var paged []string
	for _, e := range all {
		paged = append(paged, fmt.Sprintf("%s %d %d", e.Topic, e.Partition, e.Offset))
	}
	table := reportstest.Rows(t, pool(t, db), "SELECT topic, partition, log_offset FROM reports.events WHERE at >= $1 "+
		"ORDER BY at, topic, partition, log_offset", from)
	if !slices.Equal(paged, table) {
		t.Errorf("paged through %d events, the table holds %d since the start", len(paged), len(table))
	}
	if !kafkatest.Real() { // the log is this test's alone: every record of it
		if want := len(env.ReadAll(t, topology.UserEvents)) + len(env.ReadAll(t, topology.BankEvents)); len(all) != want {
			t.Errorf("paged through %d events, the log holds %d", len(all), want)
		}
	}
	seen := map[string]bool{}
	for i, e := range all {
		key := fmt.Sprintf("%s/%d/%d", e.Topic, e.Partition, e.Offset)
		if seen[key] {
			t.Errorf("%s twice", key)
		}
		seen[key] = true
		if i > 0 && !before(all[i-1], e) {
			t.Errorf("event %d (%s) out of order after %s", i, e.Cursor, all[i-1].Cursor)
		}
		if e.Type == "MoneyDebitedEvent" && (e.Transaction == nil || e.Transaction.Change >= 0) {
			t.Errorf("a debit without its transaction: %+v", e)
		}
	}
	// A range: up to the time of the tenth event.
	var page store.AuditPage
	c.must(&schemas.AuditLogQuery{ID: schemas.NewID(), FromMillis: from.UnixMilli(), ToMillis: all[9].At.UnixMilli(), First: 500}, &page)
	if n := len(page.Events); n < 10 || page.Events[n-1].At.After(all[9].At) || page.HasMore {
		t.Errorf("to the tenth event's time: %d events, last at %v", n, page.Events[n-1].At)
	}
	for _, bad := range []*schemas.AuditLogQuery{{First: 0}, {First: 501}, {First: 5, After: "nonsense"}} {
		bad.ID = schemas.NewID()
		if ok, reason := c.ask(bad); ok {
			t.Errorf("%+v answered", bad)
		} else {
			t.Logf("%+v: %s", bad, reason)
		}
	}
}

// before tells whether a comes before b in the audit log's order.
func before(a, b store.AuditEvent) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	if a.Topic != b.Topic {
		return a.Topic < b.Topic
	}
	if a.Partition != b.Partition {
		return a.Partition < b.Partition
	}
	return a.Offset < b.Offset
}
