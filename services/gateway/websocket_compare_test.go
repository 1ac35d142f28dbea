package gateway

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// The transport's answers are compared, frame for frame and byte for
// byte, with those of gqlgen's transport (over the gorilla adapter the
// gateway had, websocket_reference_test.go) to the same conversations.

// compareServer serves the GraphQL API over a live feed with the given
// websocket transport ("ours" or "gqlgen").
func compareServer(t *testing.T, which string) (string, LiveFeed) {
	t.Helper()
	live := NewLiveFeed()
	cfg := Config{MaxDepth: 2, MaxComplexity: 1000, MaxAliases: 5, MaxResponseBytes: 2 << 20}
	resolver := &graph.Resolver{Live: live, Admit: AdmitSubscriptions(2, nil)}
	limit := int64(64 << 10)
	var ws graphql.Transport
	switch which {
	case "ours", "ours, each its own marshaller":
		var marshal graphql.GraphExecutor
		if which == "ours" {
			marshal = newMarshalExecutor(cfg)
		}
		ws = newWSTransport(wsSettings{
			Marshal:      marshal,
			Init:         func(ctx context.Context, _ map[string]any) (context.Context, error) { return ctx, nil },
			InitTimeout:  10 * time.Second,
			KeepAlive:    time.Hour,
			WriteTimeout: 10 * time.Second,
			ReadLimit:    limit,
			PerSecond:    1000,
			// Bounded by Admit.
			MaxOperations: 10,
			MaxStarting:   4,
		})
	case "gqlgen":
		ws = transport.Websocket{
			Implementation: newRefWebsocket(10*time.Second, 1000),
			InitFunc: func(ctx context.Context, _ transport.InitPayload) (context.Context, *transport.InitPayload, error) {
				return overWebsocket(ctx), nil, nil
			},
			InitTimeout:           10 * time.Second,
			KeepAlivePingInterval: time.Hour,
			PingPongInterval:      time.Hour,
			PayloadReadLimit:      &limit,
		}
	}
	srv := httptest.NewServer(newServerWith(resolver, cfg, ws))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), live
}

// A step of a conversation: send a message, wait for subs subscribers,
// publish a transaction, or read frames (in any order, when unordered:
// the events of several subscriptions).
type step struct {
	send      string
	subs      int
	publish   *schemas.TransactionHappenedEvent
	read      int
	unordered bool
}

// converse runs steps on a new connection speaking protocol and returns
// the frames read.
func converse(t *testing.T, url string, live LiveFeed, protocol string, steps []step) []string {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var frames []string
	for _, s := range steps {
		switch {
		case s.send != "":
			if err := conn.WriteMessage(websocket.TextMessage, []byte(s.send)); err != nil {
				t.Fatalf("send %s: %v", s.send, err)
			}
		case s.subs > 0:
			deadline := time.Now().Add(20 * time.Second)
			for live.Len() != s.subs {
				if time.Now().After(deadline) {
					t.Fatalf("%d subscribers, want %d", live.Len(), s.subs)
				}
				time.Sleep(5 * time.Millisecond)
			}
		case s.publish != nil:
			live.Publish(graph.Transaction(s.publish))
		default:
			from := len(frames)
			for range s.read {
				_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				kind, b, err := conn.ReadMessage()
				if err != nil {
					t.Fatalf("after %q: %v", frames, err)
				}
				if kind != websocket.TextMessage {
					t.Fatalf("a frame of type %d", kind)
				}
				frames = append(frames, string(b))
			}
			if s.unordered {
				slices.Sort(frames[from:])
			}
		}
	}
	return frames
}

var company = iban.Company

func tx(id int64, descr string) *schemas.TransactionHappenedEvent {
	return &schemas.TransactionHappenedEvent{TransactionID: id, IBAN: company, NewBalance: 123_456, ChangedBy: -250,
		FromTo: "NL91ABNA0417164300", Description: descr, AtMillis: 1_700_000_000_000}
}

func TestAnswersAreGqlgens(t *testing.T) {
	sub := func(id, query string, vars string) string {
		if vars == "" {
			vars = "null"
		}
		return fmt.Sprintf(`{"id":%q,"type":"%%s","payload":{"query":%q,"variables":%s}}`, id, query, vars)
	}
	const stream = `subscription S($iban: String, $min: Int) { s: stream_transactions(iban: $iban, min_amount: $min) { id ...f direction } } fragment f on Transaction { iban descr changed_by new_balance_cents }`
	conversations := []struct {
		name  string
		steps func(subscribe, stop string) []step
	}{
		{"events, then the client stops", func(subscribe, stop string) []step {
			return []step{
				{send: `{"type":"connection_init","payload":{}}`},
				{send: fmt.Sprintf(sub("a", stream, `{"iban":"`+company+`","min":100}`), subscribe)},
				{subs: 1},
				{publish: tx(1, `<b>"rent" & é `+"\u2028")},
				{publish: tx(2, "small")},
				{read: 4}, // the ack, ka (legacy), two events
				{send: fmt.Sprintf(`{"id":"a","type":%q}`, stop)},
				{read: 1}, // complete
			}
		}},
		{"errors before execution", func(subscribe, stop string) []step {
			return []step{
				{send: `{"type":"connection_init"}`},
				{send: fmt.Sprintf(sub("parse", `subscription {`, ""), subscribe)},
				{read: 4},
				{send: fmt.Sprintf(sub("unknown", `subscription { nothing }`, ""), subscribe)},
				{read: 2},
				{send: fmt.Sprintf(sub("vars", stream, `{"min":"x"}`), subscribe)},
				{read: 2},
				{send: fmt.Sprintf(`{"id":"json","type":%q,"payload":"not params"}`, subscribe)},
				{read: 2},
				{send: fmt.Sprintf(sub("deep", `{ me { accounts { iban } } }`, ""), subscribe)},
				{read: 2},
				{send: fmt.Sprintf(sub("aliases", `subscription { a: stream_transactions { b: id c: id d: id e: id f: id g: id } }`, ""), subscribe)},
				{read: 2},
				{send: fmt.Sprintf(`{"id":"name","type":%q,"payload":{"query":"query A { __typename } query B { __typename }","operationName":"C"}}`, subscribe)},
				{read: 2},
			}
		}},
		{"resolver errors", func(subscribe, stop string) []step {
			return []step{
				{send: `{"type":"connection_init","payload":null}`},
				{send: fmt.Sprintf(sub("everyone", `subscription { stream_transactions { id } }`, ""), subscribe)},
				{read: 4},
				{send: fmt.Sprintf(sub("alerts", `subscription { alerts { id } }`, ""), subscribe)},
				{read: 2},
				{send: fmt.Sprintf(sub("other", `subscription { stream_transactions(iban: "NL91ABNA0417164300") { id } }`, ""), subscribe)},
				{read: 2},
			}
		}},
		{"queries", func(subscribe, stop string) []step {
			return []step{
				{send: `{"type":"connection_init","payload":{"x":1}}`},
				{send: fmt.Sprintf(sub("q", `query Q { __typename t: __typename }`, ""), subscribe)},
				{read: 4},
			}
		}},
		{"the limit of subscriptions", func(subscribe, stop string) []step {
			return []step{
				{send: `{"type":"connection_init"}`},
				{send: fmt.Sprintf(sub("1", stream, `{"iban":"`+company+`"}`), subscribe)},
				{send: fmt.Sprintf(sub("2", stream, `{"iban":"`+company+`"}`), subscribe)},
				{subs: 2},
				{send: fmt.Sprintf(sub("3", stream, `{"iban":"`+company+`"}`), subscribe)},
				{read: 4}, // the ack (and ka), the refusal, complete
				{publish: tx(3, "both")},
				{read: 2, unordered: true},
			}
		}},
	}
	for _, protocol := range []string{"graphql-transport-ws", "graphql-ws"} {
		subscribe, stop := "subscribe", "complete"
		if protocol == "graphql-ws" {
			subscribe, stop = "start", "stop"
		}
		for _, conv := range conversations {
			t.Run(protocol+"/"+conv.name, func(t *testing.T) {
				steps := conv.steps(subscribe, stop)
				if protocol == "graphql-transport-ws" { // no ka: one frame less after the ack
					for i := range steps {
						if steps[i].read > 1 && i > 0 && onlyInitBefore(steps[:i]) {
							steps[i].read--
						}
					}
				}
				refURL, refLive := compareServer(t, "gqlgen")
				ref := converse(t, refURL, refLive, protocol, steps)
				for _, which := range []string{"ours", "ours, each its own marshaller"} {
					oursURL, oursLive := compareServer(t, which)
					ours := converse(t, oursURL, oursLive, protocol, steps)
					if len(ours) != len(ref) {
						t.Fatalf("%s: %d frames, gqlgen %d\nours:   %q\ngqlgen: %q", which, len(ours), len(ref), ours, ref)
					}
					for i := range ours {
						if ours[i] != ref[i] {
							t.Errorf("%s: frame %d:\nours:   %q\ngqlgen: %q", which, i, ours[i], ref[i])
						}
					}
				}
				t.Logf("%d frames alike, the last %q", len(ref), ref[len(ref)-1])
			})
		}
	}
}

// onlyInitBefore reports whether steps hold nothing but sends, the init
// and the first subscriptions (the first read holds the ack).
func onlyInitBefore(steps []step) bool {
	for _, s := range steps {
		if s.read > 0 {
			return false
		}
	}
	return true
}
