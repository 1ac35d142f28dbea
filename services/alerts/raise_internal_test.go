package alerts

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts/rule"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A batch of transactions is checked only once the rules written before it
// are read. The rules and the transactions are read by readers of their
// own, so a transaction's batch can come before the rule set just ahead of
// it; here no one reads the rules until raise has been called, and raise
// must wait for them rather than check the transaction against an empty
// book.
func TestABatchIsCheckedOnceTheRulesBeforeItAreRead(t *testing.T) {
	env := kafkatest.Synced(t)
	ctx := t.Context()
	codec := env.Codec()
	ann := iban.New()
	rec := &schemas.AlertRuleCreatedEvent{ID: schemas.NewID(), IBAN: ann, Username: "ann", Kind: string(rule.IncomingAbove), Amount: 100}
	msg, err := kafka.Message(ctx, codec, topology.BankEvents, rec)
	if err != nil {
		t.Fatal(err)
	}
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-rules"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	partition, offset, err := producer.SendMessage(msg)
	if err != nil {
		t.Fatal(err)
	}

	s := &service{log: kafkatest.Log(t), codec: codec, book: rule.NewBook()}
	client, err := kafka.Connect(ctx, env.Brokers, kafka.ConsumerConfig("test-rules-reader"), s.log)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if s.lookups, err = kafka.Connect(ctx, env.Brokers, kafka.NewConfig("test-rules-lookups"), s.log); err != nil {
		t.Fatal(err)
	}
	defer s.lookups.Close()
	if s.events, err = eventlog.Open(ctx, client, s.lookups, []string{topology.BankEvents}, "test rules", s.log); err != nil {
		t.Fatal(err)
	}
	defer s.events.Close()

	// On a shared cluster another package's open transaction can hold the
	// log's stable end below the rule, and raise waits only for what is
	// below that end: start once the rule is below it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ends, err := s.events.Ends()
		if err != nil {
			t.Fatal(err)
		}
		if ends[eventlog.Partition{Topic: topology.BankEvents, Partition: partition}] > offset {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stable end of %s stayed at or below the rule's offset %d", topology.BankEvents, offset)
		}
	}
	tx, err := kafka.Message(ctx, codec, topology.TransactionEvents, &schemas.TransactionHappenedEvent{ID: schemas.NewID(),
		TransactionID: 1, IBAN: ann, NewBalance: 200, ChangedBy: 200, FromTo: "cash", Description: "right after", Kind: "credit"})
	if err != nil {
		t.Fatal(err)
	}
	value, err := tx.Value.Encode()
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		out kafka.Output
		err error
	}
	done := make(chan result, 1)
	go func() {
		out, err := s.raise(ctx, []*sarama.ConsumerMessage{{Topic: topology.TransactionEvents, Value: value}})
		done <- result{out, err}
	}()
	select {
	case r := <-done:
		t.Fatalf("raise returned (%d messages, err %v) before the rule written ahead of it was read", len(r.out.Messages), r.err)
	case <-time.After(300 * time.Millisecond): // raise is waiting, as it should: now let the rules be read
	}
	rulesCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Go(func() { s.followRules(rulesCtx) })
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("raise did not return once the rules were read")
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.out.Messages) != 1 || r.out.Messages[0].Topic != topology.Alerts {
		t.Fatalf("raised %d messages, want the one alert of the rule set before the transaction", len(r.out.Messages))
	}
}
