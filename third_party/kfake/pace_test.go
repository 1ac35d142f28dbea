package kfake

import (
	"testing"
	"time"
)

// A round waits for more writers only when more than busyWaiters answers
// were waited for within busyWindow: a steady 100 transfers a second
// (about 3.5 answers each) never makes it wait, 500 a second does, and
// old rounds stop counting.
func TestPaceTellsLoad(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	var p pace
	if p.busy(t0) {
		t.Fatal("busy with no round served")
	}
	p.served(t0, busyWaiters)
	if p.busy(t0) {
		t.Fatalf("busy at exactly %d answers", busyWaiters)
	}
	p.served(t0.Add(time.Millisecond), 1)
	if !p.busy(t0.Add(time.Millisecond)) {
		t.Fatalf("not busy at %d answers within %v", busyWaiters+1, busyWindow)
	}
	if p.busy(t0.Add(busyWindow + time.Millisecond + 1)) {
		t.Fatal("busy once those rounds are older than the window")
	}
	if len(p.at) != 0 || len(p.waiters) != 0 {
		t.Fatalf("%d rounds kept after the window: what was counted must be dropped", len(p.at))
	}

	// A steady 100 transfers a second: a transfer every 10 ms, its
	// answers (gateway produce, handler produce and EndTxn, a share of
	// the projector's) a millisecond apart.
	var q pace
	now := t0
	for range 1000 {
		for range 3 {
			if q.busy(now) {
				t.Fatalf("busy at 100 transfers a second, at %v", now.Sub(t0))
			}
			q.served(now, 1)
			now = now.Add(time.Millisecond)
		}
		now = now.Add(7 * time.Millisecond)
	}
	// 500 a second: a transfer every 2 ms, 2.5 answers each.
	busy := 0
	for i := range 1000 {
		if q.busy(now) {
			busy++
		}
		q.served(now, 2+i%2)
		now = now.Add(2 * time.Millisecond)
	}
	if busy < 990 {
		t.Fatalf("busy in %d of 1000 rounds at 500 transfers a second", busy)
	}
	if len(q.at) > 10 {
		t.Fatalf("%d rounds kept: only the window's are", len(q.at))
	}
}
