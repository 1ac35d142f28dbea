package kafka

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// OutageReminder is how often a lasting outage is logged again: a reader
// that waits for good must not fall silent after one line.
const OutageReminder = time.Minute

// HangingAfter is how long a group's committed offsets may stay held by an
// open transaction before it is called a hanging transaction: three times
// the longest transaction timeout the bank's producers ask for (10 s), after
// which the coordinator has aborted any transaction it knows of.
const HangingAfter = 30 * time.Second

// Outage logs a broker outage as one line when it starts and one when it
// ends, with the count of errors between, however many partitions and
// retries report it: one 20 s outage once made 840 lines. An outage that
// lasts is logged again each OutageReminder. sarama retries by itself; the
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
}

// NewOutage returns the outage log of a reader (a consumer, a group).
func NewOutage(reader string, log *slog.Logger) *Outage {
	return &Outage{reader: reader, log: log, now: time.Now}
}

// Failed counts an error; the first of an outage is logged, and the outage
// again each OutageReminder while it lasts.
func (o *Outage) Failed(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.errors++
	o.last = err
	switch {
	case o.errors == 1:
		o.since, o.loggedAt = now, now
		if errors.Is(err, sarama.ErrUnstableOffsetCommit) {
			o.log.Warn("the group's committed offsets are held by an open transaction; waiting for it to end",
				"reader", o.reader, "err", err)
			return
		}
		o.log.Warn("the broker does not answer; waiting for it", "reader", o.reader, "err", err)
	case now.Sub(o.loggedAt) >= OutageReminder:
		o.loggedAt = now
		o.remind(now)
	}
}

// remind logs an outage that lasts. Offsets held by a transaction for
// longer than any transaction lives is Kafka's hanging transaction: no
// coordinator will end it, so waiting longer cannot help.
func (o *Outage) remind(now time.Time) {
	lasted := now.Sub(o.since).Round(time.Second)
	if errors.Is(o.last, sarama.ErrUnstableOffsetCommit) && lasted >= HangingAfter {
		o.log.Error("the group's committed offsets are held by a transaction no coordinator will end (a hanging transaction): "+
			"find it with Kafka's kafka-transactions.sh find-hanging and end it with kafka-transactions.sh abort (README: \"A hanging transaction\")",
			"reader", o.reader, "for", lasted, "errors", o.errors, "last_err", o.last)
		return
	}
	o.log.Warn("still waiting for the broker", "reader", o.reader, "for", lasted, "errors", o.errors, "last_err", o.last)
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
}
