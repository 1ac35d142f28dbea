package kafka

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// fakeOutage is an Outage on a clock the test moves.
func fakeOutage() (*Outage, *bytes.Buffer, *time.Time) {
	var buf bytes.Buffer
	clock := time.Date(2026, 11, 29, 8, 37, 0, 0, time.UTC)
	o := NewOutage("consumer group g", slog.New(slog.NewTextHandler(&buf, nil)))
	o.now = func() time.Time { return clock }
	return o, &buf, &clock
}

// A reader that waits for good is logged again each OutageReminder, not
// once and then never (a group stuck for minutes said one line).
func TestALastingOutageIsLoggedAgainEachReminder(t *testing.T) {
	o, buf, clock := fakeOutage()
	steps := []struct {
		after time.Duration
		lines int
	}{
		{0, 1},
		{OutageReminder - time.Second, 1},
		{OutageReminder, 2}, // a minute after the first line
		{OutageReminder + OutageReminder/2, 2},
		{2 * OutageReminder, 3},
	}
	start := *clock
	for _, s := range steps {
		*clock = start.Add(s.after)
		o.Failed(errors.New("connection refused"))
		if n := strings.Count(buf.String(), "\n"); n != s.lines {
			t.Fatalf("after %v: %d lines, want %d:\n%s", s.after, n, s.lines, buf)
		}
	}
	if !strings.Contains(buf.String(), `msg="still waiting for the broker"`) || !strings.Contains(buf.String(), "for=2m0s") {
		t.Fatalf("no reminder with the outage's length:\n%s", buf)
	}
	o.Recovered()
	buf.Reset()
	*clock = start.Add(3 * OutageReminder)
	o.Failed(errors.New("connection refused")) // a new outage starts its own count
	if !strings.Contains(buf.String(), "does not answer") {
		t.Fatalf("a new outage after recovery was not logged as one:\n%s", buf)
	}
}

// Committed offsets held by an open transaction are not a broker that does
// not answer; held for longer than any transaction lives, they are Kafka's
// hanging transaction, which only an operator can end: say so, as an error.
func TestOffsetsHeldPastAnyTransactionAreCalledAHangingTransaction(t *testing.T) {
	o, buf, clock := fakeOutage()
	held := fmt.Errorf("fetch committed offsets: %w", sarama.ErrUnstableOffsetCommit)
	start := *clock
	o.Failed(held)
	if s := buf.String(); !strings.Contains(s, "held by an open transaction") || strings.Contains(s, "does not answer") {
		t.Fatalf("first line:\n%s", s)
	}
	*clock = start.Add(OutageReminder)
	o.Failed(held)
	s := buf.String()
	if !strings.Contains(s, "level=ERROR") || !strings.Contains(s, "hanging transaction") || !strings.Contains(s, "kafka-transactions.sh find-hanging") {
		t.Fatalf("offsets held for %v were not called a hanging transaction:\n%s", OutageReminder, s)
	}
	if HangingAfter > OutageReminder {
		t.Fatalf("HangingAfter %v is longer than the first reminder %v: the first reminder could never name it", HangingAfter, OutageReminder)
	}
}
