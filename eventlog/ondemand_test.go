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
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A reader whose own fetches wait for data (kafka.BackgroundConfig) is
// caught up at once when someone waits for it: CaughtUp fetches what lies
// between the reader and the end itself and hands it over. Here the
// reader's own fetch waits 20 s for 256 KiB that never come, so only that
// hand-over can catch it up within the test.
func TestWaitingForALingeringReaderFetchesWhatItLacks(t *testing.T) {
	env := kafkatest.Start(t)
	topic := kafkatest.Unique("linger")
	if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	cfg := kafka.BackgroundConfig("test-linger")
	cfg.Consumer.MaxWaitTime = 20 * time.Second
	r := openReader(t, env, topic, cfg, "test linger")
	w := newTxnWriter(t, env, topic)
	w.commit(t, 3)
	w.abort(t, 2)
	w.plain(t, 2)

	before := testutil.ToFloat64(eventlog.FetchedOnDemand.WithLabelValues("test linger"))
	ends := settledEnds(t, r.log, 9)
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := r.log.WaitCaughtUp(ctx, ends); err != nil {
		t.Fatalf("not caught up with %v: %v (applied %v)", ends, err, r.applied())
	}
	// 3 committed records and a marker, 2 aborted and a marker, 2 plain.
	if want := []int64{0, 1, 2, 7, 8}; !slices.Equal(r.applied(), want) {
		t.Errorf("applied %v, want %v", r.applied(), want)
	}
	if n := testutil.ToFloat64(eventlog.FetchedOnDemand.WithLabelValues("test linger")) - before; n != 5 {
		t.Errorf("%v records fetched on demand, want 5", n)
	}
}

// Whatever the log holds and whoever brings a record first (the reader's
// own fetch or a waiter's), the reader is handed every record a
// read_committed consumer delivers, once each and in order, and a wait
// ends only once every record below the ends it took is applied. Random
// sequences of committed, aborted and plain writes race with waiters and
// with the reader's own fetches.
func TestALingeringReaderIsHandedEachRecordOnceWhoeverFetchesIt(t *testing.T) {
	env := kafkatest.Start(t)
	for round := range 4 {
		seed := time.Now().UnixNano() + int64(round)
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			topic := kafkatest.Unique("race")
			if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(seed), 1))
			cfg := kafka.BackgroundConfig("test-race")
			cfg.Consumer.MaxWaitTime = time.Duration(1+rng.IntN(200)) * time.Millisecond
			cfg.Consumer.Fetch.Min = int32(1 + rng.IntN(4096))
			r := openReader(t, env, topic, cfg, "test race")
			w := newTxnWriter(t, env, topic)

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
					w.abort(t, n)
				case 1:
					w.plain(t, n)
				default:
					w.commit(t, n)
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

			want := deliverable(t, env, topic, ends[eventlog.Partition{Topic: topic}])
			got := r.applied()
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

func openReader(t *testing.T, env *kafkatest.Env, topic string, cfg *sarama.Config, name string) *reader {
	t.Helper()
	client, err := kafka.Connect(t.Context(), env.Brokers, cfg, kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	lookups, err := kafka.Connect(t.Context(), env.Brokers, kafka.NewConfig(name+"-lookups"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lookups.Close() })
	l, err := eventlog.Open(t.Context(), client, lookups, []string{topic}, name, kafkatest.Log(t))
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

// deliverable reads, with a plain read_committed consumer, the offsets of
// the records below end.
func deliverable(t *testing.T, env *kafkatest.Env, topic string, end int64) []int64 {
	t.Helper()
	client, err := kafka.Connect(t.Context(), env.Brokers, kafka.ConsumerConfig("test-reference"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	var out []int64
	for next := int64(0); ; {
		msgs, err := kafka.Deliverable(t.Context(), client, topic, 0, next, end)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return out
		}
		for _, m := range msgs {
			out = append(out, m.Offset)
		}
		next = msgs[len(msgs)-1].Offset + 1
	}
}

// txnWriter writes test records in transactions and outside them.
type txnWriter struct {
	topic          string
	txn, plainProd sarama.SyncProducer
}

func newTxnWriter(t *testing.T, env *kafkatest.Env, topic string) *txnWriter {
	t.Helper()
	txn, err := sarama.NewSyncProducer(env.Brokers, kafka.TransactionalConfig("test-writer", "test-writer-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { txn.Close() })
	plain, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-plain"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	return &txnWriter{topic: topic, txn: txn, plainProd: plain}
}

func (w *txnWriter) messages(n int) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, n)
	for i := range out {
		out[i] = &sarama.ProducerMessage{Topic: w.topic, Value: sarama.StringEncoder(fmt.Sprint(i))}
	}
	return out
}

func (w *txnWriter) inTxn(t *testing.T, n int, end func() error) {
	t.Helper()
	if err := w.txn.BeginTxn(); err != nil {
		t.Fatal(err)
	}
	if err := w.txn.SendMessages(w.messages(n)); err != nil {
		t.Fatal(err)
	}
	if err := end(); err != nil {
		t.Fatal(err)
	}
}

func (w *txnWriter) commit(t *testing.T, n int) { w.inTxn(t, n, w.txn.CommitTxn) }
func (w *txnWriter) abort(t *testing.T, n int)  { w.inTxn(t, n, w.txn.AbortTxn) }

func (w *txnWriter) plain(t *testing.T, n int) {
	t.Helper()
	if err := w.plainProd.SendMessages(w.messages(n)); err != nil {
		t.Fatal(err)
	}
}
