// Package eventlog is the one way the bank follows a Kafka log outside a
// consumer group. From the oldest offsets it serves the readers that build
// state from events: lazily (OpenLazy) the command handler, the projector
// and the alerts service, whose state is used only once caught up; with a
// long-poll fetch (Open) the gateway's revoked sessions, and the reports
// store from where it stopped (OpenAt). It is the one place that knows
// when such a reader has caught up. From the newest (Follow)
// it serves what every instance must see from now on: the answers a
// gateway waits for and the live transactions it fans out.
//
// A Log reads every partition of its topics (read_committed) and hands the
// messages over on one channel; whoever applies them calls Applied. Ends
// takes the partitions' last stable offsets — every record below one is
// decided, committed or aborted — and CaughtUp tells whether every record
// below them that a reader will ever get has been applied. It does not
// wait for traffic to pause, nor for a marker that may never come: the last
// offsets of a log are often transaction markers or aborted records, which
// a read_committed consumer never delivers, and whether anything
// deliverable is left is asked of the broker directly (kafka.LastDeliverable).
//
// A lazy Log (lazy.go) does not follow with a long-poll fetch, which every
// transaction written wakes, but looks now and then, and at once when
// waited for; it knows how far it has looked, so it needs no question to
// the broker to tell whether it has caught up.
package eventlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// Partition names one partition of a topic.
type Partition struct {
	Topic     string
	Partition int32
}

func (p Partition) String() string { return fmt.Sprintf("%s/%d", p.Topic, p.Partition) }

// Ends are, per partition, the offsets a reader must have caught up with.
type Ends map[Partition]int64

// Log follows topics from their oldest offsets.
type Log struct {
	name     string
	lookups  sarama.Client
	consumer sarama.Consumer
	log      *slog.Logger
	msgs     chan *sarama.ConsumerMessage
	parts    []Partition

	mu      sync.Mutex
	next    map[Partition]int64 // offset after the last record applied
	checked map[Partition][2]int64
	// ahead is, per partition, the offset of a record the broker said is
	// deliverable: while the position has not passed it, the reader is
	// not caught up, and the broker need not be asked again (asked at
	// every message applied, a rebuild fetched its log twice).
	ahead   map[Partition]int64
	changed chan struct{} // closed (and replaced) when next (or seen) advances
	outage  *kafka.Outage

	lazy *lazy // set by OpenLazy: the Log fetches itself, no consumer

	stop chan struct{}
	wg   sync.WaitGroup
}

// Open starts following every partition of topics from its oldest offset.
// client reads (it must use kafka.ConsumerConfig: read committed); lookups
// answers the offset questions on a connection of its own, so they never
// wait behind a long-poll fetch. Both stay the caller's. name names the
// reader in logs.
func Open(ctx context.Context, client, lookups sarama.Client, topics []string, name string, log *slog.Logger) (*Log, error) {
	return open(ctx, client, lookups, topics, nil, name, log, sarama.OffsetOldest)
}

// OpenAt is Open for a reader that keeps its position itself (the reports
// service stores it with its rows): every partition named in start is
// followed from that offset, the others from the oldest. The position
// starts there too, so Next, Behind and CaughtUp count from it.
func OpenAt(ctx context.Context, client, lookups sarama.Client, topics []string, start map[Partition]int64, name string, log *slog.Logger) (*Log, error) {
	return open(ctx, client, lookups, topics, start, name, log, sarama.OffsetOldest)
}

// Follow follows every partition of topics from its newest offset, as it
// is when Follow returns (nothing written after is missed), and calls
// handle with each message, in one goroutine the Log owns, until Close.
// client (read committed) stays the caller's.
func Follow(ctx context.Context, client sarama.Client, topics []string, name string, log *slog.Logger, handle func(*sarama.ConsumerMessage)) (*Log, error) {
	// The starting offsets are asked on a connection of their own (see
	// kafka.OffsetsApart), needed only while the partitions are opened.
	lookups, err := kafka.Connect(ctx, kafka.Addrs(client), client.Config(), log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l, err := open(ctx, client, lookups, topics, nil, name, log, sarama.OffsetNewest)
	lookups.Close()
	if err != nil {
		return nil, err
	}
	l.lookups = client
	l.wg.Go(func() {
		for {
			select {
			case <-l.stop:
				return
			case m := <-l.msgs:
				handle(m)
			}
		}
	})
	return l, nil
}

// open follows topics from offset from (sarama.OffsetOldest or Newest),
// but from start's offsets for the partitions it names.
func open(ctx context.Context, client, lookups sarama.Client, topics []string, start map[Partition]int64, name string, log *slog.Logger, from int64) (*Log, error) {
	consumer, err := sarama.NewConsumerFromClient(kafka.OffsetsApart(client, lookups))
	if err != nil {
		return nil, fmt.Errorf("%s: consumer: %w", name, err)
	}
	l := newLog(name, lookups, log)
	l.consumer = consumer
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("%s: partitions of %s: %w", name, topic, err)
		}
		for _, p := range parts {
			offset := from
			if at, ok := start[Partition{topic, p}]; ok && at > 0 {
				offset = at
				l.next[Partition{topic, p}] = at
			}
			pc, err := kafka.ConsumePartition(ctx, consumer, topic, p, offset)
			if err != nil {
				l.Close()
				return nil, fmt.Errorf("%s: consume %s/%d: %w", name, topic, p, err)
			}
			l.parts = append(l.parts, Partition{topic, p})
			l.wg.Go(func() { l.forward(Partition{topic, p}, pc) })
		}
	}
	return l, nil
}

// newLog returns a Log that follows nothing yet.
func newLog(name string, lookups sarama.Client, log *slog.Logger) *Log {
	return &Log{name: name, lookups: lookups, log: log, msgs: make(chan *sarama.ConsumerMessage, 256),
		next: map[Partition]int64{}, checked: map[Partition][2]int64{}, ahead: map[Partition]int64{}, changed: make(chan struct{}), stop: make(chan struct{}),
		outage: kafka.NewOutage(name, log)}
}

// forward hands one partition's messages over, logging outages once.
func (l *Log) forward(p Partition, pc sarama.PartitionConsumer) {
	defer pc.AsyncClose()
	for {
		select {
		case <-l.stop:
			return
		case err, ok := <-pc.Errors():
			if ok {
				l.outage.Failed(err) // sarama goes on retrying; the reader waits with it
			}
		case m, ok := <-pc.Messages():
			if !ok {
				// Only sarama ends it while the Log runs: the offset left
				// the log (retention), and the reader can never catch up.
				l.log.Error("stopped following a partition: its consumer ended", "reader", l.name, "partition", p.String(), "next", l.Next(p.Topic, p.Partition))
				return
			}
			l.outage.Recovered()
			select {
			case l.msgs <- m:
			case <-l.stop:
				return
			}
		}
	}
}

// Messages delivers the records of every partition, in order within one.
func (l *Log) Messages() <-chan *sarama.ConsumerMessage { return l.msgs }

// Applied records that m has been applied (or skipped for good): the
// reader's position moves past it.
func (l *Log) Applied(m *sarama.ConsumerMessage) {
	p := Partition{m.Topic, m.Partition}
	l.mu.Lock()
	defer l.mu.Unlock()
	if m.Offset+1 > l.next[p] {
		l.next[p] = m.Offset + 1
		close(l.changed)
		l.changed = make(chan struct{})
	}
}

// Next returns the offset after the last record of a partition applied.
func (l *Log) Next(topic string, partition int32) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next[Partition{topic, partition}]
}

// Ends returns the last stable offset of every partition now: a reader
// caught up with them has applied every record committed before the call.
func (l *Log) Ends() (Ends, error) {
	ends := Ends{}
	for _, p := range l.parts {
		end, err := kafka.LastStable(l.lookups, p.Topic, p.Partition)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		ends[p] = end
	}
	return ends, nil
}

// CaughtUp reports whether every record below ends that the reader will
// ever be handed has been applied. Where the position is short of an end,
// it asks the broker whether anything deliverable lies between (the answer
// is kept while neither moves).
func (l *Log) CaughtUp(ctx context.Context, ends Ends) (bool, error) {
	if l.lazy != nil {
		return l.lazyCaughtUp(ends), nil
	}
	for p, end := range ends {
		l.mu.Lock()
		next, checked := l.next[p], l.checked[p]
		ahead, seen := l.ahead[p]
		l.mu.Unlock()
		if next >= end || checked == [2]int64{next, end} {
			continue
		}
		if seen && next <= ahead && ahead < end {
			return false, nil // that record is still to be delivered
		}
		last, err := kafka.LastDeliverable(ctx, l.lookups, p.Topic, p.Partition, next, end)
		if err != nil {
			return false, fmt.Errorf("%s: %w", l.name, err)
		}
		if last >= 0 {
			l.mu.Lock()
			l.ahead[p] = last
			l.mu.Unlock()
			return false, nil
		}
		l.mu.Lock()
		l.checked[p] = [2]int64{next, end}
		l.mu.Unlock()
	}
	return true, nil
}

// WaitCaughtUp waits until CaughtUp(ends), for a reader whose messages
// another goroutine applies. A failed check (the broker away) is tried
// again a moment later.
func (l *Log) WaitCaughtUp(ctx context.Context, ends Ends) error {
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		caught, err := l.CaughtUp(ctx, ends)
		if caught {
			return nil
		}
		retry := time.Duration(0)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			retry = 100 * time.Millisecond
		}
		if err := l.waitChange(ctx, changed, retry); err != nil {
			return err
		}
	}
}

// waitChange waits for the position to move, or for retry (0: no retry).
func (l *Log) waitChange(ctx context.Context, changed chan struct{}, retry time.Duration) error {
	var tick <-chan time.Time
	if retry > 0 {
		t := time.NewTimer(retry)
		defer t.Stop()
		tick = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-tick:
	}
	return nil
}

// Changed returns a channel closed once the position moves, or once a lazy
// Log finds that it has handed over all there is up to a further offset:
// a reader that applies the messages itself (so cannot block in
// WaitCaughtUp) waits on it between its CaughtUp checks.
func (l *Log) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Behind returns how many offsets the position lags behind ends (markers
// and aborted records included: an upper bound of what is left to read).
func (l *Log) Behind(ends Ends) int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n int64
	for p, end := range ends {
		n += max(0, end-l.next[p])
	}
	return n
}

// Total sums ends: the offsets of the whole log, for progress lines.
func (e Ends) Total() int64 {
	var n int64
	for _, end := range e {
		n += end
	}
	return n
}

// Close stops following. The clients stay the caller's.
func (l *Log) Close() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	if l.lazy != nil {
		l.lazy.cancel()
	}
	l.wg.Wait()
	if l.consumer != nil {
		l.consumer.Close()
	}
}
