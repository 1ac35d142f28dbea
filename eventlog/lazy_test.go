package eventlog_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A lazy reader looks at once when someone waits for it. Here it would
// otherwise look only in an hour, so only the wait can catch it up.
func TestWaitingForALazyReaderMakesItLookAtOnce(t *testing.T) {
	env := kafkatest.Start(t)
	topic := kafkatest.Unique("lazy")
	if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	r := openLazy(t, env, topic, time.Hour, "test lazy")
	w := kafkatest.NewWriter(t, env, topic)
	must(t, w.Txn(3, true))
	must(t, w.Txn(2, false))
	must(t, w.Plain(2))

	ends := settledEnds(t, r.log, 9)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := r.log.WaitCaughtUp(ctx, ends); err != nil {
		t.Fatalf("not caught up with %v: %v (applied %v)", ends, err, r.applied())
	}
	// 3 committed records, 2 aborted, 2 plain, 2 markers: where the
	// markers fall, a real Kafka decides (it writes them after answering).
	applied := r.applied()
	if want := deliverable(t, env, w, ends[eventlog.Partition{Topic: topic}]); len(want) != 5 || !slices.Equal(applied, want) {
		t.Errorf("applied %v, want %v (5 records)", applied, want)
	}
	// Caught up, it stays so for those ends, and asks nothing more.
	if caught, err := r.log.CaughtUp(ctx, ends); err != nil || !caught {
		t.Errorf("caught up %v, %v", caught, err)
	}
	// A log that ends in an aborted transaction is caught up with too,
	// though the reader's position never reaches the end.
	must(t, w.Txn(4, false))
	ends = settledEnds(t, r.log, 9+1+5) // and the record deliverable wrote
	if err := r.log.WaitCaughtUp(ctx, ends); err != nil {
		t.Fatalf("not caught up with %v after an aborted transaction: %v", ends, err)
	}
	last := r.applied()[len(r.applied())-1]
	if next := r.log.Next(topic, 0); next != last+1 || last < applied[len(applied)-1] {
		t.Errorf("position %d after applying %v", next, r.applied())
	}
}

// Whatever the log holds, and whether a wait or the clock makes it look, a
// lazy reader is handed every record a read_committed consumer delivers,
// once each and in order, and a wait ends only once every record below the
// ends it took is applied. Random sequences of committed, aborted and
// plain writes race with waiters and with the reader's own polls.
func TestALazyReaderIsHandedEachRecordOnceInOrder(t *testing.T) {
	env := kafkatest.Start(t)
	for round := range 4 {
		seed := time.Now().UnixNano() + int64(round)
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			topic := kafkatest.Unique("race")
			if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			r := openLazy(t, env, topic, time.Duration(1+rng.IntN(100))*time.Millisecond, "test race")
			w := kafkatest.NewWriter(t, env, topic)

			type waited struct {
				end     int64
				applied int // records applied when the wait ended
			}
			var (
				mu   sync.Mutex
				done []waited
			)
			ctx, stop := context.WithCancel(t.Context())
			var wg sync.WaitGroup
			for range 3 {
				wg.Go(func() {
					for ctx.Err() == nil {
						ends, err := r.log.Ends()
						if err != nil {
							t.Error(err)
							return
						}
						if err := r.log.WaitCaughtUp(ctx, ends); err != nil {
							return // stopped
						}
						n := len(r.applied())
						mu.Lock()
						done = append(done, waited{ends[eventlog.Partition{Topic: topic}], n})
						mu.Unlock()
					}
				})
			}
			for range 30 + rng.IntN(30) {
				n := 1 + rng.IntN(5)
				switch rng.IntN(4) {
				case 0:
					must(t, w.Txn(n, false))
				case 1:
					must(t, w.Plain(n))
				default:
					must(t, w.Txn(n, true))
				}
			}
			ends, err := r.log.Ends()
			if err != nil {
				t.Fatal(err)
			}
			wait, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			if err := r.log.WaitCaughtUp(wait, ends); err != nil {
				t.Fatalf("not caught up with %v: %v", ends, err)
			}
			stop()
			wg.Wait()

			end := ends[eventlog.Partition{Topic: topic}]
			got := r.applied() // nothing was written past end yet
			want := deliverable(t, env, w, end)
			if !slices.Equal(got, want) {
				t.Fatalf("applied %v,\nwant %v", got, want)
			}
			for _, d := range done {
				below := 0
				for _, off := range want {
					if off < d.end {
						below++
					}
				}
				if d.applied < below {
					t.Errorf("a wait for end %d ended with %d records applied, but %d lie below it", d.end, d.applied, below)
				}
			}
			t.Logf("%d records, %d waits", len(want), len(done))
		})
	}
}

// settledEnds takes the log's ends once its one partition's last stable
// offset reaches want: a real Kafka answers a commit before it writes the
// markers, and until then the transaction counts as undecided.
func settledEnds(t *testing.T, l *eventlog.Log, want int64) eventlog.Ends {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		ends, err := l.Ends()
		if err != nil {
			t.Fatal(err)
		}
		if ends.Total() >= want {
			return ends
		}
		if time.Now().After(deadline) {
			t.Fatalf("ends %v after 30 s, want %d", ends, want)
		}
	}
}

// reader applies what a Log hands over, noting the offsets.
type reader struct {
	log *eventlog.Log
	mu  sync.Mutex
	got []int64
}

func (r *reader) applied() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

func openLazy(t *testing.T, env *kafkatest.Env, topic string, poll time.Duration, name string) *reader {
	t.Helper()
	lookups, err := kafka.Connect(t.Context(), env.Brokers, kafka.NewConfig(name+"-lookups"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lookups.Close() })
	l, err := eventlog.OpenLazy(t.Context(), lookups, []string{topic}, poll, name, kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{log: l}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-l.Messages():
				r.mu.Lock()
				r.got = append(r.got, m.Offset)
				r.mu.Unlock()
				l.Applied(m)
			}
		}
	})
	t.Cleanup(func() { stop(); wg.Wait(); l.Close() })
	return r
}

// deliverable reads, with sarama's read_committed consumer (not the code
// under test), the offsets of the records below end. It writes a record
// past end to know where to stop.
func deliverable(t *testing.T, env *kafkatest.Env, w *kafkatest.Writer, end int64) []int64 {
	t.Helper()
	must(t, w.Plain(1))
	client, err := kafka.Connect(t.Context(), env.Brokers, kafka.ConsumerConfig("test-reference"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(w.Topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []int64
	for {
		select {
		case m := <-pc.Messages():
			if m.Offset >= end {
				return out
			}
			out = append(out, m.Offset)
		case <-time.After(time.Minute):
			t.Fatalf("read %v, nothing at or past %d", out, end)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A poll of 0 or less is the default, not a panic of time.NewTicker.
func TestALazyReaderWithoutAPollUsesTheDefault(t *testing.T) {
	env := kafkatest.Start(t)
	for _, poll := range []time.Duration{0, -1} {
		topic := kafkatest.Unique("nopoll")
		if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			t.Fatal(err)
		}
		r := openLazy(t, env, topic, poll, "test no poll")
		w := kafkatest.NewWriter(t, env, topic)
		must(t, w.Plain(2))
		ends := settledEnds(t, r.log, 2)
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		if err := r.log.WaitCaughtUp(ctx, ends); err != nil {
			t.Fatalf("poll %v: not caught up: %v", poll, err)
		}
		cancel()
		if want := []int64{0, 1}; !slices.Equal(r.applied(), want) {
			t.Errorf("poll %v: applied %v, want %v", poll, r.applied(), want)
		}
	}
}
