package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
)

// The broker stops for 30 s under load and comes back on the same address
// and data. Meanwhile the gateway answers every request in time, with an
// error or PENDING, and its readiness is false; afterwards everything works
// again without restarting any service, and no answered transfer is lost:
// the retries of those without an outcome give their real outcome, and the
// ledger checks hold.
func TestBrokerOutage(t *testing.T) {
	skipOnRealKafka(t)
	if testing.Short() {
		t.Skip("the outage lasts 30 s")
	}
	const outage = 30 * time.Second
	dir := t.TempDir()
	brokerEnv := []string{"BANK_DATA_DIR=" + dir, "KAFKA_PORT=" + strconv.Itoa(freePort(t)),
		"SCHEMA_REGISTRY_ADDR=127.0.0.1:" + strconv.Itoa(freePort(t))}
	c := startCluster(t, brokerEnv...)
	env := c.env
	services := []*proc{
		start(t, append(env, "INSTANCE_ID=c1"), "commands"),
		start(t, append(env, "INSTANCE_ID=c2"), "commands"),
		start(t, append(env, "PROJECTOR_ID=p1"), "projector"),
		start(t, append(env, "REQUEST_TIMEOUT=2s"), "gateway"),
	}
	var ready []string
	for _, p := range services {
		u := "http://" + httpAddrOf(t, p) + "/readyz"
		waitReady(t, u, p)
		ready = append(ready, u)
	}
	gwReady := ready[3]
	api := &chaosClient{url: ready[3][:len(ready[3])-len("/readyz")] + "/graphql"}

	var ibans []string
	want := map[string]int64{}
	for i := range 4 {
		user := fmt.Sprintf("outage-%d", i)
		a, err := api.getAccount(t.Context(), user)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := api.transfer(t.Context(), schemas.NewID().String(), user, a.Token, 1_000_000, "cash", a.IBAN, "in"); err != nil || !out.Success {
			t.Fatalf("deposit: %+v %v", out, err)
		}
		ibans = append(ibans, a.IBAN)
		want[a.IBAN] = 1_000_000
	}
	tokens := map[string]string{}
	for i, ib := range ibans {
		a, _ := api.getAccount(t.Context(), fmt.Sprintf("outage-%d", i))
		tokens[ib] = a.Token
	}

	// Load: transfers between the four accounts, each sent once; those
	// without an outcome (PENDING, or an error) are settled afterwards.
	type sent struct {
		uuid, user, from, to string
		amount               int64
	}
	var (
		mu            sync.Mutex
		unsettled     []sent
		answered      = map[string]int{} // by kind of answer
		slowest       time.Duration
		down          bool
		errs          []string
		reasonsInDown []string
	)
	settle := func(s sent, out transferOutcome) {
		if out.Success {
			want[s.from] -= s.amount
			want[s.to] += s.amount
		}
	}
	load, stopLoad := context.WithCancel(t.Context())
	var workers sync.WaitGroup
	for range 4 {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for load.Err() == nil {
				i, j := rand.IntN(4), rand.IntN(3)
				if j >= i {
					j++
				}
				s := sent{uuid: schemas.NewID().String(), user: fmt.Sprintf("outage-%d", i), from: ibans[i], to: ibans[j], amount: int64(1 + rand.IntN(5_000))}
				began := time.Now()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				out, err := api.transfer(ctx, s.uuid, s.user, tokens[s.from], s.amount, s.from, s.to, "under outage")
				cancel()
				took := time.Since(began)
				mu.Lock()
				slowest = max(slowest, took)
				switch {
				case err != nil: // a transfer's answer says PENDING rather than fail
					answered["error"]++
					unsettled = append(unsettled, s)
					if len(errs) < 3 {
						errs = append(errs, err.Error())
					}
				case out.Status == "PENDING":
					answered["pending"]++
					unsettled = append(unsettled, s)
					if down && out.Reason != nil && len(reasonsInDown) < 3 {
						reasonsInDown = append(reasonsInDown, *out.Reason)
					}
				default:
					answered[out.Status]++
					settle(s, out)
				}
				mu.Unlock()
				if err != nil {
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}

	time.Sleep(3 * time.Second)
	mu.Lock()
	before := answered["COMPLETED"]
	down = true
	mu.Unlock()
	if before == 0 {
		t.Fatal("no transfer completed before the outage")
	}
	c.broker.stop(t)
	outageStart := time.Now()
	notReady := false
	for time.Since(outageStart) < outage {
		if code := status(gwReady); code == http.StatusServiceUnavailable {
			notReady = true
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !notReady {
		t.Error("the gateway's /readyz never said not ready while the broker was down")
	}
	mu.Lock()
	slowestDown := slowest
	t.Logf("during the outage: answers %v, slowest %s, reasons like %q", answered, slowest, reasonsInDown)
	if len(errs) > 0 {
		t.Errorf("transfers answered with errors rather than PENDING: %q", errs)
	}
	down = false
	mu.Unlock()
	if slowestDown > 15*time.Second {
		t.Errorf("a request took %s while the broker was down; want an answer within the request timeout and Kafka's retries", slowestDown)
	}

	c.broker = start(t, brokerEnv, "broker")
	c.broker.line(t, regexp.MustCompile(`^Kafka broker at`))
	back := time.Now()
	for i, u := range ready {
		waitReady(t, u, services[i])
	}
	t.Logf("every service ready %s after the broker came back", time.Since(back).Round(100*time.Millisecond))
	mu.Lock()
	completedBefore := answered["COMPLETED"]
	mu.Unlock()
	time.Sleep(5 * time.Second)
	stopLoad()
	workers.Wait()
	if answered["COMPLETED"] <= completedBefore {
		t.Fatalf("no transfer completed after the broker came back: %v", answered)
	}

	// Every transfer without an outcome, sent again with its uuid, gets its
	// real one.
	settleBy, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for _, s := range unsettled {
		out, err := api.settle(settleBy, s.uuid, s.user, tokens[s.from], s.amount, s.from, s.to, "under outage")
		if err != nil {
			t.Fatalf("transfer %s sent again after the outage: %v", s.uuid, err)
		}
		settle(s, out)
	}
	t.Logf("answers %v; %d settled after the outage", answered, len(unsettled))
	checkLedger(t, c.kafka(t), ibans, want)
	for _, p := range services {
		p.stop(t)
	}
	c.broker.stop(t)
	// A reader logs an outage once, not every retry of every partition
	// (840 lines for one 20 s outage, once).
	for _, p := range services {
		lines := strings.Count(p.logs(), "\n")
		t.Logf("%v logged %d lines", p.cmd.Args[1:], lines)
		if lines > 150 {
			t.Errorf("%v logged %d lines through one outage", p.cmd.Args[1:], lines)
		}
	}
}

// freePort returns a port nothing listens on now, and one this test
// process has not handed out before: the kernel may give a port just
// closed to the next listener on :0, so two calls in a row could get the
// same one.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port
		}
	}
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func status(url string) int {
	c := http.Client{Timeout: 3 * time.Second}
	res, err := c.Get(url)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}
