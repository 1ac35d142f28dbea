package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	l := New(5) // a try back every 12 s
	l.now = func() time.Time { return now }
	steps := []struct {
		after    time.Duration
		key      string
		fail     int
		wantWait time.Duration
	}{
		{0, "ann", 0, 0},
		{0, "ann", 4, 0},                             // 1 try left
		{0, "ann", 1, 12 * time.Second},              // none left
		{0, "bob", 0, 0},                             // other keys untouched
		{6 * time.Second, "ann", 0, 6 * time.Second}, // half a try back
		{6 * time.Second, "ann", 0, 0},               // a whole one
		{0, "ann", 1, 12 * time.Second},              // used again
		{0, "ann", 3, 12 * time.Second},              // failing while blocked keeps it at none
		{2 * time.Minute, "ann", 0, 0},               // back to full, not beyond:
		{0, "ann", 5, 12 * time.Second},              // 5 tries, not more
	}
	for i, s := range steps {
		now = now.Add(s.after)
		for range s.fail {
			l.Fail(s.key)
		}
		if got := l.Wait(s.key); got != s.wantWait {
			t.Fatalf("step %d (%s after %s, %d failures): wait %s, want %s", i, s.key, s.after, s.fail, got, s.wantWait)
		}
	}
}

func TestLimiterForgetsKeysThatRecovered(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	l := New(10)
	l.now = func() time.Time { return now }
	for i := range 5000 {
		l.Fail(fmt.Sprint("user", i))
		now = now.Add(time.Millisecond)
	}
	if l.Len() != 5000 {
		t.Fatalf("remembers %d keys, want 5000 (all failed within the last minute)", l.Len())
	}
	now = now.Add(time.Minute)
	// Memory may double before a sweep: 4000 new keys pass 8192.
	for i := range 4000 {
		l.Fail(fmt.Sprint("later", i))
	}
	if l.Len() > 4000 {
		t.Errorf("remembers %d keys after the first 5000 recovered, want those forgotten", l.Len())
	}
	if l.Wait("later1") != 0 {
		t.Errorf("a key with one failure of ten must still try")
	}
}
