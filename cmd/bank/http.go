package main

import (
	"fmt"
	"time"

	"github.com/openbank/bank/site"
)

// timeoutFlags are the flags of site.Timeouts.
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
func (tf timeoutFlags) values() (site.Timeouts, error) {
	t := site.Timeouts{Read: *tf.read, ReadHeader: *tf.readHeader, Idle: *tf.idle}
	for name, d := range map[string]time.Duration{"--http-read-timeout": t.Read, "--http-read-header-timeout": t.ReadHeader, "--http-idle-timeout": t.Idle} {
		if d <= 0 {
			return t, fmt.Errorf("%s %s: want a positive duration", name, d)
		}
	}
	return t, nil
}

// serverTimeouts returns the timeouts of the parsed flags (checked by
// parse).
func (f *flags) serverTimeouts() site.Timeouts {
	t, _ := f.timeouts.values()
	return t
}
