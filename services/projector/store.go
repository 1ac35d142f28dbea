package projector

import (
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
	// moneyAt lists, in log order, the bank_events offsets that made a
	// transaction and that transaction's id.
	moneyAt []moneyEvent
	// poison holds why the bank_events at these offsets could not be read,
	// for the emitter to park them.
	poison map[int64]error
}

type moneyEvent struct {
	offset int64
	txID   int64
}

func newStore() *store {
	return &store{model: projection.New(), poison: map[int64]error{}}
}

// apply adds the event at offset to the model (offset counts for bank
// events only: user events make no transaction).
func (s *store) apply(offset int64, rec schemas.Record, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	txs, err := s.model.Apply(rec, at)
	for _, tx := range txs {
		s.moneyAt = append(s.moneyAt, moneyEvent{offset, tx.ID})
	}
	return err
}

// skip records that offset of topic could not be read, and why.
func (s *store) skip(topic string, offset int64, why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if topic == topology.BankEvents {
		s.poison[offset] = why
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
