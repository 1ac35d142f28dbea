package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

// ConsumePartition starts consuming a partition at offset. A partition
// without a leader yet (a topic just created: a real Kafka elects its
// leaders a moment after answering CreateTopics) or whose leader moves is
// waited for, retrying until ctx ends or for at most 30 s.
func ConsumePartition(ctx context.Context, consumer sarama.Consumer, topic string, p int32, offset int64) (sarama.PartitionConsumer, error) {
	deadline := time.Now().Add(30 * time.Second)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		pc, err := consumer.ConsumePartition(topic, p, offset)
		if err == nil || !leaderless(err) || time.Now().After(deadline) {
			return pc, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (waiting for a leader after: %w)", context.Cause(ctx), err)
		case <-time.After(wait):
		}
	}
}

// leaderless reports an error of a partition whose leader is not known yet.
func leaderless(err error) bool {
	return errors.Is(err, sarama.ErrNotLeaderForPartition) || errors.Is(err, sarama.ErrLeaderNotAvailable) ||
		errors.Is(err, sarama.ErrUnknownTopicOrPartition)
}
