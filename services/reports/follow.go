package reports

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/services/reports/store"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

var (
	eventsApplied = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_reports_events_total", Help: "Events the reports service wrote to its SQL store (live and rebuilding).",
	})
	batchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "openbank_reports_batch_seconds", Help: "Time to write one batch of events and its offsets in one SQL transaction.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	delaySeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name: "openbank_reports_delay_seconds", Help: "From an event's write to Kafka (its LogAppendTime) to its commit in the SQL store, live.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	behind = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "openbank_reports_behind", Help: "Offsets of the event log the live SQL store has not applied yet (markers included: an upper bound).",
	})
	rebuildBehind = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "openbank_reports_rebuild_behind", Help: "Offsets a rebuild has left to apply before it swaps its tables in; 0 when none runs.",
	})
)

// follow applies the log to st from st's stored offsets. Live, it runs
// until ctx ends or a batch fails; rebuilding, it returns nil once st has
// caught up with the log.
func (s *service) follow(ctx context.Context, st *store.Store, rebuilding bool) error {
	start, err := st.Offsets(ctx)
	if err != nil {
		return err
	}
	name := "reports events"
	if rebuilding {
		name = "reports rebuild"
	}
	l, err := eventlog.OpenAt(ctx, s.client, s.lookups, eventTopics, start, name, s.log)
	if err != nil {
		return err
	}
	defer l.Close()
	if !rebuilding {
		s.setLive(l)
		defer s.setLive(nil)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	defer func() { <-done }()
	defer cancel(nil)
	go func() {
		defer close(done)
		if err := s.applyLoop(ctx, l, st, !rebuilding); err != nil {
			cancel(err)
		}
	}()
	if err := s.catchUp(ctx, l, rebuilding); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return err
	}
	if rebuilding {
		return nil
	}
	s.markReady()
	<-ctx.Done()
	return context.Cause(ctx)
}

// catchUp waits until the store holds every event committed before the
// call, logging progress every second.
func (s *service) catchUp(ctx context.Context, l *eventlog.Log, rebuilding bool) error {
	started := time.Now()
	ends, err := l.Ends()
	if err != nil {
		return err
	}
	total := ends.Total()
	first := l.Behind(ends)
	s.log.Info("catching up with the event log", "behind", first, "end", total, "rebuild", rebuilding)
	for {
		wait, stop := context.WithTimeout(ctx, time.Second)
		err := l.WaitCaughtUp(wait, ends)
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		left := l.Behind(ends)
		if rebuilding {
			rebuildBehind.Set(float64(left))
		}
		s.log.Info("catching up", "position", total-left, "end", total, "behind", left,
			"events_per_s", int(float64(first-left)/time.Since(started).Seconds()), "rebuild", rebuilding)
	}
	took := time.Since(started)
	kafka.EventsReplayed.WithLabelValues("reports").Add(float64(first))
	s.log.Info("caught up with the event log", "offsets", first, "took", took.Round(time.Millisecond),
		"events_per_s", int(float64(first)/max(took.Seconds(), 1e-3)), "rebuild", rebuilding)
	return nil
}

// applyLoop writes the log's events to st a batch at a time, in three
// stages on goroutines of their own, each a batch ahead of the next:
// decoding, preparing (the store's Go half: the cache and the rows) and
// writing (its SQL transaction). It returns nil when ctx ends, and the
// error of a batch that could not be prepared or written (nothing of it
// was written, nor of any batch after it).
func (s *service) applyLoop(ctx context.Context, l *eventlog.Log, st *store.Store, live bool) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	decoded := make(chan decodedBatch, 1)
	prepared := make(chan preparedBatch, 1)
	failed := make(chan error, 1)
	wg.Go(func() { s.decodeLoop(ctx, l, decoded) })
	wg.Go(func() {
		if err := s.writeLoop(ctx, l, st, live, prepared); err != nil {
			failed <- err
		}
	})
	for {
		var b decodedBatch
		select {
		case <-ctx.Done():
			return nil
		case err := <-failed:
			return err
		case b = <-decoded:
		}
		p, err := st.Prepare(ctx, b.events)
		if errors.Is(err, store.ErrFailed) {
			select { // a write failed the store: it says why
			case err := <-failed:
				return err
			case <-ctx.Done():
				return nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("prepare %d events for %s: %w", len(b.events), st.Schema(), err)
		}
		select {
		case prepared <- preparedBatch{b.msgs, p}:
		case err := <-failed:
			return err
		case <-ctx.Done():
			return nil
		}
	}
}

// preparedBatch is a batch of messages and their prepared rows.
type preparedBatch struct {
	msgs  []*sarama.ConsumerMessage
	batch *store.Batch
}

// writeLoop writes prepared batches in order until ctx ends (nil) or one
// fails.
func (s *service) writeLoop(ctx context.Context, l *eventlog.Log, st *store.Store, live bool, prepared <-chan preparedBatch) error {
	for {
		var b preparedBatch
		select {
		case <-ctx.Done():
			return nil
		case b = <-prepared:
		}
		began := time.Now()
		res, err := st.Write(ctx, b.batch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("write %d events to %s: %w", len(b.msgs), st.Schema(), err)
		}
		committed := time.Now()
		batchSeconds.Observe(committed.Sub(began).Seconds())
		eventsApplied.Add(float64(res.Events))
		kafka.DuplicateEvents.WithLabelValues("reports").Add(float64(res.Duplicates))
		for _, m := range b.msgs {
			if live {
				delaySeconds.Observe(max(0, committed.Sub(m.Timestamp).Seconds()))
			}
			l.Applied(m)
		}
	}
}

// decodedBatch is a batch of messages and their events.
type decodedBatch struct {
	msgs   []*sarama.ConsumerMessage
	events []store.Event
}

// decodeLoop collects and decodes batches until ctx ends.
func (s *service) decodeLoop(ctx context.Context, l *eventlog.Log, out chan<- decodedBatch) {
	for {
		batch := s.collect(ctx, l.Messages())
		if batch == nil {
			return
		}
		events, err := s.decode(ctx, batch)
		if err != nil {
			return // ctx ended
		}
		select {
		case out <- decodedBatch{batch, events}:
		case <-ctx.Done():
			return
		}
	}
}

// collect waits for a message, then gathers more for up to BatchWait or
// until BatchSize, so that under a steady trickle of transfers the store
// writes a SQL transaction every BatchWait rather than one per transfer.
// While a query waits for the store (hurry), a batch ends as soon as no
// message has come for a few milliseconds instead. It returns nil when ctx
// ends.
func (s *service) collect(ctx context.Context, msgs <-chan *sarama.ConsumerMessage) []*sarama.ConsumerMessage {
	var batch []*sarama.ConsumerMessage
	select {
	case <-ctx.Done():
		return nil
	case m := <-msgs:
		batch = append(batch, m)
	}
	deadline := time.NewTimer(s.cfg.BatchWait)
	defer deadline.Stop()
	idle := time.NewTimer(time.Hour)
	defer idle.Stop()
	for len(batch) < s.cfg.BatchSize {
		select {
		case m := <-msgs:
			batch = append(batch, m)
			continue
		default:
		}
		var quiet <-chan time.Time // nil: gather until the deadline
		if s.waiting.Load() > 0 {
			idle.Reset(5 * time.Millisecond)
			quiet = idle.C
		}
		select {
		case <-ctx.Done():
			return nil
		case m := <-msgs:
			batch = append(batch, m)
		case <-s.hurried: // a query began waiting: look at s.waiting again
		case <-quiet:
			return batch
		case <-deadline.C:
			return batch
		}
	}
	return batch
}

// hurry tells collect that a query waits for the store, until done is
// called: batches then end once the log is quiet, not after BatchWait.
func (s *service) hurry() (done func()) {
	s.waiting.Add(1)
	select {
	case s.hurried <- struct{}{}:
	default:
	}
	return func() { s.waiting.Add(-1) }
}

// decode decodes a batch. A record no one can read is kept as such (the
// audit log lists it); any other failure (the registry away) is waited
// out: nothing may be skipped. It fails only when ctx ends.
func (s *service) decode(ctx context.Context, batch []*sarama.ConsumerMessage) ([]store.Event, error) {
	events := make([]store.Event, len(batch))
	for i, m := range batch {
		rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
		for err != nil && !topology.IsPoison(err) {
			s.log.Warn("decoding an event failed; trying again", "topic", m.Topic, "offset", m.Offset, "err", err)
			if !kafka.Sleep(ctx, time.Second) {
				return nil, ctx.Err()
			}
			rec, err = s.codec.Decode(ctx, m.Topic, m.Value)
		}
		if err != nil {
			s.log.Error("undecodable event kept in the audit log only", "topic", m.Topic, "offset", m.Offset, "err", err)
			rec = nil
		}
		events[i] = store.Event{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, At: m.Timestamp, Key: string(m.Key), Record: rec, Err: err}
	}
	return events, nil
}

func (s *service) setLive(l *eventlog.Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.live = l
}

// liveLog returns the log the live tables follow, nil while none does.
func (s *service) liveLog() *eventlog.Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

// markReady calls OnReady the first time the live tables catch up.
func (s *service) markReady() {
	s.mu.Lock()
	first := !s.ready
	s.ready = true
	s.mu.Unlock()
	if first && s.cfg.OnReady != nil {
		s.cfg.OnReady()
	}
}

// watchLag keeps openbank_reports_behind current.
func (s *service) watchLag(ctx context.Context) {
	for kafka.Sleep(ctx, 2*time.Second) {
		l := s.liveLog()
		if l == nil {
			continue
		}
		ends, err := l.Ends()
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				s.log.Debug("lag not measured", "err", err)
			}
			continue
		}
		behind.Set(float64(l.Behind(ends)))
	}
}
