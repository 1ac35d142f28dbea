package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// The chaos test: every part a separate process, three command handlers; a
// driver sends random transfers through the gateway — deposits, transfers
// between customers, payments out of the bank, some bound to fail (too
// much, a wrong token), some sent twice with the same uuid — while a killer
// SIGKILLs a random command handler or the projector every few seconds and
// starts it again. At the end: every mutation was answered (a PENDING one
// by its retry with the same uuid), the balances are what the answers say,
// money is conserved, every started transfer has exactly one outcome, and
// transaction_events holds each balance change exactly once.
func TestChaos(t *testing.T) {
	skipOnRealKafka(t)
	if testing.Short() {
		t.Skip("chaos takes a minute")
	}
	traffic := 40 * time.Second

	// The broker on fixed ports, so that it comes back where the services
	// look for it.
	brokerEnv := []string{"BANK_DATA_DIR=" + t.TempDir(), "KAFKA_PORT=" + strconv.Itoa(freePort(t)),
		"SCHEMA_REGISTRY_ADDR=127.0.0.1:" + strconv.Itoa(freePort(t))}
	c := startCluster(t, brokerEnv...)
	env := c.env
	// The victims, started again under the same names (their transactional
	// ids fence the killed ones' transactions); the broker, on its data.
	type victim struct {
		name string
		args []string
		mu   sync.Mutex
		p    *proc
	}
	victims := []*victim{
		{name: "commands c1", args: []string{"INSTANCE_ID=c1"}},
		{name: "commands c2", args: []string{"INSTANCE_ID=c2"}},
		{name: "commands c3", args: []string{"INSTANCE_ID=c3"}},
		{name: "projector", args: []string{"PROJECTOR_ID=p1"}},
		{name: "broker", p: c.broker},
	}
	var (
		procsMu sync.Mutex
		procs   []*proc // every process started, for their logs
	)
	launch := func(v *victim) {
		var p *proc
		switch v.name {
		case "broker":
			p = start(t, brokerEnv, "broker")
			p.line(t, regexp.MustCompile(`^Kafka broker at`))
		case "projector":
			p = start(t, append(append([]string{}, env...), v.args...), "projector")
		default:
			p = start(t, append(append([]string{}, env...), v.args...), "commands")
		}
		v.mu.Lock()
		v.p = p
		v.mu.Unlock()
		procsMu.Lock()
		procs = append(procs, p)
		procsMu.Unlock()
	}
	for _, v := range victims {
		if v.p == nil {
			launch(v)
		}
	}
	gw := start(t, append(env, "REQUEST_TIMEOUT=2s", "LOAD_TEST=1", "LOG_LEVEL=debug"), "gateway")
	base := "http://" + httpAddrOf(t, gw)
	waitReady(t, base+"/readyz", gw)
	for _, v := range victims {
		if v.name != "broker" {
			waitReady(t, "http://"+httpAddrOf(t, v.p)+"/readyz", v.p)
		}
	}
	api := &chaosClient{url: base + "/graphql"}

	// Customers, each with a first deposit.
	const customers = 8
	type customer struct{ user, iban, token string }
	var people []customer
	want := map[string]int64{}
	for i := range customers {
		user := fmt.Sprintf("chaos-%d", i)
		acct, err := api.getAccount(t.Context(), user)
		if err != nil {
			t.Fatalf("sign up %s: %v", user, err)
		}
		people = append(people, customer{user, acct.IBAN, acct.Token})
		out, err := api.transfer(t.Context(), schemas.NewID().String(), user, acct.Token, 500_000, "cash", acct.IBAN, "first deposit")
		if err != nil || !out.Success {
			t.Fatalf("first deposit of %s: %+v %v", user, out, err)
		}
		want[acct.IBAN] = 500_000
	}
	const outside = "NL91ABNA0417164300"

	// The killer.
	ctx, stopKilling := context.WithCancel(t.Context())
	var kills atomic.Int32
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Duration(2000+rand.IntN(2000)) * time.Millisecond):
			}
			v := victims[rand.IntN(len(victims))]
			v.mu.Lock()
			p := v.p
			v.mu.Unlock()
			if err := p.cmd.Process.Kill(); err != nil {
				t.Errorf("kill %s: %v", v.name, err)
				return
			}
			p.wait(t)
			kills.Add(1)
			t.Logf("killed %s", v.name)
			time.Sleep(time.Duration(200+rand.IntN(800)) * time.Millisecond)
			launch(v)
		}
	}()

	// The driver: workers sending random transfers until traffic ends.
	var (
		mu       sync.Mutex
		problems []string
		sent     int
		outcomes = map[string]int{}
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(problems) < 20 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	stopSending := time.Now().Add(traffic)
	// Answers must come, by retries of PENDING, within this.
	answerBy, cancel := context.WithTimeout(t.Context(), traffic+90*time.Second)
	defer cancel()
	var workers sync.WaitGroup
	for w := range 12 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for time.Now().Before(stopSending) && answerBy.Err() == nil {
				from, to := people[rnd.IntN(customers)], people[rnd.IntN(customers)]
				for to == from {
					to = people[rnd.IntN(customers)]
				}
				kind, amount := "between customers", int64(1+rnd.IntN(150_000))
				fromIBAN, toIBAN, token := from.iban, to.iban, from.token
				switch r := rnd.IntN(10); {
				case r == 0:
					kind, fromIBAN, toIBAN, amount = "deposit", "cash", from.iban, int64(1+rnd.IntN(50_000)) // cash only on an account of its own
				case r == 1:
					kind, toIBAN = "out of the bank", outside
				case r == 2:
					kind, token = "wrong token", "00000000000000000000"
				}
				uuid := schemas.NewID().String()
				out, err := api.settle(answerBy, uuid, from.user, token, amount, fromIBAN, toIBAN, kind)
				if err != nil {
					problem("%s %s: %v", kind, uuid, err)
					continue
				}
				if rnd.IntN(7) == 0 { // the same transfer again: the same outcome
					again, err := api.settle(answerBy, uuid, from.user, token, amount, fromIBAN, toIBAN, kind)
					if err != nil || again.Success != out.Success {
						problem("%s %s sent again answered %+v %v, first %+v", kind, uuid, again, err, out)
					}
				}
				mu.Lock()
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
				mu.Unlock()
				if kind == "wrong token" && out.Success {
					problem("a transfer with a wrong token succeeded: %s", uuid)
				}
			}
		}()
	}
	workers.Wait()
	stopKilling()
	<-killerDone
	t.Logf("%d transfers, %d kills; outcomes %v", sent, kills.Load(), outcomes)
	for _, p := range problems {
		t.Error(p)
	}
	if kills.Load() < 5 {
		t.Errorf("only %d kills", kills.Load())
	}
	if sent < 1000 {
		t.Errorf("only %d transfers", sent)
	}

	ibans := make([]string, len(people))
	for i, p := range people {
		ibans[i] = p.iban
	}
	checkLedger(t, c.kafka(t), ibans, want)

	// No log shows a password or a token, the services' own Kafka and
	// registry passwords included.
	creds := kafkatest.Credentials()
	procsMu.Lock()
	for _, p := range append(procs, gw) {
		logs := p.logs()
		if strings.Contains(logs, chaosPassword) {
			t.Errorf("a log of %v shows the customers' password", p.cmd.Args)
		}
		if strings.Contains(logs, creds.Password) || strings.Contains(logs, creds.Registry.Password) {
			t.Errorf("a log of %v shows the Kafka or registry password", p.cmd.Args)
		}
		for _, c := range people {
			if strings.Contains(logs, c.token) {
				t.Errorf("a log of %v shows %s's token", p.cmd.Args, c.user)
			}
		}
	}
	procsMu.Unlock()
	for _, v := range victims {
		v.p.stop(t)
	}
	gw.stop(t)
}

// checkLedger checks the bank's events against what the answers said: each
// of ibans holds want, money is conserved (every account holds the
// completed deposits minus the completed payments out of the bank), every
// started transfer ended exactly once, and transaction_events holds each
// balance change exactly once.
func checkLedger(t *testing.T, kenv *kafkatest.Env, ibans []string, want map[string]int64) {
	t.Helper()
	// The events: balances as answered, every transfer ended once.
	state := domain.NewState()
	ends := map[schemas.ID]int{}
	type change struct {
		id     schemas.ID
		iban   string
		amount int64
	}
	changes := map[change]int{}
	for _, rec := range kenv.ReadAll(t, topology.BankEvents) {
		if err := state.Apply(rec); err != nil {
			t.Fatal(err)
		}
		switch e := rec.(type) {
		case *schemas.TransferCompletedEvent:
			ends[e.ID]++
		case *schemas.TransferFailedEvent:
			ends[e.ID]++
		case *schemas.MoneyDebitedEvent:
			changes[change{e.ID, e.IBAN, -e.Amount}]++
		case *schemas.MoneyCreditedEvent:
			changes[change{e.ID, e.IBAN, e.Amount}]++
		case *schemas.MoneyReturnedEvent:
			changes[change{e.ID, e.IBAN, e.Amount}]++
		}
	}
	for _, ib := range ibans {
		if got := state.Accounts[ib].Balance; got != want[ib] {
			t.Errorf("%s holds %d, the answers say %d", ib, got, want[ib])
		}
	}
	var sum, in, out int64 // of every account, the company's too
	for _, a := range state.Accounts {
		sum += a.Balance
	}
	for id, tr := range state.Transfers {
		if !tr.Step.Ended() {
			t.Errorf("transfer %s left %s", id, tr.Step)
		}
		if ends[id] != 1 {
			t.Errorf("transfer %s ended %d times", id, ends[id])
		}
		if tr.Step == domain.Completed {
			if tr.Request.From == contract.Cash {
				in += tr.Request.Amount
			}
			if _, ours := state.Accounts[tr.Request.To]; !ours {
				out += tr.Request.Amount
			}
		}
	}
	if sum != in-out {
		t.Errorf("money not conserved: accounts hold %d, deposits %d minus payments out %d make %d", sum, in, out, in-out)
	}

	// transaction_events: each balance change once, none missing (the
	// projector, perhaps just restarted, may still be catching up).
	var seen map[change]int
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(time.Second) {
		seen = map[change]int{}
		for _, rec := range kenv.ReadAll(t, topology.TransactionEvents) {
			e := rec.(*schemas.TransactionHappenedEvent)
			seen[change{e.ID, e.IBAN, e.ChangedBy}]++
		}
		if len(seen) >= len(changes) || time.Now().After(deadline) {
			break
		}
	}
	for c, n := range changes {
		if seen[c] != n {
			t.Errorf("balance change %+v: %d TransactionHappenedEvents, want %d", c, seen[c], n)
		}
	}
	for c, n := range seen {
		if changes[c] == 0 {
			t.Errorf("TransactionHappenedEvent %+v (%d) of no balance change", c, n)
		}
	}
}

// httpAddrOf returns the address a service (or a gateway) serves /readyz
// on.
func httpAddrOf(t *testing.T, p *proc) string {
	t.Helper()
	m := regexp.MustCompile(` addr=(\S+)|"addr":"([^"]+)"`).FindStringSubmatch(p.logLine(t, "/healthz, /readyz"))
	return m[1] + m[2]
}

// adminAddrOf returns the admin address of a gateway.
func adminAddrOf(t *testing.T, p *proc) string {
	t.Helper()
	m := regexp.MustCompile(`admin_addr=(\S+)|"admin_addr":"([^"]+)"`).FindStringSubmatch(p.logLine(t, "serving the admin address"))
	return m[1] + m[2]
}

// chaosPassword is every test customer's password, which no log may show.
const chaosPassword = "correct horse battery staple"

// chaosClient speaks GraphQL to the gateway.
type chaosClient struct {
	url string
	// employeePasswordFile holds the credential employeePost logs in
	// with; employee is its session once logged in.
	employeePasswordFile, employee string
}

type transferOutcome struct {
	Success bool
	Reason  *string
	Status  string
}

func (c *chaosClient) post(ctx context.Context, query string, vars map[string]any, field string, out any) error {
	return c.postAs(ctx, "", query, vars, field, out)
}

// postAs posts with a session (none when empty).
func (c *chaosClient) postAs(ctx context.Context, session, query string, vars map[string]any, field string, out any) error {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if session != "" {
		req.Header.Set("Authorization", "Bearer "+session)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var r struct {
		Data   map[string]json.RawMessage
		Errors []struct{ Message string }
	}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %w", res.Status, err)
	}
	if len(r.Errors) > 0 {
		return errors.New(r.Errors[0].Message)
	}
	return json.Unmarshal(r.Data[field], out)
}

func (c *chaosClient) getAccount(ctx context.Context, user string) (struct{ IBAN, Token string }, error) {
	var a struct {
		IBAN, Token string
		Reason      *string
	}
	for ctx.Err() == nil {
		err := c.post(ctx, `mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }`,
			map[string]any{"u": user, "p": chaosPassword}, "get_account", &a)
		if err == nil && a.IBAN != "" {
			return struct{ IBAN, Token string }{a.IBAN, a.Token}, nil
		}
		time.Sleep(200 * time.Millisecond) // a timeout: the same again
	}
	return struct{ IBAN, Token string }{}, ctx.Err()
}

func (c *chaosClient) transfer(ctx context.Context, uuid, user, token string, amount int64, from, to, descr string) (transferOutcome, error) {
	var out transferOutcome
	err := c.post(ctx, `mutation($uuid: String!, $u: String!, $t: String!, $a: Int!, $f: String!, $to: String!, $d: String!) {
		money_transfer(uuid: $uuid, username: $u, token: $t, amount: $a, from: $f, to: $to, descr: $d) { success reason status } }`,
		map[string]any{"uuid": uuid, "u": user, "t": token, "a": amount, "f": from, "to": to, "d": descr}, "money_transfer", &out)
	return out, err
}

// settle sends a transfer, and again with the same uuid while the answer is
// PENDING (no answer in time, or Kafka out of reach), until its real
// outcome.
func (c *chaosClient) settle(ctx context.Context, uuid, user, token string, amount int64, from, to, descr string) (transferOutcome, error) {
	for {
		out, err := c.transfer(ctx, uuid, user, token, amount, from, to, descr)
		if err != nil {
			return out, err
		}
		if out.Status != "PENDING" {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, fmt.Errorf("still PENDING: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
