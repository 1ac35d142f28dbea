package site

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Timeouts bound how long a bank HTTP server waits for its clients, so
// that slow or idle ones cannot hold its connections (and memory)
// forever. Websockets are not cut by them: gorilla/websocket clears the
// connection's deadlines when it takes the connection over, and the
// gateway's keep-alive pings drop dead peers instead.
type Timeouts struct {
	// Read bounds reading a whole request, body included; ReadHeader its
	// headers; Idle how long a kept-alive connection may wait for its
	// next request.
	Read, ReadHeader, Idle time.Duration
}

// Serve serves h on ln until ctx ends, then shuts down, giving requests in
// flight 10 s.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, t Timeouts, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadTimeout: t.Read, ReadHeaderTimeout: t.ReadHeader, IdleTimeout: t.Idle, MaxHeaderBytes: 64 << 10}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		return fmt.Errorf("http: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	return nil
}

// ServePublicAndAdmin serves s's public side on public and its admin side
// on admin (if any; else only the public side) until ctx ends or either
// fails.
func ServePublicAndAdmin(ctx context.Context, public, admin net.Listener, s *Site, t Timeouts, log *slog.Logger) error {
	if admin == nil {
		return Serve(ctx, public, s.Public(), t, log)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- Serve(ctx, public, s.Public(), t, log) }()
	go func() { done <- Serve(ctx, admin, s.Admin(), t, log) }()
	err := <-done
	cancel()
	if err2 := <-done; err == nil {
		err = err2
	}
	return err
}
