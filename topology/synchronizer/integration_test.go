package synchronizer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/broker"
	"github.com/openbank/bank/services/schemaregistry"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
	"github.com/openbank/bank/topology/synchronizer"
)

func run(t *testing.T, env *kafkatest.Env, opts synchronizer.Options) synchronizer.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts.Log = kafkatest.Log(t)
	rep, err := synchronizer.Run(ctx, env.Brokers, env.RegistryURL, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func allSubjects() []string {
	var out []string
	for _, tp := range topology.Topics {
		for _, r := range tp.Records {
			out = append(out, topology.Subject(tp.Name, r))
		}
	}
	slices.Sort(out)
	return out
}

func TestSyncTwiceMakesTheClusterMatchAndThenChangesNothing(t *testing.T) {
	env := kafkatest.Start(t)
	first := run(t, env, synchronizer.Options{})
	if env.Broker != nil && (len(first.Created) != len(topology.Topics) || len(first.Registered) != len(allSubjects())) {
		t.Errorf("first run on an empty cluster created %d topics and %d subjects", len(first.Created), len(first.Registered))
	}
	second := run(t, env, synchronizer.Options{})
	if second.Changed() {
		t.Errorf("second run changed something: %+v", second)
	}

	// Topics, partitions and configs as Kafka reports them.
	admin := env.Admin(t)
	topics, err := admin.ListTopics()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range topology.Topics {
		want = want.Effective(first.Brokers)
		have, ok := topics[want.Name]
		if !ok {
			t.Errorf("topic %s missing", want.Name)
			continue
		}
		if have.NumPartitions != want.Partitions || have.ReplicationFactor != want.Replication {
			t.Errorf("%s: %d partitions, replication %d; want %d, %d", want.Name, have.NumPartitions, have.ReplicationFactor, want.Partitions, want.Replication)
		}
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: want.Name})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, e := range entries {
			got[e.Name] = e.Value
		}
		for k, v := range want.Configs {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", want.Name, k, got[k], v)
			}
		}
	}

	// Subjects through the registry's REST API, with the schema we compose.
	var subjects []string
	getJSON(t, env.RegistryURL+"/subjects", &subjects)
	slices.Sort(subjects)
	if !slices.Equal(subjects, allSubjects()) {
		t.Errorf("subjects\n got %v\nwant %v", subjects, allSubjects())
	}
	var latest struct {
		Schema string `json:"schema"`
		ID     int    `json:"id"`
	}
	getJSON(t, env.RegistryURL+"/subjects/"+topology.BankEvents+"-"+schemas.Namespace+".MoneyDebitedEvent/versions/latest", &latest)
	if want, _ := schemas.Compose(schemas.Namespace + ".MoneyDebitedEvent"); latest.Schema != want || latest.ID == 0 {
		t.Errorf("registered schema %d %s, want %s", latest.ID, latest.Schema, want)
	}
}

func getJSON(t *testing.T, url string, into any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if reg := kafkatest.Credentials().Registry; reg.User != "" {
		req.SetBasicAuth(reg.User, reg.Password)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

func TestSyncSetsConfigsThatDrifted(t *testing.T) {
	env := kafkatest.Synced(t)
	admin := env.Admin(t)
	v := "1234"
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, topology.UserQueries, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v},
	}, false); err != nil {
		t.Fatal(err)
	}
	rep := run(t, env, synchronizer.Options{})
	if got := rep.ConfigsFixed[topology.UserQueries]; len(got) != 1 || got[0] != "retention.ms=60000" {
		t.Fatalf("configs fixed: %v", rep.ConfigsFixed)
	}
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topology.UserQueries, ConfigNames: []string{"retention.ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Value != "60000" {
		t.Fatalf("retention.ms after sync: %+v", entries)
	}
}

func TestSyncDeletesUnknownTopicsOnlyWhenAsked(t *testing.T) {
	env := kafkatest.Synced(t)
	admin := env.Admin(t)
	stray := "stray_" + schemas.NewID().String()[:8]
	if err := admin.CreateTopic(stray, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	rep := run(t, env, synchronizer.Options{})
	if !slices.Contains(rep.Unknown, stray) || len(rep.Deleted) != 0 {
		t.Fatalf("without the flag: unknown %v, deleted %v", rep.Unknown, rep.Deleted)
	}
	rep = run(t, env, synchronizer.Options{DeleteUnknown: true})
	if !slices.Contains(rep.Deleted, stray) {
		t.Fatalf("with the flag: deleted %v", rep.Deleted)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		topics, err := admin.ListTopics()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := topics[stray]; !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still listed after deletion", stray)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, tp := range topology.Topics {
		if slices.Contains(rep.Deleted, tp.Name) {
			t.Errorf("deleted %s of the topology", tp.Name)
		}
	}
}

func TestSyncStopsAtOnceOnAnIncompatibleSchema(t *testing.T) {
	env := kafkatest.Start(t)
	subject := topology.Subject(topology.UserEvents, schemas.Namespace+".UserAccountCreatedEvent")
	// A version our record cannot read: its fields have no defaults and
	// are absent from this one.
	old := `{"type":"record","name":"UserAccountCreatedEvent","namespace":"nl.openbank.data","fields":[{"name":"legacy","type":"string"}]}`
	if _, err := env.Registry.CreateSchema(context.Background(), subject, sr.Schema{Schema: old}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := synchronizer.Run(ctx, env.Brokers, env.RegistryURL, synchronizer.Options{Log: kafkatest.Log(t)})
	var perm *synchronizer.PermanentError
	if !errors.As(err, &perm) || !strings.Contains(err.Error(), subject) || !strings.Contains(err.Error(), "compatible") {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("took %s: an incompatible schema must not be retried", time.Since(start))
	}
}

func TestSyncGivesUpOnAnUnreachableBrokerWithTheReason(t *testing.T) {
	env := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := synchronizer.Run(ctx, []string{"127.0.0.1:1"}, env.RegistryURL, synchronizer.Options{})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "connect") {
		t.Fatalf("got %v", err)
	}
}

func TestSyncWaitsForARegistryThatStartsLate(t *testing.T) {
	env := kafkatest.Start(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there yet
	go func() {
		time.Sleep(700 * time.Millisecond)
		reg, _ := schemaregistry.Open("")
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		srv := &http.Server{Handler: reg.Handler()}
		t.Cleanup(func() { srv.Close() })
		go srv.Serve(ln)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := synchronizer.Run(ctx, env.Brokers, "http://"+addr, synchronizer.Options{Log: kafkatest.Log(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Registered) != len(allSubjects()) {
		t.Fatalf("registered %d subjects", len(rep.Registered))
	}
}

// The embedded broker and registry keep messages, committed offsets and
// schema ids across a restart on the same data directory.
func TestEmbeddedRestartKeepsMessagesOffsetsAndSchemaIDs(t *testing.T) {
	if kafkatest.Real() {
		t.Skip("restarts the embedded broker")
	}
	dir := t.TempDir()
	start := func() (*kafkatest.Env, func()) {
		b, err := broker.Start(broker.Config{DataDir: dir, Users: kafkatest.BrokerUsers()})
		if err != nil {
			t.Fatal(err)
		}
		reg, err := schemaregistry.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(reg.Handler())
		cl, _ := sr.NewClient(sr.URLs(srv.URL))
		env := &kafkatest.Env{Brokers: []string{b.Addr()}, RegistryURL: srv.URL, Registry: cl, Broker: b}
		return env, func() { srv.Close(); reg.Close(); b.Close() }
	}
	env, stop := start()
	run(t, env, synchronizer.Options{})
	ids := map[string]int{}
	for _, s := range allSubjects() {
		ss, err := env.Registry.SchemaByVersion(context.Background(), s, -1)
		if err != nil {
			t.Fatal(err)
		}
		ids[s] = ss.ID
	}
	// Ten events, four of them consumed and committed by a group.
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	codec := env.Codec()
	var sent []schemas.Record
	for i := range 10 {
		rec := &schemas.MoneyCreditedEvent{ID: schemas.NewID(), IBAN: "NL66OPEN0000000000", Amount: int64(100 + i)}
		msg, err := kafka.Message(context.Background(), codec, topology.BankEvents, rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, rec)
	}
	producer.Close()
	env.ConsumeGroup(t, "restart-test", topology.BankEvents, 4)
	stop()

	env, stop = start()
	defer stop()
	again := run(t, env, synchronizer.Options{})
	if again.Changed() {
		t.Errorf("sync after restart changed %+v", again)
	}
	for s, id := range ids {
		ss, err := env.Registry.SchemaByVersion(context.Background(), s, -1)
		if err != nil || ss.ID != id {
			t.Errorf("%s: id %d after restart, %d before (%v)", s, ss.ID, id, err)
		}
	}
	rest := env.ConsumeGroup(t, "restart-test", topology.BankEvents, 6)
	codec = env.Codec()
	for i, m := range rest {
		if m.Offset != int64(4+i) {
			t.Fatalf("group resumed at offset %d, want %d", m.Offset, 4+i)
		}
		rec, err := codec.Decode(context.Background(), m.Topic, m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rec.(*schemas.MoneyCreditedEvent), sent[4+i].(*schemas.MoneyCreditedEvent); *got != *want {
			t.Errorf("message %d: %+v, sent %+v", 4+i, got, want)
		}
		if string(m.Key) != "NL66OPEN0000000000" {
			t.Errorf("key %q", m.Key)
		}
	}
}
