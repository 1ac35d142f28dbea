// Package ratelimit throttles repeated failures per key, such as failed
// log-ins per username or per client address.
//
// Each key has a bucket of PerMinute tries, refilled evenly over a minute: a
// failure takes one, and a key whose bucket is empty waits until the next
// try comes back. Keys that have not failed cost nothing.
package ratelimit

import (
	"sync"
	"time"
)

// Limiter counts failures per key. Its methods are safe for concurrent use.
type Limiter struct {
	burst float64
	every time.Duration // one try comes back per every
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]bucket
	sweepAt int // sweep when there are more buckets than this
}

type bucket struct {
	tries float64 // left at the time at
	at    time.Time
}

// New returns a limiter allowing perMinute failures a minute per key, all
// at once or spread out.
func New(perMinute int) *Limiter {
	perMinute = max(perMinute, 1)
	return &Limiter{burst: float64(perMinute), every: time.Minute / time.Duration(perMinute),
		now: time.Now, buckets: map[string]bucket{}, sweepAt: 1024}
}

// tries returns the tries key has left now.
func (l *Limiter) tries(key string, now time.Time) float64 {
	b, ok := l.buckets[key]
	if !ok {
		return l.burst
	}
	return min(l.burst, b.tries+float64(now.Sub(b.at))/float64(l.every))
}

// Wait returns how long key must wait before it may try again: 0 when it
// may now.
func (l *Limiter) Wait(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	left := l.tries(key, l.now())
	if left >= 1 {
		return 0
	}
	return time.Duration((1 - left) * float64(l.every))
}

// Take takes a try from key before the work it guards starts, so tries in
// flight count: it returns 0 when key had one, else how long until it has
// (and takes nothing). Give it back if the work succeeds and should not
// count.
func (l *Limiter) Take(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	left := l.tries(key, now)
	if left < 1 {
		return time.Duration((1 - left) * float64(l.every))
	}
	l.set(key, left-1, now)
	return 0
}

// Give returns a try Take took.
func (l *Limiter) Give(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.set(key, min(l.burst, l.tries(key, now)+1), now)
}

// Fail takes a try from key.
func (l *Limiter) Fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.set(key, max(l.tries(key, now)-1, 0), now)
}

// set stores key's tries; l.mu is held.
func (l *Limiter) set(key string, tries float64, now time.Time) {
	l.buckets[key] = bucket{tries: tries, at: now}
	// A full bucket is the same as none: forget those, so memory follows
	// the failures of the last minute, not every key ever seen. Sweeping
	// when the map has doubled keeps the cost per failure constant.
	if len(l.buckets) > l.sweepAt {
		for k := range l.buckets {
			if l.tries(k, now) >= l.burst {
				delete(l.buckets, k)
			}
		}
		l.sweepAt = max(1024, 2*len(l.buckets))
	}
}

// Len returns how many keys the limiter remembers.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
