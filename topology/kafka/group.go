package kafka

import (
	"context"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
)

// JoinTimeout bounds a consumer group join: from asking to join to being
// handed partitions. A rebalance waits for every member to rejoin, which
// takes our members milliseconds to a few seconds; a join still unanswered
// after this is stuck (seen on kfake: a static member's JoinGroup left
// unanswered while the rest of the group went on without it).
var JoinTimeout = 45 * time.Second

// ConsumeGroup consumes topics as a member of group until ctx ends, joining
// again after every rebalance or error. A join that hangs past JoinTimeout
// drops the group's connections and joins afresh; the member keeps its
// static instance id (if cfg sets one), so it takes its own place back.
func ConsumeGroup(ctx context.Context, brokers []string, group string, cfg *sarama.Config, topics []string, handler sarama.ConsumerGroupHandler, log *slog.Logger) {
	outage := NewOutage("consumer group "+group, log)
	for ctx.Err() == nil {
		// Our own client: closing it is what ends a stuck join (the
		// group's Close waits for the join to finish).
		client, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			outage.Failed(err)
			Sleep(ctx, time.Second)
			continue
		}
		lookups, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			client.Close()
			outage.Failed(err)
			Sleep(ctx, time.Second)
			continue
		}
		cg, err := sarama.NewConsumerGroupFromClient(group, OffsetsApart(client, lookups))
		if err != nil {
			client.Close()
			lookups.Close()
			outage.Failed(err)
			Sleep(ctx, time.Second)
			continue
		}
		errsDone := make(chan struct{})
		go func() {
			defer close(errsDone)
			for err := range cg.Errors() {
				outage.Failed(err)
			}
		}()
		if consume(ctx, cg, client, topics, handler, outage) {
			log.Warn("joining the consumer group hung: reconnecting", "group", group, "after", JoinTimeout)
		}
		cg.Close() // after a stuck join its client is closed: leaving fails, harmlessly
		client.Close()
		lookups.Close()
		<-errsDone
	}
}

// consume runs sessions of cg until ctx ends or a join hangs (true). When
// it returns, no call to Consume is running.
func consume(ctx context.Context, cg sarama.ConsumerGroup, client sarama.Client, topics []string, handler sarama.ConsumerGroupHandler, outage *Outage) (hung bool) {
	joined := joinSignal{ConsumerGroupHandler: handler, setup: make(chan struct{}, 1)}
	for ctx.Err() == nil {
		select { // a signal left from a session that ended at once
		case <-joined.setup:
		default:
		}
		done := make(chan error, 1)
		go func() { done <- cg.Consume(ctx, topics, joined) }()
		timer := time.NewTimer(JoinTimeout)
		var err error
		select {
		case <-joined.setup: // a session: it lasts until the next rebalance
			timer.Stop()
			outage.Recovered()
			err = <-done
		case err = <-done:
			timer.Stop()
		case <-timer.C:
			client.Close() // fails the stuck request; Consume returns
			<-done
			return true
		case <-ctx.Done():
			timer.Stop()
			select {
			case <-done: // Consume ends its session when ctx ends
			case <-time.After(5 * time.Second): // unless it is stuck joining
				client.Close()
				<-done
			}
			return false
		}
		if err != nil && ctx.Err() == nil {
			outage.Failed(err)
			Sleep(ctx, time.Second)
		}
	}
	return false
}

// joinSignal tells when a join succeeded: sarama calls Setup once the
// member has its partitions.
type joinSignal struct {
	sarama.ConsumerGroupHandler
	setup chan struct{}
}

func (j joinSignal) Setup(sess sarama.ConsumerGroupSession) error {
	select {
	case j.setup <- struct{}{}:
	default:
	}
	return j.ConsumerGroupHandler.Setup(sess)
}

// Batch waits for a message of claim and takes those already waiting
// behind it, up to max in all: the inputs of one transaction. With a gather
// window it also waits for more until the first message was written gather
// ago, so that at low rates a transaction carries several records instead
// of one (a record written longer ago, in a catch-up, is not held at all).
// It returns nil once ctx ends (also while gathering: a batch of an ended
// session could not be committed) or the claim closes; when the claim
// closes while gathering, it returns what it has.
func Batch(ctx context.Context, claim sarama.ConsumerGroupClaim, max int, gather time.Duration) []*sarama.ConsumerMessage {
	var batch []*sarama.ConsumerMessage
	select {
	case <-ctx.Done():
		return nil
	case m, ok := <-claim.Messages():
		if !ok {
			return nil
		}
		batch = append(batch, m)
	}
	var until <-chan time.Time
	if wait := gatherWait(batch[0], gather, time.Now()); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		until = t.C
	}
	for len(batch) < max {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return batch
			}
			batch = append(batch, m)
			continue
		default:
		}
		if until == nil {
			return batch
		}
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return batch
			}
			batch = append(batch, m)
		case <-until:
			until = nil
		case <-ctx.Done():
			return nil // the session ended: the group hands the batch out again
		}
	}
	return batch
}

// gatherWait is how long a batch starting with first still gathers at now:
// until first was written gather ago. A timestamp ahead of this clock (a
// broker's clock may differ) counts from now, so the wait is never longer
// than gather.
func gatherWait(first *sarama.ConsumerMessage, gather time.Duration, now time.Time) time.Duration {
	if gather <= 0 {
		return 0
	}
	written := first.Timestamp
	if written.IsZero() || written.After(now) {
		written = now
	}
	return gather - now.Sub(written)
}

// Handler is a consumer-group handler that handles each message with
// Handle and then marks it (the group's auto-commit commits it): for
// consumers whose work is idempotent or answered per message, such as
// query answerers. A failed message ends the session, so the group hands
// it out again.
type Handler struct {
	Group  string
	Handle func(ctx context.Context, m *sarama.ConsumerMessage) error
	Log    *slog.Logger
}

func (Handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (Handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim handles the claim's messages in order until the session ends.
func (h Handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if err := h.Handle(ctx, m); err != nil {
				if ctx.Err() == nil {
					h.Log.Warn("message not handled; it will be delivered again", "group", h.Group, "topic", m.Topic,
						"partition", m.Partition, "offset", m.Offset, "err", err)
				}
				return nil // ends the session
			}
			sess.MarkMessage(m, "")
			ObserveLag(h.Group, claim, m)
		}
	}
}
