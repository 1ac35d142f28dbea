package kafka

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
)

// flakyConsumer fails ConsumePartition with err, fails times, then
// succeeds.
type flakyConsumer struct {
	sarama.Consumer // only ConsumePartition is called
	err             error
	fails, calls    int
}

type partitionConsumer struct{ sarama.PartitionConsumer }

func (c *flakyConsumer) ConsumePartition(string, int32, int64) (sarama.PartitionConsumer, error) {
	c.calls++
	if c.calls <= c.fails {
		return nil, c.err
	}
	return partitionConsumer{}, nil
}

func TestConsumePartitionWaitsForALeader(t *testing.T) {
	cases := []struct {
		name      string
		err       error
		fails     int
		wantCalls int
		wantErr   bool
	}{
		{"at once", nil, 0, 1, false},
		{"a new topic's leader elected after two tries", sarama.ErrNotLeaderForPartition, 2, 3, false},
		{"leader not available", sarama.ErrLeaderNotAvailable, 1, 2, false},
		{"topic not in the metadata yet", sarama.ErrUnknownTopicOrPartition, 1, 2, false},
		{"other errors are not retried", sarama.ErrOffsetOutOfRange, 5, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &flakyConsumer{err: tc.err, fails: tc.fails}
			pc, err := ConsumePartition(t.Context(), c, "t", 0, sarama.OffsetOldest)
			if (err != nil) != tc.wantErr || (err == nil && pc == nil) {
				t.Fatalf("err %v, partition consumer %v", err, pc)
			}
			if c.calls != tc.wantCalls {
				t.Errorf("%d tries, want %d", c.calls, tc.wantCalls)
			}
		})
	}
	t.Run("until ctx ends", func(t *testing.T) {
		c := &flakyConsumer{err: sarama.ErrNotLeaderForPartition, fails: 1 << 30}
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, err := ConsumePartition(ctx, c, "t", 0, sarama.OffsetOldest)
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, sarama.ErrNotLeaderForPartition) {
			t.Fatalf("err %v, want the deadline and the last error", err)
		}
	})
}
