package main

import (
	"fmt"
	"time"
)

// serverTimeouts bound how long a bank HTTP server waits for its clients,
// so that slow or idle ones cannot hold its connections (and memory)
// forever. Websockets are not cut by them: gorilla/websocket clears the
// connection's deadlines when it takes the connection over, and the
// gateway's keep-alive pings drop dead peers instead.
type serverTimeouts struct {
	// read bounds reading a whole request, body included; readHeader its
	// headers; idle how long a kept-alive connection may wait for its
	// next request.
	read, readHeader, idle time.Duration
}

// timeoutFlags are the flags of serverTimeouts.
type timeoutFlags struct{ read, readHeader, idle *time.Duration }

// httpTimeouts adds the HTTP servers' timeout flags.
func (f *flags) httpTimeouts() timeoutFlags {
	return timeoutFlags{
		read:       f.duration("http-read-timeout", "HTTP_READ_TIMEOUT", 30*time.Second, "longest time to read a whole HTTP request, body included"),
		readHeader: f.duration("http-read-header-timeout", "HTTP_READ_HEADER_TIMEOUT", 10*time.Second, "longest time to read an HTTP request's headers"),
		idle:       f.duration("http-idle-timeout", "HTTP_IDLE_TIMEOUT", 2*time.Minute, "how long a kept-alive HTTP connection may wait for its next request"),
	}
}

// values checks the flags and returns the timeouts.
func (tf timeoutFlags) values() (serverTimeouts, error) {
	t := serverTimeouts{read: *tf.read, readHeader: *tf.readHeader, idle: *tf.idle}
	for name, d := range map[string]time.Duration{"--http-read-timeout": t.read, "--http-read-header-timeout": t.readHeader, "--http-idle-timeout": t.idle} {
		if d <= 0 {
			return t, fmt.Errorf("%s %s: want a positive duration", name, d)
		}
	}
	return t, nil
}

// serverTimeouts returns the timeouts of the parsed flags (checked by
// parse).
func (f *flags) serverTimeouts() serverTimeouts {
	t, _ := f.timeouts.values()
	return t
}
