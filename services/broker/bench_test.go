package broker

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// BenchmarkTransactions measures what durable acknowledgements cost: sarama
// transactional producers, as the bank's services use them, each
// transaction one record and a group offset (send, then CommitTxn, which
// sends AddOffsetsToTxn, TxnOffsetCommit and EndTxn), against the embedded
// broker with a data dir, SyncWrites on and off, 1, 8 and 32 producers. It
// reports transactions per second and the latency of the send (a Produce)
// and of CommitTxn (mostly EndTxn: only it and the Produce wait for fsync).
//
//	go test -run '^$' -bench BenchmarkTransactions -benchtime 3000x ./services/broker/
//
// The data dir is under $TMPDIR: it must be on a real disk for fsync to
// cost what it does in production (tmpfs makes fsync free).
func BenchmarkTransactions(b *testing.B) {
	for _, sync := range []bool{true, false} {
		for _, producers := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("sync=%v/producers=%d", sync, producers), func(b *testing.B) {
				benchTransactions(b, sync, producers)
			})
		}
	}
}

func benchTransactions(b *testing.B, syncWrites bool, producers int) {
	br, err := Start(Config{DataDir: b.TempDir(), SyncWrites: &syncWrites})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	const topic, partitions = "bench", 4
	admin, err := sarama.NewClusterAdmin([]string{br.Addr()}, kafka.NewConfig("bench"))
	if err != nil {
		b.Fatal(err)
	}
	for _, t := range []string{topic, "in"} {
		if err := admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1}, false); err != nil {
			b.Fatal(err)
		}
	}
	admin.Close()

	ps := make([]sarama.SyncProducer, producers)
	for i := range ps {
		cfg := kafka.TransactionalConfig("bench", fmt.Sprint("bench-", i))
		cfg.Producer.Partitioner = sarama.NewManualPartitioner
		if ps[i], err = sarama.NewSyncProducer([]string{br.Addr()}, cfg); err != nil {
			b.Fatal(err)
		}
		defer ps[i].Close()
	}
	value := sarama.ByteEncoder(make([]byte, 200))
	rounds0, fsyncs0 := br.SyncStats()

	var (
		mu            sync.Mutex
		sends, commit []time.Duration
		wg            sync.WaitGroup
		failed        error
	)
	b.ResetTimer()
	start := time.Now()
	for i, p := range ps {
		n := b.N / producers
		if i < b.N%producers {
			n++
		}
		wg.Go(func() {
			var mySends, myCommits []time.Duration
			part := int32(i % partitions)
			for j := range n {
				if err := p.BeginTxn(); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				t0 := time.Now()
				_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: part, Value: value})
				t1 := time.Now()
				if err == nil {
					err = p.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{
						"in": {{Partition: part, Offset: int64(j + 1)}},
					}, "bench-group")
				}
				if err == nil {
					err = p.CommitTxn()
				}
				if err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mySends = append(mySends, t1.Sub(t0))
				myCommits = append(myCommits, time.Since(t1))
			}
			mu.Lock()
			sends = append(sends, mySends...)
			commit = append(commit, myCommits...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if failed != nil {
		b.Fatal(failed)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "txn/s")
	b.ReportMetric(ms(percentile(sends, 50)), "send-p50-ms")
	b.ReportMetric(ms(percentile(sends, 99)), "send-p99-ms")
	b.ReportMetric(ms(percentile(commit, 50)), "commit-p50-ms")
	b.ReportMetric(ms(percentile(commit, 99)), "commit-p99-ms")
	b.ReportMetric(ms(slices.Max(commit)), "commit-max-ms")
	rounds, fsyncs := br.SyncStats()
	rounds, fsyncs = rounds-rounds0, fsyncs-fsyncs0
	b.ReportMetric(float64(rounds)/elapsed.Seconds(), "fsync-rounds/s")
	if rounds > 0 {
		b.ReportMetric(float64(fsyncs)/float64(rounds), "fsyncs/round")
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
