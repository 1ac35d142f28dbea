package broker

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
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

// A burst of in-memory dials, with the broker closed in the middle of it:
// every dial returns, a connection before the close or an error after,
// and none hangs.
func TestABurstOfDialsWhileTheBrokerCloses(t *testing.T) {
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	const dialers = 64
	var wg sync.WaitGroup
	var failed atomic.Int64
	half := make(chan struct{})
	var started atomic.Int64
	for range dialers {
		wg.Go(func() {
			for i := range 20 {
				c, err := b.DialLocal()
				if err != nil {
					failed.Add(1)
				} else {
					c.Close()
				}
				if i == 10 && started.Add(1) == dialers {
					close(half)
				}
			}
		})
	}
	<-half
	b.Close()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("dials still waiting a minute after the broker closed")
	}
	if failed.Load() == 0 {
		t.Error("no dial after the close failed")
	}
	if c, err := b.DialLocal(); err == nil || !errors.Is(err, net.ErrClosed) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("a dial after the close: %v, want net.ErrClosed", err)
	}
}

// A record of nearly the largest size a producer sends (1 MiB) crosses the
// in-memory connection whole, both ways.
func TestALargeRecordInMemory(t *testing.T) {
	b, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Cleanup(kafka.RouteLocal(b.Addr(), b.DialLocal))
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, kafka.NewConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateTopic("big", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	value := make([]byte, 1<<20-1024) // the producer's limit is 1 MiB with the record's framing
	for i := range value {
		value[i] = byte(i * 7)
	}
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, kafka.ProducerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "big", Value: sarama.ByteEncoder(value)}); err != nil {
		t.Fatal(err)
	}
	c, err := sarama.NewConsumer([]string{b.Addr()}, kafka.ConsumerConfig("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition("big", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if !bytes.Equal(m.Value, value) {
			t.Fatalf("read %d bytes, not the %d written", len(m.Value), len(value))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the large record was not read")
	}
	if tcp, memory := b.Connections(); tcp != 0 || memory == 0 {
		t.Fatalf("%d connections over TCP, %d in memory", tcp, memory)
	}
}
