package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/gorilla/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// GraphQL over websockets, our own transport for gqlgen (gqlgen's costs
// four goroutines and about 30 KB per connection with one subscription).
// It speaks graphql-transport-ws (the graphql-ws npm library's protocol)
// and the legacy graphql-ws (subscriptions-transport-ws), which a client
// asking for no subprotocol gets.
//
// Who runs what, per connection:
//   - one goroutine reads (run): it answers the protocol's messages and
//     starts operations; the HTTP handler returns once the connection is
//     upgraded, so neither its goroutine nor net/http's buffers stay;
//   - an operation is started (start) by one of a few goroutines the
//     transport keeps while operations wait to start (starter), which
//     parses, validates and dispatches it through gqlgen; once the
//     resolver has subscribed to the feed, a subscription has no
//     goroutine. The feed hands its events straight to the operation
//     (wsOp.push), which queues them;
//   - one goroutine per connection, started when an event is queued and
//     gone once the queue is empty (flush), marshals them through gqlgen's
//     executor (field selection, the response size limit) and writes them;
//   - one clock for all connections ends a connection whose init does
//     not come in time (or whose session ended), and sends the
//     keep-alives, each on a goroutine of its own while it writes;
//   - writes are serialised by a lock and bounded by a deadline: a client
//     that stops reading for WriteTimeout is dropped.
//
// Operations that do not subscribe to a feed (queries, mutations, streams
// of resolvers that do not use one) are served by gqlgen's executor on a
// goroutine of their own until they end (pull). The connection's reader
// owns every other goroutine of the connection: when it ends it cancels
// them, closes the socket and waits for them (its operations still
// waiting to start are skipped when their turn comes).

// The subprotocols, in the order of preference gqlgen had: a client that
// offers both gets the legacy one.
var wsSubprotocols = []string{legacyProtocol.name, modernProtocol.name}

// wsProtocol names the message types of a subprotocol.
type wsProtocol struct {
	name   string
	legacy bool
	// From the client.
	subscribe, stop string
	// From the server.
	next string
}

var (
	modernProtocol = &wsProtocol{name: "graphql-transport-ws", subscribe: "subscribe", stop: "complete", next: "next"}
	legacyProtocol = &wsProtocol{name: "graphql-ws", legacy: true, subscribe: "start", stop: "stop", next: "data"}
)

// Close codes of graphql-transport-ws (PROTOCOL.md of graphql-ws), on
// which its client decides whether to retry.
const (
	closeBadRequest          = 4400
	closeUnauthorized        = 4401
	closeInitTimeout         = 4408
	closeSubscriberExists    = 4409
	closeTooManyInitRequests = 4429
)

// wsSettings configure the transport.
type wsSettings struct {
	// Init checks a connection_init payload (nil: every one is accepted)
	// and returns the context of the connection's operations; a
	// *wsCloseError it returns names the close code.
	Init wsInitFunc
	// InitTimeout is how long a connection may take to send its init.
	InitTimeout time.Duration
	// KeepAlive is the interval of the legacy protocol's "ka" messages
	// and of graphql-transport-ws pings; a peer that answers no ping for
	// two intervals is dropped. Zero: neither.
	KeepAlive time.Duration
	// WriteTimeout bounds each write: a client that does not read for
	// that long is dropped.
	WriteTimeout time.Duration
	// ReadLimit bounds a message from the client (bytes).
	ReadLimit int64
	// PerSecond is how many messages a client may send a second, twice
	// that at once; a faster one is closed with 1008. Zero: no limit.
	PerSecond int
	// MaxStarting bounds the operations being started at once, over all
	// connections; the others wait their turn in a queue.
	MaxStarting int
	// Marshal is the executor that marshals the events of a group of
	// like subscriptions (newMarshalExecutor; nil: each subscription
	// marshals its own).
	Marshal graphql.GraphExecutor
	// MaxOperations bounds the operations in flight on one connection
	// (starting, running subscriptions, queries); beyond, a new one is
	// refused. The limit of running subscriptions is the resolvers' own
	// (Admit); this one only stops a client from starting operations
	// faster than they can be refused.
	MaxOperations int
}

// wsInitFunc checks the payload of a connection_init.
type wsInitFunc func(ctx context.Context, payload map[string]any) (context.Context, error)

// wsCloseError refuses a connection_init with a close code.
type wsCloseError struct {
	Code   int
	Reason string // the close frame's
	Err    error  // told to legacy clients in connection_error
}

func (e *wsCloseError) Error() string { return e.Err.Error() }
func (e *wsCloseError) Unwrap() error { return e.Err }

// closeWait bounds the write of a close frame, which may wait behind a
// write to a client that does not read.
const closeWait = time.Second

// wsTransport is a gqlgen transport (graphql.Transport) for websockets.
type wsTransport struct {
	wsSettings
	upgrader websocket.Upgrader

	mu     sync.Mutex
	conns  map[*wsConn]struct{}
	closed bool
	wg     sync.WaitGroup // the connections' readers

	startMu    sync.Mutex
	starts     []startJob // waiting to start, in turn
	starters   int        // goroutines starting them
	startersWG sync.WaitGroup

	groupMu sync.Mutex
	groups  map[groupKey]*marshalGroup

	clockRuns bool // guarded by mu
	clockStop chan struct{}
	clockWG   sync.WaitGroup
}

var _ graphql.Transport = (*wsTransport)(nil)

func newWSTransport(s wsSettings) *wsTransport {
	return &wsTransport{wsSettings: s, conns: map[*wsConn]struct{}{}, groups: map[groupKey]*marshalGroup{}, clockStop: make(chan struct{}), upgrader: websocket.Upgrader{
		Subprotocols: wsSubprotocols,
		CheckOrigin:  func(*http.Request) bool { return true }, // checked before: checkOrigin
		// A small read buffer of our own rather than net/http's 4 KiB one:
		// clients send a few small messages, and it is kept as long as the
		// connection. (Messages larger than the buffer are read past it;
		// it must hold a control frame, 125 bytes.)
		ReadBufferSize: 128,
		// Write buffers are lent from one pool while a message is written,
		// so an idle connection holds none.
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
	}}
}

// Supports takes every request that asks for an upgrade, as gqlgen's
// transport did: one that is not a websocket's is refused by Do.
func (t *wsTransport) Supports(r *http.Request) bool { return r.Header.Get("Upgrade") != "" }

// Do upgrades the connection, starts its reader and returns: the
// connection lives on without the HTTP handler.
func (t *wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.mu.Lock()
	closed := t.closed
	t.mu.Unlock()
	if closed {
		http.Error(w, "the gateway is shutting down", http.StatusServiceUnavailable)
		return
	}
	ws, err := t.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	ws.SetReadLimit(t.ReadLimit)
	proto := legacyProtocol
	if ws.Subprotocol() == modernProtocol.name {
		proto = modernProtocol
	}
	// The connection outlives the request, whose context ends when the
	// handler returns; it keeps the request's values (the client's
	// address, a session from an Authorization header). It has no end of
	// its own: teardown ends each operation's, and a context that cannot
	// end costs its children no registration.
	ctx := overWebsocket(context.WithoutCancel(r.Context()))
	c := &wsConn{t: t, ws: ws, exec: exec, proto: proto, ctx: ctx,
		allowance: 2 * float64(t.PerSecond), last: time.Now()}
	if a := admissionOf(r.Context()); a != nil {
		c.release = a.take()
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		c.closeWith(websocket.CloseGoingAway, "the gateway is shutting down")
		if c.release != nil {
			c.release()
		}
		return
	}
	t.conns[c] = struct{}{}
	t.wg.Add(1)
	if t.InitTimeout > 0 {
		c.mu.Lock()
		c.initBy = time.Now().Add(t.InitTimeout)
		c.setDue()
		c.mu.Unlock()
	}
	t.runClock()
	t.mu.Unlock()
	if h := holderOf(r.Context()); h != nil {
		h.set(c) // so a revoked session can close it
	}
	go c.run()
}

// runClock starts the clock unless it runs; t.mu is held.
func (t *wsTransport) runClock() {
	if t.clockRuns || t.closed {
		return
	}
	t.clockRuns = true
	t.clockWG.Add(1)
	go t.clock(t.clockPeriod())
}

// clockPeriod is how often the clock looks: a second, or finer for short
// timeouts (tests).
func (t *wsTransport) clockPeriod() time.Duration {
	p := time.Second
	for _, d := range []time.Duration{t.InitTimeout, t.KeepAlive} {
		if d > 0 {
			p = min(p, d/2)
		}
	}
	return max(p, 10*time.Millisecond)
}

// clock is the connections' one timer: it runs while there are
// connections, and gives each that has something due (its init timeout,
// a keep-alive, its session's end) a tick on a goroutine of its own. Per
// connection it costs a deadline rather than two runtime timers.
func (t *wsTransport) clock(period time.Duration) {
	defer t.clockWG.Done()
	tk := time.NewTicker(period)
	defer tk.Stop()
	var due []*wsConn
	for {
		select {
		case <-t.clockStop:
			return
		case now := <-tk.C:
			t.mu.Lock()
			if len(t.conns) == 0 {
				t.clockRuns = false
				t.mu.Unlock()
				return
			}
			for c := range t.conns {
				if d := c.due.Load(); d != 0 && now.UnixNano() >= d {
					due = append(due, c)
				}
			}
			t.mu.Unlock()
			for i, c := range due {
				if c.enter() {
					go c.tick(now)
				}
				due[i] = nil
			}
			due = due[:0]
		}
	}
}

// Close closes every connection (1001, going away) and waits for their
// goroutines; no connection is accepted after.
func (t *wsTransport) Close() {
	t.mu.Lock()
	if !t.closed {
		close(t.clockStop)
	}
	t.closed = true
	conns := make([]*wsConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.closeWith(websocket.CloseGoingAway, "the gateway is shutting down")
	}
	t.wg.Wait()
	t.startersWG.Wait()
	t.clockWG.Wait()
}

// Len returns the number of open connections.
func (t *wsTransport) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

func (t *wsTransport) forget(c *wsConn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// wsConn is one websocket connection.
type wsConn struct {
	t     *wsTransport
	ws    *websocket.Conn
	exec  graphql.GraphExecutor
	proto *wsProtocol
	// release gives the connection's place back to the client limits
	// (nil: none was taken).
	release func()
	// ctx is the context of the connection's operations: the request's
	// values, and the session's once init accepted it. Only the reader
	// sets it, before it starts any operation.
	ctx context.Context

	// closing is set once a close frame is sent or the socket is closed:
	// nothing is written after.
	closing atomic.Bool
	wmu     sync.Mutex // one writer at a time

	mu          sync.Mutex
	ended       bool // torn down: no goroutine starts after
	initialised bool
	ops         []*wsOp // running, by id
	ready       []*wsOp // live operations with something to do, in turn
	flushing    bool    // a flush goroutine runs
	// When something is due, for the transport's clock: the init by
	// initBy, a keep-alive at nextPing, the session's end at expires
	// (zero: none); due is the first of them (Unix ns; 0: none).
	initBy, nextPing, expires time.Time
	due                       atomic.Int64
	pingSent                  time.Time // the oldest ping not answered; zero for none
	closers                   []func()  // whenClosed's
	wg                        sync.WaitGroup

	// The token bucket of the client's messages; the reader's alone.
	allowance float64
	last      time.Time
}

// wsIncoming is a message from the client.
type wsIncoming struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// wsMessage is a message to the client, encoded as gqlgen's transport
// encoded it (gorilla's WriteJSON: the payload compacted, HTML characters
// escaped, a newline after).
type wsMessage struct {
	Payload json.RawMessage `json:"payload,omitempty"`
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
}

// errFlood ends a connection whose client sends messages too fast.
var errFlood = errors.New("websocket client sent messages too fast")

// run is the connection's reader. It waits for each message with as
// little of its own on the stack as can be: the runtime halves an idle
// goroutine's stack at a collection only while it uses under a quarter
// of it (with 800 bytes to spare), and the wait in gorilla and net takes
// about 1.1 KiB. So a reader whose stack grew to 8 KiB answering a
// message (an init checking a session) falls back to 4 KiB; with a few
// hundred bytes more in run's frame it would keep 8.
func (c *wsConn) run() {
	for {
		kind, r, err := c.ws.NextReader()
		if !c.serve(kind, r, err) {
			break
		}
	}
	c.teardown()
	c.t.wg.Done()
}

// serve reads and answers a message; false ends the connection.
//
//go:noinline (its locals stay out of run's frame)
func (c *wsConn) serve(kind int, r io.Reader, err error) bool {
	if err == nil && c.t.PerSecond > 0 && !c.allow() {
		err = errFlood
	}
	var data []byte
	if err == nil {
		data, err = io.ReadAll(r)
	}
	if err != nil {
		c.readFailed(err)
		return false
	}
	read := graphql.TraceTiming{Start: graphql.Now(), End: graphql.Now()}
	if kind != websocket.TextMessage {
		c.protocolError(closeBadRequest, websocket.CloseUnsupportedData, "binary messages are not supported")
		return false
	}
	var m wsIncoming
	if err := json.Unmarshal(data, &m); err != nil {
		c.invalid("invalid json", "decoding error")
		return false
	}
	return c.handle(&m, read)
}

// allow takes a message from the bucket.
func (c *wsConn) allow() bool {
	now := time.Now()
	perSecond := float64(c.t.PerSecond)
	c.allowance = min(2*perSecond, c.allowance+now.Sub(c.last).Seconds()*perSecond)
	c.last = now
	if c.allowance < 1 {
		return false
	}
	c.allowance--
	return true
}

// readFailed ends the connection after a failed read.
func (c *wsConn) readFailed(err error) {
	switch {
	case errors.Is(err, errFlood):
		c.closeFrame(websocket.ClosePolicyViolation, fmt.Sprintf("too many messages: at most %d a second", c.t.PerSecond))
		// Read on until the client answers the close (for a second at
		// most): closing with its messages unread would reset the
		// connection, and the client might never see why.
		_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
		for {
			if _, _, err := c.ws.NextReader(); err != nil {
				break
			}
		}
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has sent 1009 already; this one says why.
		c.closeWith(websocket.CloseMessageTooBig, "message too big")
	}
	// Otherwise the client closed (gorilla answered its close frame), the
	// connection broke, or it was closed here: teardown closes the rest.
}

// handle answers a message; false ends the connection.
func (c *wsConn) handle(m *wsIncoming, read graphql.TraceTiming) bool {
	c.mu.Lock()
	initialised := c.initialised
	c.mu.Unlock()
	p := c.proto
	switch {
	case m.Type == "connection_init":
		if initialised {
			c.refuse(closeTooManyInitRequests, "Too many initialisation requests", m.Type)
			return false
		}
		return c.init(m.Payload)
	case m.Type == p.subscribe || m.Type == p.stop:
		switch {
		case !initialised:
			c.refuse(closeUnauthorized, "Unauthorized", m.Type)
			return false
		case m.ID == "":
			c.invalid(m.Type+" without an id", "invalid message")
			return false
		case m.Type == p.stop:
			c.stop(m.ID)
			return true
		}
		return c.subscribe(m.ID, m.Payload, read)
	case p.legacy && m.Type == "connection_terminate":
		c.closeWith(websocket.CloseNormalClosure, "terminated")
		return false
	case !p.legacy && m.Type == "ping":
		c.write(wsMessage{Type: "pong", Payload: m.Payload})
		return true
	case !p.legacy && m.Type == "pong":
		c.mu.Lock()
		c.pingSent = time.Time{}
		c.mu.Unlock()
		return true
	}
	c.invalid(fmt.Sprintf("unexpected message %.40q", m.Type), "unexpected message")
	return false
}

// refuse ends the connection after a message of type typ that is not
// allowed now: with code and why on graphql-transport-ws, as an unexpected
// message on the legacy protocol.
func (c *wsConn) refuse(code int, why, typ string) {
	if c.proto.legacy {
		c.invalid("unexpected message "+typ, "unexpected message")
		return
	}
	c.closeWith(code, why)
}

// invalid ends the connection after a message that breaks the protocol:
// with 4400 on graphql-transport-ws; on the legacy protocol with a
// connection_error saying why and 1002, as gqlgen's transport did.
func (c *wsConn) invalid(why, reason string) {
	c.protocolError(closeBadRequest, websocket.CloseProtocolError, why, reason)
}

// protocolError closes with modern on graphql-transport-ws, with legacy
// after a connection_error on the legacy protocol. The close frame's
// reason is why, or reason[0] on the legacy protocol when given.
func (c *wsConn) protocolError(modern, legacy int, why string, reason ...string) {
	if !c.proto.legacy {
		c.closeWith(modern, why)
		return
	}
	c.connectionError(why)
	if len(reason) > 0 {
		why = reason[0]
	}
	c.closeWith(legacy, why)
}

// connectionError sends the legacy protocol's connection_error.
func (c *wsConn) connectionError(message string) {
	if !c.proto.legacy {
		return // graphql-transport-ws has none: the close frame says it
	}
	b, _ := json.Marshal(&gqlerror.Error{Message: message})
	c.write(wsMessage{Type: "connection_error", Payload: b})
}

// init accepts the connection_init, or closes.
func (c *wsConn) init(payload json.RawMessage) bool {
	var p map[string]any
	if len(payload) > 0 {
		if err := json.Unmarshal(payload, &p); err != nil {
			c.invalid("connection_init payload must be an object", "invalid payload")
			return false
		}
	}
	if c.t.Init != nil {
		ctx, err := c.t.Init(c.ctx, p)
		if err != nil {
			code, reason := websocket.CloseNormalClosure, "terminated"
			if ce, ok := errors.AsType[*wsCloseError](err); ok {
				code, reason = ce.Code, ce.Reason
			}
			c.connectionError(err.Error())
			c.closeWith(code, reason)
			return false
		}
		c.ctx = ctx
	}
	c.mu.Lock()
	c.initialised = true
	c.initBy = time.Time{}
	if c.t.KeepAlive > 0 {
		c.nextPing = time.Now().Add(c.t.KeepAlive)
	}
	c.setDue()
	c.mu.Unlock()
	c.write(wsMessage{Type: "connection_ack"})
	if c.proto.legacy {
		c.write(wsMessage{Type: "ka"}) // at once, as gqlgen's transport did
	}
	return true
}

// setDue sets due to the first of the connection's deadlines; c.mu is
// held.
func (c *wsConn) setDue() {
	var first time.Time
	for _, t := range []time.Time{c.initBy, c.nextPing, c.expires} {
		if !t.IsZero() && (first.IsZero() || t.Before(first)) {
			first = t
		}
	}
	if first.IsZero() {
		c.due.Store(0)
		return
	}
	c.due.Store(first.UnixNano())
}

// expireAt ends the connection with 4401 at t, when its session expires.
func (c *wsConn) expireAt(t time.Time) {
	c.mu.Lock()
	c.expires = t
	c.setDue()
	c.mu.Unlock()
}

// tick does what is due at now (the clock calls it, counted in): the end
// of the session, the init timeout, a keep-alive (and the end of a peer
// that answered no ping for two intervals).
func (c *wsConn) tick(now time.Time) {
	defer c.wg.Done()
	c.mu.Lock()
	expired := !c.expires.IsZero() && !now.Before(c.expires)
	late := !c.initialised && !c.initBy.IsZero() && !now.Before(c.initBy)
	ping := c.initialised && !c.nextPing.IsZero() && !now.Before(c.nextPing)
	if expired {
		c.expires = time.Time{} // once
	}
	if late {
		c.initBy = time.Time{}
	}
	dead := false
	if ping {
		c.nextPing = now.Add(c.t.KeepAlive)
		if !c.proto.legacy {
			dead = !c.pingSent.IsZero() && now.Sub(c.pingSent) >= 2*c.t.KeepAlive
			if c.pingSent.IsZero() {
				c.pingSent = now
			}
		}
	}
	c.setDue()
	c.mu.Unlock()
	switch {
	case expired:
		c.closeWith(closeUnauthorized, "session expired")
	case late:
		c.protocolError(closeInitTimeout, websocket.CloseProtocolError, "Connection initialisation timeout", "connection initialisation timeout")
	case dead:
		c.closeWith(websocket.CloseNormalClosure, "no pong")
	case ping && c.proto.legacy:
		c.write(wsMessage{Type: "ka"})
	case ping:
		c.write(wsMessage{Type: "ping"})
	}
}

// enter counts a goroutine of the connection in, unless it is torn down.
func (c *wsConn) enter() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false
	}
	c.wg.Add(1)
	return true
}

// write sends a message; false if it was not sent. A failed write (the
// deadline passed, the connection broke) closes the connection.
func (c *wsConn) write(m wsMessage) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return false
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.t.WriteTimeout))
	if err := c.ws.WriteJSON(&m); err != nil {
		c.closing.Store(true)
		_ = c.ws.Close() // the reader sees it and tears down
		return false
	}
	return true
}

// writeRaw sends a message made of parts, as write does.
func (c *wsConn) writeRaw(parts ...[]byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closing.Load() {
		return false
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.t.WriteTimeout))
	w, err := c.ws.NextWriter(websocket.TextMessage)
	for _, p := range parts {
		if err == nil {
			_, err = w.Write(p)
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		c.closing.Store(true)
		_ = c.ws.Close()
		return false
	}
	return true
}

// closeWith sends a close frame of code and reason and closes the socket;
// the reader then tears the connection down.
func (c *wsConn) closeWith(code int, reason string) {
	if c.closeFrame(code, reason) {
		_ = c.ws.Close()
	}
}

// closeFrame sends a close frame, unless a close is already under way; it
// returns whether it was this one.
func (c *wsConn) closeFrame(code int, reason string) bool {
	if !c.closing.CompareAndSwap(false, true) {
		return false
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, truncate(reason, 123)), time.Now().Add(closeWait))
	return true
}

// truncate cuts s to at most n bytes on a character boundary (a close
// frame's reason has room for 123).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// teardown ends the connection once its reader stops: every operation is
// cancelled, the socket closed, and the connection's goroutines waited
// for.
func (c *wsConn) teardown() {
	c.closing.Store(true)
	c.mu.Lock()
	c.ended = true
	c.ready = nil
	c.due.Store(0)
	ops := slices.Clone(c.ops)
	c.mu.Unlock()
	for _, op := range ops {
		op.cancel()
	}
	_ = c.ws.Close()
	c.wg.Wait()
	// Nothing of the connection runs now: its operations' cleanups (their
	// feeds, limits, groups) are all registered.
	c.mu.Lock()
	ops = c.ops
	c.ops = nil
	c.mu.Unlock()
	for _, op := range ops {
		op.cleanup()
	}
	c.mu.Lock()
	closers := c.closers
	c.closers = nil
	c.mu.Unlock()
	for _, f := range closers {
		f()
	}
	if c.release != nil {
		c.release()
	}
	c.t.forget(c)
}

// whenClosed calls f once the connection has ended (at once if it has):
// the connection's context does not end.
func (c *wsConn) whenClosed(f func()) {
	c.mu.Lock()
	if c.ended && c.closers == nil {
		c.mu.Unlock()
		f()
		return
	}
	c.closers = append(c.closers, f)
	c.mu.Unlock()
}
