package projector_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

func startHandler(t testing.TB, env *kafkatest.Env) {
	kafkatest.Run(t, "command handler", func(ctx context.Context, ready func()) error {
		return commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "h", Log: kafkatest.Log(t), OnReady: ready})
	})
}

func startProjector(t testing.TB, env *kafkatest.Env) *kafkatest.Service {
	return kafkatest.Run(t, "projector", func(ctx context.Context, ready func()) error {
		return projector.Run(ctx, projector.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "p", Log: kafkatest.Log(t), OnReady: ready})
	})
}

type client struct {
	t   testing.TB
	bus *bus.Bus
}

func newClient(t testing.TB, env *kafkatest.Env) client {
	b, err := bus.New(context.Background(), env.Brokers, env.Codec(), "test", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return client{t, b}
}

// ask sends a command or query and returns whether it succeeded and its
// info, result or reason.
func (c client) ask(req schemas.Record) (bool, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	fb, err := c.bus.Send(ctx, req)
	if err != nil {
		c.t.Fatalf("%s: %v", req.AvroName(), err)
	}
	return bus.Result(fb)
}

func (c client) must(req schemas.Record) string {
	c.t.Helper()
	ok, info := c.ask(req)
	if !ok {
		c.t.Fatalf("%s: %s", req.AvroName(), info)
	}
	return info
}

// transactionEvents reads transaction_events until want events came (or
// nothing more comes for a few seconds).
func transactionEvents(t *testing.T, env *kafkatest.Env, want int) []*schemas.TransactionHappenedEvent {
	t.Helper()
	cl, err := sarama.NewClient(env.Brokers, kafka.ConsumerConfig("test-tx-events"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	consumer, _ := sarama.NewConsumerFromClient(cl)
	defer consumer.Close()
	parts, _ := cl.Partitions(topology.TransactionEvents)
	msgs := make(chan *sarama.ConsumerMessage)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer func() { close(stop); wg.Wait() }()
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topology.TransactionEvents, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer pc.Close()
			for {
				select {
				case <-stop:
					return
				case m := <-pc.Messages():
					select {
					case msgs <- m:
					case <-stop:
						return
					}
				}
			}
		}()
	}
	codec := env.Codec()
	var out []*schemas.TransactionHappenedEvent
	for len(out) < want {
		select {
		case m := <-msgs:
			rec, err := codec.Decode(context.Background(), m.Topic, m.Value)
			if err != nil {
				// Other packages' tests put poison on the topic (against
				// a real Kafka, every package shares the broker); the
				// projector writes only records, which the checks count.
				t.Logf("skipped: %v", err)
				continue
			}
			if string(m.Key) != rec.Key() {
				t.Errorf("transaction keyed %q, not by its IBAN", m.Key)
			}
			out = append(out, rec.(*schemas.TransactionHappenedEvent))
		case <-time.After(5 * time.Second):
			return out
		}
	}
	// Anything beyond want would be a duplicate: give it a moment.
	for {
		select {
		case m := <-msgs:
			if rec, err := codec.Decode(context.Background(), m.Topic, m.Value); err == nil {
				out = append(out, rec.(*schemas.TransactionHappenedEvent))
			}
		case <-time.After(time.Second):
			return out
		}
	}
}

// moneyEvents counts the events in bank_events that move money.
func moneyEvents(t *testing.T, env *kafkatest.Env) int {
	n := 0
	for _, rec := range env.ReadAll(t, topology.BankEvents) {
		switch rec.(type) {
		case *schemas.MoneyCreditedEvent, *schemas.MoneyDebitedEvent, *schemas.MoneyReturnedEvent:
			n++
		}
	}
	return n
}

// checkOnce checks each transaction was published once, with ids 1..n.
func checkOnce(t *testing.T, events []*schemas.TransactionHappenedEvent, n int) {
	t.Helper()
	seen := map[int64]int{}
	for _, e := range events {
		seen[e.TransactionID]++
	}
	for id := int64(1); id <= int64(n); id++ {
		if seen[id] != 1 {
			t.Errorf("transaction %d published %d times", id, seen[id])
		}
	}
	if len(events) != n {
		t.Errorf("%d transaction events for %d money events", len(events), n)
	}
}

func TestQueriesAndTransactionEventsOverKafka(t *testing.T) {
	env := kafkatest.Synced(t)
	startHandler(t, env)
	startProjector(t, env)
	c := newClient(t, env)
	// Names of their own: against real Kafka, earlier tests' users exist.
	suffix := schemas.NewID().String()[:8]
	annName, bobName := "ann-"+suffix, "bob-"+suffix

	c.must(&schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: annName, Password: "hash"})
	ann, bob := iban.New(), iban.New()
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ann, Username: annName})
	annTok := env.Token(t, ann, annName)
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: bob, Username: bobName})
	c.must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 10_000, From: "cash", To: ann, Description: "salary", Teller: true})
	c.must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: annTok, Amount: 2_500, From: ann, To: bob,
		Username: annName, Description: "rent"})

	// Asked right after the commands: answered once the model caught up.
	var acct projection.Account
	json.Unmarshal([]byte(c.must(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: ann})), &acct)
	if acct.Balance != 7_500 || len(acct.Users) != 1 || acct.Users[0] != annName {
		t.Errorf("ann's account %+v", acct)
	}
	var txs []projection.Transaction
	json.Unmarshal([]byte(c.must(&schemas.TransactionsByIbanQuery{ID: schemas.NewID(), IBAN: ann, MaxItems: 10})), &txs)
	if len(txs) != 2 || txs[0].ChangedBy != -2_500 || txs[0].FromTo != bob || txs[0].Description != "rent" || txs[1].FromTo != "cash" {
		t.Errorf("ann's transactions %+v", txs)
	}
	var tx projection.Transaction
	json.Unmarshal([]byte(c.must(&schemas.TransactionByIdQuery{ID: schemas.NewID(), TransactionID: txs[0].ID})), &tx)
	if tx.ID != txs[0].ID || tx.IBAN != ann {
		t.Errorf("transaction by id %+v", tx)
	}
	var last []projection.Transaction
	json.Unmarshal([]byte(c.must(&schemas.AllLastTransactionsQuery{ID: schemas.NewID()})), &last)
	if len(last) < 2 {
		t.Errorf("last transactions %+v", last)
	}
	var user projection.User
	json.Unmarshal([]byte(c.must(&schemas.FindUserQuery{ID: schemas.NewID(), Username: annName})), &user)
	if user.Username != annName || len(user.Accounts) != 1 {
		t.Errorf("user %+v", user)
	}
	var accts []projection.Account
	json.Unmarshal([]byte(c.must(&schemas.FindBankAccountsForUserQuery{ID: schemas.NewID(), Username: bobName})), &accts)
	if len(accts) != 1 || accts[0].Balance != 2_500 {
		t.Errorf("bob's accounts %+v", accts)
	}
	for _, q := range []struct {
		query  schemas.Record
		reason string
	}{
		{&schemas.FindUserQuery{ID: schemas.NewID(), Username: "nobody-" + suffix}, contract.UserNotFound.Text},
		{&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: iban.New()}, contract.AccountNotFound.Text},
		{&schemas.TransactionByIdQuery{ID: schemas.NewID(), TransactionID: 1 << 40}, contract.TransactionNotFound.Text},
		{&schemas.TransactionsByIbanQuery{ID: schemas.NewID(), IBAN: ann, MaxItems: 0}, contract.MaxItemsInvalid.Text},
	} {
		if ok, reason := c.ask(q.query); ok || reason != q.reason {
			t.Errorf("%s: %v %q, want %q", q.query.AvroName(), ok, reason, q.reason)
		}
	}
	n := moneyEvents(t, env)
	checkOnce(t, transactionEvents(t, env, n), n)
}

// A projector stopped and started again in the middle of a stream of
// transfers publishes every transaction exactly once: ids 1..n, no gaps, no
// repeats.
func TestRestartMidStreamPublishesEveryTransactionOnce(t *testing.T) {
	env := kafkatest.Synced(t)
	startHandler(t, env)
	p := startProjector(t, env)
	c := newClient(t, env)
	target := iban.New()
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: target, Username: "ann"})
	const deposits = 90
	for i := range deposits {
		switch i {
		case deposits / 3:
			p.Stop(t)
		case 2 * deposits / 3:
			p = startProjector(t, env)
		}
		c.must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: int64(i + 1), From: "cash", To: target,
			Description: fmt.Sprint("deposit ", i), Teller: true})
	}
	n := moneyEvents(t, env)
	events := transactionEvents(t, env, n)
	checkOnce(t, events, n)
	// Each balance follows from the ones before.
	for _, e := range events {
		if e.IBAN == target && e.NewBalance < e.ChangedBy {
			t.Errorf("transaction %d: balance %d after +%d", e.TransactionID, e.NewBalance, e.ChangedBy)
		}
	}
}

// Garbage on bank_events is parked on dead_letters, once, and the
// projector goes on deriving.
func TestUndecodableEventsAreParked(t *testing.T) {
	env := kafkatest.Synced(t)
	startHandler(t, env)
	startProjector(t, env)
	c := newClient(t, env)
	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-garbage"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if _, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: topology.BankEvents, Value: sarama.StringEncoder("garbage")}); err != nil {
		t.Fatal(err)
	}
	target := iban.New()
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: target, Username: "ann"})
	c.must(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 5, From: "cash", To: target, Teller: true})
	var acct projection.Account
	json.Unmarshal([]byte(c.must(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: target})), &acct)
	if acct.Balance != 5 {
		t.Fatalf("balance %d after the garbage", acct.Balance)
	}
	// Read every dead letter (other tests' too, against real Kafka).
	consumer, err := sarama.NewConsumer(env.Brokers, kafka.ConsumerConfig("test-dead-letters"))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topology.DeadLetters, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	parked := 0
	for done := false; !done; {
		select {
		case m := <-pc.Messages():
			for _, h := range m.Headers {
				if string(h.Key) == "consumer" && string(h.Value) == projector.EmitGroup && string(m.Value) == "garbage" {
					parked++
				}
			}
		case <-time.After(2 * time.Second):
			done = true
		}
	}
	if parked != 1 {
		t.Fatalf("garbage parked %d times", parked)
	}
}

// A query is answered when the event log ends in an aborted transaction:
// its records and marker are never delivered, and waiting for them would
// stall every query until the next commit.
func TestQueriesAreAnsweredOnALogEndingInAnAbortedTransaction(t *testing.T) {
	env := kafkatest.Synced(t)
	startHandler(t, env)
	startProjector(t, env)
	c := newClient(t, env)
	target := iban.New()
	c.must(&schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: target, Username: "ann"})
	for _, topic := range []string{topology.BankEvents, topology.UserEvents} {
		producer, err := sarama.NewSyncProducer(env.Brokers, kafka.TransactionalConfig("test-aborter", "test-aborter-"+schemas.NewID().String()))
		if err != nil {
			t.Fatal(err)
		}
		if err := producer.BeginTxn(); err != nil {
			t.Fatal(err)
		}
		var rec schemas.Record = &schemas.MoneyCreditedEvent{ID: schemas.NewID(), IBAN: target, Amount: 1 << 40}
		if topic == topology.UserEvents {
			rec = &schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: "ghost-" + schemas.NewID().String()[:6], Password: "x"}
		}
		msg, err := kafka.Message(t.Context(), env.Codec(), topic, rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			t.Fatal(err)
		}
		if err := producer.AbortTxn(); err != nil {
			t.Fatal(err)
		}
		producer.Close()
	}
	var acct projection.Account
	if err := json.Unmarshal([]byte(c.must(&schemas.FindBankAccountQuery{ID: schemas.NewID(), IBAN: target})), &acct); err != nil {
		t.Fatal(err)
	}
	if acct.Balance != 0 {
		t.Fatalf("the aborted credit shows: %+v", acct)
	}
	// A projector started now rebuilds past the aborted tail, too.
	startProjector(t, env)
}
