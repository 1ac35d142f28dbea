package reports

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// gathering returns a service whose batches could only end by their size
// or by a waiting query: BatchWait is an hour.
func gathering(size int) *service {
	return &service{cfg: Config{BatchSize: size, BatchWait: time.Hour}, hurried: make(chan struct{}, 1)}
}

// batch waits for collect's batch; a minute without one fails the test
// (a batch gathering for BatchWait's hour) rather than hang it.
func batch(t *testing.T, out <-chan []*sarama.ConsumerMessage) []*sarama.ConsumerMessage {
	t.Helper()
	select {
	case b := <-out:
		return b
	case <-time.After(time.Minute):
		t.Fatal("no batch: it gathers on")
		return nil
	}
}

func collected(t *testing.T, s *service, msgs <-chan *sarama.ConsumerMessage) <-chan []*sarama.ConsumerMessage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	out := make(chan []*sarama.ConsumerMessage, 1)
	go func() { out <- s.collect(ctx, msgs) }()
	return out
}

// With no query waiting, a quiet log does not end a batch: a trickle of
// events becomes one SQL transaction, not one each.
func TestABatchGathersThroughAQuietLog(t *testing.T) {
	s := gathering(3)
	msgs := make(chan *sarama.ConsumerMessage)
	out := collected(t, s, msgs)
	for i := range 3 {
		msgs <- &sarama.ConsumerMessage{Offset: int64(i)}
		time.Sleep(20 * time.Millisecond) // longer than the quiet that ends a hurried batch
	}
	if b := batch(t, out); len(b) != 3 {
		t.Fatalf("got a batch of %d, want the 3 that came", len(b))
	}
}

// A query that starts waiting ends the batch being gathered, so it never
// waits out BatchWait; once no query waits, batches gather again.
func TestAWaitingQueryEndsTheBatch(t *testing.T) {
	s := gathering(100)
	msgs := make(chan *sarama.ConsumerMessage, 10)
	msgs <- &sarama.ConsumerMessage{Offset: 0}
	out := collected(t, s, msgs)
	time.Sleep(20 * time.Millisecond) // let collect take it and gather
	done := s.hurry()
	if b := batch(t, out); len(b) != 1 {
		t.Fatalf("got a batch of %d, want the 1 that came", len(b))
	}

	// Still waiting: the next batch ends once the log is quiet.
	msgs <- &sarama.ConsumerMessage{Offset: 1}
	msgs <- &sarama.ConsumerMessage{Offset: 2}
	if b := batch(t, collected(t, s, msgs)); len(b) != 2 {
		t.Fatalf("got a batch of %d, want the 2 that came", len(b))
	}
	done()
	if n := s.waiting.Load(); n != 0 {
		t.Fatalf("%d queries still counted as waiting", n)
	}

	// No one waits: a batch gathers until its size, even woken by a query
	// that came and went before it looked.
	s.hurry()()
	s.cfg.BatchSize = 2
	msgs <- &sarama.ConsumerMessage{Offset: 3}
	out = collected(t, s, msgs)
	time.Sleep(20 * time.Millisecond)
	msgs <- &sarama.ConsumerMessage{Offset: 4}
	if b := batch(t, out); len(b) != 2 {
		t.Fatalf("got a batch of %d, want 2", len(b))
	}
}

// Many queries at once, each waiting until the event it waits for is in a
// batch (as a query waits until the store has it): every batch ends (none
// waits out BatchWait's hour while a query waits), and once they are all
// done none is counted as waiting.
func TestManyQueriesAtOnce(t *testing.T) {
	s := gathering(1 << 20)
	msgs := make(chan *sarama.ConsumerMessage, 1)
	written := make(chan struct{})
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() {
			done := s.hurry()
			defer done()
			msgs <- &sarama.ConsumerMessage{}
			<-written
		})
	}
	got := 0
	for got < 100 {
		got += len(batch(t, collected(t, s, msgs)))
	}
	close(written)
	wg.Wait()
	if n := s.waiting.Load(); n != 0 {
		t.Fatalf("%d queries still counted as waiting", n)
	}
}
