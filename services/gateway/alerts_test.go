package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// startAlerts runs the alerts service, which may post to the tests'
// receivers on 127.0.0.1.
func startAlerts(t testing.TB, env *kafkatest.Env) {
	kafkatest.Run(t, "alerts", func(ctx context.Context, ready func()) error {
		return alerts.Run(ctx, alerts.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: "a",
			Log: kafkatest.Log(t), OnReady: ready, AllowPrivateWebhooks: true})
	})
}

// An owner sets alert rules over GraphQL; a transaction that sets one off
// reaches them on the alerts subscription and on the rule's webhook, and
// no one else's subscription.
func TestAlertsOverGraphQL(t *testing.T) {
	s := startStack(t, func(c *gateway.Config) { c.AllowPrivateWebhooks = true }) // the receiver is on 127.0.0.1
	startAlerts(t, s.env)
	var mu sync.Mutex
	var posted []alerts.Webhook
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b alerts.Webhook
		json.NewDecoder(r.Body).Decode(&b)
		mu.Lock()
		posted = append(posted, b)
		mu.Unlock()
	}))
	defer hook.Close()

	sfx := suffix()
	ann := s.signUp(t, "ann-"+sfx, "pw")
	bob := s.signUp(t, "bob-"+sfx, "pw")
	gql := s.srv.URL + "/graphql"
	const create = `mutation($iban: String!, $kind: AlertKind!, $amount: Int, $word: String, $hook: String) {
		create_alert(iban: $iban, kind: $kind, amount_cents: $amount, word: $word, webhook: $hook) { rule { id kind amount amount_cents word webhook username } reason } }`
	type ruleResult struct {
		Rule *struct {
			ID, Kind, Amount, Word, Webhook, Username string
			AmountCents                               int `json:"amount_cents"`
		}
		Reason *string
	}
	big := field[ruleResult](t, do(t, gql, ann.Session, create, map[string]any{"iban": ann.IBAN, "kind": "INCOMING_ABOVE", "amount": 100_00, "hook": hook.URL}), "create_alert")
	if big.Rule == nil || big.Rule.Amount != "€100,00" || big.Rule.Username != ann.Username || big.Rule.Webhook != hook.URL {
		t.Fatalf("create_alert answered %+v %s", big.Rule, deref(big.Reason))
	}
	word := field[ruleResult](t, do(t, gql, ann.Session, create, map[string]any{"iban": ann.IBAN, "kind": "DESCRIPTION_CONTAINS", "word": "casino"}), "create_alert")
	if word.Rule == nil {
		t.Fatalf("create_alert: %s", deref(word.Reason))
	}
	for name, tc := range map[string]struct {
		session string
		vars    map[string]any
		reason  string
	}{
		"on someone else's account": {bob.Session, map[string]any{"iban": ann.IBAN, "kind": "BALANCE_BELOW", "amount": 1}, "not your account"},
		"a bad webhook":             {ann.Session, map[string]any{"iban": ann.IBAN, "kind": "BALANCE_BELOW", "hook": "file:///etc/passwd"}, "webhook must be an http or https URL"},
		"no word":                   {ann.Session, map[string]any{"iban": ann.IBAN, "kind": "DESCRIPTION_CONTAINS"}, "word must be 1 to 100 characters"},
	} {
		got := field[ruleResult](t, do(t, gql, tc.session, create, tc.vars), "create_alert")
		if got.Rule != nil || deref(got.Reason) != tc.reason {
			t.Errorf("%s: %+v %q, want %q", name, got.Rule, deref(got.Reason), tc.reason)
		}
	}
	if r := do(t, gql, "", create, map[string]any{"iban": ann.IBAN, "kind": "BALANCE_BELOW"}); !strings.Contains(r.errs(), "not logged in") {
		t.Errorf("create_alert without a session: %s", r.errs())
	}
	type rule struct{ ID, Kind string }
	rules := field[[]rule](t, do(t, gql, ann.Session, `query($iban: String!) { alert_rules(iban: $iban) { id kind } }`, map[string]any{"iban": ann.IBAN}), "alert_rules")
	if len(rules) != 2 {
		t.Fatalf("alert_rules: %+v", rules)
	}
	if r := do(t, gql, bob.Session, `query($iban: String!) { alert_rules(iban: $iban) { id } }`, map[string]any{"iban": ann.IBAN}); r.errs() != "not your account" {
		t.Errorf("someone else's alert_rules: %s", r.errs())
	}

	annSub, err := dialWS(t, gql, "graphql-transport-ws", nil, "Bearer "+ann.Session)
	if err != nil {
		t.Fatal(err)
	}
	annSub.subscribe(t, `subscription { alerts { id rule_id iban username transaction_id message } }`, nil)
	bobSub, err := dialWS(t, gql, "graphql-transport-ws", nil, "Bearer "+bob.Session)
	if err != nil {
		t.Fatal(err)
	}
	bobSub.subscribe(t, `subscription { alerts { id message } }`, nil)
	anon, err := dialWS(t, gql, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	anon.subscribe(t, `subscription { alerts { id } }`, nil)
	if m := anon.expect(t, "next"); !strings.Contains(fmt.Sprint(m["payload"]), "not logged in") {
		t.Errorf("alerts without a session: %v", m)
	}

	for _, tr := range []struct {
		amount int
		descr  string
	}{{50_00, "small"}, {250_00, "salary"}, {20_00, "casino night"}} {
		if r := s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, tr.amount, "cash", ann.IBAN, tr.descr); r.Success == nil || !*r.Success {
			t.Fatalf("deposit %s: %+v", tr.descr, r)
		}
	}
	var got []string
	for range 2 {
		m := annSub.expect(t, "next")
		a := m["payload"].(map[string]any)["data"].(map[string]any)["alerts"].(map[string]any)
		if a["iban"] != ann.IBAN || a["username"] != ann.Username {
			t.Errorf("alert %v", a)
		}
		got = append(got, a["message"].(string))
	}
	want := []string{
		`€250,00 came in on ` + ann.IBAN + ` ("salary"), more than €100,00`,
		`a transaction on ` + ann.IBAN + ` of €20,00 says "casino night"`,
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("ann's alerts %q, want %q", got, want)
	}
	waitFor(t, "the webhook", func() bool { mu.Lock(); defer mu.Unlock(); return len(posted) == 1 })
	mu.Lock()
	if posted[0].Message != want[0] {
		t.Errorf("webhook got %+v", posted[0])
	}
	mu.Unlock()
	select {
	case m := <-bobSub.msgs:
		t.Errorf("bob got %v", m)
	case <-time.After(500 * time.Millisecond):
	}

	// Ending the word rule: no more alerts from it.
	del := `mutation($iban: String!, $id: String!) { delete_alert(iban: $iban, id: $id) { success reason } }`
	if r := field[map[string]any](t, do(t, gql, ann.Session, del, map[string]any{"iban": ann.IBAN, "id": word.Rule.ID}), "delete_alert"); r["success"] != true {
		t.Fatalf("delete_alert: %v", r)
	}
	// Ending it again changes nothing and says so as the first time did;
	// a rule that never was is refused.
	if r := field[map[string]any](t, do(t, gql, ann.Session, del, map[string]any{"iban": ann.IBAN, "id": word.Rule.ID}), "delete_alert"); r["success"] != true {
		t.Errorf("delete_alert again: %v", r)
	}
	if r := field[map[string]any](t, do(t, gql, ann.Session, del, map[string]any{"iban": ann.IBAN, "id": schemas.NewID().String()}), "delete_alert"); r["reason"] != "alert rule does not exist" {
		t.Errorf("delete_alert of no rule: %v", r)
	}
	s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, 10_00, "cash", ann.IBAN, "casino again")
	s.transfer(t, schemas.NewID().String(), ann.Username, ann.Token, 300_00, "cash", ann.IBAN, "bonus")
	m := annSub.expect(t, "next")
	if msg := fmt.Sprint(m["payload"]); !strings.Contains(msg, "bonus") || strings.Contains(msg, "casino again") {
		t.Errorf("after deleting the word rule: %s", msg)
	}
}
