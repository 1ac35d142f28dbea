package projection

import (
	"testing"
	"time"
)

// Around the chunks' edges (0, 1, a chunk less one, a chunk, a chunk and
// one, several), every transaction is found by its index and by time, as
// in one slice.
func TestTheTransactionLogAcrossChunks(t *testing.T) {
	start := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	for _, n := range []int{0, 1, txChunk - 1, txChunk, txChunk + 1, 3*txChunk + 7} {
		var l txLog
		var want []Transaction
		for i := range n {
			// Two transactions a second: equal times are the rule, not the exception.
			tx := Transaction{ID: int64(i + 1), At: start.Add(time.Duration(i/2) * time.Second)}
			l.append(tx)
			want = append(want, tx)
		}
		if l.len() != n {
			t.Fatalf("n=%d: len %d", n, l.len())
		}
		for i, tx := range want {
			if got := l.at(i); got != tx {
				t.Fatalf("n=%d: at(%d) = %+v, want %+v", n, i, got, tx)
			}
		}
		for _, at := range []time.Time{start.Add(-time.Second), start, start.Add(time.Duration(n/4) * time.Second), start.Add(time.Duration(n) * time.Second)} {
			wantN := 0
			for wantN < len(want) && !want[wantN].At.After(at) {
				wantN++
			}
			if got := l.firstAfter(at); got != wantN {
				t.Fatalf("n=%d: firstAfter(%v) = %d, want %d", n, at, got, wantN)
			}
		}
	}
}
