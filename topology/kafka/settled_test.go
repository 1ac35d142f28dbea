package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// The caught-up rule over the logs that broke the old ones: a consumer that
// has delivered everything it will is caught up, whatever the tail holds —
// markers, an aborted transaction, an open one — and while writes go on.
func TestCaughtUpWhateverTheTailHolds(t *testing.T) {
	env := kafkatest.Start(t)
	admin := env.Admin(t)
	client, err := sarama.NewClient(env.Brokers, kafka.ConsumerConfig("test-caught-up"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()

	type step struct {
		records int
		commit  bool // else abort
		plain   bool // not in a transaction
	}
	cases := []struct {
		name  string
		steps []step
		open  int // records of a transaction left open at the end
		want  int // records a consumer delivers
	}{
		{name: "empty partition"},
		{name: "ends in a committed transaction", steps: []step{{records: 3, commit: true}}, want: 3},
		{name: "ends in an aborted transaction", steps: []step{{records: 2, commit: true}, {records: 4}}, want: 2},
		{name: "only aborted transactions", steps: []step{{records: 1}, {records: 2}}, want: 0},
		{name: "ends in plain records", steps: []step{{records: 2, commit: true}, {records: 2, plain: true}}, want: 4},
		{name: "an open transaction at the end", steps: []step{{records: 2, commit: true}}, open: 3, want: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := "caught-up-" + schemas.NewID().String()[:8]
			if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
				t.Fatal(err)
			}
			w := kafkatest.NewWriter(t, env, topic)
			for _, s := range tc.steps {
				var err error
				switch {
				case s.plain:
					err = w.Plain(s.records)
				default:
					err = w.Txn(s.records, s.commit)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if tc.open > 0 {
				if err := w.Open(tc.open); err != nil {
					t.Fatal(err)
				}
			}
			waitForLeader(t, client, topic)
			// What the steps wrote: each transaction's records and its
			// marker, the plain records; the open transaction's start.
			written := int64(0)
			for _, s := range tc.steps {
				written += int64(s.records)
				if !s.plain {
					written++
				}
			}
			end := settled(t, client, topic, written)
			delivered, next := consume(t, client, topic, tc.want)
			caught, err := kafka.CaughtUp(t.Context(), client, topic, 0, next, end)
			if err != nil || !caught {
				t.Fatalf("delivered %d of %d, next %d, end %d: caught up %v, %v", delivered, tc.want, next, end, caught, err)
			}
			// Before the last deliverable record, it is not.
			if tc.want > 0 {
				caught, err := kafka.CaughtUp(t.Context(), client, topic, 0, next-1, end)
				if err != nil || caught {
					t.Fatalf("one record short: caught up %v, %v", caught, err)
				}
			}
		})
	}
}

// settled waits until the partition's last stable offset reaches want and
// returns it. A real Kafka answers a commit before its markers are
// written, and until they are, the transaction is undecided: the last
// stable offset stays at its start (0 was seen).
func settled(t *testing.T, client sarama.Client, topic string, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		end, err := kafka.LastStable(client, topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		if end >= want {
			return end
		}
		if time.Now().After(deadline) {
			t.Fatalf("last stable offset %d after 30 s, want %d", end, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Under steady writes, a consumer that reads on is caught up with the end
// it took at the start within a bound, however long the writes go on.
func TestCaughtUpUnderContinuousWrites(t *testing.T) {
	env := kafkatest.Start(t)
	admin := env.Admin(t)
	topic := "caught-up-busy-" + schemas.NewID().String()[:8]
	if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient(env.Brokers, kafka.ConsumerConfig("test-caught-up-busy"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	w := kafkatest.NewWriter(t, env, topic)
	for i := range 20 {
		if err := w.Txn(5, i%3 != 2); err != nil { // every third aborted
			t.Fatal(err)
		}
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { // the traffic, on and on
		for i := 0; ctx.Err() == nil; i++ {
			if err := w.Txn(2, i%2 == 0); err != nil {
				t.Error(err)
				return
			}
		}
	})
	defer func() { stop(); wg.Wait() }()
	waitForLeader(t, client, topic)
	end, err := kafka.LastStable(client, topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	next := int64(0)
	deadline := time.After(60 * time.Second)
	for {
		caught, err := kafka.CaughtUp(ctx, client, topic, 0, next, end)
		if err != nil {
			t.Fatal(err)
		}
		if caught {
			break
		}
		select {
		case m := <-pc.Messages():
			next = m.Offset + 1
		case <-deadline:
			t.Fatalf("not caught up with %d after a minute of writes (next %d)", end, next)
		}
	}
}

func waitForLeader(t *testing.T, client sarama.Client, topic string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := client.RefreshMetadata(topic); err == nil {
			if _, err := client.Leader(topic, 0); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader for %s", topic)
		}
	}
}

// consume reads want records from the start and returns how many came and
// the offset after the last.
func consume(t *testing.T, client sarama.Client, topic string, want int) (int, int64) {
	t.Helper()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	got, next := 0, int64(0)
	for got < want {
		select {
		case m := <-pc.Messages():
			got, next = got+1, m.Offset+1
		case <-time.After(30 * time.Second):
			t.Fatalf("read %d of %d records", got, want)
		}
	}
	return got, next
}
