package bus_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// answer plays the projector: it answers each FindUserQuery on user_queries
// after a delay.
func answer(t *testing.T, env *kafkatest.Env, delay time.Duration) {
	t.Helper()
	codec := env.Codec()
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-answerer"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := kafka.Connect(t.Context(), env.Brokers, kafka.ConsumerConfig("test-answerer"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	tail, err := eventlog.Follow(t.Context(), client, []string{topology.UserQueries}, "test answerer", kafkatest.Log(t), func(m *sarama.ConsumerMessage) {
		rec, err := codec.Decode(context.Background(), m.Topic, m.Value)
		if err != nil {
			t.Errorf("decode: %v", err)
			return
		}
		q := rec.(*schemas.FindUserQuery)
		time.Sleep(delay)
		msg, err := kafka.Message(context.Background(), codec, topology.UserQueriesFeedback,
			&schemas.QuerySucceeded{ID: q.ID, QueryName: "FindUserQuery", QueryResult: `"` + q.Username + `"`})
		if err == nil {
			_, _, err = producer.SendMessage(msg)
		}
		if err != nil {
			t.Errorf("answer: %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tail.Close(); client.Close(); producer.Close() })
}

func TestSendAwaitsItsOwnAnswer(t *testing.T) {
	env := kafkatest.Synced(t)
	answer(t, env, 0)
	b, err := bus.New(t.Context(), env.Brokers, env.Codec(), "test-bus", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	done := make(chan error, 20)
	for i := range 20 {
		go func() {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			name := "user" + string(rune('a'+i))
			fb, err := b.Send(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: name})
			if err == nil {
				if ok, info := bus.Result(fb); !ok || info != `"`+name+`"` {
					err = errors.New("answer " + info + " for " + name)
				}
			}
			done <- err
		}()
	}
	for range 20 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if n := b.Waiting(); n != 0 {
		t.Errorf("%d callers still wait", n)
	}
}

func TestLateAnswersAreDropped(t *testing.T) {
	env := kafkatest.Synced(t)
	answer(t, env, 300*time.Millisecond)
	b, err := bus.New(t.Context(), env.Brokers, env.Codec(), "test-bus", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 5 {
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		_, err := b.Send(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: "late"})
		cancel()
		if !errors.Is(err, bus.ErrTimeout) {
			t.Fatalf("got %v, want ErrTimeout", err)
		}
	}
	if n := b.Waiting(); n != 0 {
		t.Errorf("%d waiters left after timeouts", n)
	}
	time.Sleep(2 * time.Second) // the late answers arrive and find nobody
	if n := b.Waiting(); n != 0 {
		t.Errorf("%d waiters after the late answers", n)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := b.Send(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: "patient"}); err != nil {
		t.Fatalf("a patient caller after late answers: %v", err)
	}
}

// Garbage, a truncated record and an oversize one on a feedback topic are
// parked on dead_letters with their origin, and answers still arrive.
func TestPoisonFeedbackIsParked(t *testing.T) {
	env := kafkatest.Synced(t)
	answer(t, env, 0)
	b, err := bus.New(t.Context(), env.Brokers, env.Codec(), "test-bus", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-poison"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	valid, err := kafka.Message(t.Context(), env.Codec(), topology.UserQueriesFeedback,
		&schemas.QuerySucceeded{ID: schemas.NewID(), QueryName: "FindUserQuery", QueryResult: `"x"`})
	if err != nil {
		t.Fatal(err)
	}
	whole, _ := valid.Value.Encode()
	tag := schemas.NewID().String() // this run's poison, among other runs' on a real Kafka
	poison := map[string][]byte{
		"garbage":   []byte("garbage " + tag),
		"truncated": whole[:len(whole)-3],
		"oversize":  append(bytes.Repeat([]byte{0xff}, 950<<10), tag...),
	}
	type origin struct {
		partition int32
		offset    int64
	}
	sent := map[origin]string{}
	for name, value := range poison {
		p, off, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topology.UserQueriesFeedback, Key: sarama.StringEncoder(tag), Value: sarama.ByteEncoder(value)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sent[origin{p, off}] = name
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if fb, err := b.Send(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: "after"}); err != nil {
		t.Fatalf("a query after the poison: %v", err)
	} else if ok, info := bus.Result(fb); !ok || info != `"after"` {
		t.Fatalf("a query after the poison: %v %s", ok, info)
	}
	parked := map[string]bool{}
	for _, m := range env.DeadLetters(t, bus.FeedbackConsumer) {
		if kafkatest.Header(m, "origin-topic") != topology.UserQueriesFeedback {
			continue
		}
		p, _ := strconv.Atoi(kafkatest.Header(m, "origin-partition"))
		off, _ := strconv.ParseInt(kafkatest.Header(m, "origin-offset"), 10, 64)
		name, ours := sent[origin{int32(p), off}]
		if !ours {
			continue
		}
		if parked[name] {
			t.Errorf("%s parked twice", name)
		}
		parked[name] = true
		if kafkatest.Header(m, "error") == "" {
			t.Errorf("%s parked without its error", name)
		}
		if name == "oversize" && kafkatest.Header(m, "truncated-from") != strconv.Itoa(len(poison[name])) {
			t.Errorf("oversize parked with truncated-from %q", kafkatest.Header(m, "truncated-from"))
		}
	}
	for name := range poison {
		if !parked[name] {
			t.Errorf("%s not parked", name)
		}
	}
}
