package projector

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology"
)

// store is the read model, shared by the follower that applies events, the
// emitter and the query answerers.
type store struct {
	mu    sync.RWMutex
	model *projection.Model
	// next is, per event topic, the offset after the last event applied.
	next map[string]int64
	// moneyAt lists, in log order, the bank_events offsets that made a
	// transaction and that transaction's id.
	moneyAt []moneyEvent
	// poison holds why the bank_events at these offsets could not be read,
	// for the emitter to park them.
	poison map[int64]error
	// changed is closed (and replaced) whenever next advances.
	changed chan struct{}
}

type moneyEvent struct {
	offset int64
	txID   int64
}

func newStore() *store {
	next := map[string]int64{}
	for _, t := range topology.StateTopics {
		next[t] = 0
	}
	return &store{model: projection.New(), next: next, poison: map[int64]error{}, changed: make(chan struct{})}
}

// apply adds the event at offset of topic to the model.
func (s *store) apply(topic string, offset int64, rec schemas.Record, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, err := s.model.Apply(rec, at)
	for _, tx := range txs {
		s.moneyAt = append(s.moneyAt, moneyEvent{offset, tx.ID})
	}
	s.next[topic] = offset + 1
	close(s.changed)
	s.changed = make(chan struct{})
	return err
}

// skip records that offset of topic could not be read, and why.
func (s *store) skip(topic string, offset int64, why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if topic == topology.BankEvents {
		s.poison[offset] = why
	}
	s.next[topic] = offset + 1
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until every topic's events are applied up to (excluding)
// the given offsets, or ctx ends.
func (s *store) waitFor(ctx context.Context, until map[string]int64) error {
	for {
		s.mu.RLock()
		done := true
		for t, off := range until {
			if s.next[t] < off {
				done = false
			}
		}
		changed := s.changed
		s.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// transactionsIn returns the transactions made by bank_events offsets in
// [from, to], in order.
func (s *store) transactionsIn(from, to int64) []projection.Transaction {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.Search(len(s.moneyAt), func(i int) bool { return s.moneyAt[i].offset >= from })
	var out []projection.Transaction
	for ; i < len(s.moneyAt) && s.moneyAt[i].offset <= to; i++ {
		tx, _ := s.model.TransactionByID(s.moneyAt[i].txID)
		out = append(out, tx)
	}
	return out
}

// poisonAt says why the bank event at offset could not be read, if it could
// not.
func (s *store) poisonAt(offset int64) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.poison[offset]
}

// read runs fn with the model, which must not be kept past fn.
func (s *store) read(fn func(m *projection.Model)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(s.model)
}
