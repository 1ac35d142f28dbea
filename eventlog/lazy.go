package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// DefaultPoll is how often a lazy Log looks for records when no one waits
// for it: so that a wait after a quiet spell finds little left to read.
// An idle bank pays two fetches a second per partition, as for a
// long-poll reader (kafka.ConsumerConfig's MaxWaitTime is 500 ms).
const DefaultPoll = 500 * time.Millisecond

// lazy is what a Log opened by OpenLazy keeps besides a Log's position,
// per partition, under the Log's mu.
type lazy struct {
	every  time.Duration
	cancel context.CancelFunc // ends the pollers' fetches (Close)
	// seen is the offset below which every record the reader will ever
	// be handed has been handed over.
	seen map[Partition]int64
	// handed is the offset after the last record handed over.
	handed map[Partition]int64
	// wake asks a partition's poller to look at once (capacity 1).
	wake map[Partition]chan struct{}
}

// OpenLazy is Open for a reader whose state is used only once it has
// caught up (WaitCaughtUp or CaughtUp). Open follows the log with a
// long-poll fetch, which every transaction written wakes: a fetch and a
// wake-up per transfer for a reader that is read far less often. A lazy
// Log looks every poll, and at once when someone waits for it, handing
// over what it finds from one goroutine per partition. Its fetches never
// wait, so they share lookups' connection (the caller's, as in Open). A
// poll of 0 or less is DefaultPoll.
func OpenLazy(ctx context.Context, lookups sarama.Client, topics []string, poll time.Duration, name string, log *slog.Logger) (*Log, error) {
	if poll <= 0 {
		poll = DefaultPoll
	}
	pollCtx, cancel := context.WithCancel(context.Background())
	z := &lazy{every: poll, cancel: cancel, seen: map[Partition]int64{}, handed: map[Partition]int64{}, wake: map[Partition]chan struct{}{}}
	l := newLog(name, lookups, log)
	l.lazy = z
	for _, topic := range topics {
		parts, err := lookups.Partitions(topic)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("%s: partitions of %s: %w", name, topic, err)
		}
		for _, p := range parts {
			part := Partition{topic, p}
			var oldest int64
			err := kafka.Retry(ctx, func() (err error) {
				oldest, err = lookups.GetOffset(topic, p, sarama.OffsetOldest)
				return err
			})
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("%s: oldest offset of %s: %w", name, part, err)
			}
			l.parts = append(l.parts, part)
			z.seen[part] = oldest
			z.wake[part] = make(chan struct{}, 1)
			z.wake[part] <- struct{}{} // look at once
		}
	}
	// Only once the maps are complete, and their starts read: the pollers
	// read and write them.
	starts := make([]int64, len(l.parts))
	for i, part := range l.parts {
		starts[i] = z.seen[part]
	}
	for i, part := range l.parts {
		l.wg.Go(func() { l.poll(pollCtx, part, starts[i]) })
	}
	return l, nil
}

// poll hands one partition's records over: every l.lazy.every, and when
// woken, until it finds nothing more.
func (l *Log) poll(ctx context.Context, p Partition, from int64) {
	tick := time.NewTicker(l.lazy.every)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		case <-l.lazy.wake[p]:
		}
		for {
			f, err := kafka.Deliverable(ctx, l.lookups, p.Topic, p.Partition, from, math.MaxInt64)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				l.outage.Failed(err) // tried again at the next tick or wake-up
				if rerr := l.lookups.RefreshMetadata(p.Topic); rerr != nil {
					l.outage.Failed(rerr) // the leader may have moved: ask again next time
				}
				break
			}
			l.outage.Recovered()
			for _, m := range f.Msgs {
				select {
				case l.msgs <- m:
				case <-l.stop:
					return
				}
			}
			// Only now that they are handed over does seen count them.
			l.mu.Lock()
			if len(f.Msgs) > 0 {
				l.lazy.handed[p] = f.Msgs[len(f.Msgs)-1].Offset + 1
			}
			if f.Seen > l.lazy.seen[p] {
				l.lazy.seen[p] = f.Seen
				close(l.changed)
				l.changed = make(chan struct{})
			}
			l.mu.Unlock()
			from = f.Seen
			if len(f.Msgs) == 0 || from >= f.Stable {
				break // at the last stable offset
			}
		}
	}
}

// lazyCaughtUp is CaughtUp for a lazy Log: caught up with a partition's
// end once everything below it is handed over and applied. Where the
// poller has not looked that far, it is woken to look at once; where it
// has, the reader has only to apply what it was handed (waking the poller
// then would hand it more, past the end, to apply first).
func (l *Log) lazyCaughtUp(ends Ends) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	caught := true
	for p, end := range ends {
		if l.next[p] >= end || (l.lazy.seen[p] >= end && l.next[p] >= l.lazy.handed[p]) {
			continue
		}
		caught = false
		if l.lazy.seen[p] >= end {
			continue
		}
		select {
		case l.lazy.wake[p] <- struct{}{}:
		default: // already asked, or not a partition of this Log
		}
	}
	return caught
}
