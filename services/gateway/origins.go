package gateway

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
)

// cors lets the configured origins call the API from browsers; the
// gateway's own pages need nothing.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && g.cfg.listed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c Config) listed(origin string) bool {
	return slices.Contains(c.CORSOrigins, "*") || slices.Contains(c.CORSOrigins, origin)
}

// identifyClient names the request's client for the log-in limits and
// the websocket limits: the one place that decides who a client is.
func (g *Gateway) identifyClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := ""
		if g.cfg.ClientAddressHeader != "" {
			// A proxy appending to X-Forwarded-For puts the address it saw last.
			list := strings.Split(r.Header.Get(g.cfg.ClientAddressHeader), ",")
			addr = strings.TrimSpace(list[len(list)-1])
		}
		if addr == "" {
			addr = r.RemoteAddr
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				addr = host
			}
		}
		next.ServeHTTP(w, r.WithContext(graph.WithClient(withClientAddress(r.Context(), addr), addr)))
	})
}

// checkOrigin refuses websockets from other sites' pages: browsers let any
// page open a websocket to any host, with the visitor's network position
// and cookies.
func (g *Gateway) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) && !g.cfg.originAllowed(r) {
			http.Error(w, "websocket origin not allowed: "+r.Header.Get("Origin")+" (see --cors-origins)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed accepts no Origin (not a browser), the gateway's own host,
// or a configured origin.
func (c Config) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || c.listed(origin)
}
