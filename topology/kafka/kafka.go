// Package kafka holds the sarama set-up every service shares: how producers
// and consumers are configured, how a client waits for the cluster, and the
// one way records are turned into keyed Kafka messages.
package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

// Version is the Kafka protocol version sarama speaks. Kafka 4 dropped the
// oldest protocol versions, so we ask for recent ones; kfake speaks them too.
var Version = sarama.V4_0_0_0

func init() {
	// sarama keeps its own go-metrics histograms of every request and
	// record, which nothing here reads (our metrics are Prometheus'): they
	// cost about 5% of the CPU of a transfer. go-metrics offers only this
	// global switch.
	metrics.UseNilMetrics = true
}

// NewConfig returns the base configuration of every client, with the
// process's Security (SASL and TLS, see SetSecurity).
func NewConfig(clientID string) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = clientID
	cfg.Version = Version
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 250 * time.Millisecond
	cfg.Net.DialTimeout = 5 * time.Second
	current.Load().apply(cfg)
	applyRoutes(cfg)
	return cfg
}

// ProducerConfig configures an idempotent producer that waits for all
// in-sync replicas: a retried send is never written twice, and an
// acknowledged one survives the loss of a broker.
func ProducerConfig(clientID string) *sarama.Config {
	cfg := NewConfig(clientID)
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Retry.Max = 10
	cfg.Producer.Retry.Backoff = 100 * time.Millisecond
	// Idempotence in sarama requires a single in-flight request per broker.
	cfg.Net.MaxOpenRequests = 1
	// The original's linger of 100 ms cost 100 ms per hop; flush at once.
	cfg.Producer.Flush.Frequency = 0
	cfg.Producer.MaxMessageBytes = 1 << 20
	// Partition (below) computes placements with the same partitioner.
	cfg.Producer.Partitioner = sarama.NewHashPartitioner
	return cfg
}

// TransactionalConfig configures a producer whose writes, together with the
// offsets of the messages that caused them, commit atomically. txnID must be
// stable across restarts of the same instance so a restarted instance fences
// its predecessor.
func TransactionalConfig(clientID, txnID string) *sarama.Config {
	cfg := ProducerConfig(clientID)
	cfg.Producer.Transaction.ID = txnID
	// A transaction left open by a crashed producer holds back every
	// read_committed reader of its partitions until the broker aborts it:
	// keep that short. Our transactions last milliseconds.
	cfg.Producer.Transaction.Timeout = 10 * time.Second
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	// A transaction's messages are handed over at once (SendMessages):
	// flushed at the first, they went in two or three produce requests,
	// each a round of fsyncs on a durable broker. A millisecond gathers
	// them into one.
	cfg.Producer.Flush.Frequency = time.Millisecond
	return cfg
}

// ConsumerConfig configures a consumer-group member that starts at the
// oldest offset (sarama's default is the newest, which would skip history a
// service must rebuild from), reads only committed transactions, and
// rebalances with the range strategy (cooperative rebalances took seconds on
// kfake).
func ConsumerConfig(clientID string) *sarama.Config {
	cfg := NewConfig(clientID)
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.IsolationLevel = sarama.ReadCommitted
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 1 * time.Second
	// A fetch waits up to this long for data when there is none: the
	// broker answers at once when a record (or a transaction's commit)
	// arrives, so it costs no latency, and an idle bank polls ten times
	// less than with 50 ms (0.11 cores idle then, 0.015 now). The rule it
	// needs: every consumer has a connection (client) of its own, since a
	// broker answers one connection's requests in order and anything else
	// asked on it would wait out the poll.
	cfg.Consumer.MaxWaitTime = 500 * time.Millisecond
	return cfg
}

// lingerBytes is the data a background reader's fetch waits for: more than
// the bank writes in MaxWaitTime at thousands of transfers a second, so
// under load the wait, not the data, answers the fetch; a catching-up
// reader gets as much at once and is answered at once.
const lingerBytes = 256 << 10

// BackgroundConfig is ConsumerConfig for a reader that acts on batches and
// that no request waits for (the alerts service's raiser): its fetch is
// answered once it has lingerBytes, or after MaxWaitTime (500 ms) as for
// any idle reader. Woken by every transaction, such a reader paid a fetch,
// a catch-up check and a Kafka transaction per transfer; gathering makes
// that two a second whatever the rate, for up to half a second of delay,
// and costs an idle bank nothing, as its fetches wait as long as before
// (docs/benchmarks.md, "Issue 20, third session").
func BackgroundConfig(clientID string) *sarama.Config {
	cfg := ConsumerConfig(clientID)
	cfg.Consumer.Fetch.Min = lingerBytes
	return cfg
}

// Connect returns a client of the cluster at brokers, retrying with backoff
// while the cluster is not reachable yet, until ctx ends.
func Connect(ctx context.Context, brokers []string, cfg *sarama.Config, log *slog.Logger) (sarama.Client, error) {
	var cl sarama.Client
	err := Retry(ctx, func() error {
		c, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			log.Info("waiting for Kafka", "brokers", brokers, "err", err)
			return err
		}
		cl = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("connect to Kafka at %v: %w", brokers, err)
	}
	return cl, nil
}

// Retry calls fn until it succeeds or ctx ends, waiting 100 ms after the
// first failure and doubling up to 5 s. It returns fn's last error that
// ctx's end did not cause, so the caller reports why it gave up rather than
// only that time ran out.
func Retry(ctx context.Context, fn func() error) error {
	wait := 100 * time.Millisecond
	var cause error // the last failure not caused by ctx ending
	for {
		err := fn()
		if err == nil {
			return nil
		}
		// An attempt cut short by the deadline fails with the deadline:
		// the failure worth reporting is the one before it.
		if ctx.Err() == nil || cause == nil {
			cause = err
		}
		if !Sleep(ctx, wait) {
			return fmt.Errorf("%w (gave up: %v)", cause, context.Cause(ctx))
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Sleep waits for d or until ctx ends, and reports whether the whole d
// passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Message builds the Kafka message of a record: its value encoded by codec
// for the topic, and its key the id of the record's aggregate, so all
// messages of one aggregate keep their order on one partition.
func Message(ctx context.Context, codec *topology.Codec, topic string, rec schemas.Record) (*sarama.ProducerMessage, error) {
	value, err := codec.Encode(ctx, topic, rec)
	if err != nil {
		return nil, err
	}
	return &sarama.ProducerMessage{
		Topic: topic,
		Key:   sarama.StringEncoder(rec.Key()),
		Value: sarama.ByteEncoder(value),
	}, nil
}

// Partition returns the partition a key lands on in topic, as our
// producers' partitioner places it.
func Partition(client sarama.Client, topic, key string) (int32, error) {
	parts, err := client.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	p, err := KeyPartition(key, int32(len(parts)))
	if err != nil {
		return 0, fmt.Errorf("partition of %q in %s: %w", key, topic, err)
	}
	return p, nil
}

// hashers are sarama's hash partitioners, kept: making one seeds a random
// source (its fallback for keyless messages), which cost the command
// handler 3 % of its CPU when it made one per step. One is not safe for
// concurrent use.
var hashers = sync.Pool{New: func() any { return sarama.NewHashPartitioner("") }}

// KeyPartition returns the partition of n a key lands on, as our producers'
// partitioner (sarama's hash partitioner) places it.
func KeyPartition(key string, n int32) (int32, error) {
	h := hashers.Get().(sarama.Partitioner)
	defer hashers.Put(h)
	return h.Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(key)}, n)
}

// DeadLetter is the message that parks m, which consumer can never handle,
// on the dead-letter topic: its bytes as received, and in the headers where
// it came from and why it was parked.
func DeadLetter(m *sarama.ConsumerMessage, consumer string, cause error) *sarama.ProducerMessage {
	value := m.Value
	headers := []sarama.RecordHeader{
		{Key: []byte("origin-topic"), Value: []byte(m.Topic)},
		{Key: []byte("origin-partition"), Value: []byte(strconv.Itoa(int(m.Partition)))},
		{Key: []byte("origin-offset"), Value: []byte(strconv.FormatInt(m.Offset, 10))},
		{Key: []byte("error"), Value: []byte(cause.Error())},
		{Key: []byte("consumer"), Value: []byte(consumer)},
	}
	// Leave room for the headers under the topic's 1 MiB limit.
	const room = 900 << 10
	if len(value) > room {
		value = value[:room]
		headers = append(headers, sarama.RecordHeader{Key: []byte("truncated-from"), Value: []byte(strconv.Itoa(len(m.Value)))})
	}
	return &sarama.ProducerMessage{
		Topic:   topology.DeadLetters,
		Key:     sarama.StringEncoder(m.Topic),
		Value:   sarama.ByteEncoder(value),
		Headers: headers,
	}
}

// LogSarama sends sarama's own log (connections, retries, rebalances) to
// log at debug level; sarama keeps it in one global.
func LogSarama(log *slog.Logger) {
	sarama.Logger = saramaLog{log}
}

type saramaLog struct{ log *slog.Logger }

func (l saramaLog) Print(v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprint(v...)), "from", "sarama")
}
func (l saramaLog) Printf(format string, v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "sarama")
}
func (l saramaLog) Println(v ...any) {
	l.log.Debug(strings.TrimSpace(fmt.Sprintln(v...)), "from", "sarama")
}
