package alerts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Webhook delivery, isolated per destination.
//
// Each alert with a webhook goes to the queue of its destination (the
// webhook URL's scheme, host and port). A destination posts one alert at a
// time, in the order they came, retrying with back-off; destinations work
// side by side, at most MaxInFlight posts at once in all. So a receiver
// that hangs or fails delays only its own alerts.
//
// The delivery state is the group's committed offset of each partition of
// the alerts topic, with its metadata. Deliveries finish out of order, so
// the committed offset is the lowest alert not yet delivered (or given up
// and parked), and the metadata lists what lies above it: how far the
// partition was read, and which of those alerts are still pending; the
// others are delivered. An instance that takes the partition over — after
// a restart, a crash or a rebalance — starts at the committed offset and
// posts only the pending alerts below that mark, then everything after.
// Nothing is lost, and a post is repeated only if it was in flight when
// its instance stopped (its receiver may have taken it just before), with
// the same Idempotency-Key for the receiver to recognize: a destination
// posts its next alert only once the last one's outcome is committed, so
// that is at most one post per destination, and MaxInFlight in all.
//
// A partition holds at most MaxPending alerts not yet delivered: beyond,
// it reads no further until some are done, which bounds memory and the
// metadata (well under Kafka's 4 KiB offset.metadata.max.bytes).

var (
	webhookPending = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "openbank_alert_webhook_pending",
		Help: "Alerts with a webhook read but not yet delivered or given up, on this instance.",
	})
	webhookDestinations = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "openbank_alert_webhook_destinations",
		Help: "Webhook destinations with alerts queued or being posted, on this instance.",
	})
)

// Bounds of the delivery (Config.MaxInFlight, Config.MaxPending).
const (
	defaultMaxInFlight = 32
	defaultMaxPending  = 200
)

// destinationOf keys a webhook's queue: scheme, host and port.
func destinationOf(webhook string) string {
	u, err := url.Parse(webhook)
	if err != nil || u.Host == "" {
		return webhook
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + net.JoinHostPort(host, port)
}

// job is one alert to post, for a partition's tracker.
type job struct {
	ctx   context.Context // the group session's: a job of a lost partition is dropped
	alert *schemas.AlertTriggeredEvent
	msg   *sarama.ConsumerMessage
	// result gets the job's outcome, once; it has room for every job of
	// its partition, so sending never waits.
	result chan<- outcome
}

// outcome is what became of a job: done (delivered or parked) or dropped
// because its session ended first. committed is closed once the outcome
// is committed: a destination posts its next alert only then, so a crash
// repeats at most the one post of each destination that was in flight.
type outcome struct {
	offset    int64
	done      bool
	committed chan struct{}
}

// dispatcher holds the destinations' queues and their workers.
type dispatcher struct {
	s     *service
	slots chan struct{} // one per post in flight

	mu    sync.Mutex
	dests map[string][]*job // queued, by destination; present while its worker runs
	wg    sync.WaitGroup    // the workers
}

func newDispatcher(s *service) *dispatcher {
	return &dispatcher{s: s, slots: make(chan struct{}, s.cfg.MaxInFlight), dests: map[string][]*job{}}
}

// enqueue queues j behind its destination's other alerts, starting the
// destination's worker if it has none. Workers end once their queue is
// empty; they stop posting once their jobs' sessions end.
func (d *dispatcher) enqueue(j *job) {
	key := destinationOf(j.alert.Webhook)
	d.mu.Lock()
	defer d.mu.Unlock()
	q, running := d.dests[key]
	d.dests[key] = append(q, j)
	if !running {
		webhookDestinations.Inc()
		d.wg.Go(func() { d.work(key) })
	}
}

// wait waits for the workers: call it once nothing enqueues any more and
// the sessions have ended.
func (d *dispatcher) wait() { d.wg.Wait() }

// work delivers the queue of one destination, in order.
func (d *dispatcher) work(key string) {
	for {
		d.mu.Lock()
		q := d.dests[key]
		if len(q) == 0 {
			delete(d.dests, key)
			d.mu.Unlock()
			webhookDestinations.Dec()
			return
		}
		j := q[0]
		d.dests[key] = q[1:]
		d.mu.Unlock()
		o := outcome{offset: j.msg.Offset, done: d.deliver(j), committed: make(chan struct{})}
		j.result <- o
		if o.done {
			select {
			case <-o.committed:
			case <-j.ctx.Done():
			}
		}
	}
}

// deliver posts j's alert, retrying with back-off, and parks it on
// dead_letters when it is refused or the attempts are spent. It reports
// whether the alert is done with (false: its session ended first).
func (d *dispatcher) deliver(j *job) bool {
	s, ctx, a := d.s, j.ctx, j.alert
	wait := s.cfg.RetryAfter
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return false
		}
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		err := s.post(ctx, a)
		<-d.slots
		if err == nil {
			webhookDeliveries.WithLabelValues("delivered").Inc()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, contract.ErrNotPublic) {
			// Trying again would not change where it leads.
			webhookDeliveries.WithLabelValues("refused").Inc()
			return d.park(ctx, j.msg, fmt.Errorf("webhook %s refused: %w", a.Webhook, err))
		}
		if attempt >= s.cfg.Attempts {
			webhookDeliveries.WithLabelValues("given_up").Inc()
			return d.park(ctx, j.msg, fmt.Errorf("webhook %s: %d attempts, the last: %w", a.Webhook, attempt, err))
		}
		webhookDeliveries.WithLabelValues("failed").Inc()
		s.log.Warn("webhook failed; trying again", "alert", a.ID.String(), "attempt", attempt, "in", wait, "err", err)
		if !kafka.Sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, time.Minute)
	}
}

// park puts an alert that cannot be delivered on dead_letters, trying
// again while Kafka does not take it; false if the session ended first.
func (d *dispatcher) park(ctx context.Context, m *sarama.ConsumerMessage, cause error) bool {
	d.s.log.Error("alert parked on dead letters", "partition", m.Partition, "offset", m.Offset, "err", cause)
	for {
		_, _, err := d.s.parking.SendMessage(kafka.DeadLetter(m, DeliverGroup, cause))
		if err == nil {
			return true
		}
		d.s.log.Error("dead letter not written; trying again", "err", err)
		if !kafka.Sleep(ctx, time.Second) {
			return false
		}
	}
}

// deliverer is the DeliverGroup member: it reads the alerts, hands those
// with a webhook to the dispatcher and commits, per partition, what is
// done (see the top of this file).
type deliverer struct {
	s *service
	d *dispatcher
}

func (*deliverer) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*deliverer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim hands a partition's alerts to the destinations' queues and
// commits, as they finish, the lowest offset not yet delivered with the
// pending ones above it. It is long on purpose: one goroutine owns the
// partition's delivery state, so reading, outcomes and commits interleave
// in one loop with no lock.
func (dl *deliverer) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	s := dl.s
	ctx := sess.Context()
	start := claim.InitialOffset() // negative when nothing is committed yet
	resume, err := dl.resumeState(claim.Topic(), claim.Partition())
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading the delivery state failed; the partition comes again", "partition", claim.Partition(), "err", err)
			kafka.Sleep(ctx, time.Second)
		}
		return nil
	}
	// What is committed now: start, with metadata we may not have read
	// (so the first commit writes ours even at the same offset).
	t := &tracker{next: start, pending: map[int64]bool{}, committed: start}
	if resume.base != start {
		resume = deliveryState{} // metadata of another offset: deliver everything from start
	}
	results := make(chan outcome, s.cfg.MaxPending)
	unresolved := 0 // jobs handed out whose outcome has not come back
	var uncommitted []chan struct{}
	take := func(o outcome) {
		unresolved--
		if o.done {
			t.done(o.offset)
			webhookPending.Dec()
			uncommitted = append(uncommitted, o.committed)
		}
	}
	commit := func() {
		t.commit(sess, claim.Topic(), claim.Partition())
		for _, c := range uncommitted {
			close(c)
		}
		uncommitted = uncommitted[:0]
	}
	defer func() { webhookPending.Sub(float64(len(t.pending))) }()
read:
	for ctx.Err() == nil {
		in := claim.Messages()
		if len(t.pending) >= s.cfg.MaxPending {
			in = nil // full: wait for deliveries before reading on
		}
		select {
		case <-ctx.Done():
		case o := <-results:
			take(o)
		case m, ok := <-in:
			if !ok {
				break read
			}
			if m.Offset < resume.end && !resume.pending[m.Offset] {
				// Done before this session (delivered, parked, or with
				// no webhook).
				t.next = m.Offset + 1
				break
			}
			a, ok := dl.alert(ctx, m)
			if ctx.Err() != nil {
				break read // not handled: the partition's next owner reads it
			}
			t.next = m.Offset + 1
			if ok {
				t.pending[m.Offset] = true
				webhookPending.Inc()
				unresolved++
				dl.d.enqueue(&job{ctx: ctx, alert: a, msg: m, result: results})
			}
			kafka.ObserveLag(DeliverGroup, claim, m)
		}
		// Take whatever else finished before committing once for all.
		for drained := false; !drained; {
			select {
			case o := <-results:
				take(o)
			default:
				drained = true
			}
		}
		if ctx.Err() == nil {
			commit()
		}
	}
	// The session ended, and with it the posts in flight: a post that
	// finished first is committed, so the next owner does not repeat it.
	// (Every job of the session is dropped at once: this takes moments;
	// the timeout is for a claim closed while its session goes on.)
	for timeout := time.After(WebhookTimeout); unresolved > 0; {
		select {
		case o := <-results:
			take(o)
		case <-timeout:
			unresolved = 0
		}
	}
	commit()
	return nil
}

// alert decodes m and returns it if it has a webhook to post to. An alert
// that does not decode is parked. While the registry is away it waits.
func (dl *deliverer) alert(ctx context.Context, m *sarama.ConsumerMessage) (*schemas.AlertTriggeredEvent, bool) {
	s := dl.s
	for {
		rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
		if err != nil && !topology.IsPoison(err) {
			s.log.Warn("decoding an alert failed; trying again", "offset", m.Offset, "err", err)
			if !kafka.Sleep(ctx, time.Second) {
				return nil, false
			}
			continue
		}
		a, ok := rec.(*schemas.AlertTriggeredEvent)
		if err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("%s is not an AlertTriggeredEvent", rec.AvroName())
			}
			dl.d.park(ctx, m, err)
			return nil, false
		}
		return a, a.Webhook != ""
	}
}

// tracker is a partition's delivery state in a session.
type tracker struct {
	next    int64          // the offset after the last one read
	pending map[int64]bool // read, with a webhook, not done yet

	committed     int64 // the committed offset and metadata, as far as we know
	committedMeta string
}

func (t *tracker) done(off int64) { delete(t.pending, off) }

// mark is what to commit: the lowest pending offset (or next), and the
// state above it.
func (t *tracker) mark() (int64, string) {
	pending := make([]int64, 0, len(t.pending))
	for off := range t.pending {
		pending = append(pending, off)
	}
	slices.Sort(pending)
	base := t.next
	if len(pending) > 0 {
		base = pending[0]
	}
	return base, encodeState(base, t.next, pending)
}

func (t *tracker) commit(sess sarama.ConsumerGroupSession, topic string, partition int32) {
	if t.next < 0 {
		return // nothing read yet
	}
	off, meta := t.mark()
	if off == t.committed && meta == t.committedMeta {
		return
	}
	// sarama's MarkOffset only moves forward; ResetOffset sets the
	// metadata of the same offset (the mark never goes back).
	if off > t.committed {
		sess.MarkOffset(topic, partition, off, meta)
	} else {
		sess.ResetOffset(topic, partition, off, meta)
	}
	sess.Commit()
	t.committed, t.committedMeta = off, meta
}

// deliveryState is what a committed offset's metadata says: from base
// (the committed offset) to end the partition was read, and of those
// alerts the pending ones are not delivered yet.
type deliveryState struct {
	base, end int64
	pending   map[int64]bool
}

// encodeState writes "w1:<end-base>:<deltas of the pending offsets from
// base, comma separated>".
func encodeState(base, end int64, pending []int64) string {
	var b strings.Builder
	b.WriteString("w1:")
	b.WriteString(strconv.FormatInt(end-base, 10))
	b.WriteByte(':')
	for i, off := range pending {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(off-base, 10))
	}
	return b.String()
}

func decodeState(base int64, meta string) (deliveryState, error) {
	st := deliveryState{base: base, end: base, pending: map[int64]bool{}}
	if meta == "" {
		return st, nil // committed by an older version: everything from base
	}
	parts := strings.Split(meta, ":")
	if len(parts) != 3 || parts[0] != "w1" {
		return st, fmt.Errorf("delivery state %q: unknown format", meta)
	}
	n, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || n < 0 {
		return st, fmt.Errorf("delivery state %q: bad length", meta)
	}
	st.end = base + n
	if parts[2] != "" {
		for _, d := range strings.Split(parts[2], ",") {
			k, err := strconv.ParseInt(d, 10, 64)
			if err != nil || k < 0 || k >= n {
				return st, fmt.Errorf("delivery state %q: bad offset %q", meta, d)
			}
			st.pending[base+k] = true
		}
	}
	return st, nil
}

// resumeState fetches the committed offset of the partition and its
// metadata.
func (dl *deliverer) resumeState(topic string, partition int32) (deliveryState, error) {
	client := dl.s.lookups
	req := sarama.NewOffsetFetchRequest(client.Config().Version, DeliverGroup, map[string][]int32{topic: {partition}})
	coord, err := client.Coordinator(DeliverGroup)
	if err != nil {
		return deliveryState{}, fmt.Errorf("group coordinator: %w", err)
	}
	resp, err := coord.FetchOffset(req)
	if err != nil {
		return deliveryState{}, fmt.Errorf("fetch committed offset: %w", err)
	}
	if resp.Err != sarama.ErrNoError {
		return deliveryState{}, fmt.Errorf("fetch committed offset: %w", resp.Err)
	}
	b := resp.GetBlock(topic, partition)
	if b == nil || b.Offset < 0 {
		return deliveryState{}, nil // nothing committed yet
	}
	if b.Err != sarama.ErrNoError {
		return deliveryState{}, fmt.Errorf("committed offset of %s/%d: %w", topic, partition, b.Err)
	}
	st, err := decodeState(b.Offset, b.Metadata)
	if err != nil {
		// Not ours to read: deliver everything from the offset, which
		// repeats rather than loses.
		dl.s.log.Warn("delivery state not understood; delivering from the committed offset", "partition", partition, "err", err)
		return deliveryState{base: b.Offset, end: b.Offset}, nil
	}
	return st, nil
}
