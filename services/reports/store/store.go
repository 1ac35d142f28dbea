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
	"sync/atomic"
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
//
// Applying a batch has two halves: Prepare applies its events to the
// writer's cache and builds its rows (Go, and reads of rows the cache
// lacks), Write writes them and the offsets in one SQL transaction. One
// goroutine may prepare batch n+1 while another writes batch n, so the Go
// half of one batch overlaps the PostgreSQL half of the one before; the
// rows a batch carries are copies, so a later Prepare changes nothing of
// them. Batches are written in the order they were prepared. After any
// failure, of either half, nothing more is prepared or written until
// Offsets reads the stored position again (and drops the cache, which may
// hold what was never written).
type Store struct {
	pool   *pgxpool.Pool
	schema string
	q      string // schema, quoted
	log    *slog.Logger
	next   map[eventlog.Partition]int64 // the position after the batches prepared
	c      *cache                       // nil until loaded, and after a failed batch
	seq    uint64                       // batches prepared since Offsets

	written atomic.Uint64 // batches written since Offsets
	failed  atomic.Bool   // a batch failed: nothing more until Offsets

	// applied counts the events this writer wrote, analyzed how many it
	// had written at its last ANALYZE (see analyze). Write's alone.
	applied, analyzed int
}

// Batch is a prepared batch: its rows and offsets, for Write.
type Batch struct {
	seq    uint64
	moves  []offsetMove
	rows   *rows
	result Result
}

// offsetMove moves a partition's stored offset from prev (none stored
// yet: -1) to next.
type offsetMove struct {
	p          eventlog.Partition
	prev, next int64
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
// No Prepare or Write may run meanwhile.
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
	s.seq = 0
	s.written.Store(0)
	s.failed.Store(false)
	return out, nil
}

// Apply applies events, which follow the stored position in each
// partition, and moves the position past them, in one SQL transaction:
// Prepare and Write in one. On ErrConflict nothing was written: read
// Offsets and start again there.
func (s *Store) Apply(ctx context.Context, events []Event) (Result, error) {
	b, err := s.Prepare(ctx, events)
	if err != nil {
		return Result{}, err
	}
	return s.Write(ctx, b)
}

// ErrFailed refuses work after a failed batch: read Offsets again.
var ErrFailed = errors.New("apply: a batch failed: read the offsets again")

// Prepare applies events, which follow the position of the batches
// prepared before, to the cache and builds their rows. Nothing is
// written: Write does that.
func (s *Store) Prepare(ctx context.Context, events []Event) (*Batch, error) {
	if s.next == nil {
		return nil, errors.New("apply: read the offsets first")
	}
	if s.failed.Load() {
		s.c = nil
		return nil, ErrFailed
	}
	if len(events) == 0 {
		return nil, nil
	}
	b, err := s.prepare(ctx, events)
	if err != nil {
		s.failed.Store(true)
		s.c = nil // it may hold what was never written
		return nil, err
	}
	return b, nil
}

func (s *Store) prepare(ctx context.Context, events []Event) (*Batch, error) {
	moves, err := s.advance(events)
	if err != nil {
		return nil, err
	}
	if err := s.load(ctx, events); err != nil {
		return nil, err
	}
	s.seq++
	w := newWrites(s.seq)
	for _, e := range events {
		if err := s.apply(e, w); err != nil {
			return nil, err
		}
	}
	b := &Batch{seq: s.seq, moves: moves, rows: s.c.materialize(w), result: w.result}
	s.c.evict(s.written.Load())
	return b, nil
}

// Write writes a prepared batch and moves the stored offsets past it, in
// one SQL transaction. Batches are written in the order prepared.
func (s *Store) Write(ctx context.Context, b *Batch) (Result, error) {
	if b == nil {
		return Result{}, nil
	}
	if s.failed.Load() {
		return Result{}, ErrFailed
	}
	if want := s.written.Load() + 1; b.seq != want {
		s.failed.Store(true)
		return Result{}, fmt.Errorf("apply: batch %d written out of order (batch %d is next)", b.seq, want)
	}
	if err := s.write(ctx, b); err != nil {
		s.failed.Store(true)
		return Result{}, err
	}
	s.written.Store(b.seq)
	s.applied += b.result.Events
	s.analyze(ctx)
	return b.result, nil
}

func (s *Store) write(ctx context.Context, b *Batch) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("apply: begin: %w", err)
	}
	defer tx.Rollback(context.Background()) // after a commit, a no-op
	if err := s.moveOffsets(ctx, tx, b.moves); err != nil {
		return err
	}
	if err := s.flush(ctx, tx, b.rows); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("apply: commit: %w", err)
	}
	return nil
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

// advance moves the writer's position past events and returns the moves
// of the stored offsets that Write makes.
func (s *Store) advance(events []Event) ([]offsetMove, error) {
	ends := map[eventlog.Partition]int64{}
	for _, e := range events {
		p := eventlog.Partition{Topic: e.Topic, Partition: e.Partition}
		if e.Offset < s.next[p] {
			return nil, fmt.Errorf("apply: %s offset %d is below the position %d", p, e.Offset, s.next[p])
		}
		ends[p] = max(ends[p], e.Offset+1)
	}
	var moves []offsetMove
	for p, end := range ends {
		prev, ok := s.next[p]
		if !ok {
			prev = -1
		}
		moves = append(moves, offsetMove{p, prev, end})
	}
	// The partitions the batch leaves where they are are checked too: a
	// second writer's batch on other partitions only would pass a check
	// of its own partitions, with a cache that missed this writer's rows.
	for p, at := range s.next {
		if _, moved := ends[p]; !moved {
			moves = append(moves, offsetMove{p, at, at})
		}
	}
	for p, end := range ends {
		s.next[p] = end
	}
	return moves, nil
}

// moveOffsets moves the stored offsets, first thing in the transaction:
// only if they are where this writer left them (a second writer's update
// waits for the first's commit, then finds them moved).
func (s *Store) moveOffsets(ctx context.Context, tx pgx.Tx, moves []offsetMove) error {
	for _, m := range moves {
		var tag interface{ RowsAffected() int64 }
		var err error
		if m.prev >= 0 {
			tag, err = tx.Exec(ctx, "UPDATE "+s.q+".offsets SET next_offset = $3 WHERE topic = $1 AND partition = $2 AND next_offset = $4",
				m.p.Topic, m.p.Partition, m.next, m.prev)
		} else {
			tag, err = tx.Exec(ctx, "INSERT INTO "+s.q+".offsets (topic, partition, next_offset) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
				m.p.Topic, m.p.Partition, m.next)
		}
		if err != nil {
			return fmt.Errorf("apply: move the offsets: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("%s: %w", m.p, ErrConflict)
		}
	}
	return nil
}
