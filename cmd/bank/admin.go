package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"

	"github.com/openbank/bank/services/gateway"
)

// The gateway (`bank gateway`, and `bank`) serves its public pages and API
// on --http-addr, and what only operators should see — Prometheus metrics,
// the cluster's status, Go's profiles — on a separate admin address, by
// default on loopback only. The other services have no public side: they
// serve health and metrics on their one address.

// adminAddr adds the flag of the admin listen address.
func (f *flags) adminAddr() *string {
	return f.string("admin-addr", "ADMIN_ADDR", "127.0.0.1:8889", "listen address of /metrics, /status and /debug/pprof/ (with --pprof), kept off the public address; keep it unreachable from outside (empty: not served)")
}

// listenAdmin listens on the admin address; nil when there is none.
func listenAdmin(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("serve the admin address (--admin-addr): %w", err)
	}
	return ln, nil
}

// adminURL names the admin address for people, "off" when there is none.
func adminURL(ln net.Listener) string {
	if ln == nil {
		return "off"
	}
	return browserURL(ln.Addr())
}

// public is what a gateway serves to everyone: health, readiness, and the
// API and pages, each answer with the security headers.
func (s *site) public() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	if s.api != nil {
		mux.Handle("/", s.api)
	}
	return gateway.SecurityHeaders(mux)
}

// admin is what only operators may see: metrics, status and profiles,
// with health and readiness for their monitors.
func (s *site) admin() http.Handler {
	mux := http.NewServeMux()
	s.health(mux)
	s.operations(mux)
	return mux
}

// serveSite serves s's public side on public and its admin side on admin
// (if any) until ctx ends or either fails.
func serveSite(ctx context.Context, public, admin net.Listener, s *site, t serverTimeouts, log *slog.Logger) error {
	if admin == nil {
		return serve(ctx, public, s.public(), t, log)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- serve(ctx, public, s.public(), t, log) }()
	go func() { done <- serve(ctx, admin, s.admin(), t, log) }()
	err := <-done
	cancel()
	if err2 := <-done; err == nil {
		err = err2
	}
	return err
}
