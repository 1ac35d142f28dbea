package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// `bank alerts` killed with SIGKILL in the middle of a stream of transfers
// and started again raises every alert once and delivers each to its
// webhook once. A post the kill interrupts between the receiver's answer
// and the commit of its offset comes again, with the same Idempotency-Key,
// by which a receiver (like this one) takes it once: HTTP gives no other
// way to exactly once.
func TestAlertsSurviveSIGKILL(t *testing.T) {
	skipOnRealKafka(t)
	c := startCluster(t)
	env := c.env
	services := []*proc{start(t, append(env, "INSTANCE_ID=c1"), "commands"), start(t, append(env, "PROJECTOR_ID=p1"), "projector")}
	alertsProc := func() *proc {
		p := start(t, append(env, "ALERTS_ID=a1", "WEBHOOKS_ALLOW_PRIVATE=1"), "alerts") // the receiver is on 127.0.0.1
		waitReady(t, "http://"+httpAddrOf(t, p)+"/readyz", p)
		return p
	}
	a := alertsProc()

	var mu sync.Mutex
	got := map[string]int{} // posts by Idempotency-Key
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body alerts.Webhook
		if json.NewDecoder(r.Body).Decode(&body) != nil || r.Header.Get("Idempotency-Key") != body.ID {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[body.ID]++
		mu.Unlock()
	}))
	defer hook.Close()

	kenv := c.kafka(t)
	requests, err := bus.New(t.Context(), kenv.Brokers, kenv.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer requests.Close()
	must := func(cmd schemas.Record) string {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		fb, err := requests.Send(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.AvroName(), err)
		}
		ok, info := bus.Result(fb)
		if !ok {
			t.Fatalf("%s: %s", cmd.AvroName(), info)
		}
		return info
	}
	ann := iban.New()
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann"})
	token := kenv.Token(t, ann, "ann")
	must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann", Token: token,
		Kind: "INCOMING_ABOVE", Amount: 0, Webhook: hook.URL})
	const transfers = 60
	for i := range transfers {
		if i == transfers/2 {
			if err := a.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			a.wait(t)
			a = alertsProc()
		}
		must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: int64(1 + i), From: "cash", To: ann, Description: "in", Teller: true})
	}

	perTransaction := map[int64]int{}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		clear(perTransaction)
		for _, rec := range kenv.ReadAll(t, topology.Alerts) {
			if e := rec.(*schemas.AlertTriggeredEvent); e.IBAN == ann {
				perTransaction[e.TransactionID]++
			}
		}
		mu.Lock()
		delivered := len(got)
		mu.Unlock()
		if len(perTransaction) >= transfers && delivered >= transfers || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(time.Second) // room for repeats, which must not come
	if len(perTransaction) != transfers {
		t.Errorf("alerts for %d transactions, want %d", len(perTransaction), transfers)
	}
	for tx, n := range perTransaction {
		if n != 1 {
			t.Errorf("transaction %d raised %d alerts", tx, n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != transfers {
		t.Errorf("%d alerts delivered, want %d", len(got), transfers)
	}
	repeats := 0
	for _, n := range got {
		repeats += n - 1
	}
	if repeats > 1 { // at most the one post in flight at the kill
		t.Errorf("%d posts repeated, want at most the one the kill interrupted: %v", repeats, got)
	}
	a.stop(t)
	for _, p := range services {
		p.stop(t)
	}
	c.broker.stop(t)
}
