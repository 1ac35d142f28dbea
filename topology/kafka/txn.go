package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// TxnProducer writes messages together with the consumed offsets they
// answer, in one transaction, and keeps itself usable after a failure.
// It is the one way the bank's consumers commit what they write: the
// command handler's engine, and every Transform loop.
type TxnProducer struct {
	mu   sync.Mutex // one transaction at a time: claims of a group share it
	p    sarama.SyncProducer
	make func() (sarama.SyncProducer, error)
	log  *slog.Logger
}

// ErrProducerClosed is returned by Commit after Close, or after a producer
// could not be replaced before its context ended.
var ErrProducerClosed = errors.New("transactional producer closed")

// NewTxnProducer connects a transactional producer. txnID must be unique
// among running producers and stable across restarts of one, so a
// restarted instance fences its previous incarnation.
func NewTxnProducer(brokers []string, txnID string, log *slog.Logger) (*TxnProducer, error) {
	return newTxnProducer(func() (sarama.SyncProducer, error) {
		return sarama.NewSyncProducer(brokers, TransactionalConfig(txnID, txnID))
	}, log)
}

func newTxnProducer(make func() (sarama.SyncProducer, error), log *slog.Logger) (*TxnProducer, error) {
	p, err := make()
	if err != nil {
		return nil, fmt.Errorf("transactional producer: %w", err)
	}
	return &TxnProducer{p: p, make: make, log: log}, nil
}

// Offsets returns the offsets a transaction commits, called after its
// messages were sent, so it can name the offsets they got.
type Offsets func() map[string][]*sarama.PartitionOffsetMetadata

// Commit sends msgs and commits offsets for group, all in one transaction.
// On failure nothing is visible and the producer is made ready for the
// next transaction (until ctx ends).
func (t *TxnProducer) Commit(ctx context.Context, msgs []*sarama.ProducerMessage, offsets Offsets, group *sarama.ConsumerGroupMetadata) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p == nil {
		return ErrProducerClosed
	}
	err := t.commit(msgs, offsets, group)
	if err != nil {
		t.recover(ctx, err)
	}
	return err
}

func (t *TxnProducer) commit(msgs []*sarama.ProducerMessage, offsets Offsets, group *sarama.ConsumerGroupMetadata) error {
	if err := t.p.BeginTxn(); err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if len(msgs) > 0 {
		if err := t.p.SendMessages(msgs); err != nil {
			return fmt.Errorf("send %d messages: %w", len(msgs), err)
		}
	}
	if err := t.p.AddOffsetsToTxnWithGroupMetadata(offsets(), group); err != nil {
		return fmt.Errorf("add offsets to transaction: %w", err)
	}
	if err := t.p.CommitTxn(); err != nil {
		return fmt.Errorf("commit transaction: %w", err)
	}
	return nil
}

// recover aborts what is open, and replaces a producer that is still not
// ready (fenced, or in a state sarama will not leave: a commit refused for an
// old group generation left it so), so the next transaction can begin. It
// tries again each second until ctx ends; the producer is then closed.
func (t *TxnProducer) recover(ctx context.Context, cause error) {
	if t.p.TxnStatus()&sarama.ProducerTxnFlagReady == 0 {
		if err := t.p.AbortTxn(); err != nil {
			t.log.Warn("abort transaction", "err", err)
		}
	}
	if t.p.TxnStatus()&sarama.ProducerTxnFlagReady != 0 {
		return
	}
	t.log.Warn("replacing the transactional producer", "cause", cause, "status", t.p.TxnStatus())
	if err := t.p.Close(); err != nil {
		t.log.Warn("close the transactional producer", "err", err)
	}
	t.p = nil
	for {
		p, err := t.make()
		if err == nil {
			t.p = p
			return
		}
		t.log.Warn("transactional producer", "err", err)
		if !Sleep(ctx, time.Second) {
			return
		}
	}
}

// Close closes the producer; an open transaction is aborted by the broker.
func (t *TxnProducer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p == nil {
		return nil
	}
	err := t.p.Close()
	t.p = nil
	return err
}

// Output is what a Step makes of a batch.
type Output struct {
	// Messages are written in the batch's transaction.
	Messages []*sarama.ProducerMessage
	// Committed, if set, runs once they are committed (to count them).
	Committed func()
}

// Loop configures a Transform loop.
type Loop struct {
	Group      string // the consumer group, whose offsets each transaction commits
	InstanceID string // the instance, unique among running ones
	MaxBatch   int    // the most messages in one transaction
	// Gather is how long a batch may wait for more messages after its
	// first was written (see Batch): what the loop's output may be delayed
	// by to write fewer transactions. 0 takes only what is waiting.
	Gather time.Duration
}

// A Step turns a batch of consumed messages into the messages to write.
// An error writes nothing: the batch is delivered again.
type Step func(ctx context.Context, batch []*sarama.ConsumerMessage) (Output, error)

// Transform is the transactional loop of a consumer that turns what it
// reads into records to write (the projector's transactions, the alerts):
// each batch of at most maxBatch messages of claim becomes, by step, the
// messages to write, committed with the batch's offsets for group in one
// transaction, so a batch's effects and its consumption happen together or
// not at all. After a failed step or commit it returns, with nothing of the
// batch visible: the session ends and the group hands the batch out again.
func (t *TxnProducer) Transform(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, loop Loop, step Step) error {
	ctx := sess.Context()
	group := loop.Group
	instance := group + "-" + loop.InstanceID
	for {
		batch := Batch(ctx, claim, loop.MaxBatch, loop.Gather)
		if batch == nil {
			return nil
		}
		first, last := batch[0], batch[len(batch)-1]
		out, err := step(ctx, batch)
		if err == nil {
			offsets := func() map[string][]*sarama.PartitionOffsetMetadata {
				return map[string][]*sarama.PartitionOffsetMetadata{
					last.Topic: {{Partition: last.Partition, Offset: last.Offset + 1}},
				}
			}
			err = t.Commit(ctx, out.Messages, offsets, sarama.NewConsumerGroupMetadataFromSession(sess, group, &instance))
		}
		if err != nil {
			if ctx.Err() == nil {
				t.log.Warn("batch not committed; it will be delivered again", "group", group, "topic", last.Topic,
					"partition", last.Partition, "from", first.Offset, "to", last.Offset, "err", err)
			}
			return nil
		}
		transformTxns.WithLabelValues(group).Inc()
		transformMessages.WithLabelValues(group).Add(float64(len(batch)))
		if out.Committed != nil {
			out.Committed()
		}
		ObserveLag(group, claim, last)
	}
}
