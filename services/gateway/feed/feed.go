// Package feed fans a stream of values out to many subscribers, each with
// its own filter and a bounded buffer. Publishing never blocks: a subscriber
// that falls a whole buffer behind is dropped (told why, then its channel
// closes), so one slow reader cannot hold up the others.
package feed

import (
	"context"
	"sync"
)

// Hub is a fan-out point. The gateway has one for the live transactions.
type Hub[T any] struct {
	buffer int

	mu   sync.RWMutex
	subs map[*sub[T]]struct{}
}

type sub[T any] struct {
	ch    chan T
	match func(T) bool
	slow  func()
}

// New returns a hub whose subscribers each buffer up to buffer values.
func New[T any](buffer int) *Hub[T] {
	return &Hub[T]{buffer: max(buffer, 1), subs: map[*sub[T]]struct{}{}}
}

// Subscribe returns the values published from now on that match (all when
// match is nil). The channel closes when ctx ends, or after slow was called
// because the subscriber fell a full buffer behind. Values are shared
// between subscribers: treat them as read-only.
func (h *Hub[T]) Subscribe(ctx context.Context, match func(T) bool, slow func()) <-chan T {
	s := &sub[T]{ch: make(chan T, h.buffer), match: match, slow: slow}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	// No goroutine per subscriber: unsubscribing runs when ctx ends.
	context.AfterFunc(ctx, func() { h.remove(s, nil) })
	return s.ch
}

// Publish hands v to every subscriber it matches, without waiting.
func (h *Hub[T]) Publish(v T) {
	var behind []*sub[T]
	h.mu.RLock()
	for s := range h.subs {
		if s.match != nil && !s.match(v) {
			continue
		}
		select {
		case s.ch <- v:
		default:
			behind = append(behind, s)
		}
	}
	h.mu.RUnlock()
	for _, s := range behind {
		h.remove(s, s.slow)
	}
}

// remove unsubscribes s, calls before (if s was still subscribed) and closes
// its channel, so the subscriber learns why before it sees the close.
func (h *Hub[T]) remove(s *sub[T], before func()) {
	h.mu.Lock()
	_, ok := h.subs[s]
	delete(h.subs, s)
	h.mu.Unlock()
	if !ok {
		return
	}
	// Unlocked: once out of the map no Publish sends to s.
	if before != nil {
		before()
	}
	close(s.ch)
}

// Len returns the number of subscribers.
func (h *Hub[T]) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}
