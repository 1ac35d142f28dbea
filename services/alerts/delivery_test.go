package alerts_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// hanging is a webhook receiver that never answers until released; then it
// takes each alert like receiver.
type hanging struct {
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	got     map[string]int // answered deliveries by Idempotency-Key
	tries   int
}

func (h *hanging) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.tries++
	h.mu.Unlock()
	// Read the body first: the server notices a client that hangs up only
	// once it has.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	select {
	case <-h.release:
	case <-r.Context().Done(): // the bank gave up on this post
		return
	}
	if r.Context().Err() != nil {
		return
	}
	var b alerts.Webhook
	if json.Unmarshal(body, &b) != nil || r.Header.Get("Idempotency-Key") != b.ID {
		http.Error(w, "bad alert", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.got[b.ID]++
	h.mu.Unlock()
}

func (h *hanging) answer() { h.once.Do(func() { close(h.release) }) }

func (h *hanging) counts() (tries int, got map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	got = map[string]int{}
	for k, v := range h.got {
		got[k] = v
	}
	return h.tries, got
}

// A webhook that never answers delays no other destination's alerts: an
// alert behind it on the same partition reaches its own receiver within
// one delivery timeout, while the hanging one is tried again and again.
// Stopped and started again meanwhile, the service loses nothing and
// repeats nothing: the hanging alert, still pending, is delivered once its
// receiver answers; the ones delivered before the restart are not posted
// again; the ones raised while it was down are delivered once.
func TestAHangingWebhookDelaysNoOtherDestination(t *testing.T) {
	env := kafkatest.Synced(t)
	must := bank(t, env)
	slow := &hanging{release: make(chan struct{}), got: map[string]int{}}
	slowSrv := httptest.NewServer(slow)
	defer slowSrv.Close()
	defer slow.answer() // before the server closes: no handler left waiting
	fast := &receiver{got: map[string]int{}}
	fastSrv := httptest.NewServer(fast)
	defer fastSrv.Close()
	a := startAlerts(t, env, "a1")

	ann := iban.New()
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann"})
	token := env.Token(t, ann, "ann")
	for word, hook := range map[string]string{"slow": slowSrv.URL, "fast": fastSrv.URL} {
		must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann", Token: token,
			Kind: "DESCRIPTION_CONTAINS", Word: word, Webhook: hook})
	}
	deposit := func(descr string) {
		must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 100, From: "cash", To: ann, Description: descr, Teller: true})
	}

	// The slow alert first, then the fast one, on the same partition (both
	// are keyed by ann's IBAN).
	deposit("slow")
	waitFor(t, "the first post to the hanging webhook", func() bool { tries, _ := slow.counts(); return tries > 0 })
	sent := time.Now()
	deposit("fast")
	waitFor(t, "the fast webhook's alert", func() bool { return len(fast.delivered()) == 1 })
	if took := time.Since(sent); took >= alerts.WebhookTimeout {
		t.Errorf("the fast webhook got its alert %s after the transfer, behind the hanging one (timeout %s)", took, alerts.WebhookTimeout)
	} else {
		t.Logf("the fast webhook got its alert %s after the transfer", took.Round(time.Millisecond))
	}
	got := waitForAlerts(t, env, ann, 2)
	if got[0].Message == got[1].Message || len(got) != 2 {
		t.Fatalf("alerts %+v", got)
	}
	slowAlert := got[0]

	// Stopped while the hanging alert is pending, and one more raised
	// while down.
	a.Stop(t)
	slow.answer()
	deposit("fast again")
	startAlerts(t, env, "a1")
	waitFor(t, "the fast webhook's second alert", func() bool { return len(fast.delivered()) == 2 })
	waitFor(t, "the hanging alert, answered now", func() bool { _, got := slow.counts(); return len(got) == 1 })
	time.Sleep(time.Second) // room for repeats, which must not come
	if _, got := slow.counts(); got[slowAlert.ID.String()] != 1 || len(got) != 1 {
		t.Errorf("the slow webhook got %v, want %s once", got, slowAlert.ID)
	}
	fast.mu.Lock()
	defer fast.mu.Unlock()
	for id, n := range fast.got {
		if n != 1 {
			t.Errorf("the fast webhook got alert %s %d times", id, n)
		}
	}
	if len(fast.got) != 2 {
		t.Errorf("the fast webhook got %d alerts, want 2", len(fast.got))
	}
}
