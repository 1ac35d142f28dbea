package alerts_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts"
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
// book. The rule is set through the command handler, not written raw: the
// embedded tier's packages share the event log, and the command handler's
// tests replay it.
func TestABatchIsCheckedOnceTheRulesBeforeItAreRead(t *testing.T) {
	env := kafkatest.Synced(t)
	ctx := t.Context()
	must := bank(t, env)
	ann, user := iban.New(), kafkatest.Unique("ann")
	must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: user})
	must(&schemas.CreateAlertRuleCommand{ID: schemas.NewID(), IBAN: ann, Username: user, Token: env.Token(t, ann, user),
		Kind: string(rule.IncomingAbove), Amount: 100})

	log := kafkatest.Log(t)
	lookups, err := kafka.Connect(ctx, env.Brokers, kafka.NewConfig("test-rules-lookups"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer lookups.Close()
	rules, err := eventlog.OpenLazy(ctx, lookups, []string{topology.BankEvents}, eventlog.DefaultPoll, "test rules", log)
	if err != nil {
		t.Fatal(err)
	}
	defer rules.Close()
	waitStableEnd(t, lookups, rules)
	held := alerts.NewHeld(log, env.Codec(), lookups, rules)

	tx, err := kafka.Message(ctx, env.Codec(), topology.TransactionEvents, &schemas.TransactionHappenedEvent{ID: schemas.NewID(),
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
		out, err := held.Raise(ctx, []*sarama.ConsumerMessage{{Topic: topology.TransactionEvents, Value: value}})
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
	wg.Go(func() { held.FollowRules(rulesCtx) })
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

// waitStableEnd waits until everything written to the rules' log so far is
// below its stable end: on a shared cluster another writer's open
// transaction can hold that end below the rule, and raise waits only for
// what is below it.
func waitStableEnd(t *testing.T, lookups sarama.Client, rules *eventlog.Log) {
	t.Helper()
	parts, err := lookups.Partitions(topology.BankEvents)
	if err != nil {
		t.Fatal(err)
	}
	written := map[int32]int64{}
	for _, p := range parts {
		if written[p], err = lookups.GetOffset(topology.BankEvents, p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ends, err := rules.Ends()
		if err != nil {
			t.Fatal(err)
		}
		below := true
		for p, w := range written {
			below = below && ends[eventlog.Partition{Topic: topology.BankEvents, Partition: p}] >= w
		}
		if below {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stable end of %s stayed below %v", topology.BankEvents, written)
		}
	}
}
