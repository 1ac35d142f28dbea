package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/reportstest"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// searchableDataDir returns a data dir whose parents (the test's
// temporary directories, 0700) let others through, as a user's home
// does: the bank's PostgreSQL runs as another user when tests run as
// root.
func searchableDataDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p := dir; p != os.TempDir() && p != "/"; p = filepath.Dir(p) {
		if err := os.Chmod(p, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "data")
}

var sqlReportsAt = regexp.MustCompile(`; SQL reports at (postgres://\S+); started in`)

// sqlRows runs a query on the store until it answers rows (the store
// fills in the background), and returns the first column of each.
func sqlRows(t *testing.T, url, query string, want func([]string) bool) []string {
	t.Helper()
	var got []string
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err = querySQL(url, query)
		if err == nil && want(got) {
			return got
		}
	}
	t.Fatalf("%s: %v, %v", query, got, err)
	return nil
}

func querySQL(url, query string) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, query)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprint(vals[0]))
	}
	return out, rows.Err()
}

func portClosed(url string) bool {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return false
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", cfg.Port), time.Second)
	if err != nil {
		return true
	}
	c.Close()
	return false
}

// The one-command bank runs its SQL store: PostgreSQL in <data-dir>/postgres
// (as an unprivileged user when root), named in the start line, filling
// as the bank works; the bank is ready before the store and lists it
// under optional. Killed with SIGKILL, the bank takes its PostgreSQL with
// it; started again on its data it goes on; stopped, it stops it.
func TestTheBankRunsItsSQLStore(t *testing.T) {
	skipOnRealKafka(t)
	dir := searchableDataDir(t)
	args := []string{"--data-dir", dir, "--kafka-port", "0", "--registry-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--postgres-port", "0"}
	p := start(t, nil, args...)
	line := p.line(t, regexp.MustCompile(`^Open Bank is running: .*`))[0]
	if !running.MatchString(line) {
		t.Fatalf("the start line changed its form: %s", line)
	}
	m := sqlReportsAt.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no SQL store in the start line: %s", line)
	}
	url := m[1]
	web := running.FindStringSubmatch(line)[1]
	var ready struct {
		Status   string            `json:"status"`
		Optional map[string]string `json:"optional"`
	}
	for deadline := time.Now().Add(60 * time.Second); getJSON(t, web+"readyz", &ready) != http.StatusOK || ready.Optional["reports"] != "ready"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %+v", ready)
		}
	}
	company := "SELECT balance FROM reports.accounts WHERE iban = '" + iban.Company + "'"
	sqlRows(t, url, company, func(r []string) bool { return len(r) == 1 && r[0] == "100000000000" })
	if st, err := os.Stat(filepath.Join(dir, "postgres")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("<data-dir>/postgres: %v %v", st, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "postgres.password")); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("<data-dir>/postgres.password: %v %v", st, err)
	}

	// SIGKILL: the server goes with the bank.
	p.cmd.Process.Kill()
	<-p.done
	for deadline := time.Now().Add(30 * time.Second); !portClosed(url); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("PostgreSQL outlived the bank killed with SIGKILL")
		}
	}
	p = start(t, nil, append(args[:len(args)-1], portOf(t, url))...)
	line = p.line(t, regexp.MustCompile(`^Open Bank is running: .*`))[0]
	if got := sqlReportsAt.FindStringSubmatch(line); got == nil || got[1] != url {
		t.Fatalf("after a restart: %s, want the same store %s", line, url)
	}
	sqlRows(t, url, company, func(r []string) bool { return len(r) == 1 && r[0] == "100000000000" })
	sqlRows(t, url, "SELECT count(*) FROM reports.transactions", func(r []string) bool { return len(r) == 1 && r[0] == "1" })
	p.stop(t)
	if !portClosed(url) {
		t.Error("PostgreSQL still runs after the bank stopped")
	}
}

func portOf(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(cfg.Port)
}

// `bank reports` killed with SIGKILL mid-stream, again and again, and
// started again: no row missing or doubled. Every record of the event log
// is in the audit table once, the transactions run 1…n with one per money
// event, each balance is what the projector says, and every transfer ends
// as the projector says.
func TestReportsSurvivesSIGKILL(t *testing.T) {
	skipOnRealKafka(t)
	c := startCluster(t)
	db := reportstest.DB(t)
	env := append(c.env, "INSTANCE_ID=h", "PROJECTOR_ID=p", "REPORTS_ID=r", "REPORTS_DB="+db)
	start(t, env, "commands")
	start(t, env, "projector")
	reportsProc := start(t, env, "reports")
	k := c.kafka(t)
	b, err := bus.New(t.Context(), k.Brokers, k.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ask := func(req schemas.Record) (bool, string) {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		fb, err := b.Send(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", req.AvroName(), err)
		}
		return bus.Result(fb)
	}
	accounts := []string{iban.New(), iban.New(), iban.New()}
	for i, a := range accounts {
		if ok, why := ask(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: a, Username: fmt.Sprint("user", i)}); !ok {
			t.Fatal(why)
		}
	}
	// Transfers flow from a goroutine while the reports service is killed
	// five times, so the kills land in the middle of batches.
	var transfers []schemas.ID
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range 200 {
			tr := &schemas.MoneyTransferCommand{ID: schemas.NewID(), From: "cash", To: accounts[i%3], Amount: int64(100 + i), Teller: true}
			if i%5 == 4 {
				tr.To = iban.New() // no such account: fails
			}
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			_, err := b.Send(ctx, tr)
			cancel()
			if err != nil {
				t.Errorf("transfer %d: %v", i, err)
				return
			}
			transfers = append(transfers, tr.ID)
		}
	}()
	for range 5 {
		time.Sleep(time.Duration(200+rand.IntN(400)) * time.Millisecond)
		reportsProc.cmd.Process.Kill() // SIGKILL
		<-reportsProc.done
		reportsProc = start(t, env, "reports")
	}
	<-sent
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ok, _ := ask(&schemas.AuditLogQuery{ID: schemas.NewID(), First: 1}); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reports service never caught up")
		}
	}
	records := len(k.ReadAll(t, topology.UserEvents)) + len(k.ReadAll(t, topology.BankEvents))
	money, started := 0, 0 // the company account's opening deposit among them
	for _, r := range k.ReadAll(t, topology.BankEvents) {
		switch r.(type) {
		case *schemas.MoneyCreditedEvent, *schemas.MoneyDebitedEvent, *schemas.MoneyReturnedEvent:
			money++
		case *schemas.TransferStartedEvent:
			started++
		}
	}
	if started != len(transfers)+1 {
		t.Errorf("%d transfers started, %d sent and the company's deposit", started, len(transfers))
	}
	for q, want := range map[string]string{
		"SELECT count(*) FROM reports.events":                                                                                fmt.Sprint(records),
		"SELECT count(*) FROM reports.transactions":                                                                          fmt.Sprint(money),
		"SELECT coalesce(max(id), 0) FROM reports.transactions":                                                              fmt.Sprint(money),
		"SELECT count(*) FROM reports.transfers":                                                                             fmt.Sprint(started),
		"SELECT count(*) FROM reports.transfers WHERE status = 'started'":                                                    "0",
		"SELECT count(*) FROM (SELECT iban FROM reports.transactions GROUP BY iban, balance - change HAVING count(*) > 1) x": "0",
	} {
		if got, err := querySQL(db, q); err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("%s: %v %v, want %s", q, got, err, want)
		}
	}
	for _, a := range accounts {
		_, answer := ask(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: a})
		got, err := querySQL(db, "SELECT balance FROM reports.accounts WHERE iban = '"+a+"'")
		if err != nil || len(got) != 1 || !strings.Contains(answer, `"balance":`+got[0]+",") {
			t.Errorf("account %s: %v %v; the projector says %s", a, got, err, answer)
		}
	}
	if logs := reportsProc.logs(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("the reports service logged errors:\n%s", logs)
	}
	reportsProc.cmd.Process.Signal(syscall.SIGTERM)
	if err, logs := reportsProc.wait(t); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, logs)
	}
}
