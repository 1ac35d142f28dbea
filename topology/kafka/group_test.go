package kafka

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// fakeGroup's Consume either hangs (as a join nobody answers) until its
// client closes, or calls Setup and holds a session until ctx ends.
type fakeGroup struct {
	sarama.ConsumerGroup
	hang   bool
	client *fakeClient
	joins  int
}

func (g *fakeGroup) Consume(ctx context.Context, _ []string, h sarama.ConsumerGroupHandler) error {
	g.joins++
	if g.hang {
		<-g.client.closed
		return errors.New("kafka: broker not connected")
	}
	if err := h.Setup(nil); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

type fakeClient struct {
	sarama.Client
	once   sync.Once
	closed chan struct{}
}

func (c *fakeClient) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

type nopHandler struct{ setups int }

func (h *nopHandler) Setup(sarama.ConsumerGroupSession) error   { h.setups++; return nil }
func (h *nopHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *nopHandler) ConsumeClaim(sarama.ConsumerGroupSession, sarama.ConsumerGroupClaim) error {
	return nil
}

func TestAStuckJoinIsAbandoned(t *testing.T) {
	defer func(d time.Duration) { JoinTimeout = d }(JoinTimeout)
	JoinTimeout = 50 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	client := &fakeClient{closed: make(chan struct{})}
	g := &fakeGroup{hang: true, client: client}
	start := time.Now()
	if hung := consume(context.Background(), g, client, []string{"t"}, &nopHandler{}, NewOutage("test", log)); !hung {
		t.Fatal("a join that never ends was not reported as hung")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("gave up after %s", took)
	}
	select {
	case <-client.closed:
	default:
		t.Fatal("the client of a stuck join was not closed")
	}
}

func TestASessionIsNotAJoin(t *testing.T) {
	defer func(d time.Duration) { JoinTimeout = d }(JoinTimeout)
	JoinTimeout = 50 * time.Millisecond
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	client := &fakeClient{closed: make(chan struct{})}
	g := &fakeGroup{client: client}
	h := &nopHandler{}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if hung := consume(ctx, g, client, []string{"t"}, h, NewOutage("test", log)); hung {
		t.Fatal("a session that outlasts JoinTimeout was taken for a stuck join")
	}
	if h.setups != 1 || g.joins != 1 {
		t.Fatalf("%d setups, %d joins; want one session", h.setups, g.joins)
	}
	select {
	case <-client.closed:
		t.Fatal("the client of a healthy session was closed")
	default:
	}
}

// claimOf is a claim whose messages are those of ch.
type claimOf struct {
	sarama.ConsumerGroupClaim
	ch chan *sarama.ConsumerMessage
}

func (c claimOf) Messages() <-chan *sarama.ConsumerMessage { return c.ch }

func TestBatch(t *testing.T) {
	c := claimOf{ch: make(chan *sarama.ConsumerMessage, 10)}
	for i := range 5 {
		c.ch <- &sarama.ConsumerMessage{Offset: int64(i)}
	}
	if b := Batch(t.Context(), c, 3, 0); len(b) != 3 || b[2].Offset != 2 {
		t.Fatalf("first batch %v, want offsets 0 to 2", b)
	}
	if b := Batch(t.Context(), c, 3, 0); len(b) != 2 || b[1].Offset != 4 {
		t.Fatalf("second batch %v, want what was waiting: offsets 3 and 4", b)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if b := Batch(ctx, c, 3, 0); b != nil {
		t.Fatalf("with nothing waiting until ctx ends: %v", b)
	}
	close(c.ch)
	if b := Batch(t.Context(), c, 3, 0); b != nil {
		t.Fatalf("from a closed claim: %v", b)
	}
}

func TestGatherWait(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	at := func(ts time.Time) *sarama.ConsumerMessage { return &sarama.ConsumerMessage{Timestamp: ts} }
	tests := []struct {
		name   string
		first  *sarama.ConsumerMessage
		gather time.Duration
		want   time.Duration
	}{
		{"no gathering", at(now), 0, 0},
		{"negative gathering", at(now), -time.Second, 0},
		{"written now", at(now), 50 * time.Millisecond, 50 * time.Millisecond},
		{"written 20 ms ago", at(now.Add(-20 * time.Millisecond)), 50 * time.Millisecond, 30 * time.Millisecond},
		{"written exactly gather ago", at(now.Add(-50 * time.Millisecond)), 50 * time.Millisecond, 0},
		{"a catch-up: written an hour ago", at(now.Add(-time.Hour)), 50 * time.Millisecond, -time.Hour + 50*time.Millisecond},
		{"a clock ahead of ours", at(now.Add(time.Hour)), 50 * time.Millisecond, 50 * time.Millisecond},
		{"no timestamp", at(time.Time{}), 50 * time.Millisecond, 50 * time.Millisecond},
		{"the largest gather", at(now), time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := gatherWait(tt.first, tt.gather, now); got != tt.want {
				t.Fatalf("gatherWait = %v, want %v", got, tt.want)
			}
		})
	}
}

// With a gather window, Batch keeps taking messages that come after the
// first until max, returns nothing when ctx ends (the batch is delivered
// again) and what it has when the claim closes. The windows are an hour
// long: nothing here waits for a timer.
func TestBatchGathers(t *testing.T) {
	c := claimOf{ch: make(chan *sarama.ConsumerMessage)}
	go func() {
		for i := range 3 {
			c.ch <- &sarama.ConsumerMessage{Offset: int64(i), Timestamp: time.Now()}
		}
	}()
	if b := Batch(t.Context(), c, 3, time.Hour); len(b) != 3 || b[2].Offset != 2 {
		t.Fatalf("gathered %v, want offsets 0 to 2 sent one after another", b)
	}

	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		c.ch <- &sarama.ConsumerMessage{Offset: 3, Timestamp: time.Now()}
		cancel()
	}()
	if b := Batch(ctx, c, 3, time.Hour); b != nil {
		t.Fatalf("when the session ends while gathering: %v, want none (it is delivered again)", b)
	}

	go func() {
		c.ch <- &sarama.ConsumerMessage{Offset: 4, Timestamp: time.Now()}
		close(c.ch)
	}()
	if b := Batch(t.Context(), c, 3, time.Hour); len(b) != 1 || b[0].Offset != 4 {
		t.Fatalf("when the claim closes while gathering: %v, want offset 4", b)
	}
}

// A record written long ago (a catch-up after a restart) is not held: the
// batch is what is waiting, at once.
func TestBatchHoldsNoOldRecord(t *testing.T) {
	c := claimOf{ch: make(chan *sarama.ConsumerMessage, 2)}
	c.ch <- &sarama.ConsumerMessage{Offset: 0, Timestamp: time.Now().Add(-2 * time.Hour)}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if b := Batch(ctx, c, 3, time.Hour); len(b) != 1 || ctx.Err() != nil {
		t.Fatalf("batch %v after %v: an old record was held", b, ctx.Err())
	}
}
