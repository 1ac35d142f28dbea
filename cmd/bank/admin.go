package main

import (
	"fmt"
	"net"
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
