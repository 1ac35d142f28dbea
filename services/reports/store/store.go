// Package store keeps the bank's history in PostgreSQL: users, accounts,
// transfers, transactions and an audit table of every event, built from
// user_events and bank_events alone. There is no Kafka here: the reports
// service hands it decoded events in log order.
//
// Exactly once: Apply writes the rows of a batch of events and the
// offsets after them in one SQL transaction, so the store holds the
// effects of a prefix of each partition and knows which; a reader resumes
// at Offsets. The offsets are compared and set first thing in the
// transaction, so a second writer on the same tables cannot apply a
// range twice: it finds them moved (ErrConflict) and must start again
// from the stored position.
//
// Applying follows the projector (services/projector/projection), which
// the comparison tests check: a transaction's id counts the credits,
// debits and returns applied along bank_events, and a repeated money step
// of a transfer, a repeated start or end, a repeated owner event moves
// nothing (ErrDuplicate).
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
)

// ErrConflict means the stored offsets are not where this writer left
// them: another writer moved them, or a rebuild swapped the tables.
var ErrConflict = errors.New("the stored offsets moved under this writer")

// ErrDuplicate marks an event applied before; it changes nothing.
var ErrDuplicate = errors.New("duplicate event not applied")

// Event is one record of the event log.
type Event struct {
	Topic     string
	Partition int32
	Offset    int64
	At        time.Time // the record's timestamp: the broker's, at append
	Key       string
	Record    schemas.Record // nil when the value could not be decoded
	Err       error          // why not
}

// Result counts what a batch did.
type Result struct {
	Events, Transactions, Duplicates int
}

// Store writes into one schema of a database.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	q      string // schema, quoted
	log    *slog.Logger
	next   map[eventlog.Partition]int64 // the stored position, as this writer left it
	c      *cache                       // nil until loaded, and after a failed batch
	// applied counts the events this writer applied, analyzed how many
	// it had applied at its last ANALYZE (see analyze).
	applied, analyzed int
}

// New returns a store on schema (migrated already: Migrate).
func New(pool *pgxpool.Pool, schema string, log *slog.Logger) *Store {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{pool: pool, schema: schema, q: pgx.Identifier{schema}.Sanitize(), log: log}
}

// Schema names the store's schema.
func (s *Store) Schema() string { return s.schema }

// Offsets reads the stored position: per partition, the offset after the
// last record applied. The writer's idea of the position starts there.
func (s *Store) Offsets(ctx context.Context) (map[eventlog.Partition]int64, error) {
	rows, err := s.pool.Query(ctx, "SELECT topic, partition, next_offset FROM "+s.q+".offsets")
	if err != nil {
		return nil, fmt.Errorf("read offsets: %w", err)
	}
	out := map[eventlog.Partition]int64{}
	var p eventlog.Partition
	var next int64
	_, err = pgx.ForEachRow(rows, []any{&p.Topic, &p.Partition, &next}, func() error {
		out[p] = next
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read offsets: %w", err)
	}
	s.next = map[eventlog.Partition]int64{}
	for p, n := range out {
		s.next[p] = n
	}
	s.c = nil // whatever was cached may be another writer's past
	return out, nil
}

// Apply applies events, which follow the stored position in each
// partition, and moves the position past them, in one SQL transaction.
// On ErrConflict nothing was written: read Offsets and start again there.
func (s *Store) Apply(ctx context.Context, events []Event) (Result, error) {
	if s.next == nil {
		return Result{}, errors.New("apply: read the offsets first")
	}
	if len(events) == 0 {
		return Result{}, nil
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("apply: begin: %w", err)
	}
	defer tx.Rollback(context.Background()) // after a commit, a no-op
	committed := false
	defer func() {
		if !committed {
			s.c = nil // it may hold what was rolled back
		}
	}()
	ends, err := s.advance(ctx, tx, events)
	if err != nil {
		return Result{}, err
	}
	if err := s.load(ctx, tx, events); err != nil {
		return Result{}, err
	}
	w := newWrites()
	for _, e := range events {
		if err := s.apply(ctx, tx, e, w); err != nil {
			return Result{}, err
		}
	}
	if err := s.flush(ctx, tx, w); err != nil {
		return Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, fmt.Errorf("apply: commit: %w", err)
	}
	committed = true
	for p, n := range ends {
		s.next[p] = n
	}
	s.c.settle(w)
	s.applied += len(events)
	s.analyze(ctx)
	return w.result, nil
}

// analyze refreshes the planner's statistics each time this writer has
// doubled what it applied (from 5,000 events on): a batch looks rows up by
// transfer id, and on tables the planner still thinks small (a rebuild's,
// a new store's) it scans them whole, so each batch costs more than the
// last until autovacuum, a minute later, analyzes them. Doubling keeps the
// statistics within a factor of two at a logarithmic cost.
func (s *Store) analyze(ctx context.Context) {
	if s.applied < 5000 || s.applied < 2*s.analyzed {
		return
	}
	s.analyzed = s.applied
	if _, err := s.pool.Exec(ctx, "ANALYZE "+s.q+".transactions, "+s.q+".transfers, "+s.q+".accounts, "+s.q+".users"); err != nil {
		s.log.Warn("analyze", "schema", s.schema, "err", err)
	}
}

// advance moves the stored offsets past events, first thing in the
// transaction: only if they are where this writer left them (a second
// writer's update waits for the first's commit, then finds them moved).
func (s *Store) advance(ctx context.Context, tx pgx.Tx, events []Event) (map[eventlog.Partition]int64, error) {
	ends := map[eventlog.Partition]int64{}
	for _, e := range events {
		p := eventlog.Partition{Topic: e.Topic, Partition: e.Partition}
		if e.Offset < s.next[p] {
			return nil, fmt.Errorf("apply: %s offset %d is below the position %d", p, e.Offset, s.next[p])
		}
		ends[p] = max(ends[p], e.Offset+1)
	}
	for p, end := range ends {
		var tag interface{ RowsAffected() int64 }
		var err error
		if prev, ok := s.next[p]; ok {
			tag, err = tx.Exec(ctx, "UPDATE "+s.q+".offsets SET next_offset = $3 WHERE topic = $1 AND partition = $2 AND next_offset = $4",
				p.Topic, p.Partition, end, prev)
		} else {
			tag, err = tx.Exec(ctx, "INSERT INTO "+s.q+".offsets (topic, partition, next_offset) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				p.Topic, p.Partition, end)
		}
		if err != nil {
			return nil, fmt.Errorf("apply: move the offsets: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return nil, fmt.Errorf("%s: %w", p, ErrConflict)
		}
	}
	return ends, nil
}
