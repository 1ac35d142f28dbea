package commandhandler_test

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
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
