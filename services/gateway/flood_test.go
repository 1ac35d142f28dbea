package gateway_test

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/iban"
)

// floodServer is a gateway's GraphQL server over a live feed, with the
// websocket limits set low.
func floodServer(t *testing.T) (*httptest.Server, gateway.LiveFeed) {
	t.Helper()
	live := gateway.NewLiveFeed()
	cfg := gateway.Config{MaxDepth: 10, MaxComplexity: 1000, KeepAlive: time.Minute, MaxSubscriptions: 3, MaxMessagesPerSecond: 20}
	srv := httptest.NewServer(gateway.NewServer(&graph.Resolver{Live: live, Admit: gateway.AdmitSubscriptions(cfg.MaxSubscriptions, nil)}, cfg, nil, nil))
	t.Cleanup(srv.Close)
	return srv, live
}

func TestSubscriptionsPerConnectionAreLimited(t *testing.T) {
	srv, live := floodServer(t)
	c, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	c.expect(t, "connection_ack")
	sub := func(id string) {
		c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id } }`}})
	}
	for i := range 3 {
		sub(fmt.Sprint(i))
	}
	waitFor(t, "three subscriptions", func() bool { return live.Len() == 3 })
	sub("3")
	m := c.expect(t, "next") // a field error, then complete
	if m["id"] != "3" || !strings.Contains(fmt.Sprint(m["payload"]), "too many subscriptions on this connection: at most 3") {
		t.Fatalf("the fourth subscription: %v", m)
	}
	// Ending one makes room.
	c.send(map[string]any{"id": "0", "type": "complete"})
	waitFor(t, "the first to end", func() bool { return live.Len() == 2 })
	sub("4")
	waitFor(t, "another in its place", func() bool { return live.Len() == 3 })
	// Another connection has its own allowance.
	other, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	other.subscribe(t, `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id } }`, nil)
	waitFor(t, "the other connection's", func() bool { return live.Len() == 4 })
}

func TestAWebsocketFloodIsDisconnected(t *testing.T) {
	srv, live := floodServer(t)
	calm, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	calm.subscribe(t, `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id } }`, nil)
	flood, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	flood.expect(t, "connection_ack")
	for range 200 { // pings as fast as it can: 20 a second are allowed, 40 at once
		if flood.conn.WriteJSON(map[string]any{"type": "ping"}) != nil {
			break
		}
	}
	var closeErr *websocket.CloseError
	select {
	case err := <-flood.closed:
		if !errors.As(err, &closeErr) || closeErr.Code != websocket.ClosePolicyViolation || !strings.Contains(closeErr.Text, "too many messages: at most 20 a second") {
			t.Fatalf("the flood ended with %v, want close 1008 too many messages", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the flooding connection is still open")
	}
	// The calm one goes on.
	waitFor(t, "the calm subscriber", func() bool { return live.Len() == 1 })
	live.Publish(graph.Transaction(&schemas.TransactionHappenedEvent{TransactionID: 7, IBAN: iban.Company, ChangedBy: 10, Description: "calm"}))
	if m := calm.expect(t, "next"); !strings.Contains(fmt.Sprint(m["payload"]), "7") {
		t.Fatalf("calm subscriber got %v", m)
	}
}
