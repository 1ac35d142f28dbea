// Package site is what a bank process serves over HTTP beside its work:
// health and readiness for its orchestrator, metrics, status and profiles
// for operators, and, for a gateway, its API and pages. A gateway serves
// them on two addresses (Public, Admin); a service without a public side
// on one (Handler). cmd/bank wires a Site to each process; this package
// serves it.
package site

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Site is what one process serves.
type Site struct {
	// API is the gateway's API and pages; nil for other services.
	API http.Handler
	// Status shows what the backbone holds; nil for none.
	Status http.HandlerFunc
	// Checks must all pass for the process to be ready; Optional are
	// listed by /readyz without making it fail (parts the bank serves
	// without, such as the SQL reports store).
	Checks, Optional []Check
	// Profiles serves Go's profiles at /debug/pprof/.
	Profiles bool
	// Headers wraps what the public address answers (the gateway's
	// security headers); nil for none.
	Headers func(http.Handler) http.Handler
}

// Check is one condition of readiness.
type Check struct {
	Name string
	Fn   func(context.Context) error
}

// Handler serves everything on one address: what a service without a
// public side (command handler, projector, alerts, reports) serves.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	s.operations(mux)
	if s.API != nil {
		mux.Handle("/", s.API)
	}
	return mux
}

// Public is what a gateway serves to everyone: health, readiness, and the
// API and pages.
func (s *Site) Public() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	if s.API != nil {
		mux.Handle("/", s.API)
	}
	if s.Headers != nil {
		return s.Headers(mux)
	}
	return mux
}

// Admin is what only operators may see: metrics, status and profiles,
// with health and readiness for their monitors.
func (s *Site) Admin() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	s.operations(mux)
	return mux
}

// health serves /healthz and /readyz.
func (s *Site) health(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
}

// operations serves /metrics, /status and the profiles, for operators.
func (s *Site) operations(mux *http.ServeMux) {
	mux.Handle("GET /metrics", promhttp.Handler())
	if s.Status != nil {
		mux.HandleFunc("GET /status", s.Status)
	}
	if s.Profiles {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// ready reports whether every check passes now.
func (s *Site) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	problems := map[string]string{}
	for _, c := range s.Checks {
		if err := c.Fn(ctx); err != nil {
			problems[c.Name] = err.Error()
		}
	}
	optional := map[string]string{}
	for _, c := range s.Optional {
		optional[c.Name] = "ready"
		if err := c.Fn(ctx); err != nil {
			optional[c.Name] = err.Error()
		}
	}
	answer := map[string]any{"status": "ready"}
	if len(optional) > 0 {
		answer["optional"] = optional
	}
	if len(problems) > 0 {
		answer["status"], answer["problems"] = "not ready", problems
		WriteJSON(w, http.StatusServiceUnavailable, answer)
		return
	}
	WriteJSON(w, http.StatusOK, answer)
}

// WriteJSON answers v as JSON with the status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
