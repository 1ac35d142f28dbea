package session

import "sync"

// Revocations holds, per user, the latest revocation of their sessions: a
// session issued at or before it has ended. The gateway fills it from
// session_events (every gateway reads them, so a log-out on one is honoured
// by all) and, at once, from its own log-outs. Safe for concurrent use.
type Revocations struct {
	mu        sync.RWMutex
	at        map[string]int64 // Unix ms, per username
	listeners []func(username string, at int64)
}

// NewRevocations returns an empty set.
func NewRevocations() *Revocations { return &Revocations{at: map[string]int64{}} }

// Revoke ends username's sessions issued at or before at (Unix ms), and
// tells the listeners when that ends more than before.
func (r *Revocations) Revoke(username string, at int64) {
	r.mu.Lock()
	if at <= r.at[username] {
		r.mu.Unlock()
		return
	}
	r.at[username] = at
	listeners := r.listeners
	r.mu.Unlock()
	for _, l := range listeners {
		l(username, at)
	}
}

// Revoked reports whether the subject's session has been revoked.
func (r *Revocations) Revoked(s Subject) bool {
	if s.Employee {
		return false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return s.IssuedAt <= r.at[s.Username]
}

// Listen calls f for every revocation from now on (live connections of
// the user close on it).
func (r *Revocations) Listen(f func(username string, at int64)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, f)
}
