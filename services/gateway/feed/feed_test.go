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
	h := New[int](16)
	ctx := t.Context()
	even := h.Subscribe(ctx, func(v int) bool { return v%2 == 0 }, nil)
	all := h.Subscribe(ctx, nil, nil)
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
	h := New[int](4)
	var told bool
	slow := h.Subscribe(t.Context(), nil, func() { told = true })
	fast := h.Subscribe(t.Context(), nil, nil)
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
	h := New[int](4)
	before := runtime.NumGoroutine()
	var cancels []context.CancelFunc
	var chans []<-chan int
	for range 1000 {
		ctx, cancel := context.WithCancel(t.Context())
		cancels = append(cancels, cancel)
		chans = append(chans, h.Subscribe(ctx, nil, nil))
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
	h := New[int](1)
	var wg sync.WaitGroup
	for range 50 {
		ctx, cancel := context.WithCancel(t.Context())
		ch := h.Subscribe(ctx, nil, func() {})
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
