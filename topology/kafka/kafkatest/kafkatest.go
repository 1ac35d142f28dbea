// Package kafkatest gives integration tests a Kafka cluster and a Schema
// Registry reached over the network.
//
// By default each test gets its own embedded broker (kfake) and registry,
// on free loopback ports. With BANK_TEST_KAFKA_BROKERS set (the second test
// tier, see scripts/kafka), tests run against that real Apache Kafka
// instead; the registry stays embedded. That cluster is shared by every test,
// so tests must not assume it starts empty.
//
// The embedded broker requires SASL/SCRAM-SHA-512 and the registry basic
// auth, as the bank's own do, so every test goes through the
// authentication path: both accept this process's test credentials
// (Credentials), which are the process's kafka.Security from the first
// Start on. (The real broker of the second tier is a plaintext one; the
// least-privilege tests use a second, secured broker, see secure.go.)
package kafkatest

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/broker"
	"github.com/openbank/bank/services/schemaregistry"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/synchronizer"
)

// BrokersEnv names the environment variable that points the tests at a real
// Kafka cluster.
const BrokersEnv = "BANK_TEST_KAFKA_BROKERS"

// Env is a cluster and registry for one test.
type Env struct {
	Brokers     []string
	RegistryURL string
	Registry    *sr.Client
	// Broker is the embedded broker, nil against real Kafka.
	Broker *broker.Broker
}

// Real reports whether the tests run against a real Kafka cluster.
func Real() bool { return os.Getenv(BrokersEnv) != "" }

// Start returns a cluster and an empty registry, closed when the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	sec := Credentials()
	env := &Env{}
	if brokers := os.Getenv(BrokersEnv); brokers != "" {
		env.Brokers = strings.Split(brokers, ",")
	} else {
		b, err := broker.Start(broker.Config{Port: 0, Users: BrokerUsers()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(b.Close)
		env.Broker = b
		env.Brokers = []string{b.Addr()}
	}
	reg, err := schemaregistry.Open("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(schemaregistry.RequireBasicAuth(reg.Handler(), sec.Registry.User, sec.Registry.Password))
	t.Cleanup(srv.Close)
	env.RegistryURL = srv.URL
	env.Registry, err = kafka.RegistryClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return env
}

var (
	credentialsOnce sync.Once
	credentials     kafka.Security
)

// Credentials returns the test credentials of this process, made the
// process's kafka.Security at the first call: a SCRAM user and a registry
// user with random passwords. Against real Kafka (BANK_TEST_KAFKA_BROKERS,
// a plaintext broker) it holds the registry's only.
func Credentials() kafka.Security {
	credentialsOnce.Do(func() {
		credentials = kafka.Security{Registry: kafka.RegistrySecurity{User: "bank-test", Password: rand.Text()}}
		if !Real() {
			credentials.User, credentials.Password = "bank-test", rand.Text()
		}
		if err := kafka.SetSecurity(credentials); err != nil {
			panic(err)
		}
	})
	return credentials
}

// BrokerUsers returns the users of an embedded broker a test starts
// itself: the test credentials' (see Credentials).
func BrokerUsers() []broker.User {
	sec := Credentials()
	if sec.User == "" {
		return nil
	}
	return []broker.User{{Name: sec.User, Password: sec.Password, Super: true}}
}

// ClientEnv returns the environment that gives a bank process started by
// a test the test credentials (see Credentials).
func ClientEnv() []string {
	sec := Credentials()
	var env []string
	if sec.User != "" {
		env = append(env, "KAFKA_SASL_USER="+sec.User, "KAFKA_SASL_PASSWORD="+sec.Password)
	}
	return append(env, "SCHEMA_REGISTRY_USER="+sec.Registry.User, "SCHEMA_REGISTRY_PASSWORD="+sec.Registry.Password)
}

// Synced is Start followed by the synchronizer: every topic exists and every
// schema is registered.
func Synced(t testing.TB) *Env {
	t.Helper()
	env := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := synchronizer.Run(ctx, env.Brokers, env.RegistryURL, synchronizer.Options{Log: Log(t)}); err != nil {
		t.Fatal(err)
	}
	return env
}

// RequireEmbedded skips a test that needs the embedded broker (to restart it,
// say) when running against real Kafka.
func (e *Env) RequireEmbedded(t testing.TB) {
	t.Helper()
	if e.Broker == nil {
		t.Skip("needs the embedded broker")
	}
}

// Codec returns a codec reading schemas from the env's registry.
func (e *Env) Codec() *topology.Codec { return topology.NewCodec(e.Registry) }

// Admin returns a cluster admin, closed when the test ends.
func (e *Env) Admin(t testing.TB) sarama.ClusterAdmin {
	t.Helper()
	a, err := sarama.NewClusterAdmin(e.Brokers, kafka.NewConfig("test-admin"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// Log returns a logger writing to the test's log.
func Log(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// ConsumeGroup reads n messages of topic as member of group, marks and
// commits them, and leaves the group.
func (e *Env) ConsumeGroup(t testing.TB, group, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	cg, err := sarama.NewConsumerGroup(e.Brokers, group, kafka.ConsumerConfig("test-"+group))
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h := &collector{n: n, done: cancel}
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
	}
	if len(h.got) < n {
		t.Fatalf("read %d of %d messages from %s", len(h.got), n, topic)
	}
	return h.got
}

type collector struct {
	mu   sync.Mutex // ConsumeClaim runs once per partition, concurrently
	n    int
	got  []*sarama.ConsumerMessage
	done context.CancelFunc
}

func (*collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c *collector) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			c.mu.Lock()
			if len(c.got) < c.n {
				c.got = append(c.got, m)
				sess.MarkMessage(m, "")
				if len(c.got) == c.n {
					sess.Commit()
					c.done()
				}
			}
			c.mu.Unlock()
		}
	}
}

// ReadAll returns every committed record of topic, decoded, partition by
// partition (in order within each): it reads each from the start until the
// end offset it saw at first, or until nothing comes for a second (the last
// offsets can be transaction markers, which are never delivered). The
// partitions are read side by side, so those seconds overlap: one after
// another, a transactional topic (alerts) with 12 records took 10 s to read.
func (e *Env) ReadAll(t testing.TB, topic string) []schemas.Record {
	t.Helper()
	cl, err := sarama.NewClient(e.Brokers, kafka.ConsumerConfig("test-read-all"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	parts, err := cl.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	codec := e.Codec()
	got := make([][]schemas.Record, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	defer wg.Wait() // a t.Fatal below leaves no reader running on closed clients
	for i, p := range parts {
		end, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if end == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer pc.Close()
			got[i], errs[i] = readUntil(t, pc, codec, end)
		})
	}
	wg.Wait()
	var out []schemas.Record
	for i := range parts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		out = append(out, got[i]...)
	}
	return out
}

// EndOffsets sums the end offsets of the topics' partitions: compared
// before and after, what a test wrote there, whatever other tests wrote
// before it on a shared cluster.
func (e *Env) EndOffsets(t testing.TB, topics ...string) int64 {
	t.Helper()
	cl, err := sarama.NewClient(e.Brokers, kafka.ConsumerConfig("test-end-offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var sum int64
	for _, topic := range topics {
		parts, err := cl.Partitions(topic)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			end, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				t.Fatal(err)
			}
			sum += end
		}
	}
	return sum
}

// Unique makes a name (a username, say) no other test uses: against real
// Kafka every test of every package shares one cluster, users included.
func Unique(name string) string { return name + "-" + schemas.NewID().String()[:8] }

// readUntil decodes what pc delivers until offset end, or until nothing
// comes for a second.
func readUntil(t testing.TB, pc sarama.PartitionConsumer, codec *topology.Codec, end int64) ([]schemas.Record, error) {
	var out []schemas.Record
	for {
		select {
		case m := <-pc.Messages():
			rec, err := codec.Decode(context.Background(), m.Topic, m.Value)
			switch {
			case topology.IsPoison(err):
				// Against real Kafka the topics are shared, and other
				// packages' tests put poison on them on purpose.
				t.Logf("%s/%d at %d: skipped: %v", m.Topic, m.Partition, m.Offset, err)
			case err != nil:
				return nil, fmt.Errorf("%s/%d at %d: %w", m.Topic, m.Partition, m.Offset, err)
			default:
				out = append(out, rec)
			}
			if m.Offset+1 >= end {
				return out, nil
			}
		case <-time.After(time.Second):
			return out, nil
		}
	}
}

// DeadLetters returns the messages parked on dead_letters by consumer (read
// until none came for 2 s).
func (e *Env) DeadLetters(t testing.TB, consumer string) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(e.Brokers, kafka.ConsumerConfig("test-dead-letters"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := kafka.ConsumePartition(t.Context(), c, topology.DeadLetters, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for {
		select {
		case m := <-pc.Messages():
			if Header(m, "consumer") == consumer {
				out = append(out, m)
			}
		case <-time.After(2 * time.Second):
			return out
		}
	}
}

// Header returns the value of m's header key.
func Header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// Service is a service running in a test.
type Service struct {
	name   string
	cancel context.CancelFunc
	done   chan error
}

// Run starts a service — fn runs until its ctx ends and calls ready once it
// serves — waits until it is ready, and stops it when the test ends.
func Run(t testing.TB, name string, fn func(ctx context.Context, ready func()) error) *Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	var once sync.Once
	s := &Service{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- fn(ctx, func() { once.Do(func() { close(ready) }) }) }()
	select {
	case <-ready:
	case err := <-s.done:
		t.Fatalf("%s ended: %v", name, err)
	case <-time.After(60 * time.Second):
		t.Fatalf("%s not ready after a minute", name)
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

// Stop stops the service and checks it stopped cleanly; stopping twice is
// harmless.
func (s *Service) Stop(t testing.TB) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("%s stopped with %v", s.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30 s", s.name)
	}
}

// Token returns username's token for the account iban, read from
// bank_events: tokens are never in feedback, so a test that drives the
// command handler over Kafka learns them where the projector does.
func (e *Env) Token(t testing.TB, iban, username string) string {
	t.Helper()
	token := ""
	for _, rec := range e.ReadAll(t, topology.BankEvents) {
		switch ev := rec.(type) {
		case *schemas.BankAccountCreatedEvent:
			if ev.IBAN == iban && ev.Username == username {
				token = ev.Token
			}
		case *schemas.UserAddedToBankAccountEvent:
			if ev.IBAN == iban && ev.Username == username {
				token = ev.Token
			}
		}
	}
	if token == "" {
		t.Fatalf("no token of %s for %s on %s", username, iban, topology.BankEvents)
	}
	return token
}
