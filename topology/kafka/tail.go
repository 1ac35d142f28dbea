package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// Tail follows every partition of the topics from their newest offsets,
// outside any consumer group, and calls handle for each message: for what
// every instance must see (answers it waits for, the live transactions it
// fans out). Partitions are read concurrently; handle must be safe for
// that. Stop ends it and waits until no handle runs.
type Tail struct {
	consumer sarama.Consumer
	stop     chan struct{}
	wg       sync.WaitGroup
}

// NewTail starts following the topics from their newest offsets. The
// client must use ConsumerConfig (read committed) and stays the caller's.
func NewTail(ctx context.Context, client sarama.Client, topics []string, log *slog.Logger, handle func(*sarama.ConsumerMessage)) (*Tail, error) {
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	t := &Tail{consumer: consumer, stop: make(chan struct{})}
	outage := NewOutage("tail of "+strings.Join(topics, ", "), log)
	for _, topic := range topics {
		parts, err := client.Partitions(topic)
		if err != nil {
			t.Stop()
			return nil, fmt.Errorf("partitions of %s: %w", topic, err)
		}
		for _, p := range parts {
			pc, err := ConsumePartition(ctx, consumer, topic, p, sarama.OffsetNewest)
			if err != nil {
				t.Stop()
				return nil, fmt.Errorf("consume %s/%d: %w", topic, p, err)
			}
			t.wg.Add(1)
			go t.follow(pc, outage, handle)
		}
	}
	return t, nil
}

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

func (t *Tail) follow(pc sarama.PartitionConsumer, outage *Outage, handle func(*sarama.ConsumerMessage)) {
	defer t.wg.Done()
	defer pc.AsyncClose()
	for {
		select {
		case <-t.stop:
			return
		case err, ok := <-pc.Errors():
			if ok {
				outage.Failed(err)
			}
		case m, ok := <-pc.Messages():
			if !ok {
				return
			}
			outage.Recovered()
			handle(m)
		}
	}
}

// Stop stops following and waits for the handlers to return.
func (t *Tail) Stop() {
	close(t.stop)
	t.wg.Wait()
	t.consumer.Close()
}
