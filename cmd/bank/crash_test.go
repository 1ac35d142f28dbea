package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// The crash test of the one-command bank: transfers of every kind run
// against `bank` while the whole process — broker, registry, services and
// gateway — is killed with SIGKILL at random moments and started again on
// the same data dir. Clients send a transfer again with the same uuid until
// it has an outcome, as the API asks. Then, and again after a clean
// restart: every acknowledged success is applied exactly once, every
// failure moved nothing, the balances are what the answers say, every
// history lists each change once with running balances that add up, the
// money is conserved, transaction ids run without gaps, and every transfer
// has ended once.
//
// CRASH_KILLS (default 5) and CRASH_TRAFFIC (default 30s) set its size: a
// longer soak is CRASH_KILLS=50 CRASH_TRAFFIC=10m go test -run
// TestTheWholeBankSurvivesSIGKILL -timeout 30m ./cmd/bank/.
func TestTheWholeBankSurvivesSIGKILL(t *testing.T) {
	skipOnRealKafka(t)
	kills := envInt(t, "CRASH_KILLS", 5)
	traffic := envDuration(t, "CRASH_TRAFFIC", 30*time.Second)
	dir := t.TempDir()
	httpPort := freePort(t)
	args := []string{"--data-dir", dir, "--kafka-port", strconv.Itoa(freePort(t)),
		"--registry-addr", "127.0.0.1:" + strconv.Itoa(freePort(t)), "--http-addr", "127.0.0.1:" + strconv.Itoa(httpPort),
		"--admin-addr", "127.0.0.1:" + strconv.Itoa(freePort(t))}
	env := []string{"LOAD_TEST=1", "BCRYPT_COST=4", "REQUEST_TIMEOUT=2s"}
	var (
		bankMu sync.Mutex
		bank   *proc
	)
	launch := func() (brokers, registry string) {
		p := start(t, env, args...)
		m := p.line(t, running)
		waitReady(t, m[1]+"readyz", p)
		bankMu.Lock()
		bank = p
		bankMu.Unlock()
		return m[3], m[4]
	}
	brokers, registry := launch()
	api := &chaosClient{url: fmt.Sprintf("http://127.0.0.1:%d/graphql", httpPort),
		employeePasswordFile: filepath.Join(dir, "gateway", "employee.password")}
	ctx, cancel := context.WithTimeout(t.Context(), traffic+3*time.Minute)
	defer cancel()

	// Customers, each with a first deposit.
	type customer struct{ user, iban, token string }
	var people []customer
	want := map[string]int64{}
	for i := range 12 {
		user := fmt.Sprintf("crash-%d", i)
		acct, err := api.getAccount(ctx, user)
		if err != nil {
			t.Fatalf("sign up %s: %v", user, err)
		}
		people = append(people, customer{user, acct.IBAN, acct.Token})
		if out, err := settleThroughCrashes(ctx, api, schemas.NewID().String(), user, acct.Token, 1_000_000, "cash", acct.IBAN, "first"); err != nil || !out.Success {
			t.Fatalf("first deposit of %s: %+v %v", user, out, err)
		}
		want[acct.IBAN] = 1_000_000
	}
	const outside = "NL91ABNA0417164300"
	nobody := iban.Open("9999999999") // ours, never opened: the credit fails and the money comes back

	// The killer: SIGKILL the whole bank, start it again on the same data.
	var killed atomic.Int32
	stopKilling := make(chan struct{})
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-stopKilling:
				return
			case <-time.After(time.Duration(2000+rand.IntN(3000)) * time.Millisecond):
			}
			bankMu.Lock()
			p := bank
			bankMu.Unlock()
			if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("kill: %v", err)
				return
			}
			p.wait(t)
			killed.Add(1)
			launch()
		}
	}()

	// The driver.
	var (
		mu       sync.Mutex
		sent     int
		outcomes = map[string]int{}
		problems []string
	)
	stopSending := time.Now().Add(traffic)
	var workers sync.WaitGroup
	for w := range 6 {
		workers.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for time.Now().Before(stopSending) || killed.Load() < int32(kills) {
				if ctx.Err() != nil {
					return
				}
				// At most 10 a second a worker: a history stays within one
				// page (1,000) however fast the machine.
				time.Sleep(100 * time.Millisecond)
				from, to := people[rnd.IntN(len(people))], people[rnd.IntN(len(people))]
				for to == from {
					to = people[rnd.IntN(len(people))]
				}
				kind, amount := "between customers", int64(1+rnd.IntN(20_000))
				fromIBAN, toIBAN, token := from.iban, to.iban, from.token
				switch r := rnd.IntN(10); {
				case r == 0:
					kind, fromIBAN, toIBAN, token = "deposit", "cash", from.iban, from.token
				case r == 1:
					kind, toIBAN = "out of the bank", outside
				case r == 2:
					kind, toIBAN = "to no one", nobody
				case r == 3:
					kind, token = "wrong token", "00000000000000000000"
				}
				out, err := settleThroughCrashes(ctx, api, schemas.NewID().String(), from.user, token, amount, fromIBAN, toIBAN, kind)
				mu.Lock()
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s: %v", kind, err))
					mu.Unlock()
					return
				}
				sent++
				outcomes[fmt.Sprintf("%s: %v", kind, out.Success)]++
				if out.Success {
					if fromIBAN != "cash" {
						want[fromIBAN] -= amount
					}
					if toIBAN != outside {
						want[toIBAN] += amount
					}
				}
				if out.Success && (kind == "wrong token" || kind == "to no one") {
					problems = append(problems, fmt.Sprintf("a transfer %s succeeded", kind))
				}
				mu.Unlock()
			}
		})
	}
	workers.Wait()
	close(stopKilling)
	<-killerDone
	t.Logf("%d transfers through %d kills of the whole bank; outcomes %v", sent, killed.Load(), outcomes)
	for _, p := range problems {
		t.Error(p)
	}
	if killed.Load() < int32(kills) {
		t.Errorf("only %d kills", killed.Load())
	}
	var ibans []string
	for _, p := range people {
		ibans = append(ibans, p.iban)
	}
	check := func(when string) {
		t.Run(when, func(t *testing.T) {
			reg, _ := kafka.RegistryClient(registry)
			checkLedger(t, &kafkatest.Env{Brokers: []string{brokers}, RegistryURL: registry, Registry: reg}, ibans, want)
			checkHistories(t, api, append(slices.Clone(ibans), iban.Company), want, true)
		})
	}
	check("after the crashes")
	bankMu.Lock()
	bank.stop(t)
	bankMu.Unlock()
	brokers, registry = launch()
	check("after a clean restart")
	bankMu.Lock()
	bank.stop(t)
	bankMu.Unlock()
}

// settleThroughCrashes is settle across the bank's restarts: a request the
// dead bank did not answer is sent again, same uuid, until it answers.
func settleThroughCrashes(ctx context.Context, api *chaosClient, uuid, user, token string, amount int64, from, to, descr string) (transferOutcome, error) {
	for {
		out, err := api.settle(ctx, uuid, user, token, amount, from, to, descr)
		if err == nil || ctx.Err() != nil {
			return out, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkHistories reads each account's whole history through the API, a
// page at a time, as its owners would, once the read model holds every
// balance: each change is listed once, its running balance follows from
// the one before, the last is the balance the answers said, and
// (contiguous) the ids of all transactions run from 1 without gaps.
func checkHistories(t *testing.T, api *chaosClient, ibans []string, want map[string]int64, contiguous bool) {
	t.Helper()
	ids := map[int]bool{}
	ctx := t.Context()
	longest := 0
	defer func() {
		t.Logf("histories of %d accounts read whole, the longest %d transactions", len(ibans), longest)
	}()
	for _, ib := range ibans {
		// Poll the newest row alone; once it shows the balance, read the
		// whole history, whose newest row must show it too (a row added
		// between the two reads would not).
		balanced := func(l []historyItem) bool {
			return ib == iban.Company || len(l) > 0 && l[0].NewBalance == want[ib]
		}
		var list []historyItem
		deadline := time.Now().Add(60 * time.Second)
		for {
			newest, _, err := api.historyPage(ctx, ib, 1, nil)
			if err == nil && balanced(newest) {
				if list, err = api.history(ctx, ib); err == nil && balanced(list) {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: history %v (%d rows, newest %v), want balance %d", ib, err, len(list), newest, want[ib])
			}
			time.Sleep(500 * time.Millisecond)
		}
		longest = max(longest, len(list))
		slices.Reverse(list) // oldest first
		var balance int64
		for i, x := range list {
			if ids[x.ID] {
				t.Errorf("transaction %d listed twice", x.ID)
			}
			ids[x.ID] = true
			if balance+x.ChangedBy != x.NewBalance {
				t.Errorf("%s: transaction %d (%s) takes %d by %d to %d", ib, x.ID, x.Descr, balance, x.ChangedBy, x.NewBalance)
			}
			if i > 0 && x.ID <= list[i-1].ID {
				t.Errorf("%s: transaction %d after %d", ib, x.ID, list[i-1].ID)
			}
			balance = x.NewBalance
		}
	}
	for id := 1; contiguous && id <= len(ids); id++ {
		if !ids[id] {
			t.Errorf("transaction ids have a gap at %d (%d transactions)", id, len(ids))
			break
		}
	}
}

type historyItem struct {
	ID         int    `json:"id"`
	NewBalance int64  `json:"new_balance_cents"`
	ChangedBy  int64  `json:"changed_by_cents"`
	Descr      string `json:"descr"`
}

// history reads an account's whole history, newest first, following the
// pages' cursors (a soak makes accounts with thousands of changes).
func (c *chaosClient) history(ctx context.Context, ib string) ([]historyItem, error) {
	var all []historyItem
	var after *string
	seen := map[string]bool{}
	for {
		items, next, err := c.historyPage(ctx, ib, 100, after)
		if err != nil {
			return all, err
		}
		all = append(all, items...)
		if next == nil {
			return all, nil
		}
		if seen[*next] {
			return all, fmt.Errorf("%s: a page with more after it and no new cursor", ib)
		}
		seen[*next] = true
		after = next
	}
}

// historyPage reads one page of an account's history, newest first, and
// the cursor of the next page (nil when none follows).
func (c *chaosClient) historyPage(ctx context.Context, ib string, first int, after *string) ([]historyItem, *string, error) {
	var page struct {
		Items   []historyItem
		Next    *string
		HasMore bool `json:"has_more"`
	}
	err := c.employeePost(ctx, `query($i: String!, $f: Int, $a: String) { history(iban: $i, first: $f, after: $a) { items { id new_balance_cents changed_by_cents descr } next has_more } }`,
		map[string]any{"i": ib, "f": first, "a": after}, "history", &page)
	if err != nil {
		return nil, nil, err
	}
	if !page.HasMore {
		return page.Items, nil, nil
	}
	if page.Next == nil {
		return page.Items, nil, fmt.Errorf("%s: a page with more after it and no cursor", ib)
	}
	return page.Items, page.Next, nil
}

// employeePost runs a query with an employee session (which reads every
// account), logging in first.
func (c *chaosClient) employeePost(ctx context.Context, query string, vars map[string]any, field string, out any) error {
	if c.employee == "" {
		pw, err := os.ReadFile(c.employeePasswordFile)
		if err != nil {
			return err
		}
		var e struct{ Session *string }
		if err := c.post(ctx, `mutation($p: String!) { employee_login(password: $p) { session } }`,
			map[string]any{"p": strings.TrimSpace(string(pw))}, "employee_login", &e); err != nil || e.Session == nil {
			return fmt.Errorf("employee log-in: %v", err)
		}
		c.employee = *e.Session
	}
	return c.postAs(ctx, c.employee, query, vars, field, out)
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return d
	}
	return def
}
