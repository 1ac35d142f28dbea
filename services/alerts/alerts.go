// Package alerts runs the alerts service, which only reacts to events: it
// keeps the accounts' alert rules from bank_events, checks every
// transaction on transaction_events against them, and raises an
// AlertTriggeredEvent on the alerts topic for each rule set off. Raising is
// exactly once: the alerts of a batch of transactions and the batch's
// offsets commit in one Kafka transaction, so a killed and restarted
// instance goes on where the last commit left off. A second consumer group
// posts each alert to its rule's webhook, each destination apart from the
// others (see delivery.go).
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts/rule"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Consumer groups. Renaming RaiseGroup checks every transaction again.
const (
	RaiseGroup   = "openbank-alerts"
	DeliverGroup = "openbank-alert-webhooks"
)

var (
	alertsRaised = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_alerts_raised_total", Help: "AlertTriggeredEvents committed.",
	})
	webhookDeliveries = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_alert_webhook_deliveries_total", Help: "Webhook posts by outcome (delivered, failed: will retry, given_up, refused: not a public address).",
	}, []string{"outcome"})
)

// Config configures one alerts instance.
type Config struct {
	Brokers  []string
	Registry topology.SchemaRegistry
	// InstanceID names the instance: unique among running ones, the same
	// across its restarts.
	InstanceID string
	Log        *slog.Logger
	// Webhooks posts alerts (default: a client that connects to public
	// addresses only, unless AllowPrivateWebhooks, follows no redirect and
	// gives up after WebhookTimeout; see webhookClient).
	Webhooks *http.Client
	// AllowPrivateWebhooks lets webhooks reach loopback, private and
	// link-local addresses: for tests and on-premises receivers.
	AllowPrivateWebhooks bool
	// Resolve, if set, replaces DNS for webhooks' host names (for tests).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// RetryAfter is the first wait after a failed webhook post; each
	// further one doubles it, up to a minute (default 1 s).
	RetryAfter time.Duration
	// Attempts bounds the posts of one alert; after the last failure the
	// alert is parked on dead_letters (default 10).
	Attempts int
	// MaxInFlight bounds the webhook posts in flight at once over all
	// destinations (default 32); a destination posts one at a time, in
	// order (see delivery.go).
	MaxInFlight int
	// MaxPending bounds the alerts with a webhook that a partition of the
	// alerts topic holds read but not yet delivered (default 200).
	MaxPending int
	// OnReady, if set, is called once the rules are rebuilt and alerts are
	// being raised.
	OnReady func()
}

// Run runs the alerts service until ctx ends.
// It is long on purpose: it is the one place that shows the start-up
// order (defaults, connections, the rules, the two groups) and what each
// step closes on the way out.
func Run(ctx context.Context, cfg Config) error {
	if cfg.InstanceID == "" {
		return errors.New("alerts: no instance id")
	}
	if cfg.Webhooks == nil {
		cfg.Webhooks = webhookClient(cfg.AllowPrivateWebhooks, cfg.Resolve)
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 10
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = defaultMaxInFlight
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = defaultMaxPending
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("service", "alerts", "instance", cfg.InstanceID)
	s := &service{cfg: cfg, log: log, codec: topology.NewCodec(cfg.Registry), book: rule.NewBook()}
	var err error
	// Offset lookups get their own connection: a broker answers one
	// connection's requests in order, behind the long-poll fetches.
	if s.lookups, err = kafka.Connect(ctx, cfg.Brokers, kafka.NewConfig("openbank-alerts-lookups-"+cfg.InstanceID), log); err != nil {
		return err
	}
	defer s.lookups.Close()
	// The rule book is used only once it has caught up (caughtUp, before
	// each batch is checked), so its reader is lazy: not woken by every
	// transfer's events, and fetching at once when waited for. A reader
	// that lingered on its fetches instead (kafka.BackgroundConfig) made
	// nearly every check wait up to 500 ms, and the raiser fell behind by
	// thousands at 500 transfers a second (docs/benchmarks.md, "Issue 20:
	// the alert rules read in batches, measured and undone").
	if s.events, err = eventlog.OpenLazy(ctx, s.lookups, []string{topology.BankEvents}, eventlog.DefaultPoll, "alert rules", log); err != nil {
		return err
	}
	defer s.events.Close()
	if s.txn, err = kafka.NewTxnProducer(cfg.Brokers, RaiseGroup+"-"+cfg.InstanceID, log); err != nil {
		return err
	}
	defer s.txn.Close()
	if s.parking, err = sarama.NewSyncProducer(cfg.Brokers, kafka.ProducerConfig("openbank-alerts-"+cfg.InstanceID)); err != nil {
		return fmt.Errorf("dead-letter producer: %w", err)
	}
	defer s.parking.Close()

	// Every goroutine below stops when ctx ends; on return ctx ends first,
	// then they are waited for, then what they used is closed.
	ctx, cancel := context.WithCancelCause(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel(nil)
	wg.Go(func() { s.followRules(ctx) })
	start := time.Now()
	if err := s.caughtUp(ctx); err != nil {
		return err
	}
	log.Info("rules rebuilt", "rules", s.ruleCount(), "took", time.Since(start).Round(time.Millisecond))

	raise := kafka.BackgroundConfig("openbank-alerts-" + cfg.InstanceID)
	raise.Consumer.Offsets.AutoCommit.Enable = false // offsets commit in the raising transactions
	raise.Consumer.Group.InstanceId = RaiseGroup + "-" + cfg.InstanceID
	wg.Go(func() {
		kafka.ConsumeGroup(ctx, cfg.Brokers, RaiseGroup, raise, []string{topology.TransactionEvents}, &raiser{s}, log)
	})
	deliver := kafka.ConsumerConfig("openbank-alerts-webhooks-" + cfg.InstanceID)
	deliver.Consumer.Offsets.AutoCommit.Enable = false // committed as deliveries finish (delivery.go)
	// Those commits go to the group's coordinator on the connection its
	// fetches wait on: a short wait, so a commit is not held long.
	deliver.Consumer.MaxWaitTime = 100 * time.Millisecond
	wg.Go(func() {
		d := newDispatcher(s)
		kafka.ConsumeGroup(ctx, cfg.Brokers, DeliverGroup, deliver, []string{topology.Alerts}, &deliverer{s: s, d: d}, log)
		d.wait() // the sessions ended, so do the destinations' workers
	})
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

type service struct {
	cfg     Config
	log     *slog.Logger
	codec   *topology.Codec
	lookups sarama.Client
	txn     *kafka.TxnProducer
	parking sarama.SyncProducer

	events *eventlog.Log // bank_events, for the rules

	mu   sync.Mutex
	book *rule.Book
}

// followRules applies the alert rule events of bank_events to the book.
func (s *service) followRules(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-s.events.Messages():
			s.applyEvent(ctx, m)
			s.events.Applied(m)
		}
	}
}

func (s *service) applyEvent(ctx context.Context, m *sarama.ConsumerMessage) {
	rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
	for err != nil && !topology.IsPoison(err) {
		// The registry away, say: a rule must not be missed, so wait.
		s.log.Warn("decoding an event failed; trying again", "offset", m.Offset, "err", err)
		if !kafka.Sleep(ctx, time.Second) {
			return
		}
		rec, err = s.codec.Decode(ctx, m.Topic, m.Value)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		// Only the command handler writes events, and the projector parks
		// what no one can read: skip it.
		s.log.Error("undecodable event skipped", "offset", m.Offset, "err", err)
		return
	}
	switch e := rec.(type) {
	case *schemas.AlertRuleCreatedEvent:
		s.book.Add(rule.Rule{ID: e.ID.String(), IBAN: e.IBAN, Owner: e.Username, Kind: contract.AlertKind(e.Kind),
			Amount: e.Amount, Word: e.Word, Webhook: e.Webhook})
	case *schemas.AlertRuleDeletedEvent:
		s.book.Remove(e.IBAN, e.ID.String())
	}
}

// caughtUp waits until the book holds every rule event committed before
// the call, so a transaction checked after it sees every rule set before
// the transfer that made it.
func (s *service) caughtUp(ctx context.Context) error {
	ends, err := s.events.Ends()
	if err != nil {
		return err
	}
	return s.events.WaitCaughtUp(ctx, ends)
}

func (s *service) ruleCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.Len()
}

// triggered returns the alerts tx sets off.
func (s *service) triggered(tx *schemas.TransactionHappenedEvent) []rule.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.book.Triggered(tx)
}

// raiser checks transactions against the rules and raises alerts.
type raiser struct{ s *service }

func (*raiser) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*raiser) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (r *raiser) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	return r.s.txn.Transform(sess, claim, kafka.Loop{Group: RaiseGroup, InstanceID: r.s.cfg.InstanceID, MaxBatch: 500}, r.s.raise)
}

// raise makes the alerts a batch of transactions sets off, once the rules
// are caught up; a transaction event no one can read is parked.
func (s *service) raise(ctx context.Context, batch []*sarama.ConsumerMessage) (kafka.Output, error) {
	if err := s.caughtUp(ctx); err != nil {
		return kafka.Output{}, fmt.Errorf("rules not caught up: %w", err)
	}
	var msgs []*sarama.ProducerMessage
	raised := 0
	for _, m := range batch {
		rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
		if err != nil && !topology.IsPoison(err) {
			return kafka.Output{}, fmt.Errorf("decode a transaction: %w", err)
		}
		tx, ok := rec.(*schemas.TransactionHappenedEvent)
		if err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%s is not a TransactionHappenedEvent", rec.AvroName())
			}
			s.log.Warn("transaction event parked", "partition", m.Partition, "offset", m.Offset, "err", err)
			msgs = append(msgs, kafka.DeadLetter(m, RaiseGroup, err))
			continue
		}
		for _, a := range s.triggered(tx) {
			ruleID, err := schemas.ParseID(a.Rule.ID)
			if err != nil {
				return kafka.Output{}, fmt.Errorf("rule id %q: %w", a.Rule.ID, err)
			}
			// The registry away, say, fails the batch: nothing is
			// committed, and the group hands it out again.
			msg, err := kafka.Message(ctx, s.codec, topology.Alerts, &schemas.AlertTriggeredEvent{ID: schemas.NewID(),
				RuleID: ruleID, IBAN: tx.IBAN, Username: a.Rule.Owner, TransactionID: tx.TransactionID,
				Message: a.Message, Webhook: a.Rule.Webhook})
			if err != nil {
				return kafka.Output{}, fmt.Errorf("encode an alert: %w", err)
			}
			msgs = append(msgs, msg)
			raised++
		}
	}
	return kafka.Output{Messages: msgs, Committed: func() { alertsRaised.Add(float64(raised)) }}, nil
}
