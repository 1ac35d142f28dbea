package feed

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestSubscribersGetWhatMatches(t *testing.T) {
	h := New[int, string](16, nil)
	ctx := t.Context()
	even := h.Subscribe(ctx, "", "even", func(v int) bool { return v%2 == 0 }, nil)
	all := h.Subscribe(ctx, "", "all", nil, nil)
	for i := range 6 {
		h.Publish(i)
	}
	if got := drain(even, 3); !slices.Equal(got, []int{0, 2, 4}) {
		t.Errorf("even subscriber got %v", got)
	}
	if got := drain(all, 6); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("unfiltered subscriber got %v", got)
	}
}

func TestASlowSubscriberIsDroppedAndTheOthersGoOn(t *testing.T) {
	h := New[int, string](4, nil)
	var told bool
	slow := h.Subscribe(t.Context(), "", "slow", nil, func() { told = true })
	fast := h.Subscribe(t.Context(), "", "fast", nil, nil)
	var got []int
	for i := range 100 {
		h.Publish(i) // never blocks, though slow reads nothing
		got = append(got, <-fast)
	}
	if len(got) != 100 {
		t.Fatalf("fast subscriber got %d of 100", len(got))
	}
	if !told {
		t.Error("the slow subscriber was not told")
	}
	if n := len(drain(slow, 100)); n != 4 {
		t.Errorf("slow subscriber had %d buffered before its channel closed, want 4", n)
	}
	if h.Len() != 1 {
		t.Errorf("%d subscribers, want 1", h.Len())
	}
}

func TestCancelUnsubscribesWithoutLeaks(t *testing.T) {
	h := New[int, string](4, nil)
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	var chans []<-chan int
	for range 1000 {
		ctx, cancel := context.WithCancel(t.Context())
		cancels = append(cancels, cancel)
		chans = append(chans, h.Subscribe(ctx, "", "all", nil, nil))
	}
	if n := runtime.NumGoroutine(); n > before+10 {
		t.Errorf("1000 subscribers run %d goroutines", n-before)
	}
	for _, c := range cancels {
		c()
	}
	for _, ch := range chans {
		select {
		case _, ok := <-ch:
			if ok {
				t.Fatal("a value after cancel")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("channel not closed after cancel")
		}
	}
	if h.Len() != 0 {
		t.Errorf("%d subscribers left", h.Len())
	}
}

func TestPublishAndCancelRace(t *testing.T) {
	h := New[int, string](1, nil)
	var wg sync.WaitGroup
	for range 50 {
		ctx, cancel := context.WithCancel(t.Context())
		ch := h.Subscribe(ctx, "", "all", nil, func() {})
		wg.Go(func() {
			for range ch {
			}
		})
		wg.Go(func() { time.Sleep(time.Millisecond); cancel() })
	}
	for i := range 2000 {
		h.Publish(i)
	}
	wg.Wait()
}

// A value is matched once per distinct filter, and offered only to its
// route's subscribers and those of every route.
func TestFiltersRunOncePerValueAndRoute(t *testing.T) {
	h := New[int, string](8, func(v int) string { return string(rune('a' + v%3)) })
	calls := map[string]int{}
	var mu sync.Mutex
	counted := func(name string, f func(int) bool) func(int) bool {
		return func(v int) bool { mu.Lock(); calls[name]++; mu.Unlock(); return f(v) }
	}
	ctx := t.Context()
	var onA []<-chan int
	for range 1000 { // a thousand subscribers to route a, one filter
		onA = append(onA, h.Subscribe(ctx, "a", "big", counted("a/big", func(v int) bool { return v >= 3 }), nil))
	}
	onB := h.Subscribe(ctx, "b", "big", counted("b/big", func(v int) bool { return v >= 3 }), nil)
	everywhere := h.Subscribe(ctx, "", "odd", counted("any/odd", func(v int) bool { return v%2 == 1 }), nil)
	for v := range 7 { // routes a b c a b c a
		h.Publish(v)
	}
	if calls["a/big"] != 3 || calls["b/big"] != 2 || calls["any/odd"] != 7 {
		t.Fatalf("filter evaluations %v, want a/big 3, b/big 2, any/odd 7", calls)
	}
	for _, ch := range onA {
		if got := drain(ch, 2); !slices.Equal(got, []int{3, 6}) {
			t.Fatalf("route a got %v", got)
		}
	}
	if got := drain(onB, 1); !slices.Equal(got, []int{4}) {
		t.Fatalf("route b got %v", got)
	}
	if got := drain(everywhere, 3); !slices.Equal(got, []int{1, 3, 5}) {
		t.Fatalf("every route got %v", got)
	}
	if h.Groups() != 3 {
		t.Fatalf("%d groups, want 3", h.Groups())
	}
}

func drain(ch <-chan int, max int) []int {
	var out []int
	for len(out) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, v)
		case <-time.After(time.Second):
			return out
		}
	}
	return out
}

// A subscriber by SubscribeFunc takes values as they come; refusing one
// drops it (slow, then done), and removing it ends it (done alone).
func TestSubscribeFuncDeliversAndEnds(t *testing.T) {
	h := New[int, string](4, nil)
	var got []int
	var events []string
	removeFull := h.SubscribeFunc("", "all", nil, func(v int) bool {
		if len(got) == 3 {
			return false // its buffer is full
		}
		got = append(got, v)
		return true
	}, func() { events = append(events, "slow") }, func() { events = append(events, "done") })
	var calmGot []int
	calmDone := 0
	removeCalm := h.SubscribeFunc("", "all", nil, func(v int) bool { calmGot = append(calmGot, v); return true },
		func() { t.Error("slow called on a calm subscriber") }, func() { calmDone++ })
	for i := range 5 {
		h.Publish(i)
	}
	if !slices.Equal(got, []int{0, 1, 2}) || !slices.Equal(events, []string{"slow", "done"}) {
		t.Fatalf("the full subscriber got %v, then %v", got, events)
	}
	if !slices.Equal(calmGot, []int{0, 1, 2, 3, 4}) || h.Len() != 1 {
		t.Fatalf("the calm one got %v; %d subscribers", calmGot, h.Len())
	}
	removeFull() // dropped already: nothing more
	removeCalm()
	removeCalm()
	h.Publish(5)
	if h.Len() != 0 || len(calmGot) != 5 || calmDone != 1 || len(events) != 2 {
		t.Fatalf("after the end: %d subscribers, %v, done %d times, %v", h.Len(), calmGot, calmDone, events)
	}
}
