// Package bus sends commands and queries over Kafka and waits for their
// answers: it keys each request by its aggregate, produces it to its topic,
// and matches the answer with the same id and request name on the topic's
// feedback topic (CommandSucceeded/CommandFailed, QuerySucceeded/
// QueryFailed). One consumer per feedback topic serves every waiting caller;
// answers nobody waits for any more are dropped.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/eventlog"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

var requestSeconds = promauto.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "openbank_bus_request_seconds",
	Help:    "Time from sending a command or query to its answer, by request and outcome (answered, timeout, error).",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
}, []string{"request", "outcome"})

// ErrTimeout is returned when no feedback came before the context ended. The
// command may still be handled later: for a transfer, send it again with the
// same id to learn its outcome.
var ErrTimeout = errors.New("no answer in time")

// ErrUnavailable is returned when the request could not be written to
// Kafka (the cluster unreachable, say). It may still have been written: a
// retry with the same id is safe and learns.
var ErrUnavailable = errors.New("kafka unavailable")

// Bus sends commands and queries and awaits their answers.
type Bus struct {
	codec    *topology.Codec
	producer sarama.SyncProducer
	client   sarama.Client
	feedback *eventlog.Log
	log      *slog.Logger

	mu      sync.Mutex
	waiters map[key][]chan schemas.Record
}

type key struct {
	id      schemas.ID
	command string
}

// New connects a bus to the cluster. Feedback consumers start at the newest
// offsets, before any command is sent, so no answer is missed.
func New(ctx context.Context, brokers []string, codec *topology.Codec, clientID string, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := kafka.Connect(ctx, brokers, kafka.ConsumerConfig(clientID), log)
	if err != nil {
		return nil, err
	}
	producer, err := sarama.NewSyncProducer(brokers, kafka.ProducerConfig(clientID))
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("bus producer: %w", err)
	}
	b := &Bus{codec: codec, producer: producer, client: client, log: log, waiters: map[key][]chan schemas.Record{}}
	b.feedback, err = eventlog.Follow(ctx, client, topology.FeedbackTopics(), "bus feedback", log, b.dispatch)
	if err != nil {
		producer.Close()
		client.Close()
		return nil, fmt.Errorf("bus feedback: %w", err)
	}
	return b, nil
}

// FeedbackConsumer names the bus's reading of feedback on dead letters.
const FeedbackConsumer = "gateway-feedback"

// Park puts m, which consumer can never handle, on the dead-letter topic
// and logs it. Every gateway reads every feedback and transaction message,
// so with several gateways a message may be parked once by each: the
// origin headers tell those apart.
func (b *Bus) Park(m *sarama.ConsumerMessage, consumer string, cause error) {
	b.log.Warn("parked on dead letters", "consumer", consumer, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", cause)
	if _, _, err := b.producer.SendMessage(kafka.DeadLetter(m, consumer, cause)); err != nil {
		b.log.Error("dead letter not written: the message is only skipped", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
	}
}

// dispatch hands a feedback record to whoever waits for it; records nobody
// waits for (answers to others, or to callers that gave up) are dropped.
func (b *Bus) dispatch(m *sarama.ConsumerMessage) {
	rec, err := b.codec.Decode(context.Background(), m.Topic, m.Value)
	if err != nil {
		b.Park(m, FeedbackConsumer, fmt.Errorf("undecodable feedback: %w", err))
		return
	}
	var k key
	switch fb := rec.(type) {
	case *schemas.CommandSucceeded:
		k = key{fb.ID, fb.CommandName}
	case *schemas.CommandFailed:
		k = key{fb.ID, fb.CommandName}
	case *schemas.QuerySucceeded:
		k = key{fb.ID, fb.QueryName}
	case *schemas.QueryFailed:
		k = key{fb.ID, fb.QueryName}
	default:
		b.Park(m, FeedbackConsumer, fmt.Errorf("%s is not feedback", rec.AvroName()))
		return
	}
	b.mu.Lock()
	for _, ch := range b.waiters[k] {
		ch <- rec // buffered: never blocks
	}
	delete(b.waiters, k)
	b.mu.Unlock()
}

// Send sends a command or query and returns its answer: CommandSucceeded or
// CommandFailed, QuerySucceeded or QueryFailed. A MoneyTransferCommand's
// feedback comes when its saga ends. It returns ErrTimeout when ctx ends
// first.
func (b *Bus) Send(ctx context.Context, cmd schemas.Record) (schemas.Record, error) {
	id := cmd.RecordID()
	topic, err := topology.TopicOf(cmd.AvroName())
	if err != nil {
		return nil, err
	}
	msg, err := kafka.Message(ctx, b.codec, topic, cmd)
	if err != nil {
		return nil, err
	}
	k := key{id, topology.ShortName(cmd.AvroName())}
	start := time.Now()
	outcome := "error"
	defer func() { requestSeconds.WithLabelValues(k.command, outcome).Observe(time.Since(start).Seconds()) }()
	ch := make(chan schemas.Record, 1)
	b.mu.Lock()
	b.waiters[k] = append(b.waiters[k], ch)
	b.mu.Unlock()
	defer b.forget(k, ch)
	if _, _, err := b.producer.SendMessage(msg); err != nil {
		return nil, fmt.Errorf("%w: send %s: %w", ErrUnavailable, k.command, err)
	}
	select {
	case fb := <-ch:
		outcome = "answered"
		return fb, nil
	case <-ctx.Done():
		outcome = "timeout"
		return nil, fmt.Errorf("%s %s: %w (%v)", k.command, id, ErrTimeout, context.Cause(ctx))
	}
}

func (b *Bus) forget(k key, ch chan schemas.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ws := b.waiters[k]
	for i, w := range ws {
		if w == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(b.waiters, k)
	} else {
		b.waiters[k] = ws
	}
}

// Waiting returns how many callers wait for an answer.
func (b *Bus) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, ws := range b.waiters {
		n += len(ws)
	}
	return n
}

// Close stops the consumers and closes the connections.
func (b *Bus) Close() {
	b.feedback.Close()
	b.producer.Close()
	b.client.Close()
}

// Answer reads an answer: the command's additional info or the query's
// result when it succeeded, else the failure, with its code (a record
// written before codes gets its code from its sentence).
func Answer(fb schemas.Record) (result string, failure contract.Reason) {
	switch fb := fb.(type) {
	case *schemas.CommandSucceeded:
		if fb.AdditionalInfo != nil {
			return *fb.AdditionalInfo, contract.Reason{}
		}
		return "", contract.Reason{}
	case *schemas.CommandFailed:
		return "", contract.ReasonOf(fb.Code, fb.Reason)
	case *schemas.QuerySucceeded:
		return fb.QueryResult, contract.Reason{}
	case *schemas.QueryFailed:
		return "", contract.ReasonOf(fb.Code, fb.Reason)
	}
	return "", contract.ReasonOf("", fb.AvroName()+" is not an answer")
}

// Result is Answer for callers that need only whether it succeeded and
// the words: the result, or the failure's sentence.
func Result(fb schemas.Record) (ok bool, info string) {
	result, failure := Answer(fb)
	if failure != (contract.Reason{}) {
		return false, failure.Text
	}
	return true, result
}
