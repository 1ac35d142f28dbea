package bus_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
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
	tail, err := kafka.NewTail(t.Context(), client, []string{topology.UserQueries}, kafkatest.Log(t), func(m *sarama.ConsumerMessage) {
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
	t.Cleanup(func() { tail.Stop(); client.Close(); producer.Close() })
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
