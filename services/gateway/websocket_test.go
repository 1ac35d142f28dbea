package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/services/gateway/session"
)

// The transport against clients that do not follow the protocols: every
// message out of turn, malformed or unknown ends the connection with the
// protocol's close code, and nothing is left running after.

// wsFixture is a GraphQL server with the transport over a live feed.
type wsFixture struct {
	url  string
	live LiveFeed
	ws   *wsTransport
}

func newWSFixture(t testing.TB, configure func(*wsSettings)) *wsFixture {
	t.Helper()
	live := NewLiveFeed()
	return newWSFixtureOf(t, live, &graph.Resolver{Live: live, Admit: AdmitSubscriptions(100, nil)}, configure)
}

func newWSFixtureOf(t testing.TB, live LiveFeed, resolver *graph.Resolver, configure func(*wsSettings)) *wsFixture {
	t.Helper()
	cfg := Config{MaxDepth: 10, MaxComplexity: 1000}
	s := wsSettings{InitTimeout: 10 * time.Second, KeepAlive: time.Hour, WriteTimeout: 10 * time.Second,
		ReadLimit: 4096, PerSecond: 1000, MaxOperations: 8, MaxStarting: 4, Marshal: newMarshalExecutor(cfg)}
	if configure != nil {
		configure(&s)
	}
	ws := newWSTransport(s)
	srv := httptest.NewServer(newServerWith(resolver, cfg, ws))
	t.Cleanup(func() { srv.Close(); ws.Close() })
	return &wsFixture{url: "ws" + strings.TrimPrefix(srv.URL, "http"), live: live, ws: ws}
}

// peer is a client that sends what it is told to, by hand.
type peer struct {
	t    *testing.T
	conn *websocket.Conn
}

func (f *wsFixture) dial(t *testing.T, protocol string) *peer {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	if protocol != "" {
		d.Subprotocols = []string{protocol}
	}
	conn, _, err := d.Dial(f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &peer{t: t, conn: conn}
}

func (p *peer) send(msg string) {
	p.t.Helper()
	if err := p.conn.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		p.t.Fatalf("send %s: %v", msg, err)
	}
}

// next reads a message; ka messages are skipped.
func (p *peer) next() map[string]any {
	p.t.Helper()
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, b, err := p.conn.ReadMessage()
		if err != nil {
			p.t.Fatalf("no message: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			p.t.Fatalf("not JSON: %q", b)
		}
		if m["type"] != "ka" {
			return m
		}
	}
}

func (p *peer) expect(typ string) map[string]any {
	p.t.Helper()
	m := p.next()
	if m["type"] != typ {
		p.t.Fatalf("got %v, want a %s message", m, typ)
	}
	return m
}

// closed reads until the connection closes and returns its close frame's
// code and reason, and what came before it.
func (p *peer) closed() (int, string, []map[string]any) {
	p.t.Helper()
	var before []map[string]any
	for {
		_ = p.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, b, err := p.conn.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				p.t.Fatalf("the connection ended without a close frame: %v (after %v)", err, before)
			}
			return ce.Code, ce.Text, before
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if m["type"] != "ka" {
			before = append(before, m)
		}
	}
}

// wantClose checks the close frame, and that nothing else came first
// (but a legacy connection_error, checked by wantError).
func (p *peer) wantClose(code int, reason, wantError string) {
	p.t.Helper()
	got, text, before := p.closed()
	if got != code || text != reason {
		p.t.Errorf("closed with %d %q, want %d %q", got, text, code, reason)
	}
	switch {
	case wantError == "" && len(before) > 0:
		p.t.Errorf("before the close: %v", before)
	case wantError != "" && (len(before) != 1 || before[0]["type"] != "connection_error" ||
		before[0]["payload"].(map[string]any)["message"] != wantError):
		p.t.Errorf("before the close: %v, want connection_error %q", before, wantError)
	}
}

const streamCompany = `{"query":"subscription { stream_transactions(iban: \"NL66OPEN0000000000\") { id } }"}`

func subscribeMsg(protocol, id string) string {
	typ := "subscribe"
	if protocol == "graphql-ws" {
		typ = "start"
	}
	return fmt.Sprintf(`{"id":%q,"type":%q,"payload":%s}`, id, typ, streamCompany)
}

func TestModernProtocolViolationsCloseTheConnection(t *testing.T) {
	const proto = "graphql-transport-ws"
	f := newWSFixture(t, nil)
	f.violate(t, proto, []violation{
		{name: "an unknown message type", init: true, send: []string{`{"type":"subscribe_all"}`}, code: 4400, reason: `unexpected message "subscribe_all"`},
		{name: "a server's message", init: true, send: []string{`{"id":"1","type":"next","payload":{}}`}, code: 4400, reason: `unexpected message "next"`},
		{name: "no type", init: true, send: []string{`{"id":"1"}`}, code: 4400, reason: `unexpected message ""`},
		{name: "not JSON", init: true, send: []string{`{"type":`}, code: 4400, reason: "invalid json"},
		{name: "JSON but not an object", init: true, send: []string{`["subscribe"]`}, code: 4400, reason: "invalid json"},
		{name: "an id of another type", init: true, send: []string{`{"id":1,"type":"subscribe","payload":{}}`}, code: 4400, reason: "invalid json"},
		{name: "a binary message", init: true, binary: true, code: 4400, reason: "binary messages are not supported"},
		{name: "subscribe before init", send: []string{subscribeMsg(proto, "1")}, code: 4401, reason: "Unauthorized"},
		{name: "complete before init", send: []string{`{"id":"1","type":"complete"}`}, code: 4401, reason: "Unauthorized"},
		{name: "two inits", init: true, send: []string{`{"type":"connection_init"}`}, code: 4429, reason: "Too many initialisation requests"},
		{name: "an init payload that is no object", send: []string{`{"type":"connection_init","payload":[1]}`}, code: 4400, reason: "connection_init payload must be an object"},
		{name: "subscribe without an id", init: true, send: []string{`{"type":"subscribe","payload":{"query":"{ __typename }"}}`}, code: 4400, reason: "subscribe without an id"},
		{name: "the same id twice", init: true, send: []string{subscribeMsg(proto, "a"), subscribeMsg(proto, "a")}, code: 4409, reason: "Subscriber for a already exists"},
		{name: "a long id twice", init: true, send: []string{subscribeMsg(proto, strings.Repeat("é", 100)), subscribeMsg(proto, strings.Repeat("é", 100))},
			code: 4409, reason: truncate("Subscriber for "+strings.Repeat("é", 100)+" already exists", 123)},
		{name: "connection_terminate, which is the legacy protocol's", init: true, send: []string{`{"type":"connection_terminate"}`}, code: 4400, reason: `unexpected message "connection_terminate"`},
		{name: "a message over the size limit", init: true, send: []string{`{"type":"ping","payload":"` + strings.Repeat("x", 5000) + `"}`}, code: 1009, reason: ""},
	})
}

func TestLegacyProtocolViolationsCloseTheConnection(t *testing.T) {
	const proto = "graphql-ws"
	f := newWSFixture(t, nil)
	f.violate(t, proto, []violation{
		{name: "an unknown message type", init: true, send: []string{`{"type":"subscribe"}`}, code: 1002, reason: "unexpected message", error: `unexpected message "subscribe"`},
		{name: "a server's message", init: true, send: []string{`{"type":"ka"}`}, code: 1002, reason: "unexpected message", error: `unexpected message "ka"`},
		{name: "graphql-transport-ws's ping", init: true, send: []string{`{"type":"ping"}`}, code: 1002, reason: "unexpected message", error: `unexpected message "ping"`},
		{name: "not JSON", init: true, send: []string{`}`}, code: 1002, reason: "decoding error", error: "invalid json"},
		{name: "a binary message", init: true, binary: true, code: 1003, reason: "binary messages are not supported", error: "binary messages are not supported"},
		{name: "start before init", send: []string{subscribeMsg(proto, "1")}, code: 1002, reason: "unexpected message", error: "unexpected message start"},
		{name: "stop before init", send: []string{`{"id":"1","type":"stop"}`}, code: 1002, reason: "unexpected message", error: "unexpected message stop"},
		{name: "two inits", init: true, send: []string{`{"type":"connection_init"}`}, code: 1002, reason: "unexpected message", error: "unexpected message connection_init"},
		{name: "start without an id", init: true, send: []string{`{"type":"start","payload":{"query":"{ __typename }"}}`}, code: 1002, reason: "invalid message", error: "start without an id"},
		{name: "connection_terminate", init: true, send: []string{`{"type":"connection_terminate"}`}, code: 1000, reason: "terminated"},
		{name: "connection_terminate before init", send: []string{`{"type":"connection_terminate"}`}, code: 1000, reason: "terminated"},
		{name: "a message over the size limit", init: true, send: []string{`{"type":"start","id":"1","payload":"` + strings.Repeat("x", 5000) + `"}`}, code: 1009, reason: ""},
	})
}

// violation is a message (or a few) that breaks a protocol, and the close
// it gets: code, the frame's reason, and on the legacy protocol the
// connection_error before it.
type violation struct {
	name          string
	init          bool
	send          []string
	binary        bool
	code          int
	reason, error string
}

// violate sends each violation on a connection of its own and checks its
// close; then no connection may be left.
func (f *wsFixture) violate(t *testing.T, proto string, cases []violation) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := f.dial(t, proto)
			if tc.init {
				p.send(`{"type":"connection_init"}`)
				p.expect("connection_ack")
			}
			for _, m := range tc.send {
				p.send(m)
			}
			if tc.binary {
				_ = p.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
			}
			p.wantClose(tc.code, tc.reason, tc.error)
		})
	}
	waitUntil(t, "every connection to end", func() bool { return f.ws.Len() == 0 && f.live.Len() == 0 })
}

// A client asking for no subprotocol, or only ones the gateway does not
// speak, gets the legacy one; one offering both gets the legacy one too,
// as with gqlgen's transport.
func TestSubprotocolNegotiation(t *testing.T) {
	f := newWSFixture(t, nil)
	for _, offered := range [][]string{nil, {"mqtt"}, {"graphql-transport-ws", "graphql-ws"}} {
		d := websocket.Dialer{Subprotocols: offered, HandshakeTimeout: 5 * time.Second}
		conn, res, err := d.Dial(f.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := &peer{t: t, conn: conn}
		p.send(`{"type":"connection_init"}`)
		p.expect("connection_ack")
		p.send(`{"type":"connection_terminate"}`)
		p.wantClose(1000, "terminated", "")
		if got := res.Header.Get("Sec-WebSocket-Protocol"); offered != nil && len(offered) == 2 && got != "graphql-ws" {
			t.Errorf("offered %v, got %q", offered, got)
		}
		conn.Close()
	}
}

func TestUnknownIDsAndPingsAreAnswered(t *testing.T) {
	f := newWSFixture(t, nil)
	p := f.dial(t, "graphql-transport-ws")
	// A ping needs no init, and its payload comes back.
	p.send(`{"type":"ping","payload":{"n":1}}`)
	if m := p.expect("pong"); fmt.Sprint(m["payload"]) != "map[n:1]" {
		t.Errorf("pong %v", m)
	}
	p.send(`{"type":"pong"}`) // unasked: ignored
	p.send(`{"type":"connection_init"}`)
	p.expect("connection_ack")
	p.send(`{"id":"nobody","type":"complete"}`) // ignored
	p.send(subscribeMsg("graphql-transport-ws", "s"))
	waitUntil(t, "the subscription", func() bool { return f.live.Len() == 1 })
	p.send(`{"id":"s","type":"complete"}`)
	if m := p.expect("complete"); m["id"] != "s" {
		t.Errorf("complete %v", m)
	}
	p.send(`{"id":"s","type":"complete"}`) // ended already: ignored
	// An id may be used again once its operation has ended.
	p.send(subscribeMsg("graphql-transport-ws", "s"))
	waitUntil(t, "the subscription again", func() bool { return f.live.Len() == 1 })
	f.live.Publish(graph.Transaction(tx(9, "again")))
	if m := p.expect("next"); m["id"] != "s" {
		t.Errorf("next %v", m)
	}
	p.send(`{"type":"ping"}`)
	if m := p.expect("pong"); m["payload"] != nil {
		t.Errorf("pong %v", m)
	}

	legacy := f.dial(t, "graphql-ws")
	legacy.send(`{"type":"connection_init"}`)
	legacy.expect("connection_ack")
	legacy.send(`{"id":"nobody","type":"stop"}`) // ignored
	legacy.send(`{"id":"q","type":"start","payload":{"query":"{ __typename }"}}`)
	if m := legacy.expect("data"); fmt.Sprint(m["payload"]) != "map[data:map[__typename:Query]]" {
		t.Errorf("data %v", m)
	}
	legacy.expect("complete")
}

// A legacy client that starts an operation with the id of a running one
// replaces it (as subscriptions-transport-ws servers do): the old one
// ends without a word, and each event comes once.
func TestALegacyStartReplacesTheOperationOfItsID(t *testing.T) {
	f := newWSFixture(t, nil)
	p := f.dial(t, "graphql-ws")
	p.send(`{"type":"connection_init"}`)
	p.expect("connection_ack")
	p.send(subscribeMsg("graphql-ws", "a"))
	waitUntil(t, "the first", func() bool { return f.live.Len() == 1 })
	first := f.op("a")
	p.send(`{"id":"a","type":"start","payload":{"query":"subscription { stream_transactions(iban: \"NL66OPEN0000000000\") { descr } }"}}`)
	waitUntil(t, "the second in its place", func() bool {
		op := f.op("a")
		return op != nil && op != first && f.state(op) == opLive && f.state(first) == opEnded && f.live.Len() == 1
	})
	f.live.Publish(graph.Transaction(tx(2, "once")))
	if m := p.expect("data"); fmt.Sprint(m["payload"]) != "map[data:map[stream_transactions:map[descr:once]]]" {
		t.Errorf("data %v", m)
	}
	p.send(`{"id":"a","type":"stop"}`)
	p.expect("complete") // and nothing from the first
	p.send(`{"type":"connection_terminate"}`)
	p.wantClose(1000, "terminated", "")
}

// op returns the operation id of the fixture's one connection.
func (f *wsFixture) op(id string) *wsOp {
	f.ws.mu.Lock()
	defer f.ws.mu.Unlock()
	for c := range f.ws.conns {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.op(id)
	}
	return nil
}

func (f *wsFixture) state(op *wsOp) opState {
	op.c.mu.Lock()
	defer op.c.mu.Unlock()
	return op.state
}

func TestInitTimeout(t *testing.T) {
	f := newWSFixture(t, func(s *wsSettings) { s.InitTimeout = 50 * time.Millisecond })
	f.dial(t, "graphql-transport-ws").wantClose(4408, "Connection initialisation timeout", "")
	f.dial(t, "graphql-ws").wantClose(1002, "connection initialisation timeout", "Connection initialisation timeout")
	// Once initialised, the timeout is over.
	p := f.dial(t, "graphql-transport-ws")
	p.send(`{"type":"connection_init"}`)
	p.expect("connection_ack")
	p.send(`{"type":"ping"}`)
	p.expect("pong")
}

// A connection opened with a session ends with it (4401), by the
// transport's clock; one revoked ends at once.
func TestAConnectionEndsWithItsSession(t *testing.T) {
	// Sessions expire on whole seconds: this one within one or two.
	keeper, err := session.New([]byte("0123456789abcdef0123456789abcdef"), 1500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	revocations := session.NewRevocations()
	live := NewLiveFeed()
	s := wsSettings{Init: websocketInit(keeper, revocations, newLiveSessions(revocations)), InitTimeout: 10 * time.Second,
		KeepAlive: time.Hour, WriteTimeout: 10 * time.Second, ReadLimit: 4096, MaxOperations: 8, MaxStarting: 4}
	ws := newWSTransport(s)
	srv := httptest.NewServer(holdWebsockets(newServerWith(&graph.Resolver{Live: live}, Config{MaxDepth: 10, MaxComplexity: 1000}, ws)))
	t.Cleanup(func() { srv.Close(); ws.Close() })
	f := &wsFixture{url: "ws" + strings.TrimPrefix(srv.URL, "http"), live: live, ws: ws}
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		p := f.dial(t, proto)
		p.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + keeper.Issue("ann") + `"}}`)
		p.expect("connection_ack")
		p.wantClose(4401, "session expired", "")
	}
	p := f.dial(t, "graphql-transport-ws")
	p.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + keeper.Issue("bob") + `"}}`)
	p.expect("connection_ack")
	revocations.Revoke("bob", time.Now().UnixMilli())
	p.wantClose(4401, "session revoked", "")
	waitUntil(t, "no connection left", func() bool { return ws.Len() == 0 })
}

// Operations in flight are bounded per connection, beyond the resolvers'
// own limits: the one too many is refused and the connection goes on.
func TestOperationsInFlightAreBounded(t *testing.T) {
	f := newWSFixture(t, func(s *wsSettings) { s.MaxOperations = 2 })
	p := f.dial(t, "graphql-transport-ws")
	p.send(`{"type":"connection_init"}`)
	p.expect("connection_ack")
	p.send(subscribeMsg("graphql-transport-ws", "1"))
	p.send(subscribeMsg("graphql-transport-ws", "2"))
	p.send(subscribeMsg("graphql-transport-ws", "3"))
	m := p.expect("error")
	if m["id"] != "3" || !strings.Contains(fmt.Sprint(m["payload"]), "too many operations in flight on this connection: at most 2") ||
		!strings.Contains(fmt.Sprint(m["payload"]), "TOO_MANY_SUBSCRIPTIONS") {
		t.Errorf("the third: %v", m)
	}
	p.expect("complete")
	waitUntil(t, "the two", func() bool { return f.live.Len() == 2 })
}

// blockingFeed is a live feed whose subscriptions wait until released.
type blockingFeed struct {
	LiveFeed
	calls   atomic.Int32
	release chan struct{}
}

func (b *blockingFeed) Subscribe(ctx context.Context, f graph.Filter, slow func()) <-chan *model.Transaction {
	b.calls.Add(1)
	<-b.release
	return b.LiveFeed.Subscribe(ctx, f, slow)
}

// Operations wait in line to start, MaxStarting at a time; those of a
// connection that closes meanwhile are skipped, and the others start.
func TestOperationsWaitTheirTurnToStart(t *testing.T) {
	feed := &blockingFeed{LiveFeed: NewLiveFeed(), release: make(chan struct{})}
	f := newWSFixtureOf(t, feed.LiveFeed, &graph.Resolver{Live: feed}, func(s *wsSettings) { s.MaxStarting = 1 })
	first := f.dial(t, "graphql-transport-ws")
	first.send(`{"type":"connection_init"}`)
	first.expect("connection_ack")
	first.send(subscribeMsg("graphql-transport-ws", "1"))
	waitUntil(t, "the first to start", func() bool { return feed.calls.Load() == 1 })
	gone := f.dial(t, "graphql-transport-ws")
	gone.send(`{"type":"connection_init"}`)
	gone.expect("connection_ack")
	gone.send(subscribeMsg("graphql-transport-ws", "1"))
	waiting := f.dial(t, "graphql-ws")
	waiting.send(`{"type":"connection_init"}`)
	waiting.expect("connection_ack")
	waiting.send(subscribeMsg("graphql-ws", "1"))
	waitUntil(t, "two in line", func() bool {
		f.ws.startMu.Lock()
		defer f.ws.startMu.Unlock()
		return len(f.ws.starts) == 2
	})
	gone.conn.Close()
	waitUntil(t, "the closed connection to end", func() bool { return f.ws.Len() == 2 })
	close(feed.release)
	waitUntil(t, "the other two to start", func() bool { return f.live.Len() == 2 })
	if n := feed.calls.Load(); n != 2 {
		t.Errorf("%d subscriptions resolved, want 2 (the closed connection's skipped)", n)
	}
	f.live.Publish(graph.Transaction(tx(1, "")))
	first.expect("next")
	waiting.expect("data")
}

// Like subscriptions (the same operation, variables and viewer) share one
// marshaller, which an event goes through once; others have their own;
// the marshaller outlives the subscription that made it, and goes with
// the last.
func TestLikeSubscriptionsShareAMarshaller(t *testing.T) {
	f := newWSFixture(t, func(s *wsSettings) {
		s.Init = func(ctx context.Context, p map[string]any) (context.Context, error) {
			if u, ok := p["user"].(string); ok {
				return graph.WithUser(ctx, u), nil
			}
			return ctx, nil
		}
	})
	groups := func() int {
		f.ws.groupMu.Lock()
		defer f.ws.groupMu.Unlock()
		return len(f.ws.groups)
	}
	const ids = `{"query":"subscription { stream_transactions(iban: \"NL66OPEN0000000000\") { id } }"}`
	const descrs = `{"query":"subscription { stream_transactions(iban: \"NL66OPEN0000000000\") { descr } }"}`
	subscriber := func(user, payload string) *peer {
		p := f.dial(t, "graphql-transport-ws")
		p.send(`{"type":"connection_init","payload":{"user":"` + user + `"}}`)
		p.expect("connection_ack")
		p.send(`{"id":"1","type":"subscribe","payload":` + payload + `}`)
		return p
	}
	maker := subscriber("ann", ids)
	alike := []*peer{subscriber("ann", ids), subscriber("ann", ids)}
	other := subscriber("ann", descrs)
	otherViewer := subscriber("bob", ids)
	waitUntil(t, "five subscriptions", func() bool { return f.live.Len() == 5 })
	if n := groups(); n != 3 {
		t.Fatalf("%d groups, want 3 (ann's ids, ann's descrs, bob's ids)", n)
	}
	marshalled, sent := counterValue(eventsMarshalled), counterValue(eventsSent)
	f.live.Publish(graph.Transaction(tx(1, "one")))
	for _, p := range append(alike, maker, otherViewer) {
		if m := p.expect("next"); fmt.Sprint(m["payload"]) != "map[data:map[stream_transactions:map[id:1]]]" {
			t.Errorf("next %v", m)
		}
	}
	if m := other.expect("next"); fmt.Sprint(m["payload"]) != "map[data:map[stream_transactions:map[descr:one]]]" {
		t.Errorf("next %v", m)
	}
	// Counted once written: the last may be read before.
	waitUntil(t, "five events counted sent", func() bool { return counterValue(eventsSent)-sent == 5 })
	if m := counterValue(eventsMarshalled) - marshalled; m != 3 {
		t.Errorf("one event marshalled %v times, want 3 (once per group)", m)
	}
	maker.conn.Close()
	waitUntil(t, "the maker to leave", func() bool { return f.live.Len() == 4 })
	f.live.Publish(graph.Transaction(tx(2, "two")))
	for _, p := range alike {
		if m := p.expect("next"); fmt.Sprint(m["payload"]) != "map[data:map[stream_transactions:map[id:2]]]" {
			t.Errorf("after the maker left: %v", m)
		}
	}
	for _, p := range append(alike, other, otherViewer) {
		p.conn.Close()
	}
	waitUntil(t, "no group left", func() bool { return f.live.Len() == 0 && groups() == 0 })
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

// Events reach a subscriber in the order they were published, however
// many are queued at once, and several subscriptions of one connection
// each get theirs.
func TestEventsArriveInOrder(t *testing.T) {
	f := newWSFixture(t, nil)
	p := f.dial(t, "graphql-transport-ws")
	p.send(`{"type":"connection_init"}`)
	p.expect("connection_ack")
	for _, id := range []string{"a", "b", "c"} {
		p.send(subscribeMsg("graphql-transport-ws", id))
	}
	waitUntil(t, "three subscriptions", func() bool { return f.live.Len() == 3 })
	const n = 200 // within the buffer: none is dropped
	for i := range n {
		f.live.Publish(graph.Transaction(tx(int64(i), "")))
	}
	next := map[string]int{}
	for range 3 * n {
		m := p.expect("next")
		id := m["id"].(string)
		got := int(m["payload"].(map[string]any)["data"].(map[string]any)["stream_transactions"].(map[string]any)["id"].(float64))
		if got != next[id] {
			t.Fatalf("subscription %s got event %d, want %d", id, got, next[id])
		}
		next[id]++
	}
}

// Connections that end in every way leave no goroutine behind; an idle
// subscriber holds one (its connection's reader).
func TestNoGoroutineOutlivesItsConnection(t *testing.T) {
	f := newWSFixture(t, nil)
	settle := func() int {
		runtime.GC()
		return runtime.NumGoroutine()
	}
	before := settle()
	const n = 20
	var peers []*peer
	for i := range n {
		proto := "graphql-transport-ws"
		if i%2 == 1 {
			proto = "graphql-ws"
		}
		p := f.dial(t, proto)
		p.send(`{"type":"connection_init"}`)
		p.expect("connection_ack")
		p.send(subscribeMsg(proto, "x"))
		peers = append(peers, p)
	}
	waitUntil(t, "the subscriptions", func() bool { return f.live.Len() == n })
	// Each connection's goroutines but the reader end once idle.
	waitUntil(t, "one goroutine per connection, and the clock", func() bool {
		g := transportGoroutines()
		return g["run"] == n && g["clock"] == 1 && len(g) == 2
	})
	// Events come and go through the flush goroutines.
	for i := range 10 {
		f.live.Publish(graph.Transaction(tx(int64(i), "")))
	}
	for _, p := range peers {
		for range 10 {
			p.next()
		}
	}
	// Ends: abruptly (no close frame), with the client's close, by
	// protocol, by stopping the subscription first, and by the gateway.
	for i, p := range peers {
		switch i % 5 {
		case 0:
			p.conn.UnderlyingConn().Close()
		case 1:
			_ = p.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		case 2:
			p.send(`{"type":"nonsense"}`)
		case 3:
			typ := "complete"
			if i%2 == 1 {
				typ = "stop"
			}
			p.send(`{"id":"x","type":"` + typ + `"}`)
			p.expect("complete")
			p.conn.UnderlyingConn().Close()
		}
	}
	f.ws.Close() // closes the rest (1001) and waits for every connection
	if f.ws.Len() != 0 {
		t.Fatalf("%d connections after Close", f.ws.Len())
	}
	for i, p := range peers {
		if i%5 == 4 {
			if code, reason, _ := p.closed(); code != websocket.CloseGoingAway || reason != "the gateway is shutting down" {
				t.Errorf("closed by the gateway with %d %q", code, reason)
			}
		}
		p.conn.Close()
	}
	// The feed unsubscribes on a goroutine of the context package's.
	waitUntil(t, "the feed to be empty", func() bool { return f.live.Len() == 0 })
	waitUntil(t, "the goroutines to end", func() bool { return len(transportGoroutines()) == 0 && settle() <= before })
}

// transportGoroutines counts the goroutines running the transport's code,
// by function (run, starter, pull, flush, tick, clock).
func transportGoroutines() map[string]int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	out := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, fn := range []string{"(*wsConn).run", "(*wsTransport).starter", "(*wsConn).pull", "(*wsConn).flush", "(*wsConn).tick", "(*wsTransport).clock"} {
			if strings.Contains(g, "gateway."+fn+"(") {
				out[fn[strings.Index(fn, ".")+1:]]++
				break
			}
		}
	}
	return out
}

// waitUntil polls cond for up to 20 s: how long the machine takes is not
// the test's to assume.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("timed out waiting for %s\n%s", what, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
