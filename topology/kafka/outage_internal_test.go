package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// outageClock is an Outage on a clock the test moves, and its log.
type outageClock struct {
	*Outage
	buf   *bytes.Buffer
	start time.Time
	at    time.Time
}

func newOutageClock() *outageClock {
	c := &outageClock{buf: new(bytes.Buffer), start: time.Date(2026, 11, 29, 8, 37, 0, 0, time.UTC)}
	c.at = c.start
	c.Outage = NewOutage("consumer group g", slog.New(slog.NewTextHandler(c.buf, nil)))
	c.now = func() time.Time { return c.at }
	return c
}

// failAt reports err at start+after and returns what that logged.
func (c *outageClock) failAt(after time.Duration, err error) string {
	c.at = c.start.Add(after)
	n := c.buf.Len()
	c.Failed(err)
	return c.buf.String()[n:]
}

var (
	refused = errors.New("connection refused")
	held    = fmt.Errorf("fetch committed offsets: %w", sarama.ErrUnstableOffsetCommit)
)

// A reader that waits for good is logged again each outageReminder, not
// once and then never (a group stuck for minutes said one line), and a
// broker outage is never called a hanging transaction.
func TestALastingOutageIsLoggedAgainEachReminder(t *testing.T) {
	c := newOutageClock()
	steps := []struct {
		after time.Duration
		logs  bool
	}{
		{0, true},
		{hangingAfter, false},
		{outageReminder - time.Second, false},
		{outageReminder, true},
		{outageReminder + outageReminder/2, false},
		{2 * outageReminder, true},
	}
	for _, s := range steps {
		if got := c.failAt(s.after, refused); (got != "") != s.logs {
			t.Fatalf("after %v: logged %q, want a line: %v", s.after, got, s.logs)
		}
	}
	if s := c.buf.String(); !strings.Contains(s, `msg="still waiting for the broker"`) || !strings.Contains(s, "for=2m0s") ||
		strings.Contains(s, "level=ERROR") || strings.Contains(s, "transaction") {
		t.Fatalf("a broker outage was logged as:\n%s", s)
	}
	c.at = c.start.Add(2*outageReminder + 1500*time.Millisecond)
	c.Recovered()
	if !strings.Contains(c.buf.String(), "after=2m1.5s") {
		t.Fatalf("the end of the outage does not say how long it lasted:\n%s", c.buf)
	}
	if got := c.failAt(3*outageReminder, refused); !strings.Contains(got, "does not answer") {
		t.Fatalf("a new outage after recovery was logged as %q", got)
	}
}

// Committed offsets held by an open transaction are not a broker that does
// not answer; held for hangingAfter, longer than ours live, they are most
// likely Kafka's hanging transaction, which only an operator can end: say
// so as an error, then with each reminder.
func TestOffsetsHeldPastAnyTransactionAreCalledAHangingTransaction(t *testing.T) {
	c := newOutageClock()
	if got := c.failAt(0, held); !strings.Contains(got, "held by an open transaction") || strings.Contains(got, "does not answer") {
		t.Fatalf("first line: %q", got)
	}
	if got := c.failAt(hangingAfter-time.Second, held); got != "" {
		t.Fatalf("offsets held for %v already logged: %q", hangingAfter-time.Second, got)
	}
	got := c.failAt(hangingAfter, held)
	if !strings.Contains(got, "level=ERROR") || !strings.Contains(got, "hanging transaction") ||
		!strings.Contains(got, "kafka-transactions.sh find-hanging") || !strings.Contains(got, "for=30s") {
		t.Fatalf("offsets held for %v were logged as %q", hangingAfter, got)
	}
	if got := c.failAt(hangingAfter+outageReminder/2, held); got != "" {
		t.Fatalf("logged again before a reminder was due: %q", got)
	}
	if got := c.failAt(hangingAfter+outageReminder, held); !strings.Contains(got, "level=ERROR") {
		t.Fatalf("the reminder of a hanging transaction was %q", got)
	}
}

// How long the offsets have been held counts from when they were first
// found held, not from the start of an outage that began otherwise: a
// transaction finishing its markers after a long broker outage is not a
// hanging one.
func TestOffsetsHeldAfterAnOutageAreTimedFromWhenTheyWereHeld(t *testing.T) {
	c := newOutageClock()
	c.failAt(0, refused)
	got := c.failAt(55*time.Second, held)
	if !strings.Contains(got, "held by an open transaction") {
		t.Fatalf("offsets found held mid-outage were logged as %q", got)
	}
	for _, after := range []time.Duration{61 * time.Second, 55*time.Second + hangingAfter - time.Second} {
		if got := c.failAt(after, held); strings.Contains(got, "ERROR") {
			t.Fatalf("at %v, offsets held for %v were called hanging: %q", after, after-55*time.Second, got)
		}
	}
	if got := c.failAt(55*time.Second+hangingAfter, held); !strings.Contains(got, "hanging transaction") {
		t.Fatalf("offsets held for %v were logged as %q", hangingAfter, got)
	}
	// Another error in between starts the count again.
	c.failAt(2*outageReminder, refused)
	c.failAt(2*outageReminder+time.Second, held)
	if got := c.failAt(2*outageReminder+hangingAfter, held); strings.Contains(got, "ERROR") {
		t.Fatalf("offsets held for %v since the last other error were called hanging: %q", hangingAfter-time.Second, got)
	}
}

// Every partition and retry of a reader reports to one Outage at once: a
// burst of errors from many goroutines, held offsets among them, is counted
// whole and logged as one outage.
func TestAnOutageCountsABurstFromManyGoroutines(t *testing.T) {
	c := newOutageClock()
	const goroutines, each = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if (g+i)%3 == 0 {
					c.Failed(held)
				} else {
					c.Failed(refused)
				}
			}
		})
	}
	wg.Wait()
	c.Recovered()
	s := c.buf.String()
	if !strings.Contains(s, fmt.Sprintf("errors=%d", goroutines*each)) || strings.Contains(s, "level=ERROR") {
		t.Fatalf("a burst of %d errors within a second was logged as:\n%s", goroutines*each, s)
	}
	if n := strings.Count(s, "still waiting"); n != 0 {
		t.Fatalf("%d reminders for an outage that lasted no time:\n%s", n, s)
	}
}
