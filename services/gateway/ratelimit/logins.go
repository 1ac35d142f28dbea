package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Logins limits log-in attempts so that guessing passwords is slow, while
// the owner of a username under attack can still log in:
//
//   - each client address has PerClient attempts a minute, across all
//     usernames (guessing many users' passwords);
//   - each username has PerUser attempts a minute from each client;
//   - each username has PerUser attempts a minute from all clients
//     together; beyond that, attempts are not refused but slowed: they
//     queue for the username and run one at a time, Pace apart. A user
//     under attack from elsewhere waits a moment rather than being locked
//     out of their own password.
//
// An attempt takes its tries before the password is checked, so attempts
// in flight count (a burst of parallel requests gets no more than the
// limit); a successful one gives them back.
type Logins struct {
	perClient, perPair, perUser *Limiter
	pace                        time.Duration

	mu    sync.Mutex
	lanes map[string]*lane // slowed usernames
}

type lane struct {
	turn  chan struct{} // holds one token: whose turn it is
	users int           // attempts holding or waiting for it
}

// NewLogins returns log-in limits: perClient attempts a minute per client
// address, perUser per username (from one client, and from all), and
// attempts beyond that for a username slowed to one per pace.
func NewLogins(perClient, perUser int, pace time.Duration) *Logins {
	return &Logins{perClient: New(perClient), perPair: New(perUser), perUser: New(perUser), pace: pace,
		lanes: map[string]*lane{}}
}

// Begin reserves an attempt of username (empty for an employee, who is
// limited per client only) from client. It returns done, to call with
// whether the password was right, or how long to wait before trying again.
// A slowed attempt waits here, until its turn or until ctx ends.
func (l *Logins) Begin(ctx context.Context, username, client string) (done func(ok bool), retry time.Duration) {
	if wait := l.perClient.Take(client); wait > 0 {
		return nil, wait
	}
	if username == "" {
		return func(ok bool) {
			if ok {
				l.perClient.Give(client)
			}
		}, 0
	}
	pair := username + "\x00" + client
	if wait := l.perPair.Take(pair); wait > 0 {
		l.perClient.Give(client) // refused before any password was checked
		return nil, wait
	}
	free := l.perUser.Take(username) == 0
	var release func()
	if !free {
		var err error
		if release, err = l.slow(ctx, username); err != nil {
			return nil, l.pace
		}
	}
	return func(ok bool) {
		if ok {
			l.perClient.Give(client)
			l.perPair.Give(pair)
			if free {
				l.perUser.Give(username)
			}
		}
		if release != nil {
			release()
		}
	}, 0
}

// slow waits for username's turn and then pace: attempts beyond the free
// ones run one at a time. The returned release ends the turn.
func (l *Logins) slow(ctx context.Context, username string) (release func(), err error) {
	l.mu.Lock()
	ln := l.lanes[username]
	if ln == nil {
		ln = &lane{turn: make(chan struct{}, 1)}
		ln.turn <- struct{}{}
		l.lanes[username] = ln
	}
	ln.users++
	l.mu.Unlock()
	leave := func() {
		l.mu.Lock()
		if ln.users--; ln.users == 0 {
			delete(l.lanes, username)
		}
		l.mu.Unlock()
	}
	select {
	case <-ln.turn:
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
	t := time.NewTimer(l.pace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		ln.turn <- struct{}{}
		leave()
		return nil, ctx.Err()
	}
	return func() { ln.turn <- struct{}{}; leave() }, nil
}

// Slowed returns how many usernames are being slowed now.
func (l *Logins) Slowed() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lanes)
}
