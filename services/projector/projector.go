// Package projector runs the projector: it builds the read models
// (package projection) from user_events and bank_events alone, derives a
// TransactionHappenedEvent for every credit, debit and return onto
// transaction_events, and answers the queries on user_queries and
// bank_queries.
//
// Every instance reads both event topics in full. Deriving is done by the
// one member of group openbank-projector that owns bank_events' single
// partition: it writes the events derived from a range of offsets and
// commits those offsets in the same Kafka transaction, so a restart, a
// rebuild or a second instance never publishes a transaction twice or
// skips one. Transaction ids count money events along the log, so every
// instance and every rebuild gives the same ids.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Consumer groups. Renaming one makes the projector derive every
// transaction again (EmitGroup) or answer old queries (QueryGroup).
const (
	EmitGroup  = "openbank-projector"
	QueryGroup = "openbank-queries"
)

// Config configures one projector instance.
type Config struct {
	Brokers  []string
	Registry topology.SchemaRegistry
	// InstanceID names the instance: unique among running ones, the same
	// across its restarts.
	InstanceID string
	Log        *slog.Logger
	// CatchUpWait bounds how long a query waits for the read model to
	// reach the events written before it; then it is refused as too early.
	CatchUpWait time.Duration
	// EmitGather is how long a batch of bank events may wait for more
	// after its first was written, so their transaction events are
	// written in one Kafka transaction (default 50 ms; negative: no
	// wait). The live feed is delayed by up to as much; at 100 transfers
	// a second it saves most of a transaction per transfer.
	EmitGather time.Duration
	// OnReady, if set, is called once the read model is rebuilt and
	// queries are answered.
	OnReady func()
}

// Run runs the projector until ctx ends.
// It is long on purpose: it is the one place that shows the start-up
// order (connections, the event log, rebuild, the two groups) and what
// each step closes on the way out.
func Run(ctx context.Context, cfg Config) error {
	if cfg.InstanceID == "" {
		return errors.New("projector: no instance id")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.CatchUpWait <= 0 {
		cfg.CatchUpWait = 2 * time.Second
	}
	if cfg.EmitGather == 0 {
		cfg.EmitGather = 50 * time.Millisecond
	}
	log := cfg.Log.With("service", "projector", "instance", cfg.InstanceID)
	p := &projector{cfg: cfg, log: log, codec: topology.NewCodec(cfg.Registry), store: newStore()}
	var err error
	// The lazy event log (below) and the offset lookups share a
	// connection: none of their requests waits at the broker, so none
	// holds up the others (a long-poll fetch would: 50 ms per query,
	// measured when the read model was followed by one).
	if p.lookups, err = kafka.Connect(ctx, cfg.Brokers, kafka.NewConfig("openbank-projector-lookups-"+cfg.InstanceID), log); err != nil {
		return err
	}
	defer p.lookups.Close()
	if p.replies, err = sarama.NewSyncProducer(cfg.Brokers, kafka.ProducerConfig("openbank-projector-"+cfg.InstanceID)); err != nil {
		return fmt.Errorf("reply producer: %w", err)
	}
	defer p.replies.Close()
	if p.txn, err = kafka.NewTxnProducer(cfg.Brokers, "openbank-projector-"+cfg.InstanceID, log); err != nil {
		return err
	}
	defer p.txn.Close()

	// The read model is used only once it has caught up (a query, the
	// emitter), so its reader is lazy: not woken by every transfer
	// (docs/benchmarks.md, "Issue 20: lazy readers").
	if p.events, err = eventlog.OpenLazy(ctx, p.lookups, topology.StateTopics, eventlog.DefaultPoll, "projector events", log); err != nil {
		return err
	}
	defer p.events.Close()
	// Every goroutine below stops when ctx ends; on return ctx ends first,
	// then they are waited for, then what they used is closed.
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Go(func() {
		if err := p.follow(ctx); err != nil {
			cancel(err)
		}
	})
	if err := p.rebuild(ctx); err != nil {
		return err
	}
	for _, g := range []struct {
		group   string
		topics  []string
		handler sarama.ConsumerGroupHandler
		commit  bool
	}{
		{EmitGroup, []string{topology.BankEvents}, &emitter{p}, false},
		{QueryGroup, []string{topology.UserQueries, topology.BankQueries}, kafka.Handler{Group: QueryGroup, Handle: p.answer, Log: log}, true},
	} {
		gcfg := kafka.ConsumerConfig("openbank-projector-" + cfg.InstanceID)
		gcfg.Consumer.Offsets.AutoCommit.Enable = g.commit
		if !g.commit {
			// Offsets commit in the emitter's transactions; static
			// membership gives a restarted instance its partition back at
			// once.
			gcfg.Consumer.Group.InstanceId = g.group + "-" + cfg.InstanceID
		}
		wg.Go(func() {
			kafka.ConsumeGroup(ctx, cfg.Brokers, g.group, gcfg, g.topics, g.handler, log)
		})
	}
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	<-ctx.Done()
	if err := context.Cause(ctx); !errors.Is(err, context.Canceled) {
		return err
	}
	log.Info("stopped")
	return nil
}

type projector struct {
	cfg     Config
	log     *slog.Logger
	codec   *topology.Codec
	lookups sarama.Client // for offset lookups
	store   *store
	events  *eventlog.Log // user_events and bank_events
	replies sarama.SyncProducer
	txn     *kafka.TxnProducer
}

// follow applies the events to the read model, in log order per topic.
func (p *projector) follow(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case m := <-p.events.Messages():
			if err := p.applyEvent(ctx, m); err != nil {
				return err
			}
			p.events.Applied(m)
		}
	}
}

// applyEvent applies one event; what no one can read is skipped (and
// parked by the emitter).
func (p *projector) applyEvent(ctx context.Context, m *sarama.ConsumerMessage) error {
	rec, err := p.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		if !topology.IsPoison(err) {
			return fmt.Errorf("decode %s/%d: %w", m.Topic, m.Offset, err)
		}
		// Only the command handler writes events: a bug or tampering. The
		// model cannot include it either way.
		p.log.Error("undecodable event skipped", "topic", m.Topic, "offset", m.Offset, "err", err)
		p.store.skip(m.Topic, m.Offset, err)
		return nil
	}
	if err := p.store.apply(m.Offset, rec, m.Timestamp); errors.Is(err, projection.ErrDuplicate) {
		kafka.DuplicateEvents.WithLabelValues("projector").Inc()
		p.log.Error("duplicate event in the log not applied", "topic", m.Topic, "offset", m.Offset, "err", err)
	} else if err != nil {
		p.log.Error("event does not apply", "topic", m.Topic, "offset", m.Offset, "err", err)
	}
	return nil
}

// rebuild waits for the read model to hold every event committed before
// the start, logging progress, before any query is answered.
func (p *projector) rebuild(ctx context.Context) error {
	start := time.Now()
	ends, err := p.events.Ends()
	if err != nil {
		return err
	}
	total := ends.Total()
	p.log.Info("rebuilding read model from events", "offsets", total)
	for {
		wait, stop := context.WithTimeout(ctx, time.Second)
		err := p.events.WaitCaughtUp(wait, ends)
		stop()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		done := total - p.events.Behind(ends)
		p.log.Info("rebuilding read model", "position", done, "end", total,
			"offsets_per_s", int(float64(done)/time.Since(start).Seconds()))
	}
	took := time.Since(start)
	kafka.EventsReplayed.WithLabelValues("projector").Add(float64(total))
	var txs int64
	p.store.read(func(m *projection.Model) { txs = m.Transactions() })
	p.log.Info("read model rebuilt", "offsets", total, "transactions", txs, "took", took.Round(time.Millisecond),
		"offsets_per_s", int(float64(total)/max(took.Seconds(), 1e-3)))
	return nil
}

// emitter derives TransactionHappenedEvents for the bank_events offsets it
// is handed and commits them with those offsets.
type emitter struct{ p *projector }

func (*emitter) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*emitter) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (e *emitter) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	return e.p.txn.Transform(sess, claim,
		kafka.Loop{Group: EmitGroup, InstanceID: e.p.cfg.InstanceID, MaxBatch: 1000, Gather: max(e.p.cfg.EmitGather, 0)}, e.p.publish)
}

// publish makes the TransactionHappenedEvents of a batch of bank events,
// once the read model has applied them, and parks the events no one can
// read (once, here).
func (p *projector) publish(ctx context.Context, batch []*sarama.ConsumerMessage) (kafka.Output, error) {
	first, last := batch[0], batch[len(batch)-1]
	// The read model's reader is lazy: waiting for it makes it look now.
	upTo := eventlog.Ends{{Topic: last.Topic, Partition: last.Partition}: last.Offset + 1}
	if err := p.events.WaitCaughtUp(ctx, upTo); err != nil {
		return kafka.Output{}, fmt.Errorf("read model at offset %d: %w", last.Offset, err)
	}
	txs := p.store.transactionsIn(first.Offset, last.Offset)
	msgs := make([]*sarama.ProducerMessage, 0, len(txs))
	for _, tx := range txs {
		id, _ := schemas.ParseID(tx.TransferID)
		msg, err := kafka.Message(ctx, p.codec, topology.TransactionEvents, &schemas.TransactionHappenedEvent{
			ID: id, TransactionID: tx.ID, IBAN: tx.IBAN, NewBalance: tx.NewBalance, ChangedBy: tx.ChangedBy,
			FromTo: tx.FromTo, Description: tx.Description, AtMillis: tx.At.UnixMilli(), Kind: tx.Kind,
		})
		if err != nil {
			return kafka.Output{}, err
		}
		msgs = append(msgs, msg)
	}
	for _, m := range batch {
		if why := p.store.poisonAt(m.Offset); why != nil {
			msgs = append(msgs, kafka.DeadLetter(m, EmitGroup, why))
		}
	}
	return kafka.Output{Messages: msgs, Committed: func() { transactionsPublished.Add(float64(len(txs))) }}, nil
}

// answer answers one query; an error means it should be tried again.
func (p *projector) answer(ctx context.Context, m *sarama.ConsumerMessage) error {
	rec, err := p.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		if !topology.IsPoison(err) {
			return err
		}
		p.log.Warn("undecodable query parked", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		_, _, err := p.replies.SendMessage(kafka.DeadLetter(m, QueryGroup, err))
		return err
	}
	result, failure := p.query(ctx, rec)
	outcome := "succeeded"
	if failure.Failed() {
		outcome = "failed"
	}
	queriesTotal.WithLabelValues(topology.ShortName(rec.AvroName()), outcome).Inc()
	msg, err := kafka.QueryReply(ctx, p.codec, m, rec, result, failure)
	if err != nil {
		return err
	}
	_, _, err = p.replies.SendMessage(msg)
	return err
}
