package alerts_test

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
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// bank runs a command handler and a projector, and returns a way to send
// commands that must succeed.
func bank(t *testing.T, env *kafkatest.Env) func(schemas.Record) string {
	t.Helper()
	kafkatest.Run(t, "command handler", func(ctx context.Context, ready func()) error {
		return commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "h", Log: kafkatest.Log(t), OnReady: ready})
	})
	kafkatest.Run(t, "projector", func(ctx context.Context, ready func()) error {
		return projector.Run(ctx, projector.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "p", Log: kafkatest.Log(t), OnReady: ready})
	})
	b, err := bus.New(t.Context(), env.Brokers, env.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return func(cmd schemas.Record) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		fb, err := b.Send(ctx, cmd)
		if err != nil {
			t.Fatalf("%s: %v", cmd.AvroName(), err)
		}
		ok, info := bus.Result(fb)
		if !ok {
			t.Fatalf("%s: %s", cmd.AvroName(), info)
		}
		return info
	}
}

func startAlerts(t *testing.T, env *kafkatest.Env, instance string) *kafkatest.Service {
	return kafkatest.Run(t, "alerts "+instance, func(ctx context.Context, ready func()) error {
		return alerts.Run(ctx, alerts.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: instance,
			Log: kafkatest.Log(t), RetryAfter: 50 * time.Millisecond, OnReady: ready, AllowPrivateWebhooks: true}) // receivers on 127.0.0.1
	})
}

// receiver is a webhook receiver that fails its first failures posts.
type receiver struct {
	mu       sync.Mutex
	failures int
	posts    int
	got      map[string]int // deliveries by alert id
	bodies   []alerts.Webhook
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posts++
	if r.posts <= r.failures {
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	var b alerts.Webhook
	if err := json.NewDecoder(req.Body).Decode(&b); err != nil || req.Header.Get("Idempotency-Key") != b.ID {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	r.got[b.ID]++
	r.bodies = append(r.bodies, b)
}

func (r *receiver) delivered() []alerts.Webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]alerts.Webhook(nil), r.bodies...)
}

// A rule fires on the alerts topic and on its webhook, which fails twice
// before it takes the alert: it gets it once.
func TestARuleFiresOnceOnTheTopicAndItsWebhook(t *testing.T) {
	env := kafkatest.Synced(t)
	must := bank(t, env)
	hook := &receiver{failures: 2, got: map[string]int{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	startAlerts(t, env, "a1")

	ann := iban.New()
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann"})
	token := env.Token(t, ann, "ann")
	ruleID := schemas.NewID()
	must(&schemas.CreateAlertRuleCommand{ID: ruleID, IBAN: ann, Username: "ann", Token: token,
		Kind: "INCOMING_ABOVE", Amount: 10_000, Webhook: srv.URL})
	must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 5_000, From: "cash", To: ann, Description: "small", Teller: true})
	must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 25_000, From: "cash", To: ann, Description: "salary", Teller: true})

	got := waitForAlerts(t, env, ann, 1)
	if got[0].RuleID != ruleID || got[0].Username != "ann" || got[0].Message != `€250,00 came in on `+ann+` ("salary"), more than €100,00` {
		t.Fatalf("alert %+v", got[0])
	}
	waitFor(t, "the webhook's delivery", func() bool { return len(hook.delivered()) == 1 })
	time.Sleep(500 * time.Millisecond) // room for a repeat, which must not come
	d := hook.delivered()
	if len(d) != 1 || d[0].ID != got[0].ID.String() || d[0].Message != got[0].Message {
		t.Fatalf("webhook got %+v, want the alert once", d)
	}
	if hook.posts != 3 {
		t.Errorf("%d posts, want 2 failures and a delivery", hook.posts)
	}
}

// The alerts service killed and started again in the middle of a stream
// of transfers raises every alert exactly once, and delivers each once.
func TestRestartedAlertsLoseAndRepeatNothing(t *testing.T) {
	env := kafkatest.Synced(t)
	must := bank(t, env)
	hook := &receiver{got: map[string]int{}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	a := startAlerts(t, env, "a1")

	ann := iban.New()
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann"})
	must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann", Token: env.Token(t, ann, "ann"),
		Kind: "DESCRIPTION_CONTAINS", Word: "bonus", Webhook: srv.URL})
	const transfers = 30
	for i := range transfers {
		switch i {
		case transfers / 3:
			a.Stop(t)
		case 2 * transfers / 3:
			a = startAlerts(t, env, "a1")
		}
		must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: int64(100 + i), From: "cash", To: ann, Description: "bonus", Teller: true})
	}
	got := waitForAlerts(t, env, ann, transfers)
	seen := map[int64]int{}
	for _, a := range got {
		seen[a.TransactionID]++
	}
	if len(got) != transfers || len(seen) != transfers {
		t.Fatalf("%d alerts for %d transactions (%d distinct), want one each", len(got), transfers, len(seen))
	}
	waitFor(t, "every delivery", func() bool { return len(hook.delivered()) >= transfers })
	time.Sleep(500 * time.Millisecond)
	for id, n := range hook.got {
		if n != 1 {
			t.Errorf("alert %s delivered %d times", id, n)
		}
	}
	if len(hook.got) != transfers {
		t.Errorf("%d alerts delivered, want %d", len(hook.got), transfers)
	}
}

// waitForAlerts reads the alerts topic until it holds at least n alerts for
// ib, then a moment longer for any beyond n.
func waitForAlerts(t *testing.T, env *kafkatest.Env, ib string, n int) []*schemas.AlertTriggeredEvent {
	t.Helper()
	var out []*schemas.AlertTriggeredEvent
	read := func() {
		out = nil
		for _, rec := range env.ReadAll(t, topology.Alerts) {
			if a := rec.(*schemas.AlertTriggeredEvent); a.IBAN == ib {
				out = append(out, a)
			}
		}
	}
	waitFor(t, "the alerts", func() bool { read(); return len(out) >= n })
	time.Sleep(time.Second)
	read()
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
