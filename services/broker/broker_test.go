package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

func TestExpiredMessagesAreDeleted(t *testing.T) {
	b, err := Start(Config{RetentionInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, kafka.NewConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ms := "100"
	if err := admin.CreateTopic("short", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &ms}}, false); err != nil {
		t.Fatal(err)
	}
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, kafka.ProducerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "short", Value: sarama.StringEncoder("old")}); err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{b.Addr()}, kafka.NewConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		oldest, err := client.GetOffset("short", 0, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		if oldest == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("oldest offset still %d: the expired message was kept", oldest)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestADataDirHasOneBrokerAtATime(t *testing.T) {
	dir := t.TempDir()
	b, err := Start(Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Config{DataDir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second broker on the same dir: %v", err)
	}
	b.Close()
	b, err = Start(Config{DataDir: dir})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	b.Close()
}
