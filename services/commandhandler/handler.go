// Package commandhandler runs the command handler: it consumes the command
// topics (and the feedback of saga steps) as one consumer group, decides on
// each message against the aggregates held in memory (package domain), and
// writes the resulting events, saga commands, feedback and the consumed
// offsets in one Kafka transaction. Each input either has all its effects
// committed or none, so after a crash no command is applied twice or lost.
//
// Every instance reads all of user_events and bank_events (one partition
// each) to keep its state; the consumer group gives each instance a share of
// the command partitions. The input topics have the same partition count and
// the range assignor hands out equal partition numbers together, so one
// instance owns all commands of an aggregate. When an instance takes over
// partitions, it first reads the events the previous owner wrote: each
// transaction stores, in its committed offsets' metadata, the offset of the
// last event this instance depends on.
package commandhandler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/token"
)

// Group is the consumer group of the command handler. Renaming it would
// make the handler process every retained command again.
const Group = "openbank-commands"

// inputs are the topics the handler consumes; they must be co-partitioned.
var inputs = []string{topology.UserCommands, topology.BankCommands, topology.TransferCommands, topology.TransferCommandFeedback}

// Config configures one instance.
type Config struct {
	Brokers  []string
	Registry topology.SchemaRegistry
	// InstanceID names this instance; it must be unique among running
	// instances and the same across restarts of one (it makes the
	// transactional id, which fences a previous incarnation).
	InstanceID string
	Log        *slog.Logger
	// NewToken issues account tokens; token.New by default.
	NewToken func() string
	// MaxBatch bounds the inputs decided in one transaction.
	MaxBatch int
	// NoLocalSteps writes every saga step and reads it back, as several
	// instances do for the steps another one owns, instead of deciding
	// the ones this instance owns at once (local.go). For comparison and
	// tests.
	NoLocalSteps bool

	// beforeCommit, in tests, runs before each transaction commits.
	beforeCommit func(sarama.ConsumerGroupSession)
	// eventsPoll, in tests, replaces eventlog.DefaultPoll.
	eventsPoll time.Duration
	// Limits bound transfers and cash deposits (contract defaults when
	// zero). Every instance should run with the same.
	Limits contract.AmountLimits
	// OnReady, if set, is called once the state is rebuilt and commands
	// are being consumed.
	OnReady func()
}

// Run runs the handler until ctx ends.
// It is long on purpose: it is the one place that shows the start-up
// order (defaults, connections, rebuild, the group) and what each step
// closes on the way out.
func Run(ctx context.Context, cfg Config) error {
	if cfg.InstanceID == "" {
		return errors.New("command handler: no instance id")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.NewToken == nil {
		cfg.NewToken = token.New
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 500
	}
	if cfg.Limits == (contract.AmountLimits{}) {
		cfg.Limits = contract.DefaultAmountLimits()
	}
	if err := cfg.Limits.Validate(); err != nil {
		return fmt.Errorf("command handler: %w", err)
	}
	log := cfg.Log.With("service", "commands", "instance", cfg.InstanceID)
	codec := topology.NewCodec(cfg.Registry)

	client, err := kafka.Connect(ctx, cfg.Brokers, kafka.ConsumerConfig("openbank-commands-"+cfg.InstanceID), log)
	if err != nil {
		return err
	}
	defer client.Close()
	e := &engine{
		cfg: cfg, log: log, codec: codec, client: client,
		state: domain.NewState(), env: domain.Env{NewToken: cfg.NewToken, Limits: cfg.Limits},
		own: map[string]map[int64]bool{}, lastWrite: map[string]int64{},
		work: make(chan item, 1024),
	}
	for _, t := range topology.StateTopics {
		e.lastWrite[t] = -1
		e.own[t] = map[int64]bool{}
	}
	if e.partitions, err = partitionCounts(client); err != nil {
		return err
	}
	if e.producer, err = kafka.NewTxnProducer(cfg.Brokers, "openbank-commands-"+cfg.InstanceID, log); err != nil {
		return err
	}
	defer e.producer.Close()

	// The state is read as it stands when it is needed: lazily, with
	// short fetches that share e.client's connection. Its own events this
	// instance applies as it commits them; the events of other instances
	// matter only behind a barrier (caughtUp) or for a user named by a
	// command (stale), and both make the reader look at once. Followed
	// by a long-poll fetch instead, every transaction this instance
	// committed woke the reader to skip its own events.
	poll := cmp.Or(cfg.eventsPoll, eventlog.DefaultPoll)
	if e.events, err = eventlog.OpenLazy(ctx, client, topology.StateTopics, poll, "command handler events", log); err != nil {
		return err
	}
	defer e.events.Close()
	if err := e.rebuild(ctx); err != nil {
		return err
	}

	gcfg := kafka.ConsumerConfig("openbank-commands-" + cfg.InstanceID)
	gcfg.Consumer.Offsets.AutoCommit.Enable = false // offsets commit with each transaction
	// Static membership: a restarted instance takes its place in the group
	// back at once, instead of leaving a dead member holding partitions
	// until its session times out.
	gcfg.Consumer.Group.InstanceId = "openbank-commands-" + cfg.InstanceID

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		kafka.ConsumeGroup(ctx, cfg.Brokers, Group, gcfg, inputs, &groupHandler{e: e, log: log}, log)
	})
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	err = e.loop(ctx)
	cancel()
	wg.Wait()
	if parent.Err() != nil {
		log.Info("stopped")
		return nil // asked to stop: uncommitted inputs are delivered again
	}
	return err
}

// item is what the group hands the engine: a barrier opening a session, or
// one input message.
type item struct {
	sess *session
	msg  *sarama.ConsumerMessage // nil for the barrier
}

// session is one generation of the group as this instance saw it.
type session struct {
	sarama.ConsumerGroupSession
	// barrier is, per event topic, the offset of the last event the
	// previous owners of our partitions depended on.
	barrier map[string]int64
	// positions are the committed offsets of our partitions; only the
	// engine reads and writes them once the session is queued.
	positions positions
	// abort ends the session, so the group re-delivers from the committed
	// offsets; closed at most once.
	abort     chan struct{}
	abortOnce sync.Once
	// mu is held while a batch of this session is decided and committed;
	// closed, set by Cleanup, stops any further batch. So the member
	// rejoins the group (and its partitions move) only once its last
	// transaction has ended, and no transaction of an old generation can
	// commit after the next owner has read the committed offsets.
	mu     sync.Mutex
	closed bool
}

func (s *session) end() { s.abortOnce.Do(func() { close(s.abort) }) }

// engine owns the state: one goroutine applies events and decides commands.
type engine struct {
	cfg      Config
	log      *slog.Logger
	codec    *topology.Codec
	client   sarama.Client
	producer *kafka.TxnProducer
	state    *domain.State
	env      domain.Env

	// events follows user_events and bank_events: the state.
	events *eventlog.Log
	// own holds offsets of events this instance wrote and already applied.
	own map[string]map[int64]bool
	// lastWrite is, per event topic, the newest event offset the state
	// depends on that this instance wrote or waited for.
	lastWrite map[string]int64
	// catchUp, when set, is where the state must reach before any input
	// is decided: the log's ends when a stale input (fresh.go) came; the
	// inputs of its batch, in freshFor, are then decided as the state
	// stands.
	catchUp  eventlog.Ends
	freshFor map[input]bool

	work    chan item
	pending []item
	current *session
	// partitions counts each input topic's partitions, to place a step.
	partitions map[string]int32
}

// rebuild reads the event topics up to where they stood at start, showing
// progress, so the instance starts with the state of the whole bank. It is
// done once every record committed before the start is applied, by the
// one caught-up rule (eventlog): neither a quiet moment nor a marker that
// may never come is waited for, so it ends under steady traffic and on a
// log that ends in an aborted transaction alike.
func (e *engine) rebuild(ctx context.Context) error {
	start := time.Now()
	ends, err := e.events.Ends()
	if err != nil {
		return err
	}
	e.log.Info("rebuilding state from events", "offsets", ends.Total())
	replayed := kafka.EventsReplayed.WithLabelValues("commands")
	applied, lastLog := 0, time.Now()
	check := time.NewTicker(50 * time.Millisecond)
	defer check.Stop()
	for caught := false; !caught; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-e.events.Messages():
			if err := e.applyEvent(ctx, m); err != nil {
				return err
			}
			applied++
			replayed.Inc()
			if time.Since(lastLog) >= time.Second {
				lastLog = time.Now()
				e.log.Info("rebuilding state", "applied", applied, "behind", e.events.Behind(ends),
					"events_per_s", int(float64(applied)/time.Since(start).Seconds()))
			}
			continue
		case <-check.C:
		}
		// Between messages now and then: a broker that cannot answer is
		// asked again at the next tick.
		if caught, err = e.events.CaughtUp(ctx, ends); err != nil {
			e.log.Warn("rebuilding state: cannot tell how far the events go yet", "err", err)
		}
	}
	took := time.Since(start)
	e.log.Info("state rebuilt", "events", applied, "users", len(e.state.Users), "accounts", len(e.state.Accounts),
		"transfers", len(e.state.Transfers), "took", took.Round(time.Millisecond),
		"events_per_s", int(float64(applied)/max(took.Seconds(), 1e-3)))
	return nil
}

// applyEvent applies one event read from the log, unless this instance
// wrote it and applied it when its transaction committed.
func (e *engine) applyEvent(ctx context.Context, m *sarama.ConsumerMessage) error {
	defer e.events.Applied(m)
	if e.own[m.Topic][m.Offset] {
		delete(e.own[m.Topic], m.Offset)
		return nil
	}
	rec, err := e.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		if topology.IsPoison(err) {
			// Only this service writes events, so this is a bug or
			// tampering; the state cannot include it either way.
			e.log.Error("undecodable event skipped", "topic", m.Topic, "offset", m.Offset, "err", err)
			return nil
		}
		return fmt.Errorf("decode %s/%d: %w", m.Topic, m.Offset, err)
	}
	if err := e.state.Apply(rec); errors.Is(err, domain.ErrDuplicate) {
		kafka.DuplicateEvents.WithLabelValues("commands").Inc()
		e.log.Error("duplicate event in the log not applied", "topic", m.Topic, "offset", m.Offset, "err", err)
	} else if err != nil {
		e.log.Error("event does not apply", "topic", m.Topic, "offset", m.Offset, "err", err)
	}
	return nil
}

// loop reads events and decides inputs until ctx ends.
func (e *engine) loop(ctx context.Context) error {
	for {
		// Taken before processReady looks at the reader, so that a change
		// after it (a record handed over, or the reader finding that
		// nothing is left to hand over) wakes the select below.
		changed := e.events.Changed()
		waiting, err := e.processReady(ctx)
		if err != nil {
			return err
		}
		if !waiting {
			changed = nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		case m := <-e.events.Messages():
			if err := e.applyEvent(ctx, m); err != nil {
				return err
			}
		case it := <-e.work:
			e.pending = append(e.pending, it)
			// Take whatever else is waiting, for a bigger transaction.
			for len(e.pending) < e.cfg.MaxBatch {
				select {
				case it := <-e.work:
					e.pending = append(e.pending, it)
					continue
				default:
				}
				break
			}
		}
	}
}

// caughtUp reports whether the state holds every event the session's
// barrier names; if not, the reader looks for them at once.
func (e *engine) caughtUp(ctx context.Context, s *session) bool {
	ends := eventlog.Ends{}
	for t, off := range s.barrier {
		ends[eventlog.Partition{Topic: t}] = off + 1
	}
	caught, err := e.events.CaughtUp(ctx, ends)
	if err != nil {
		e.log.Warn("cannot tell whether the state holds the session's barrier yet", "err", err)
	}
	return caught
}

// processReady decides the pending inputs whose session is current and
// caught up. It reports whether it waits for the event reader.
func (e *engine) processReady(ctx context.Context) (waiting bool, err error) {
	for len(e.pending) > 0 {
		it := e.pending[0]
		if it.msg == nil { // a new session starts
			e.current = it.sess
			for t, off := range it.sess.barrier {
				e.lastWrite[t] = max(e.lastWrite[t], off)
			}
			e.pending = e.pending[1:]
			continue
		}
		if it.sess != e.current || it.sess.Context().Err() != nil {
			e.pending = e.pending[1:] // a finished session's leftovers
			continue
		}
		if !e.caughtUp(ctx, it.sess) || !e.fresh(ctx) {
			return true, nil // read more events first
		}
		n := 1
		for n < len(e.pending) && n < e.cfg.MaxBatch && e.pending[n].sess == it.sess && e.pending[n].msg != nil {
			n++
		}
		all := e.pending
		batch := e.pending[:n]
		e.pending = e.pending[n:]
		it.sess.mu.Lock()
		if it.sess.closed {
			it.sess.mu.Unlock()
			continue // the group moved on; these inputs are delivered again
		}
		err := e.process(ctx, it.sess, batch)
		it.sess.mu.Unlock()
		if stale := (*staleInput)(nil); errors.As(err, &stale) {
			e.pending = all // decided again once the state has caught up
			e.freshen(ctx, stale, batch)
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			// Nothing of the batch committed: the session ends and the
			// group delivers these inputs again.
			e.log.Warn("transaction failed; inputs will be delivered again", "inputs", len(batch), "err", err)
			it.sess.end()
			e.current = nil
			kafka.Sleep(ctx, 200*time.Millisecond)
		}
	}
	return false, nil
}

// process decides a batch of inputs and commits all effects with the
// consumed offsets in one transaction.
func (e *engine) process(ctx context.Context, s *session, batch []item) error {
	start := time.Now()
	e.state.Begin()
	var out []*sarama.ProducerMessage
	var decided []schemas.Record
	offsets := map[string]map[int32]int64{}
	touched := map[string]map[int32]int64{} // partitions of local steps
	for _, it := range batch {
		m := it.msg
		if offsets[m.Topic] == nil {
			offsets[m.Topic] = map[int32]int64{}
		}
		offsets[m.Topic][m.Partition] = m.Offset + 1
		msgs, records, err := e.decide(ctx, s, m, touched)
		if err != nil {
			e.state.Rollback()
			return err
		}
		out = append(out, msgs...)
		decided = append(decided, records...)
	}
	for topic, parts := range touched {
		for p, off := range parts {
			if _, consumed := offsets[topic][p]; !consumed {
				if offsets[topic] == nil {
					offsets[topic] = map[int32]int64{}
				}
				offsets[topic][p] = off
			}
		}
	}
	if err := e.commit(ctx, s, out, offsets); err != nil {
		e.state.Rollback()
		return err
	}
	e.state.Commit()
	transactions.Inc()
	for topic, parts := range offsets {
		for p, off := range parts {
			s.positions.set(topic, p, off)
		}
	}
	count(decided)
	batchSeconds.Observe(time.Since(start).Seconds())
	batchInputs.Observe(float64(len(batch)))
	for _, m := range out {
		if _, isEvent := e.own[m.Topic]; isEvent {
			e.own[m.Topic][m.Offset] = true
			e.lastWrite[m.Topic] = max(e.lastWrite[m.Topic], m.Offset)
		}
	}
	return nil
}

// decide handles one input: it returns the messages to write (and the
// records they carry) and applies their events to the state (journaled, so
// a failed commit undoes them). The steps it makes that this instance owns
// are decided at once (local.go). Inputs that can never be handled go to
// the dead-letter topic.
func (e *engine) decide(ctx context.Context, s *session, m *sarama.ConsumerMessage, touched map[string]map[int32]int64) ([]*sarama.ProducerMessage, []schemas.Record, error) {
	// The codec refuses records that do not belong on the topic, so only
	// commands, and feedback on transfer_command_feedback, get through.
	rec, err := e.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		if topology.IsPoison(err) {
			e.log.Warn("undecodable input parked", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
			return []*sarama.ProducerMessage{kafka.DeadLetter(m, Group, err)}, nil, nil
		}
		return nil, nil, err // the registry unreachable, say: try again
	}
	if err := e.mayBeStale(m, rec); err != nil {
		return nil, nil, err
	}
	return e.decideSteps(ctx, s, m, rec, touched)
}

// decideOne decides r, read from m or made by deciding it, and applies the
// decision's events. What cannot be decided, or whose decision would repeat
// an applied event, comes back as parked: m's dead letter.
func (e *engine) decideOne(m *sarama.ConsumerMessage, r schemas.Record) (domain.Decision, *sarama.ProducerMessage, error) {
	d, err := e.state.Decide(r, e.env)
	if err != nil {
		e.log.Error("cannot be decided; parked", "record", r.AvroName(), "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		return domain.Decision{}, kafka.DeadLetter(m, Group, err), nil
	}
	for _, ev := range d.Events {
		if e.state.Repeats(ev) {
			// A decision never repeats an applied event (the domain's
			// sequence fuzzer checks it); if one did, park the input
			// rather than write the event twice or loop on it.
			kafka.DuplicateEvents.WithLabelValues("commands").Inc()
			err := fmt.Errorf("decision on %s repeats %s %s", r.AvroName(), ev.AvroName(), ev.RecordID())
			e.log.Error("parked", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
			return domain.Decision{}, kafka.DeadLetter(m, Group, err), nil
		}
	}
	for _, ev := range d.Events {
		if err := e.state.Apply(ev); err != nil {
			return domain.Decision{}, nil, fmt.Errorf("apply decided %s: %w", ev.AvroName(), err)
		}
	}
	return d, nil, nil
}

// commit writes the batch's messages and offsets in one transaction. The
// offsets' metadata names the last events this state depends on, for the
// next owner of these partitions to wait for.
func (e *engine) commit(ctx context.Context, s *session, out []*sarama.ProducerMessage, offsets map[string]map[int32]int64) error {
	withMetadata := func() map[string][]*sarama.PartitionOffsetMetadata {
		depends := maps.Clone(e.lastWrite)
		for _, m := range out { // sent by now: their offsets are known
			if _, isEvent := e.own[m.Topic]; isEvent {
				depends[m.Topic] = max(depends[m.Topic], m.Offset)
			}
		}
		meta := encodeBarrier(depends)
		pom := map[string][]*sarama.PartitionOffsetMetadata{}
		for topic, parts := range offsets {
			for p, off := range parts {
				pom[topic] = append(pom[topic], &sarama.PartitionOffsetMetadata{Partition: p, Offset: off, Metadata: &meta})
			}
		}
		return pom
	}
	instance := "openbank-commands-" + e.cfg.InstanceID
	if e.cfg.beforeCommit != nil {
		e.cfg.beforeCommit(s)
	}
	return e.producer.Commit(ctx, out, withMetadata, sarama.NewConsumerGroupMetadataFromSession(s, Group, &instance))
}

// encodeBarrier writes per event topic the last offset depended on, as
// "user_events=12,bank_events=345".
func encodeBarrier(b map[string]int64) string {
	var parts []string
	for _, t := range topology.StateTopics {
		parts = append(parts, t+"="+strconv.FormatInt(b[t], 10))
	}
	return strings.Join(parts, ",")
}

func decodeBarrier(s string) map[string]int64 {
	out := map[string]int64{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out
}
