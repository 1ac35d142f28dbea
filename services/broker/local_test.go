package broker

import (
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// With the route in place, clients built by the kafka package reach the
// broker in memory, SASL included, and none over TCP (the address the
// broker advertises must be the one routed); clients built without it, as
// any outside client, reach the same broker over TCP.
func TestTheBanksOwnClientsReachTheBrokerInMemory(t *testing.T) {
	b, err := Start(Config{DataDir: t.TempDir(), Users: []User{{Name: "bank", Password: "right", Super: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	right := kafka.Security{User: "bank", Password: "right"}
	unroute := kafka.RouteLocal(b.Addr(), b.DialLocal)
	t.Cleanup(unroute) // a failure must not leave the route to later tests

	if c, err := sarama.NewClient([]string{b.Addr()}, config(t, kafka.Security{User: "bank", Password: "wrong"})); err == nil {
		c.Close()
		t.Fatal("a wrong password was let in over the in-memory route")
	}
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, config(t, right))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("t", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, config(t, right))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder("in memory")}); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if n := b.listener.accepted.tcp.Load(); n != 0 {
		t.Fatalf("%d connections over TCP with the route in place", n)
	}
	if b.listener.accepted.local.Load() == 0 {
		t.Fatal("no connection in memory")
	}

	unroute()
	c, err := sarama.NewConsumer([]string{b.Addr()}, config(t, right))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("t", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if string(m.Value) != "in memory" {
			t.Fatalf("read %q", m.Value)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the message written in memory was not read over TCP")
	}
	if b.listener.accepted.tcp.Load() == 0 {
		t.Fatal("no connection over TCP without the route")
	}
}

// Once the broker is closed, an in-memory dial fails at once: a client
// retrying sees an error, never a hang.
func TestDialLocalAfterCloseFails(t *testing.T) {
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if c, err := b.DialLocal(); err == nil {
		c.Close()
		t.Fatal("dialled a closed broker")
	}
}
