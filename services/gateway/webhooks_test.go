package gateway_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A rule's webhook may not name this machine, a private or link-local
// network or the cloud metadata service: create_alert answers why, and no
// rule is set (so nothing is ever posted there). With
// --webhooks-allow-private they are taken (TestAlertsOverGraphQL).
func TestWebhooksToInternalAddressesAreRefused(t *testing.T) {
	s := startStack(t, nil)
	var requests atomic.Int32
	internal := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	defer internal.Close()
	_, port, _ := net.SplitHostPort(internal.Listener.Addr().String())
	ann := s.signUp(t, "ann-"+suffix(), "pw")
	const create = `mutation($iban: String!, $hook: String) {
		create_alert(iban: $iban, kind: INCOMING_ABOVE, amount_cents: 0, webhook: $hook) { rule { id } reason } }`
	type result struct {
		Rule   *struct{ ID string }
		Reason *string
	}
	for hook, why := range map[string]string{
		internal.URL + "/hook":                                "127.0.0.1 is a loopback address",
		"http://[::1]:" + port + "/hook":                      "::1 is a loopback address",
		"http://10.0.0.1/hook":                                "10.0.0.1 is a private address",
		"http://169.254.169.254/latest/meta-data/iam/":        "169.254.169.254 is the cloud metadata service",
		"http://localhost:" + port + "/hook":                  "localhost is this machine",
		"http://metadata.google.internal/computeMetadata/v1/": "metadata.google.internal is a cloud metadata service",
		"https://example.org/" + strings.Repeat("x", 2048):    "webhook may be at most 2048 bytes",
	} {
		got := field[result](t, do(t, s.srv.URL+"/graphql", ann.Session, create, map[string]any{"iban": ann.IBAN, "hook": hook}), "create_alert")
		if got.Rule != nil || !strings.Contains(deref(got.Reason), why) {
			t.Errorf("%.60s: %+v %q, want refused: %s", hook, got.Rule, deref(got.Reason), why)
		}
	}
	public := field[result](t, do(t, s.srv.URL+"/graphql", ann.Session, create, map[string]any{"iban": ann.IBAN, "hook": "https://hooks.example.org/bank"}), "create_alert")
	if public.Rule == nil {
		t.Fatalf("a public webhook: %s", deref(public.Reason))
	}
	rules := field[[]struct{ ID string }](t, do(t, s.srv.URL+"/graphql", ann.Session, `query($iban: String!) { alert_rules(iban: $iban) { id } }`,
		map[string]any{"iban": ann.IBAN}), "alert_rules")
	if len(rules) != 1 || rules[0].ID != public.Rule.ID {
		t.Fatalf("rules set: %+v, want only the public one", rules)
	}
	if n := requests.Load(); n != 0 {
		t.Fatalf("the internal receiver got %d requests", n)
	}
}
