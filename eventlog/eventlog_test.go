package eventlog_test

import (
	"slices"
	"sync/atomic"
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

// counting counts the offset lookups asked of a client, and the brokers
// it was asked for (each caught-up check's fetch asks for one).
type counting struct {
	sarama.Client
	lookups, leaders atomic.Int64
}

func (c *counting) Leader(topic string, partition int32) (*sarama.Broker, error) {
	c.leaders.Add(1)
	return c.Client.Leader(topic, partition)
}

func (c *counting) GetOffset(topic string, partition int32, at int64) (int64, error) {
	c.lookups.Add(1)
	return c.Client.GetOffset(topic, partition, at)
}

// Opening a partition asks for its oldest and newest offsets. Asked on the
// connection that fetches, each waited behind a long poll when the
// partitions were idle (a broker answers a connection in order): opening
// the gateway's 72 feedback partitions on a real Kafka took over a minute.
// Open asks them of its lookups client, and Follow of one of its own, never
// of the client that fetches.
func TestOffsetLookupsNeverWaitBehindAFetch(t *testing.T) {
	env := kafkatest.Start(t)
	topic := kafkatest.Unique("idle")
	if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 24, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	connect := func(id string) *counting {
		c, err := kafka.Connect(t.Context(), env.Brokers, kafka.ConsumerConfig(id), kafkatest.Log(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return &counting{Client: c}
	}
	fetches, lookups := connect("test-fetches"), connect("test-lookups")
	l, err := eventlog.Open(t.Context(), fetches, lookups, []string{topic}, "test open", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if n := fetches.lookups.Load(); n != 0 {
		t.Errorf("Open asked %d offsets on the fetching connection", n)
	}
	if n := lookups.lookups.Load(); n < 2*24 {
		t.Errorf("Open asked %d offsets of its lookups client, want at least 2 per partition (48)", n)
	}

	follower := connect("test-follow")
	f, err := eventlog.Follow(t.Context(), follower, []string{topic}, "test follow", kafkatest.Log(t), func(*sarama.ConsumerMessage) {})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := follower.lookups.Load(); n != 0 {
		t.Errorf("Follow asked %d offsets on the fetching connection", n)
	}
}

// A reader waiting to catch up with a long log asks the broker whether
// anything is left to deliver; once told that a record is, it does not ask
// again until it has applied that record. Asked after every message
// applied, a rebuild fetched its whole log a second time (an eighth of the
// projector's rebuild of 1,000,000 events).
func TestCatchingUpAsksTheBrokerRarely(t *testing.T) {
	env := kafkatest.Start(t)
	topic := kafkatest.Unique("long")
	if err := env.Admin(t).CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-long"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	const n = 20000
	batch := make([]*sarama.ProducerMessage, 0, 1000)
	for i := range n {
		batch = append(batch, &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(make([]byte, 100+i%7))})
		if len(batch) == cap(batch) {
			if err := producer.SendMessages(batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	client, err := kafka.Connect(t.Context(), env.Brokers, kafka.ConsumerConfig("test-long"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	raw, err := kafka.Connect(t.Context(), env.Brokers, kafka.NewConfig("test-long-lookups"), kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	lookups := &counting{Client: raw}
	l, err := eventlog.Open(t.Context(), client, lookups, []string{topic}, "test long", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ends, err := l.Ends()
	if err != nil {
		t.Fatal(err)
	}
	applied := make(chan int, 1)
	go func() {
		count := 0
		for count < n {
			select {
			case m := <-l.Messages():
				if count%100 == 0 {
					time.Sleep(time.Millisecond) // applying takes time, as a rebuild's does
				}
				l.Applied(m)
				count++
			case <-t.Context().Done():
			}
			if t.Context().Err() != nil {
				break
			}
		}
		applied <- count
	}()
	before := lookups.leaders.Load()
	if err := l.WaitCaughtUp(t.Context(), ends); err != nil {
		t.Fatal(err)
	}
	if got := <-applied; got != n {
		t.Fatalf("applied %d of %d", got, n)
	}
	// 20,000 records of about 170 bytes are 3.4 MB: 14 answers of 256 KiB,
	// a few more as the reader may pass a record just told of at once
	// (asked after every message applied: 211 times, 61 with -race).
	t.Logf("asked %d", lookups.leaders.Load()-before)
	if asked := lookups.leaders.Load() - before; asked > 40 {
		t.Errorf("the caught-up check asked the broker %d times while %d records were applied", asked, n)
	}
}
