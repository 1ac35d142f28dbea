package eventlog_test

import (
	"slices"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A reader that keeps its position itself starts where it left off: OpenAt
// delivers from the given offset, counts its position from there, and is
// caught up once it has applied what lies beyond; partitions it names no
// offset for are read from the oldest, as Open reads them all.
func TestOpenAtStartsAtTheGivenOffsets(t *testing.T) {
	env := kafkatest.Start(t)
	admin := env.Admin(t)
	topics := []string{"at-" + schemas.NewID().String()[:8], "oldest-" + schemas.NewID().String()[:8]}
	for _, topic := range topics {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-open-at"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	for _, topic := range topics {
		for i := range 5 {
			if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder{byte(i)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	client, err := sarama.NewClient(env.Brokers, kafka.ConsumerConfig("test-open-at"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	lookups, err := sarama.NewClient(env.Brokers, kafka.NewConfig("test-open-at-lookups"))
	if err != nil {
		t.Fatal(err)
	}
	defer lookups.Close()

	at := eventlog.Partition{Topic: topics[0], Partition: 0}
	l, err := eventlog.OpenAt(t.Context(), client, lookups, topics, map[eventlog.Partition]int64{at: 3}, "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if next := l.Next(at.Topic, 0); next != 3 {
		t.Fatalf("position %d before reading, want 3", next)
	}
	ends, err := l.Ends()
	if err != nil {
		t.Fatal(err)
	}
	if behind := l.Behind(ends); behind != 2+5 {
		t.Fatalf("%d behind, want 7", behind)
	}
	got := map[string][]int64{}
	for len(got[topics[0]])+len(got[topics[1]]) < 2+5 {
		select {
		case m := <-l.Messages():
			got[m.Topic] = append(got[m.Topic], m.Offset)
			l.Applied(m)
		case <-time.After(10 * time.Second):
			t.Fatalf("delivered %v", got)
		}
	}
	if want := []int64{3, 4}; !slices.Equal(got[topics[0]], want) {
		t.Errorf("%s delivered %v, want %v", topics[0], got[topics[0]], want)
	}
	if want := []int64{0, 1, 2, 3, 4}; !slices.Equal(got[topics[1]], want) {
		t.Errorf("%s delivered %v, want %v", topics[1], got[topics[1]], want)
	}
	if caught, err := l.CaughtUp(t.Context(), ends); err != nil || !caught {
		t.Errorf("caught up %v, %v", caught, err)
	}
}
