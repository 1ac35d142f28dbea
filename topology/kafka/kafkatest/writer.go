package kafkatest

import (
	"fmt"
	"testing"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// Writer writes test records to one topic, in transactions (committed,
// aborted or left open) and outside them: the logs a reader of
// read_committed data must get right.
type Writer struct {
	Topic      string
	txn, plain sarama.SyncProducer
}

// NewWriter returns a Writer of topic, closed when the test ends.
func NewWriter(t testing.TB, env *Env, topic string) *Writer {
	t.Helper()
	txn, err := sarama.NewSyncProducer(env.Brokers, kafka.TransactionalConfig("test-writer", "test-writer-"+topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { txn.Close() })
	plain, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-plain"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	return &Writer{Topic: topic, txn: txn, plain: plain}
}

func (w *Writer) messages(n int) []*sarama.ProducerMessage {
	out := make([]*sarama.ProducerMessage, n)
	for i := range out {
		out[i] = &sarama.ProducerMessage{Topic: w.Topic, Value: sarama.StringEncoder(fmt.Sprint(i))}
	}
	return out
}

// Txn writes n records in one transaction, committed or aborted.
func (w *Writer) Txn(n int, commit bool) error {
	if err := w.Open(n); err != nil {
		return err
	}
	if commit {
		return w.txn.CommitTxn()
	}
	return w.txn.AbortTxn()
}

// Open writes n records in a transaction it leaves open (the broker aborts
// it after the transaction timeout).
func (w *Writer) Open(n int) error {
	if err := w.txn.BeginTxn(); err != nil {
		return err
	}
	return w.txn.SendMessages(w.messages(n))
}

// Plain writes n records outside any transaction.
func (w *Writer) Plain(n int) error { return w.plain.SendMessages(w.messages(n)) }

// Send writes m outside any transaction.
func (w *Writer) Send(m *sarama.ProducerMessage) error {
	_, _, err := w.plain.SendMessage(m)
	return err
}
