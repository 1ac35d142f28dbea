package kafka

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/IBM/sarama"
)

// stuckProducer is a transactional producer in a given state whose abort
// fails, as sarama's was after a commit refused for an old generation.
type stuckProducer struct {
	sarama.SyncProducer
	status sarama.ProducerTxnStatusFlag
	closed bool
}

func (p *stuckProducer) TxnStatus() sarama.ProducerTxnStatusFlag { return p.status }
func (p *stuckProducer) AbortTxn() error                         { return errors.New("invalid transition attempted") }
func (p *stuckProducer) Close() error                            { p.closed = true; return nil }

type abortingProducer struct {
	stuckProducer
}

func (p *abortingProducer) AbortTxn() error { p.status = sarama.ProducerTxnFlagReady; return nil }

func TestRecoverLeavesAReadyProducer(t *testing.T) {
	tests := []struct {
		name     string
		producer sarama.SyncProducer
		replaced bool
	}{
		{"ready stays", &stuckProducer{status: sarama.ProducerTxnFlagReady}, false},
		{"abortable error is aborted", &abortingProducer{stuckProducer{status: sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagAbortableError}}, false},
		{"stuck in error is replaced", &stuckProducer{status: sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagAbortableError}, true},
		{"fatal is replaced", &stuckProducer{status: sarama.ProducerTxnFlagInError | sarama.ProducerTxnFlagFatalError}, true},
		{"stuck committing is replaced", &stuckProducer{status: sarama.ProducerTxnFlagCommittingTransaction}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fresh := &stuckProducer{status: sarama.ProducerTxnFlagReady}
			tp := &TxnProducer{log: slog.New(slog.DiscardHandler), p: tt.producer,
				make: func() (sarama.SyncProducer, error) { return fresh, nil }}
			tp.recover(context.Background(), errors.New("commit refused"))
			if got := tp.p == fresh; got != tt.replaced {
				t.Fatalf("replaced = %v, want %v", got, tt.replaced)
			}
			if tp.p.TxnStatus()&sarama.ProducerTxnFlagReady == 0 {
				t.Fatal("producer not ready after recover")
			}
		})
	}
}

// A producer that cannot be replaced is given up when its context ends:
// recover never outlives its owner.
func TestRecoverStopsWithItsContext(t *testing.T) {
	tp := &TxnProducer{log: slog.New(slog.DiscardHandler), p: &stuckProducer{status: sarama.ProducerTxnFlagFatalError},
		make: func() (sarama.SyncProducer, error) { return nil, errors.New("no broker") }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tp.recover(ctx, errors.New("fenced"))
	}()
	cancel()
	<-done
	err := tp.Commit(context.Background(), nil, func() map[string][]*sarama.PartitionOffsetMetadata { return nil }, nil)
	if !errors.Is(err, ErrProducerClosed) {
		t.Fatalf("commit after a failed replacement: %v, want ErrProducerClosed", err)
	}
	if err := tp.Close(); err != nil {
		t.Fatal(err)
	}
}
