package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// Least privilege on Apache Kafka (the real tier's secured broker: SCRAM
// listeners, the StandardAuthorizer, no access where no ACL grants it, the
// ACLs of topology.Principals as `bank sync --acls` creates them): every
// service runs as its own process and principal, as in docker-compose.yml,
// and a customer signs up, deposits, pays another, reads their balance and
// history, follows their account live and gets an alert on a webhook. No
// service is refused anything on the way.
func TestEveryServiceAsItsOwnPrincipalOnKafka(t *testing.T) {
	s := kafkatest.Secure(t)
	dir := t.TempDir()
	as := func(principal string, env ...string) []string {
		file := filepath.Join(dir, principal+".password")
		if err := os.WriteFile(file, []byte(s.Passwords[principal]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return append([]string{"KAFKA_BROKERS=" + s.Brokers[0], "SCHEMA_REGISTRY_URL=" + s.RegistryURL, "BANK_HTTP_ADDR=127.0.0.1:0",
			"KAFKA_SASL_USER=" + principal, "KAFKA_SASL_PASSWORD_FILE=" + file}, env...)
	}
	// What compose's sync runs: the ACLs are there already (kafkatest
	// created them the same way), so nothing changes.
	syncer := start(t, as(topology.PrincipalAdmin, "SYNC_ACLS=true"), "sync")
	syncer.line(t, regexp.MustCompile(`^nothing to change`))
	if err, logs := syncer.wait(t); err != nil {
		t.Fatalf("bank sync --acls as admin: %v\n%s", err, logs)
	}

	run := rand.Text()[:6] // the broker is shared by the whole tier
	procs := []*proc{
		start(t, as(topology.PrincipalCommands, "INSTANCE_ID=lp-"+run), "commands"),
		start(t, as(topology.PrincipalProjector, "PROJECTOR_ID=lp-"+run), "projector"),
		start(t, as(topology.PrincipalAlerts, "ALERTS_ID=lp-"+run, "WEBHOOKS_ALLOW_PRIVATE=1"), "alerts"), // the receiver is on 127.0.0.1
		start(t, as(topology.PrincipalGateway, "WEBHOOKS_ALLOW_PRIVATE=1"), "gateway"),
	}
	for _, p := range procs {
		waitReady(t, "http://"+httpAddrOf(t, p)+"/readyz", p)
	}
	web := "http://" + httpAddrOf(t, procs[3]) + "/"

	var mu sync.Mutex
	var hooked []alerts.Webhook
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body alerts.Webhook
		if json.NewDecoder(r.Body).Decode(&body) == nil {
			mu.Lock()
			hooked = append(hooked, body)
			mu.Unlock()
		}
	}))
	defer hook.Close()

	ann := &attacker{t: t, url: web + "graphql", addr: "10.21.0.1"}
	ann.signUpSession(t, "lp-ann-"+strings.ToLower(run))
	bob := &attacker{t: t, url: web + "graphql", addr: "10.21.0.2"}
	bob.signUpSession(t, "lp-bob-"+strings.ToLower(run))
	r := bob.do(t, `mutation($i: String!, $w: String!) { create_alert(iban: $i, kind: INCOMING_ABOVE, amount_cents: 100, webhook: $w) { rule { id } reason } }`,
		map[string]any{"i": bob.iban, "w": hook.URL})
	if !strings.Contains(string(r.Data["create_alert"]), `"id"`) {
		t.Fatalf("create_alert: %s %s", r.Data, r.errs())
	}
	live := dialSession(t, web, bob.session)
	subscribeOn(t, live, `subscription($iban: String) { stream_transactions(iban: $iban) { id changed_by_cents } }`, map[string]any{"iban": bob.iban})
	time.Sleep(time.Second) // the subscription registered before the transfer

	ann.mustTransfer(t, 5000, "cash", ann.iban, "salary")
	ann.mustTransfer(t, 1200, ann.iban, bob.iban, "rent")
	if got := bob.balance(t); got != 1200 {
		t.Errorf("bob's balance %d, want 1200", got)
	}
	if got := ann.balance(t); got != 3800 {
		t.Errorf("ann's balance %d, want 3800", got)
	}
	if msg, ok := readOne(live, 20*time.Second); !ok || !strings.Contains(msg, `"changed_by_cents":1200`) {
		t.Errorf("bob's live transactions: %s", msg)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		n := len(hooked)
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the alert never reached the webhook")
		}
	}
	mu.Lock()
	if hooked[0].IBAN != bob.iban || !strings.Contains(hooked[0].Message, "rent") {
		t.Errorf("webhook got %+v", hooked[0])
	}
	mu.Unlock()

	for _, p := range procs {
		p.stop(t)
		// A grant missing from the table shows as a refusal in some log.
		if logs := p.logs(); strings.Contains(logs, "not authorized") || strings.Contains(logs, "AUTHORIZATION_FAILED") {
			t.Errorf("bank %v was refused something:\n%s", p.cmd.Args[1:], logs)
		}
	}
}

// The gateway's principal cannot forge events or read the credentials on
// the event log: Kafka refuses it a write to bank_events and a read of
// user_events with its authorization error, while what the gateway needs
// (reading transaction_events here; all of it in the test above) works.
// TestComposeServices checks the same on the embedded broker.
func TestTheGatewaysPrincipalIsRefusedTheEventLogOnKafka(t *testing.T) {
	s := kafkatest.Secure(t)
	checkGatewayIsConfined(t, s.Brokers, s.As(topology.PrincipalGateway))
}

// checkGatewayIsConfined checks that sec, the gateway's principal, is
// refused a write to bank_events and a read of user_events with the
// broker's authorization error, and may read transaction_events.
func checkGatewayIsConfined(t *testing.T, brokers []string, sec kafka.Security) {
	t.Helper()
	config := func(cfg *sarama.Config) *sarama.Config {
		if err := sec.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	p, err := sarama.NewSyncProducer(brokers, config(kafka.ProducerConfig("test-gateway")))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: topology.BankEvents, Value: sarama.StringEncoder("forged")})
	if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("the gateway writes bank_events: %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
	}
	c, err := sarama.NewConsumer(brokers, config(kafka.ConsumerConfig("test-gateway")))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if pc, err := c.ConsumePartition(topology.UserEvents, 0, sarama.OffsetOldest); err == nil {
		pc.Close()
		t.Error("the gateway reads user_events")
	} else if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("the gateway reads user_events: %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
	}
	pc, err := c.ConsumePartition(topology.TransactionEvents, 0, sarama.OffsetNewest)
	if err != nil {
		t.Errorf("the gateway reads transaction_events: %v", err)
	} else {
		pc.Close()
	}
}
