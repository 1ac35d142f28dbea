package alerts_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// counter is a webhook receiver that counts the requests it gets.
type counter struct{ requests atomic.Int32 }

func (c *counter) ServeHTTP(w http.ResponseWriter, _ *http.Request) { c.requests.Add(1) }

// parkedWebhooks waits until the alerts of rules with the webhooks urls
// are parked by the webhook deliverer, and returns why, by URL.
func parkedWebhooks(t *testing.T, env *kafkatest.Env, urls ...string) map[string]string {
	t.Helper()
	why := map[string]string{}
	waitFor(t, fmt.Sprintf("the alerts for %v to be parked", urls), func() bool {
		for _, m := range env.DeadLetters(t, alerts.DeliverGroup) {
			for _, u := range urls {
				if e := kafkatest.Header(m, "error"); strings.Contains(e, u) {
					why[u] = e
				}
			}
		}
		return len(why) == len(urls)
	})
	return why
}

// A webhook whose address is not public is refused when the alerts
// service connects, whatever the rule says and whatever its name resolves
// to: the internal receiver gets nothing, and the alert is parked at once
// with the reason. A receiver that redirects is not followed.
func TestWebhooksReachOnlyPublicAddresses(t *testing.T) {
	env := kafkatest.Synced(t)
	must := bank(t, env)
	internal := &counter{}
	srv := httptest.NewServer(internal)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	redirects := &counter{}
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirects.ServeHTTP(w, r)
		http.Redirect(w, r, srv.URL+"/hook", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()

	// A strict instance, whose DNS maps one public-looking name to
	// loopback, as an attacker's DNS would.
	resolve := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host == "localtest.example" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	strict := kafkatest.Run(t, "strict alerts", func(ctx context.Context, ready func()) error {
		return alerts.Run(ctx, alerts.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: "strict",
			Log: kafkatest.Log(t), RetryAfter: 50 * time.Millisecond, Attempts: 3, OnReady: ready, Resolve: resolve})
	})

	ann := iban.New()
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann"})
	token := env.Token(t, ann, "ann")
	// Rules as the command handler takes them (which does not know the
	// gateway's --webhooks-allow-private): with internal targets.
	hooks := map[string]string{
		"http://localtest.example:" + port + "/hook": "127.0.0.1 is a loopback address",
		srv.URL + "/hook":                         "127.0.0.1 is a loopback address",
		"http://[::ffff:127.0.0.1]:" + port + "/": "127.0.0.1 is a loopback address",
		"http://169.254.169.254:" + port + "/":    "169.254.169.254 is the cloud metadata service",
	}
	for hook := range hooks {
		must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ann, Username: "ann", Token: token,
			Kind: "INCOMING_ABOVE", Amount: 0, Webhook: hook})
	}
	must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 500, From: "cash", To: ann, Description: "in", Teller: true})
	var urls []string
	for hook := range hooks {
		urls = append(urls, hook)
	}
	parked := parkedWebhooks(t, env, urls...)
	for hook, want := range hooks {
		if why := parked[hook]; !strings.Contains(why, "refused") || !strings.Contains(why, want) {
			t.Errorf("%s parked with %q, want refused: %s", hook, why, want)
		}
	}
	if n := internal.requests.Load(); n != 0 {
		t.Fatalf("the internal receiver got %d requests", n)
	}

	// Redirects: an instance that may reach the tests' receivers (on
	// loopback) still does not follow one.
	strict.Stop(t)
	bob := iban.New() // whose rule alone fires from here on
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: bob, Username: "bob"})
	must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: bob, Username: "bob", Token: env.Token(t, bob, "bob"),
		Kind: "DESCRIPTION_CONTAINS", Word: "redirect", Webhook: redirector.URL + "/hook"})
	kafkatest.Run(t, "alerts for the redirect", func(ctx context.Context, ready func()) error {
		return alerts.Run(ctx, alerts.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: "private",
			Log: kafkatest.Log(t), RetryAfter: 50 * time.Millisecond, Attempts: 2, OnReady: ready, AllowPrivateWebhooks: true})
	})
	must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 500, From: "cash", To: bob, Description: "redirect me", Teller: true})
	if why := parkedWebhooks(t, env, redirector.URL)[redirector.URL]; !strings.Contains(why, "307 Temporary Redirect: the receiver redirects") {
		t.Errorf("the redirecting webhook parked with %q", why)
	}
	if r, n := redirects.requests.Load(), internal.requests.Load(); r != 2 || n != 0 {
		t.Fatalf("the redirecting receiver got %d posts (want 2 attempts), the internal one %d (want none)", r, n)
	}
}
