// Package reports runs the reports service: it follows user_events and
// bank_events and keeps the bank's history in PostgreSQL (package store:
// users, accounts, transfers, transactions and an audit table of every
// event), for the back office's SQL, and answers AuditLogQuery on
// reports_queries from it.
//
// Exactly once without a consumer group: each batch of events (up to
// BatchSize, or what arrives within BatchWait) is applied in one SQL
// transaction that also stores the offsets after it; at start the
// service reads those offsets and follows the log from there
// (eventlog.OpenAt). A crash anywhere loses the open transaction whole,
// rows and offsets together, and the events come again. Since Kafka, not
// PostgreSQL, is the record, the writer commits without waiting for the
// WAL flush (synchronous_commit off): a PostgreSQL crash loses the last
// batches whole, offsets included, and they are applied again.
//
// A rebuild (Config.Rebuild) builds fresh tables in the schema
// reports_next from offset 0 while readers go on querying the live
// schema, and swaps them in, in one SQL transaction, once caught up with
// the log (the eventlog caught-up rule).
package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/services/reports/store"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// QueryGroup is the consumer group answering reports_queries.
const QueryGroup = "openbank-reports-queries"

var eventTopics = []string{topology.UserEvents, topology.BankEvents}

// Config configures a reports service.
type Config struct {
	Brokers  []string
	Registry topology.SchemaRegistry
	// DB is the PostgreSQL connection string.
	DB string
	// InstanceID names the instance: unique among running ones, the same
	// across its restarts.
	InstanceID string
	// Rebuild builds the tables anew from the start of the log and swaps
	// them in before following the log.
	Rebuild bool
	Log     *slog.Logger
	// BatchSize bounds the events of one SQL transaction (default 4000);
	// BatchWait how long a batch gathers events once it has one (default
	// 50 ms), unless a query waits for the store: then a batch ends as soon
	// as no event has come for 5 ms.
	BatchSize int
	BatchWait time.Duration
	// CatchUpWait bounds how long a query waits for the store to reach
	// the events written before it (default 2 s).
	CatchUpWait time.Duration
	// OnReady, if set, is called once the store has caught up with the
	// log as it was at start (after the swap, when rebuilding).
	OnReady func()
}

// Run runs the reports service until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.InstanceID == "" {
		return errors.New("reports: no instance id")
	}
	cfg.defaults()
	log := cfg.Log.With("service", "reports", "instance", cfg.InstanceID)
	s := &service{cfg: cfg, log: log, codec: topology.NewCodec(cfg.Registry), hurried: make(chan struct{}, 1)}
	var err error
	if s.pool, err = connect(ctx, cfg.DB, log); err != nil {
		return err
	}
	defer s.pool.Close()
	if err := store.Migrate(ctx, s.pool, store.Live); err != nil {
		return err
	}
	if s.client, err = kafka.Connect(ctx, cfg.Brokers, kafka.ConsumerConfig("openbank-reports-"+cfg.InstanceID), log); err != nil {
		return err
	}
	defer s.client.Close()
	// Offset lookups get their own connection, as in the projector: behind
	// a long-poll fetch they would wait.
	if s.lookups, err = kafka.Connect(ctx, cfg.Brokers, kafka.NewConfig("openbank-reports-lookups-"+cfg.InstanceID), log); err != nil {
		return err
	}
	defer s.lookups.Close()
	if s.replies, err = sarama.NewSyncProducer(cfg.Brokers, kafka.ProducerConfig("openbank-reports-"+cfg.InstanceID)); err != nil {
		return fmt.Errorf("reports: reply producer: %w", err)
	}
	defer s.replies.Close()

	// Every goroutine below stops when ctx ends; on return ctx ends first,
	// then they are waited for, then what they used is closed.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	qcfg := kafka.ConsumerConfig("openbank-reports-" + cfg.InstanceID)
	// Static membership: a restarted instance takes its partitions back at
	// once, rather than wait for its former self's session to expire.
	qcfg.Consumer.Group.InstanceId = QueryGroup + "-" + cfg.InstanceID
	wg.Go(func() {
		kafka.ConsumeGroup(ctx, cfg.Brokers, QueryGroup, qcfg, []string{topology.ReportsQueries}, kafka.Handler{Group: QueryGroup, Handle: s.answer, Log: log}, log)
	})
	wg.Go(func() { s.watchLag(ctx) })
	if cfg.Rebuild {
		if err := s.rebuild(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	s.followLive(ctx)
	log.Info("stopped")
	return nil
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 4000
	}
	if c.BatchWait <= 0 {
		c.BatchWait = 50 * time.Millisecond
	}
	if c.CatchUpWait <= 0 {
		c.CatchUpWait = 2 * time.Second
	}
}

// connect opens a pool on the database, waiting while it is not up yet
// (the one-command bank starts PostgreSQL beside the service).
func connect(ctx context.Context, url string, log *slog.Logger) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("reports: database URL: %w", err)
	}
	pcfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off" // see the package doc
	pcfg.ConnConfig.RuntimeParams["application_name"] = "openbank-reports"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("reports: database: %w", err)
	}
	err = kafka.Retry(ctx, func() error {
		err := pool.Ping(ctx)
		if err != nil {
			log.Info("waiting for PostgreSQL", "host", pcfg.ConnConfig.Host, "port", pcfg.ConnConfig.Port, "err", err)
		}
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("reports: database at %s:%d: %w", pcfg.ConnConfig.Host, pcfg.ConnConfig.Port, err)
	}
	return pool, nil
}

type service struct {
	cfg     Config
	log     *slog.Logger
	codec   *topology.Codec
	pool    *pgxpool.Pool
	client  sarama.Client // for the event consumers
	lookups sarama.Client // for offset lookups
	replies sarama.SyncProducer

	mu    sync.Mutex
	live  *eventlog.Log // following into the live tables; nil while not
	ready bool

	// Queries waiting for the store to catch up, and a wake-up for the
	// batch gathering meanwhile (see collect).
	waiting atomic.Int32
	hurried chan struct{}
}

// followLive follows the log into the live tables until ctx ends. Whatever
// stops it — the stored offsets moved by another writer, PostgreSQL or
// Kafka away — it starts again from the stored offsets.
func (s *service) followLive(ctx context.Context) {
	live := store.New(s.pool, store.Live, s.log)
	for {
		err := s.follow(ctx, live, false)
		if ctx.Err() != nil {
			return
		}
		wait := time.Second
		if errors.Is(err, store.ErrConflict) {
			wait = 0
		}
		s.log.Warn("following the event log again from the stored offsets", "err", err)
		if !kafka.Sleep(ctx, wait) {
			return
		}
	}
}

// rebuild builds the tables anew in store.Next and swaps them in.
func (s *service) rebuild(ctx context.Context) error {
	s.log.Info("rebuilding the reports tables from the start of the log", "schema", store.Next)
	start := time.Now()
	if err := store.Reset(ctx, s.pool, store.Next); err != nil {
		return err
	}
	next := store.New(s.pool, store.Next, s.log)
	for {
		err := s.follow(ctx, next, true)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.log.Warn("rebuild: following the event log again from the stored offsets", "err", err)
		if !kafka.Sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	if err := store.Swap(ctx, s.pool, store.Next, store.Live); err != nil {
		return err
	}
	rebuildBehind.Set(0)
	s.log.Info("rebuilt tables swapped in", "took", time.Since(start).Round(time.Millisecond))
	return nil
}
