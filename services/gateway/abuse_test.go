package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/introspection"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology/iban"
)

// bigBus answers every query with the same list of transactions, each
// with a long description: the largest answers a projector could give.
type bigBus struct{ answer *schemas.QuerySucceeded }

func newBigBus(items, descr int) bigBus {
	ts := make([]projection.Transaction, items)
	for i := range ts {
		ts[i] = projection.Transaction{ID: int64(i), IBAN: "NL66OPEN0000000000", ChangedBy: 100, NewBalance: 100,
			FromTo: "cash", Description: strings.Repeat("x", descr)}
	}
	js, err := json.Marshal(ts)
	if err != nil {
		panic(err)
	}
	return bigBus{&schemas.QuerySucceeded{QueryResult: string(js)}}
}

func (b bigBus) Send(context.Context, schemas.Record) (schemas.Record, error) { return b.answer, nil }

// abuseServer is the GraphQL server over bus, as an employee (who may
// ask for every account's last transaction) would reach it.
func abuseServer(bus graph.Sender, cfg gateway.Config) http.Handler {
	if cfg.MaxComplexity == 0 {
		cfg.MaxComplexity = 20_000
	}
	if cfg.MaxDepth == 0 {
		cfg.MaxDepth = 15
	}
	srv := gateway.NewServer(&graph.Resolver{Bus: bus, Live: gateway.NewLiveFeed(), Timeout: 5 * time.Second}, cfg, nil, nil)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r.WithContext(graph.WithEmployee(r.Context())))
	})
}

// postOp sends query to h in-process.
func postOp(t testing.TB, h http.Handler, query string) (response, *httptest.ResponseRecorder) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var r response
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("not a GraphQL response (%d): %v: %.300s", rec.Code, err, rec.Body)
	}
	return r, rec
}

// codes lists the extensions.code of a response's errors.
func codes(rec *httptest.ResponseRecorder) string {
	var r struct {
		Errors []struct {
			Extensions struct{ Code string } `json:"extensions"`
		} `json:"errors"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &r)
	var out []string
	for _, e := range r.Errors {
		out = append(out, e.Extensions.Code)
	}
	return strings.Join(out, ",")
}

// aliases returns n aliased copies of field.
func aliases(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "a%d: %s ", i, field)
	}
	return b.String()
}

func TestIntrospectionOnlyWhenEnabled(t *testing.T) {
	for _, on := range []bool{false, true} {
		h := abuseServer(refusingBus{}, gateway.Config{Introspection: on})
		for _, q := range []string{`{ __schema { queryType { name } } }`, `{ __type(name: "Transaction") { name } }`} {
			r, _ := postOp(t, h, q)
			if refused := strings.Contains(r.errs(), "introspection disabled"); refused == on {
				t.Errorf("introspection %v: %s answered %s %q", on, q, r.Data, r.errs())
			}
		}
		if r, _ := postOp(t, h, `{ __typename }`); r.errs() != "" || string(r.Data["__typename"]) != `"Query"` {
			t.Errorf("introspection %v: __typename answered %s %q", on, r.Data, r.errs())
		}
	}
}

// GraphiQL's introspection query (graphql-js 16's: 14 deep) passes the
// default depth limit, which counts introspection like any other field.
func TestIntrospectionCountsTowardTheDepthLimit(t *testing.T) {
	r, _ := postOp(t, abuseServer(refusingBus{}, gateway.Config{Introspection: true, MaxDepth: 15}), introspection.Query)
	if r.errs() != "" || !strings.Contains(string(r.Data["__schema"]), `"name":"Transaction"`) {
		t.Fatalf("GraphiQL's introspection query with the default depth limit: %q", r.errs())
	}
	r, _ = postOp(t, abuseServer(refusingBus{}, gateway.Config{Introspection: true, MaxDepth: 13}), introspection.Query)
	if r.errs() != "query is nested more than 13 levels deep" {
		t.Fatalf("the same, limited to 13: %q", r.errs())
	}
	// The schema's types refer to each other: a query can nest them
	// without end (gqlparser's own check stops fields { type { fields …
	// at three levels, not ofType).
	deep := `__schema { types { ` + strings.Repeat(`ofType { `, 14) + `name` + strings.Repeat(` }`, 14) + ` } }` // 17 deep
	if r, _ := postOp(t, abuseServer(refusingBus{}, gateway.Config{Introspection: true, MaxDepth: 15}), `{ `+deep+` }`); r.errs() != "query is nested more than 15 levels deep" {
		t.Fatalf("introspection 17 deep: %q", r.errs())
	}
}

func TestAliasesAreLimited(t *testing.T) {
	h := abuseServer(refusingBus{}, gateway.Config{MaxAliases: 30})
	const field = `transfer(uuid: "x") { status }`
	r, rec := postOp(t, h, `{ `+aliases(300, field)+`}`)
	if !strings.Contains(r.errs(), "operation uses 300 aliases") || codes(rec) != "TOO_MANY_ALIASES" {
		t.Fatalf("300 aliases: %q", rec.Body)
	}
	// 20 in a fragment are fine; spread twice, they are 40.
	frag := `fragment F on Query { ` + aliases(20, field) + `}`
	if r, _ := postOp(t, h, `query { ...F } `+frag); strings.Contains(r.errs(), "aliases") {
		t.Fatalf("20 aliases: %q", r.errs())
	}
	r, rec = postOp(t, h, `query { ...A ...B } fragment A on Query { ...F } fragment B on Query { ...F } `+frag)
	if !strings.Contains(r.errs(), "operation uses 40 aliases") || codes(rec) != "TOO_MANY_ALIASES" {
		t.Fatalf("20 aliases spread twice: %q", rec.Body)
	}
}

// Fragments each spreading the next twice make 2^n fields from a few
// lines: they are refused at once, not walked field by field (which
// gqlgen's own complexity count would do for ever).
func TestNestedFragmentsAreRefusedAtOnce(t *testing.T) {
	var b strings.Builder
	b.WriteString("query { ...F0 }\n")
	const n = 60
	for i := range n {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	fmt.Fprintf(&b, "fragment F%d on Query { __typename }\n", n)
	r, rec := postOp(t, abuseServer(refusingBus{}, gateway.Config{}), b.String())
	if !strings.Contains(r.errs(), "operation selects more than 20000 fields") || codes(rec) != "COMPLEXITY_LIMIT_EXCEEDED" {
		t.Fatalf("2^%d fields: %q", n, rec.Body)
	}
}

func TestLargeAnswersAreRefused(t *testing.T) {
	bus := newBigBus(1000, 4096) // 4 MiB of descriptions
	h := abuseServer(bus, gateway.Config{MaxResponseBytes: 2 << 20})
	r, rec := postOp(t, h, `{ all_last_transactions { id descr } }`)
	if codes(rec) != "RESPONSE_TOO_LARGE" || string(r.Data["all_last_transactions"]) != "" || rec.Body.Len() > 1024 {
		t.Fatalf("a 4 MiB answer with a 2 MiB limit: %.500s", rec.Body)
	}
	if !strings.Contains(r.errs(), "the answer would be larger than 2097152 bytes") {
		t.Errorf("message: %q", r.errs())
	}
	// The same without the descriptions fits.
	r, rec = postOp(t, h, `{ all_last_transactions { id iban } }`)
	if r.errs() != "" || !strings.Contains(string(r.Data["all_last_transactions"]), `"id":999`) {
		t.Fatalf("a small answer: %.300s", rec.Body)
	}
}

// The worst request the other limits allow — as many aliases of the
// largest list as the complexity limit lets through, each answered with a
// large list — makes the gateway allocate a few MiB, not the hundreds of
// MiB its 20 MB answer would take.
func TestOneRequestAllocatesAFewMiB(t *testing.T) {
	bus := newBigBus(1000, 1000) // each answer ~1.1 MB, as large as a Kafka record may be
	query := `{ ` + aliases(20, `all_last_transactions { descr }`) + `}`
	allocated := func(h http.Handler) (uint64, *httptest.ResponseRecorder) {
		postOp(t, h, `{ __typename }`) // warm up caches
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, rec := postOp(t, h, query)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, rec
	}
	unlimited, rec := allocated(abuseServer(bus, gateway.Config{MaxResponseBytes: 1 << 40}))
	if rec.Body.Len() < 15<<20 {
		t.Fatalf("without a size limit the answer is %d bytes: not the worst case", rec.Body.Len())
	}
	limited, rec := allocated(abuseServer(bus, gateway.Config{MaxResponseBytes: 2 << 20}))
	if codes(rec) != "RESPONSE_TOO_LARGE" {
		t.Fatalf("with the limit: %.300s", rec.Body)
	}
	t.Logf("allocated for one request: %.1f MiB without a size limit, %.1f MiB with 2 MiB", float64(unlimited)/(1<<20), float64(limited)/(1<<20))
	// What remains is decoding the answers asked for until the budget was
	// spent (each answer ~1.1 MB; about 2.5 times that to decode), and
	// gqlgen's bookkeeping of their fields.
	if limited > 16<<20 {
		t.Errorf("one request allocated %.1f MiB with a 2 MiB answer limit, want at most 16", float64(limited)/(1<<20))
	}
}

// A subscription's event larger than the limit reaches its subscriber as
// the error, and the next event as usual.
func TestALargeEventBecomesAnError(t *testing.T) {
	live := gateway.NewLiveFeed()
	srv := httptest.NewServer(gateway.NewServer(&graph.Resolver{Live: live},
		gateway.Config{MaxDepth: 10, MaxComplexity: 1000, KeepAlive: time.Minute, MaxResponseBytes: 64 << 10}, nil, nil))
	defer srv.Close()
	c, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	c.subscribe(t, `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id descr } }`, nil)
	waitFor(t, "the subscription", func() bool { return live.Len() == 1 })
	live.Publish(graph.Transaction(&schemas.TransactionHappenedEvent{TransactionID: 1, IBAN: iban.Company, Description: strings.Repeat("x", 100<<10)}))
	live.Publish(graph.Transaction(&schemas.TransactionHappenedEvent{TransactionID: 2, IBAN: iban.Company, Description: "small"}))
	m := c.expect(t, "next")
	if p := fmt.Sprint(m["payload"]); !strings.Contains(p, "RESPONSE_TOO_LARGE") || strings.Contains(p, "xxxx") {
		t.Fatalf("a 100 KiB event with a 64 KiB limit: %.300s", p)
	}
	if m := c.expect(t, "next"); !strings.Contains(fmt.Sprint(m["payload"]), "small") {
		t.Fatalf("the next event: %v", m)
	}
}
