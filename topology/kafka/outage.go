package kafka

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// outageReminder is how often a lasting outage is logged again (at its
// first error after each interval): a reader that waits for good must not
// fall silent after one line.
const outageReminder = time.Minute

// hangingAfter is how long a group's committed offsets may stay held by an
// open transaction before it is called a probable hanging transaction: our
// producers' transaction timeout (10 s, TransactionalConfig) plus Kafka's
// check for expired transactions (every 10 s by default), with room to
// spare. Only probable: a transaction already decided (PrepareCommit) has no
// timeout, and on a cluster it may wait longer for a partition's leader.
const hangingAfter = 30 * time.Second

// Outage logs a broker outage as one line when it starts and one when it
// ends, with the count of errors between, however many partitions and
// retries report it: one 20 s outage once made 840 lines. An outage that
// lasts is logged again each outageReminder. sarama retries by itself; the
// reader just waits with it. Safe for concurrent use.
type Outage struct {
	reader string
	log    *slog.Logger
	now    func() time.Time

	mu       sync.Mutex
	errors   int
	since    time.Time
	loggedAt time.Time
	last     error
	// heldSince is when the group's offsets were first found held by a
	// transaction with no other error since (zero: they are not).
	heldSince time.Time
	hanging   bool // the held offsets were logged as a hanging transaction
}

// NewOutage returns the outage log of a reader (a consumer, a group).
func NewOutage(reader string, log *slog.Logger) *Outage {
	return &Outage{reader: reader, log: log, now: time.Now}
}

// Failed counts an error; the first of an outage is logged, the outage
// again each outageReminder while it lasts, and offsets held by a
// transaction once they have been held for hangingAfter.
func (o *Outage) Failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.errors++
	o.last = err
	first := o.errors == 1
	if first {
		o.since, o.loggedAt = now, now
	}
	held := errors.Is(err, sarama.ErrUnstableOffsetCommit)
	switch {
	case !held:
		o.heldSince, o.hanging = time.Time{}, false
	case o.heldSince.IsZero():
		o.heldSince = now
		o.log.Warn("the group's committed offsets are held by an open transaction; waiting for it to end",
			"reader", o.reader, "err", err)
		return
	}
	switch {
	case first:
		o.log.Warn("the broker does not answer; waiting for it", "reader", o.reader, "err", err)
	case held && !o.hanging && now.Sub(o.heldSince) >= hangingAfter:
		o.hanging, o.loggedAt = true, now
		o.logHanging(now)
	case now.Sub(o.loggedAt) >= outageReminder:
		o.loggedAt = now
		if o.hanging {
			o.logHanging(now)
			return
		}
		o.log.Warn("still waiting for the broker", "reader", o.reader, "for", now.Sub(o.since).Round(time.Second),
			"errors", o.errors, "last_err", o.last)
	}
}

// logHanging names offsets held past any transaction of ours: most likely
// Kafka's hanging transaction, which no coordinator will end.
func (o *Outage) logHanging(now time.Time) {
	o.log.Error("the group's committed offsets have been held by a transaction for longer than ours live: probably a hanging transaction; "+
		"confirm with Kafka's kafka-transactions.sh find-hanging before aborting it (README: \"A hanging transaction\")",
		"reader", o.reader, "for", now.Sub(o.heldSince).Round(time.Second), "errors", o.errors)
}

// Recovered ends an outage, if there is one, logging how long it lasted.
func (o *Outage) Recovered() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.errors == 0 {
		return
	}
	o.log.Info("the broker answers again", "reader", o.reader, "errors", o.errors,
		"after", o.now().Sub(o.since).Round(time.Millisecond), "last_err", o.last)
	o.errors, o.last = 0, nil
	o.heldSince, o.hanging = time.Time{}, false
}
