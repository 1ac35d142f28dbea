package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// Regression guard for the broker pin: older kfake builds broke sarama's
// produce CRC or made partitions holding transactions unreadable. A
// committed transaction must be read back, an aborted one must not.
func TestReadCommittedSeesCommittedTransactionsOnly(t *testing.T) {
	env := kafkatest.Synced(t)
	ctx := context.Background()
	codec := env.Codec()
	cfg := kafka.TransactionalConfig("test-txn", "test-txn-"+schemas.NewID().String())
	producer, err := sarama.NewSyncProducer(env.Brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	send := func(amount int64, commit bool) {
		t.Helper()
		if err := producer.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		msg, err := kafka.Message(ctx, codec, topology.TransactionEvents, &schemas.TransactionHappenedEvent{
			ID: schemas.NewID(), IBAN: "NL66OPEN0000000000", ChangedBy: amount, FromTo: "cash", Description: "txn test",
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			t.Fatal(err)
		}
		if commit {
			err = producer.CommitTxn()
		} else {
			err = producer.AbortTxn()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	client, err := sarama.NewClient(env.Brokers, kafka.ConsumerConfig("test-reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// All records share a key, hence a partition.
	part, err := kafka.Partition(client, topology.TransactionEvents, "NL66OPEN0000000000")
	if err != nil {
		t.Fatal(err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	// Read from the end as it is before this test writes: on a shared
	// broker other tests' records (poison messages among them) may sit
	// before it.
	start, err := client.GetOffset(topology.TransactionEvents, part, sarama.OffsetNewest)
	if err != nil {
		t.Fatal(err)
	}
	send(1, true)
	send(2, false)
	send(3, true)

	pc, err := consumer.ConsumePartition(topology.TransactionEvents, part, start)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got []int64
	timeout := time.After(30 * time.Second)
	for len(got) < 2 {
		select {
		case m := <-pc.Messages():
			rec, err := codec.Decode(ctx, m.Topic, m.Value)
			if err != nil {
				t.Fatal(err)
			}
			if e := rec.(*schemas.TransactionHappenedEvent); e.Description == "txn test" {
				got = append(got, e.ChangedBy)
			}
		case <-timeout:
			t.Fatalf("read %v, want the two committed records", got)
		}
	}
	if got[0] != 1 || got[1] != 3 {
		t.Fatalf("read %v, want [1 3]: the aborted record must stay invisible", got)
	}
}

// An outage is two lines, whatever the number of errors.
func TestAnOutageIsLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	o := kafka.NewOutage("reader", slog.New(slog.NewTextHandler(&buf, nil)))
	for range 840 {
		o.Failed(errors.New("connection refused"))
	}
	o.Recovered()
	o.Recovered()
	if n := strings.Count(buf.String(), "\n"); n != 2 || !strings.Contains(buf.String(), "errors=840") {
		t.Fatalf("%d lines:\n%s", n, buf.String())
	}
}

// Giving up reports the last real failure, not the deadline that cut the
// last attempt short (bank sync's last line once said only "context
// deadline exceeded").
func TestRetryReportsTheLastRealCause(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	calls := 0
	err := kafka.Retry(ctx, func() error {
		calls++
		if calls < 3 {
			return errors.New("registry on fire")
		}
		cancel(errors.New("still failing after 2s"))
		return fmt.Errorf("get schema: %w", context.Canceled) // cut short
	})
	if err == nil || !strings.Contains(err.Error(), "registry on fire") || !strings.Contains(err.Error(), "still failing after 2s") {
		t.Fatalf("got %v, want the registry's failure and why it gave up", err)
	}
	if strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v: the cut-short attempt hid the cause", err)
	}
	// With no failure before, the only one is reported.
	ctx, cancel = context.WithCancelCause(context.Background())
	err = kafka.Retry(ctx, func() error { cancel(errors.New("stop")); return errors.New("only failure") })
	if err == nil || !strings.Contains(err.Error(), "only failure") {
		t.Fatalf("got %v", err)
	}
}
