package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology/iban"
)

// refusingBus answers every command and query with a failure, as a bank
// that knows nothing would.
type refusingBus struct{}

func (refusingBus) Send(_ context.Context, rec schemas.Record) (schemas.Record, error) {
	if strings.HasSuffix(rec.AvroName(), "Query") {
		return &schemas.QueryFailed{Reason: "not found"}, nil
	}
	return &schemas.CommandFailed{Reason: "refused"}, nil
}

// FuzzGraphQL posts arbitrary operations and variables to the API: every
// answer must be a GraphQL response (JSON with data or errors) with a
// client-error or OK status — never a panic, a 5xx or a hang.
func FuzzGraphQL(f *testing.F) {
	seeds := []struct{ query, vars string }{
		{`mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason } }`, `{"u":"ann","p":"pw"}`},
		{`mutation { money_transfer(uuid: "x", username: "a", token: "t", amount: -5, from: "NL", to: "cash", descr: "d") { success reason } }`, ``},
		{`mutation($a: Int!) { money_transfer(uuid: "7d444840-9dc0-11d1-b245-5ffdce74fad2", username: "a", token: "t", amount: $a, from: "cash", to: "NL66OPEN0000000000", descr: "d") { success reason status } }`, `{"a": 99999999999999999999}`},
		{`{ transactions_by_iban(iban: "NL66OPEN0000000000", max_items: 5000) { id amount } }`, ``},
		{`{ all_last_transactions { id iban } }`, ``},
		{`{ me { accounts { iban balance } } }`, ``},
		{`{ transfer(uuid: "nope") { status } }`, ``},
		{`query { __schema { types { name fields { name type { name ofType { name ofType { name ofType { name } } } } } } } }`, ``},
		{`{ a: me { accounts { iban } } b: me { accounts { iban } } }`, ``},
		{`subscription { stream_transactions(min_amount: 5) { id } }`, ``},
		{`{`, ``},
		{``, `null`},
		{`query($x: [String!]!) { me { username } }`, `{"x": [null, 1, {"a": []}]}`},
		{"{ me { accounts { iban } } }\x00\xff", `{"\u0000": "\ud800"}`},
	}
	for _, s := range seeds {
		f.Add(s.query, s.vars)
	}
	keeper, err := session.New(bytes.Repeat([]byte{7}, 32), time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	resolver := &graph.Resolver{Bus: refusingBus{}, Live: gateway.NewLiveFeed(), Sessions: keeper,
		Timeout: 100 * time.Millisecond, HashCost: 4, NewIBAN: iban.New, EmployeePassword: "staff"}
	srv := gateway.NewServer(resolver, gateway.Config{MaxDepth: 15, MaxComplexity: 20_000, KeepAlive: time.Minute, MaxBodyBytes: 64 << 10, Introspection: true}, nil, nil)
	f.Fuzz(func(t *testing.T, query, vars string) {
		body := map[string]any{"query": query}
		if json.Valid([]byte(vars)) {
			body["variables"] = json.RawMessage(vars)
		}
		js, err := json.Marshal(body)
		if err != nil {
			t.Skip() // invalid UTF-8 becomes U+FFFD; nothing to send
		}
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(js))
		req.Header.Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q %q: %s", rec.Code, query, vars, rec.Body)
		}
		var res struct {
			Data   json.RawMessage   `json:"data"`
			Errors []json.RawMessage `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("not JSON for %q %q: %v: %s", query, vars, err, rec.Body)
		}
		if len(res.Data) == 0 && len(res.Errors) == 0 {
			t.Fatalf("neither data nor errors for %q %q: %s", query, vars, rec.Body)
		}
		if strings.Contains(rec.Body.String(), "internal error") {
			t.Fatalf("a resolver panicked for %q %q: %s", query, vars, rec.Body)
		}
	})
}
