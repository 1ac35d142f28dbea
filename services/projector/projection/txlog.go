package projection

import (
	"sort"
	"time"
)

// txLog holds every transaction by id (id-1 is its index) in chunks of
// fixed size, so appending never copies what is already there. One slice
// of them grew by copying itself whole, a quarter more each time: in a
// profile of the projector rebuilding a million events that copying was an
// eighth of the samples, though whole rebuilds vary more than that between
// runs (docs/benchmarks.md, "Replay and cold start, old and new").
type txLog struct {
	chunks [][]Transaction
	n      int
}

const txChunk = 1 << 10

func (l *txLog) append(tx Transaction) {
	if l.n%txChunk == 0 {
		l.chunks = append(l.chunks, make([]Transaction, 0, txChunk))
	}
	last := &l.chunks[len(l.chunks)-1]
	*last = append(*last, tx)
	l.n++
}

func (l *txLog) len() int { return l.n }

// at returns the transaction at index i, 0 <= i < len.
func (l *txLog) at(i int) Transaction { return l.chunks[i/txChunk][i%txChunk] }

// firstAfter returns the index of the first transaction written after t,
// len if none: timestamps rise with the log (the broker stamps them).
func (l *txLog) firstAfter(t time.Time) int {
	return sort.Search(l.n, func(i int) bool { return l.at(i).At.After(t) })
}
