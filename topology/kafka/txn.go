package kafka

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
)

// TxnProducer writes messages together with the consumed offsets they
// answer, in one transaction, and keeps itself usable after a failure.
type TxnProducer struct {
	p    sarama.SyncProducer
	make func() (sarama.SyncProducer, error)
	log  *slog.Logger
}

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

// Commit sends msgs and commits the offsets offsets returns — called after
// the sends, so it can name the offsets the messages got — for group, all in
// one transaction. On failure nothing is visible and the producer is made
// ready for the next transaction.
func (t *TxnProducer) Commit(msgs []*sarama.ProducerMessage, offsets func() map[string][]*sarama.PartitionOffsetMetadata, group *sarama.ConsumerGroupMetadata) error {
	err := t.commit(msgs, offsets, group)
	if err != nil {
		t.recover(err)
	}
	return err
}

func (t *TxnProducer) commit(msgs []*sarama.ProducerMessage, offsets func() map[string][]*sarama.PartitionOffsetMetadata, group *sarama.ConsumerGroupMetadata) error {
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
// old group generation left it so), so the next transaction can begin.
func (t *TxnProducer) recover(cause error) {
	if t.p.TxnStatus()&sarama.ProducerTxnFlagReady == 0 {
		if err := t.p.AbortTxn(); err != nil {
			t.log.Warn("abort transaction", "err", err)
		}
	}
	if t.p.TxnStatus()&sarama.ProducerTxnFlagReady != 0 {
		return
	}
	t.log.Warn("replacing the transactional producer", "cause", cause, "status", t.p.TxnStatus())
	t.p.Close()
	for {
		p, err := t.make()
		if err == nil {
			t.p = p
			return
		}
		t.log.Warn("transactional producer", "err", err)
		time.Sleep(time.Second)
	}
}

// Close closes the producer; an open transaction is aborted by the broker.
func (t *TxnProducer) Close() error { return t.p.Close() }
