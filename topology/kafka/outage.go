package kafka

import (
	"log/slog"
	"sync"
	"time"
)

// Outage logs a broker outage as one line when it starts and one when it
// ends, with the count of errors between, however many partitions and
// retries report it: one 20 s outage once made 840 lines. sarama retries
// by itself; the reader just waits with it. Safe for concurrent use.
type Outage struct {
	reader string
	log    *slog.Logger

	mu     sync.Mutex
	errors int
	since  time.Time
	last   error
}

// NewOutage returns the outage log of a reader (a consumer, a group).
func NewOutage(reader string, log *slog.Logger) *Outage {
	return &Outage{reader: reader, log: log}
}

// Failed counts an error; the first of an outage is logged.
func (o *Outage) Failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.errors == 0 {
		o.since = time.Now()
		o.log.Warn("the broker does not answer; waiting for it", "reader", o.reader, "err", err)
	}
	o.errors++
	o.last = err
}

// Recovered ends an outage, if there is one, logging how long it lasted.
func (o *Outage) Recovered() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.errors == 0 {
		return
	}
	o.log.Info("the broker answers again", "reader", o.reader, "errors", o.errors,
		"after", time.Since(o.since).Round(time.Millisecond), "last_err", o.last)
	o.errors, o.last = 0, nil
}
