package gateway_test

import (
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

func get(t *testing.T, url string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestGraphiQLIsServedWithItsAssets(t *testing.T) {
	_, srv := startGateway(t, kafkatest.Synced(t), nil)
	for _, page := range []string{"/graphiql", "/ide"} {
		res, body := get(t, srv.URL+page, nil)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "GraphiQL.createFetcher") {
			t.Fatalf("%s: %s\n%s", page, res.Status, body)
		}
		// Every script and style comes from us, with a hash that matches.
		refs := regexp.MustCompile(`(?:src|href)="([^"]+)"\s+integrity="([^"]+)"`).FindAllStringSubmatch(body, -1)
		if len(refs) != 4 {
			t.Fatalf("%s references %d assets, want 4", page, len(refs))
		}
		for _, ref := range refs {
			ref[2] = html.UnescapeString(ref[2]) // the template escapes + in attributes
			if !strings.HasPrefix(ref[1], page+"/assets/") {
				t.Errorf("%s loads %s from elsewhere", page, ref[1])
			}
			res, asset := get(t, srv.URL+ref[1], nil)
			sum := sha512.Sum384([]byte(asset))
			if res.StatusCode != http.StatusOK || ref[2] != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("%s: %s, integrity mismatch", ref[1], res.Status)
			}
		}
	}
}

func TestQueriesOverGET(t *testing.T) {
	_, srv := startGateway(t, kafkatest.Synced(t), func(c *gateway.Config) { c.Introspection = true })
	res, body := get(t, srv.URL+"/graphql?query="+strings.ReplaceAll(`{ __type(name: "Transaction") { name } }`, " ", "%20"), nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"name":"Transaction"`) {
		t.Errorf("GET query: %s %s", res.Status, body)
	}
}

func TestCORS(t *testing.T) {
	_, srv := startGateway(t, kafkatest.Synced(t), nil)
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	ok := preflight("https://frontend.example")
	if ok.Header.Get("Access-Control-Allow-Origin") != "https://frontend.example" ||
		!strings.Contains(ok.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("configured origin: %s %v", ok.Status, ok.Header)
	}
	if other := preflight("https://evil.example"); other.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("another origin was allowed: %v", other.Header)
	}
}

func TestLimits(t *testing.T) {
	env := kafkatest.Synced(t)
	_, srv := startGateway(t, env, func(c *gateway.Config) { c.MaxBodyBytes = 1024 })

	t.Run("body size", func(t *testing.T) {
		r := do(t, srv.URL+"/graphql", "", `{ all_last_transactions { id } }`+strings.Repeat(" ", 2048), nil)
		if !strings.Contains(r.errs(), "too large") {
			t.Errorf("a 2 KiB body with a 1 KiB limit: %q", r.errs())
		}
	})
	t.Run("complexity", func(t *testing.T) {
		r := do(t, srv.URL+"/graphql", "", `{ a: transactions_by_iban(iban: "x", max_items: 1000) { id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents } b: transactions_by_iban(iban: "y", max_items: 1000) { id iban new_balance changed_by from_to descr direction new_balance_cents changed_by_cents } all_last_transactions { id iban descr } }`, nil)
		if !strings.Contains(r.errs(), "exceeds the limit") {
			t.Errorf("a costly query: %q", r.errs())
		}
	})
	t.Run("depth", func(t *testing.T) {
		// The schema nests three deep at most; a limit of 2 shows the check.
		shallow := httptest.NewServer(gateway.NewServer(&graph.Resolver{}, gateway.Config{MaxDepth: 2, MaxComplexity: 1000}, nil, nil))
		defer shallow.Close()
		r := do(t, shallow.URL, "", `query { me { accounts { iban } } }`, nil)
		if r.errs() != "query is nested more than 2 levels deep" {
			t.Errorf("3 levels with a limit of 2: %q", r.errs())
		}
		r = do(t, shallow.URL, "", `query { ...f } fragment f on Query { me { ...g } } fragment g on User { accounts { iban } }`, nil)
		if r.errs() != "query is nested more than 2 levels deep" {
			t.Errorf("3 levels through fragments: %q", r.errs())
		}
	})
	t.Run("websocket message size", func(t *testing.T) {
		c, err := dialWS(t, srv.URL+"/graphql", "graphql-transport-ws", nil, "")
		if err != nil {
			t.Fatal(err)
		}
		c.expect(t, "connection_ack")
		c.send(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": strings.Repeat("#", 4096)}})
		if err := closeOf(t, c); !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
			t.Errorf("a 4 KiB message with a 1 KiB limit: %v", err)
		}
	})
}

func closeOf(t *testing.T, c *wsClient) error {
	t.Helper()
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				return <-c.closed
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the connection stayed open")
		}
	}
}

func TestWebsocketChecks(t *testing.T) {
	gw, srv := startGateway(t, kafkatest.Synced(t), nil)
	s := &stack{gw: gw, srv: srv}

	t.Run("origin", func(t *testing.T) {
		_, err := dialWS(t, srv.URL+"/graphql", "graphql-transport-ws", http.Header{"Origin": {"https://evil.example"}}, "")
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("another site's page: %v", err)
		}
		for _, origin := range []string{srv.URL, "https://frontend.example"} {
			if _, err := dialWS(t, srv.URL+"/graphql", "graphql-transport-ws", http.Header{"Origin": {origin}}, ""); err != nil {
				t.Errorf("origin %s: %v", origin, err)
			}
		}
	})
	t.Run("bad session", func(t *testing.T) {
		c, err := dialWS(t, srv.URL+"/graphql", "graphql-transport-ws", nil, "Bearer forged.123.abc")
		if err != nil {
			t.Fatal(err)
		}
		if err := closeOf(t, c); !websocket.IsCloseError(err, 4401) {
			t.Errorf("a forged session: %v, want close 4401", err)
		}
	})
	t.Run("dead peer", func(t *testing.T) {
		c, err := dialWS(t, srv.URL+"/graphql", "graphql-transport-ws", nil, "", func(c *wsClient) { c.noPong = true })
		if err != nil {
			t.Fatal(err)
		}
		c.subscribe(t, streamTransactions, map[string]any{"iban": iban.Company})
		waitFor(t, "the subscription", func() bool { return s.gw.Subscribers() == 1 })
		// Pings every second; no pong for two and the gateway hangs up.
		closeOf(t, c)
		waitFor(t, "the subscription to end", func() bool { return s.gw.Subscribers() == 0 })
	})
}
