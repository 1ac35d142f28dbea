package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
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

// TestKeyPartitionPlacesKeysAsTheProducers: the command handler decides
// which steps are its own by KeyPartition, so it must agree with the
// partitioner our producers use, for any key, from many goroutines at once
// (the pooled partitioners are not safe for concurrent use).
func TestKeyPartitionPlacesKeysAsTheProducers(t *testing.T) {
	keys := []string{"", "a", "DE89370400440532013000", "\x00\xff", string(make([]byte, 4096))}
	for i := range 500 {
		keys = append(keys, fmt.Sprintf("account-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			for _, n := range []int32{1, 3, 24, 1 << 20} {
				for _, k := range keys {
					want, err := NewConfig("t").Producer.Partitioner("bank_events").Partition(&sarama.ProducerMessage{Key: sarama.StringEncoder(k)}, n)
					if err != nil {
						errs <- err
						return
					}
					got, err := KeyPartition(k, n)
					if err != nil || got != want {
						errs <- fmt.Errorf("KeyPartition(%q, %d) = %d, %v; the producers' partitioner says %d", k, n, got, err, want)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
