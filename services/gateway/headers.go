package gateway

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// The Content-Security-Policy of each kind of answer. Every one forbids
// framing (clickjacking) and <base> (which would redirect relative URLs).
const (
	// apiPolicy is for the API's JSON and everything else that is no
	// page: nothing in it may load or run anything.
	apiPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	// pagePolicy is for the frontend, a build-free ES-module app whose
	// scripts and styles all come from this server, and GraphiQL's page
	// (with the hashes of its inline script and style added). %s is the
	// connect-src of websockets to this server.
	pagePolicy = "default-src 'none'; script-src 'self'%s; style-src 'self'%s; img-src 'self' data:; font-src 'self' data:; connect-src 'self'%s; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

// SecurityHeaders sets on every answer of next: a Content-Security-Policy
// for an answer that is no page (pages set their own: see withPagePolicy),
// no framing by other sites, no MIME sniffing, and no Referer sent
// anywhere (page URLs carry nothing others should see, but the hash routes
// of the frontend could one day).
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", apiPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// validHost is a Host header fit to name in a policy.
var validHost = regexp.MustCompile(`^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$`)

// withPagePolicy serves a page with pagePolicy, allowing the inline
// scripts and styles of the given hashes ("'sha256-…'").
func withPagePolicy(next http.Handler, scriptHashes, styleHashes []string) http.Handler {
	list := func(hashes []string) string {
		if len(hashes) == 0 {
			return ""
		}
		return " " + strings.Join(hashes, " ")
	}
	scripts, styles := list(scriptHashes), list(styleHashes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// 'self' covers websockets to this server in CSP 3; naming them
		// serves browsers that predate it.
		ws := ""
		if validHost.MatchString(r.Host) {
			ws = " ws://" + r.Host + " wss://" + r.Host
		}
		w.Header().Set("Content-Security-Policy", fmt.Sprintf(pagePolicy, scripts, styles, ws))
		next.ServeHTTP(w, r)
	})
}

var (
	inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)
	inlineStyle  = regexp.MustCompile(`(?s)<style>(.*?)</style>`)
)

// inlineHashes renders a page that is the same for every request and
// returns the CSP hashes of its inline scripts and styles.
func inlineHashes(page http.Handler) (scripts, styles []string) {
	rec := &pageRecorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	page.ServeHTTP(rec, req)
	body := rec.body.String()
	hash := func(re *regexp.Regexp) []string {
		var out []string
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			sum := sha256.Sum256([]byte(m[1]))
			out = append(out, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return out
	}
	return hash(inlineScript), hash(inlineStyle)
}

// pageRecorder keeps what a handler writes.
type pageRecorder struct {
	header http.Header
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header         { return p.header }
func (p *pageRecorder) Write(b []byte) (int, error) { return p.body.Write(b) }
func (p *pageRecorder) WriteHeader(int)             {}
