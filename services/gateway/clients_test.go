package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// dialFrom opens a websocket as the client at addr (the gateway trusts
// X-Real-IP in these tests) and waits for connection_ack; it returns the
// refusal's status and body instead when the upgrade is refused.
func dialFrom(t *testing.T, url, addr string) (*wsClient, int, string) {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 5 * time.Second}
	conn, res, err := d.Dial(strings.Replace(url, "http", "ws", 1)+"/graphql", http.Header{"X-Real-IP": {addr}})
	if err != nil {
		if res == nil {
			t.Fatalf("dial: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		return nil, res.StatusCode, string(body)
	}
	c := &wsClient{conn: conn, protocol: "graphql-transport-ws", msgs: make(chan map[string]any, 100), closed: make(chan error, 1)}
	t.Cleanup(func() { conn.Close() })
	go c.read()
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{}})
	c.expect(t, "connection_ack")
	return c, http.StatusSwitchingProtocols, ""
}

func limitedGateway(t *testing.T, configure func(*gateway.Config)) (*gateway.Gateway, string) {
	t.Helper()
	gw, srv := startGateway(t, kafkatest.Synced(t), func(c *gateway.Config) {
		c.ClientAddressHeader = "X-Real-IP"
		configure(c)
	})
	return gw, srv.URL
}

func TestWebsocketConnectionsAreLimited(t *testing.T) {
	_, url := limitedGateway(t, func(c *gateway.Config) { c.MaxConnectionsPerClient, c.MaxConnections = 3, 5 })
	var mine []*wsClient
	for range 3 {
		c, code, body := dialFrom(t, url, "192.0.2.1")
		if c == nil {
			t.Fatalf("connection %d: %d %s", len(mine)+1, code, body)
		}
		mine = append(mine, c)
	}
	_, code, body := dialFrom(t, url, "192.0.2.1")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "too many websocket connections from your address: at most 3") {
		t.Fatalf("a fourth connection from one address: %d %q", code, body)
	}
	// Another address has its own share, up to the gateway's limit.
	for i := range 2 {
		if c, code, body := dialFrom(t, url, "192.0.2.2"); c == nil {
			t.Fatalf("another address's connection %d: %d %s", i+1, code, body)
		}
	}
	_, code, body = dialFrom(t, url, "192.0.2.3")
	if code != http.StatusTooManyRequests || !strings.Contains(body, "this gateway holds as many websocket connections as it may (5)") {
		t.Fatalf("a sixth connection to the gateway: %d %q", code, body)
	}
	// A closed connection makes room.
	mine[0].conn.Close()
	waitFor(t, "room for another connection", func() bool {
		c, _, _ := dialFrom(t, url, "192.0.2.1")
		return c != nil
	})
}

func TestSubscriptionsPerClientAreLimited(t *testing.T) {
	gw, url := limitedGateway(t, func(c *gateway.Config) {
		c.MaxSubscriptions, c.MaxSubscriptionsPerClient, c.MaxSubscriptionsTotal = 3, 4, 6
	})
	sub := func(c *wsClient, id string) {
		c.send(map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id } }`}})
	}
	// refused waits for the refusal of subscription id, and its end.
	refused := func(c *wsClient, id, want string) {
		t.Helper()
		m := c.expect(t, "next")
		if m["id"] != id || !strings.Contains(fmt.Sprint(m["payload"]), want) {
			t.Fatalf("subscription %s: %v, want %q", id, m, want)
		}
		c.expect(t, "complete")
	}
	running := func(n int) {
		t.Helper()
		waitFor(t, fmt.Sprintf("%d subscriptions", n), func() bool { return gw.Subscribers() == n })
	}
	first, _, _ := dialFrom(t, url, "192.0.2.1")
	second, _, _ := dialFrom(t, url, "192.0.2.1")
	for i := range 3 {
		sub(first, fmt.Sprint(i))
	}
	sub(second, "a")
	running(4)
	sub(second, "b") // the fifth of this address
	refused(second, "b", "too many subscriptions from your address: at most 4")
	// Ending one makes room for another.
	first.send(map[string]any{"id": "0", "type": "complete"})
	running(3)
	sub(second, "c")
	running(4)
	// Another address has its own share, up to the gateway's limit.
	other, _, _ := dialFrom(t, url, "192.0.2.2")
	sub(other, "x")
	sub(other, "y")
	running(6)
	sub(other, "z")
	refused(other, "z", "this gateway serves as many subscriptions as it may (6)")
}

// The load-test profile lifts the limits per client address, not the
// gateway's.
func TestTheLoadTestProfileLiftsTheLimitsPerClient(t *testing.T) {
	_, url := limitedGateway(t, func(c *gateway.Config) {
		c.MaxConnectionsPerClient, c.MaxConnections, c.LoadTest = 1, 3, true
	})
	for i := range 3 {
		if c, code, body := dialFrom(t, url, "192.0.2.1"); c == nil {
			t.Fatalf("connection %d from one address under --load-test: %d %s", i+1, code, body)
		}
	}
	if _, code, body := dialFrom(t, url, "192.0.2.1"); code != http.StatusTooManyRequests || !strings.Contains(body, "(3)") {
		t.Fatalf("beyond the gateway's limit under --load-test: %d %q", code, body)
	}
}

// The load-test profile also lifts the limit of failed log-ins per client
// address (load generators sign many users up from one address); the one
// per username stays.
func TestTheLoadTestProfileLiftsTheLoginLimitPerClient(t *testing.T) {
	limits := func(c *gateway.Config) { c.LoginFailuresPerClient, c.LoginFailuresPerUser = 2, 100 }
	s := startStack(t, limits)
	_, loadTest := startGateway(t, s.env, func(c *gateway.Config) { limits(c); c.LoadTest = true })
	sfx := suffix()
	var users []string
	for i := range 4 {
		users = append(users, s.signUp(t, fmt.Sprintf("u%d-%s", i, sfx), "pw").Username)
	}
	wrong := func(url, user string) string {
		a := field[account](t, do(t, url+"/graphql", "", getAccount, map[string]any{"u": user, "p": "guess"}), "get_account")
		return deref(a.Reason)
	}
	for i, u := range users {
		if got := wrong(loadTest.URL, u); got != "invalid username or password" {
			t.Errorf("--load-test: wrong password %d answered %q", i+1, got)
		}
	}
	for i, u := range users {
		got := wrong(s.srv.URL, u)
		switch {
		case i < 2 && got != "invalid username or password":
			t.Errorf("without --load-test: wrong password %d answered %q", i+1, got)
		case i >= 2 && !strings.HasPrefix(got, "too many failed log-ins"):
			t.Errorf("without --load-test: wrong password %d answered %q, want refused", i+1, got)
		}
	}
}
