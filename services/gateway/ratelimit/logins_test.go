package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A hundred parallel attempts from one client get no more than the limit:
// the tries are taken before the password is checked.
func TestParallelAttemptsGetNoMoreThanTheLimit(t *testing.T) {
	l := NewLogins(30, 5, time.Hour)
	var began atomic.Int32
	var wg sync.WaitGroup
	release := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			done, _ := l.Begin(ctx, "ann", "10.0.0.1")
			if done != nil {
				began.Add(1)
				<-release // the password check is still running
				done(false)
			}
		})
	}
	// Let every goroutine reach Begin: the limit is the count that got in,
	// however long they wait.
	deadline := time.Now().Add(10 * time.Second)
	for began.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if n := began.Load(); n != 5 {
		t.Fatalf("%d attempts checked a password, want 5", n)
	}
}

// A username under attack from one client is not locked for its owner on
// another: their attempt is slowed, not refused.
func TestAnAttackSlowsButDoesNotLockTheOwnerOut(t *testing.T) {
	l := NewLogins(30, 5, 10*time.Millisecond)
	for range 5 {
		done, retry := l.Begin(context.Background(), "ann", "attacker")
		if done == nil {
			t.Fatalf("refused early, retry %s", retry)
		}
		done(false)
	}
	if done, retry := l.Begin(context.Background(), "ann", "attacker"); done != nil || retry <= 0 {
		t.Fatal("the attacker's sixth attempt went through")
	}
	// Another attacker address: slowed through the username's lane.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done, retry := l.Begin(ctx, "ann", "owner")
	if done == nil {
		t.Fatalf("the owner was refused (retry %s)", retry)
	}
	done(true)
	// The owner's success gives the tries back: they are not held back.
	for range 3 {
		done, _ := l.Begin(ctx, "ann", "owner")
		if done == nil {
			t.Fatal("the owner was refused after logging in")
		}
		done(true)
	}
	if l.Slowed() != 0 {
		t.Fatalf("%d lanes left open", l.Slowed())
	}
}

// Slowed attempts run one at a time: many attackers cannot check many
// passwords of one username at once.
func TestSlowedAttemptsRunOneAtATime(t *testing.T) {
	l := NewLogins(1000, 1, time.Millisecond)
	done, _ := l.Begin(context.Background(), "ann", "a0")
	done(false)
	var running, most atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			done, _ := l.Begin(ctx, "ann", string(rune('b'+i)))
			if done == nil {
				return
			}
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			done(false)
		})
	}
	wg.Wait()
	if most.Load() != 1 {
		t.Fatalf("%d slowed attempts ran at once", most.Load())
	}
}

func TestEmployeesAreLimitedPerClientOnly(t *testing.T) {
	l := NewLogins(3, 1, time.Hour)
	for range 3 {
		done, _ := l.Begin(context.Background(), "", "x")
		done(false)
	}
	if done, _ := l.Begin(context.Background(), "", "x"); done != nil {
		t.Fatal("a fourth employee attempt from one client went through")
	}
	if done, _ := l.Begin(context.Background(), "", "y"); done == nil {
		t.Fatal("another client was refused")
	}
}
