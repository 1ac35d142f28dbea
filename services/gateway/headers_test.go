package gateway_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// Every answer, pages and API alike, carries the security headers; the
// pages' policies allow only what comes from the bank itself, and
// GraphiQL's inline script by its hash. (The browser tests show the pages
// work under them: they fail on anything the policy blocks.)
func TestSecurityHeaders(t *testing.T) {
	_, srv := startGateway(t, kafkatest.Synced(t), nil)
	check := func(what string, res *http.Response) string {
		t.Helper()
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("%s: %s %q, want %q", what, k, got, want)
			}
		}
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: Content-Security-Policy %q lacks %s", what, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: Content-Security-Policy %q allows unsafe scripts or styles", what, csp)
		}
		return csp
	}

	res, _ := get(t, srv.URL+"/", nil)
	if csp := check("/", res); !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "connect-src 'self' ws://"+strings.TrimPrefix(srv.URL, "http://")) {
		t.Errorf("/: Content-Security-Policy %q", csp)
	}
	res, page := get(t, srv.URL+"/graphiql", nil)
	csp := check("/graphiql", res)
	inline := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	if len(inline) == 0 {
		t.Fatalf("/graphiql has no inline script:\n%s", page)
	}
	for _, m := range inline {
		sum := sha256.Sum256([]byte(m[1]))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, "script-src 'self' "+h) {
			t.Errorf("/graphiql: Content-Security-Policy %q does not allow its inline script (%s)", csp, h)
		}
	}
	for _, path := range []string{"/graphiql/assets/graphiql.min.js", "/app.js", "/no-such-page"} {
		res, _ := get(t, srv.URL+path, nil)
		check(path, res)
	}
	res, _ = get(t, srv.URL+"/graphql?query={__typename}", nil)
	if csp := check("GET /graphql", res); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Errorf("the API's Content-Security-Policy %q", csp)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	check("POST /graphql", res)
	// A refused websocket from another site's page.
	res, _ = get(t, srv.URL+"/graphql", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"}, "Sec-Websocket-Version": {"13"},
		"Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {"https://evil.example"}})
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("a websocket from another site: %s", res.Status)
	}
	check("a refused websocket", res)
}
