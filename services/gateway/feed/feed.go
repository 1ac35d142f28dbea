// Package feed fans a stream of values out to many subscribers, each with
// its own filter and a bounded buffer. Publishing never blocks: a subscriber
// that falls a whole buffer behind is dropped (told why, then its channel
// closes), so one slow reader cannot hold up the others.
//
// Subscribers are grouped by route (the account a value belongs to, say)
// and by filter: a value is offered only to the groups of its route and
// those of every route, and each distinct filter is evaluated once per
// value, however many subscribers share it. Ten thousand subscribers to
// one account's credits cost one filter check per transaction.
package feed

import (
	"context"
	"sync"
)

// Hub is a fan-out point for values of type T whose subscribers filter
// with keys of type K (a comparable description of the filter).
type Hub[T any, K comparable] struct {
	buffer int
	route  func(T) string

	mu     sync.RWMutex
	routes map[string]map[K]*group[T] // "" holds the groups of every route
	n      int
}

type group[T any] struct {
	match func(T) bool
	subs  map[*sub[T]]struct{}
}

type sub[T any] struct {
	ch    chan T
	slow  func()
	route string
	// A subscriber by SubscribeFunc has no channel: deliver takes each
	// value, done ends it.
	deliver func(T) bool
	done    func()
}

// New returns a hub whose subscribers each buffer up to buffer values;
// route names the route of a value (nil: every value has route "").
func New[T any, K comparable](buffer int, route func(T) string) *Hub[T, K] {
	if route == nil {
		route = func(T) string { return "" }
	}
	return &Hub[T, K]{buffer: max(buffer, 1), route: route, routes: map[string]map[K]*group[T]{}}
}

// Subscribe returns the values published from now on whose route is route
// (any, for "") and that match (all, when match is nil). Subscribers with
// the same route and key share one evaluation of match: equal keys must
// mean equal filters. The channel closes when ctx ends, or after slow was
// called because the subscriber fell a full buffer behind. Values are
// shared between subscribers: treat them as read-only.
func (h *Hub[T, K]) Subscribe(ctx context.Context, route string, key K, match func(T) bool, slow func()) <-chan T {
	s := &sub[T]{ch: make(chan T, h.buffer), slow: slow, route: route}
	h.add(s, key, match)
	// No goroutine per subscriber: unsubscribing runs when ctx ends.
	context.AfterFunc(ctx, func() { h.remove(s, key, nil) })
	return s.ch
}

// SubscribeFunc is Subscribe for a subscriber that keeps its own buffer
// and says itself when it ends: deliver is handed each value as it is
// published (with the hub locked for reading: it must not block, nor
// call the hub; several publishers may call it at once) and reports
// whether it took it; refusing one drops the subscriber, as a full buffer
// does (slow is called). It lasts until remove is called. done is called
// once, when the subscriber is dropped or removed, after slow if it fell
// behind; no value is delivered after.
func (h *Hub[T, K]) SubscribeFunc(route string, key K, match func(T) bool, deliver func(T) bool, slow, done func()) (remove func()) {
	s := &sub[T]{slow: slow, route: route, deliver: deliver, done: done}
	h.add(s, key, match)
	return func() { h.remove(s, key, nil) }
}

// add subscribes s.
func (h *Hub[T, K]) add(s *sub[T], key K, match func(T) bool) {
	route := s.route
	h.mu.Lock()
	groups := h.routes[route]
	if groups == nil {
		groups = map[K]*group[T]{}
		h.routes[route] = groups
	}
	g := groups[key]
	if g == nil {
		g = &group[T]{match: match, subs: map[*sub[T]]struct{}{}}
		groups[key] = g
	}
	g.subs[s] = struct{}{}
	h.n++
	h.mu.Unlock()
}

// Publish hands v to every subscriber it matches, without waiting.
func (h *Hub[T, K]) Publish(v T) {
	type behind struct {
		s   *sub[T]
		key K
	}
	var late []behind
	route := h.route(v)
	h.mu.RLock()
	for _, r := range []string{route, ""} {
		for key, g := range h.routes[r] {
			if g.match != nil && !g.match(v) {
				continue
			}
			for s := range g.subs {
				if s.deliver != nil {
					if !s.deliver(v) {
						late = append(late, behind{s, key})
					}
					continue
				}
				select {
				case s.ch <- v:
				default:
					late = append(late, behind{s, key})
				}
			}
		}
		if route == "" {
			break
		}
	}
	h.mu.RUnlock()
	for _, b := range late {
		h.remove(b.s, b.key, b.s.slow)
	}
}

// remove unsubscribes s, calls before (if s was still subscribed) and closes
// its channel (or calls its done), so the subscriber learns why before it
// sees the end.
func (h *Hub[T, K]) remove(s *sub[T], key K, before func()) {
	h.mu.Lock()
	g := h.routes[s.route][key]
	ok := false
	if g != nil {
		_, ok = g.subs[s]
	}
	if ok {
		delete(g.subs, s)
		h.n--
		if len(g.subs) == 0 {
			delete(h.routes[s.route], key)
			if len(h.routes[s.route]) == 0 {
				delete(h.routes, s.route)
			}
		}
	}
	h.mu.Unlock()
	if !ok {
		return
	}
	// Unlocked: once out of the map no Publish sends to s.
	if before != nil {
		before()
	}
	if s.done != nil {
		s.done()
		return
	}
	close(s.ch)
}

// Len returns the number of subscribers.
func (h *Hub[T, K]) Len() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.n
}

// Groups returns the number of distinct (route, filter) groups: what a
// value published to every route may cost.
func (h *Hub[T, K]) Groups() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, gs := range h.routes {
		n += len(gs)
	}
	return n
}
