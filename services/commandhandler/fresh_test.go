package commandhandler_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A user another instance signed up a moment ago can be added to an
// account at once, though this instance's reader of the events would not
// look for another hour: a command naming a user the instance does not
// know makes it catch up before refusing. A user no one signed up is
// still refused. The other instance is played by writing its event.
func TestAUserJustSignedUpElsewhereCanBeAddedAtOnce(t *testing.T) {
	env := kafkatest.Synced(t)
	kafkatest.Run(t, "command handler lazy", func(ctx context.Context, ready func()) error {
		cfg := commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: "lazy", Log: kafkatest.Log(t), OnReady: ready,
			NewToken: func() string { return testToken }}
		commandhandler.SetEventsPoll(&cfg, time.Hour)
		return commandhandler.Run(ctx, cfg)
	})
	c := client{t, newBus(t, env)}
	owner, elsewhere := kafkatest.Unique("owner"), kafkatest.Unique("elsewhere")
	c.user(owner)
	account, tok := c.account(owner)

	producer, err := sarama.NewSyncProducer(env.Brokers, kafka.ProducerConfig("test-elsewhere"))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	msg, err := kafka.Message(t.Context(), env.Codec(), topology.UserEvents,
		&schemas.UserAccountCreatedEvent{ID: schemas.NewID(), Username: elsewhere, Password: "hash"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := producer.SendMessage(msg); err != nil {
		t.Fatal(err)
	}

	add := func(user string) (bool, string) {
		return c.send(&schemas.AddUserToBankAccountCommand{ID: schemas.NewID(), IBAN: account, Username: owner, Token: tok, UserToAdd: user})
	}
	if ok, reason := add(elsewhere); !ok {
		t.Fatalf("adding %s, signed up elsewhere: %s", elsewhere, reason)
	}
	if ok, reason := add(kafkatest.Unique("nobody")); ok || reason != contract.UserUnknown.Text {
		t.Fatalf("adding a user no one signed up: %v %q, want %q", ok, reason, contract.UserUnknown.Text)
	}
}

// Two commands in one batch, each naming a user no one signed up, are
// both refused after one catch-up. Caught up for one input at a time, they
// took turns being stale and the instance decided nothing more (found in
// review). The first transaction is held until both commands are in the
// log, so that they are decided together after it.
func TestTwoUnknownUsersInOneBatchAreBothRefused(t *testing.T) {
	env := kafkatest.Synced(t)
	holding, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	var held atomic.Bool
	kafkatest.Run(t, "command handler two unknown", func(ctx context.Context, ready func()) error {
		cfg := commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: "two-unknown", Log: kafkatest.Log(t), OnReady: ready,
			NewToken: func() string { return testToken }}
		commandhandler.SetBeforeCommit(&cfg, func(sarama.ConsumerGroupSession) {
			if held.Load() {
				hold.Do(func() { close(holding); <-release })
			}
		})
		return commandhandler.Run(ctx, cfg)
	})
	c := client{t, newBus(t, env)}
	owner := kafkatest.Unique("owner")
	c.user(owner)
	account, tok := c.account(owner)
	held.Store(true)

	var wg sync.WaitGroup
	wg.Go(func() { c.transfer(schemas.NewID(), domain.Cash, account, tok, owner, 100) })
	<-holding
	before := env.EndOffsets(t, topology.BankCommands)
	answers := make([]string, 2)
	for i := range answers {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			fb, err := c.requests.Send(ctx, &schemas.AddUserToBankAccountCommand{ID: schemas.NewID(), IBAN: account, Username: owner,
				Token: tok, UserToAdd: kafkatest.Unique("nobody")})
			if err != nil {
				answers[i] = err.Error()
				return
			}
			_, answers[i] = bus.Result(fb)
		})
	}
	for env.EndOffsets(t, topology.BankCommands) < before+2 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // for the handler to take them in
	close(release)
	wg.Wait()
	for i, a := range answers {
		if a != contract.UserUnknown.Text {
			t.Errorf("command %d answered %q, want %q", i, a, contract.UserUnknown.Text)
		}
	}
}
