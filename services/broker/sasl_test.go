package broker

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// config returns a client configuration speaking as sec, which gives up
// at the first refusal (a refused client would otherwise retry for
// seconds).
func config(t *testing.T, sec kafka.Security) *sarama.Config {
	t.Helper()
	cfg := kafka.ProducerConfig("test")
	if err := sec.Apply(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Metadata.Retry.Max = 0
	return cfg
}

// A broker with users refuses a client that does not authenticate, or
// does with a wrong password; a restart with a new password refuses the
// old one.
func TestClientsMustAuthenticate(t *testing.T) {
	dir := t.TempDir()
	b, err := Start(Config{DataDir: dir, Users: []User{{Name: "bank", Password: "right", Super: true}}})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(b *Broker, sec kafka.Security, what string) {
		t.Helper()
		if c, err := sarama.NewClient([]string{b.Addr()}, config(t, sec)); err == nil {
			c.Close()
			t.Errorf("%s: connected", what)
		}
	}
	works := func(b *Broker, sec kafka.Security) {
		t.Helper()
		admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, config(t, sec))
		if err != nil {
			t.Fatalf("as %s: %v", sec, err)
		}
		defer admin.Close()
		if _, err := admin.ListTopics(); err != nil {
			t.Fatalf("as %s: %v", sec, err)
		}
	}
	refused(b, kafka.Security{}, "no credentials")
	refused(b, kafka.Security{User: "bank", Password: "wrong"}, "a wrong password")
	refused(b, kafka.Security{User: "nobody", Password: "right"}, "an unknown user")
	works(b, kafka.Security{User: "bank", Password: "right"})
	b.Close()

	b, err = Start(Config{DataDir: dir, Users: []User{{Name: "bank", Password: "new", Super: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	refused(b, kafka.Security{User: "bank", Password: "right"}, "the password before the restart")
	works(b, kafka.Security{User: "bank", Password: "new"})
}

// With ACLs, a principal may do what the table grants it and nothing
// else: the gateway's cannot write bank_events or read user_events, which
// carry password hashes and tokens.
func TestTheGatewaysPrincipalIsConfined(t *testing.T) {
	passwords := map[string]string{topology.PrincipalAdmin: "a", topology.PrincipalGateway: "g"}
	b, err := Start(Config{Users: PrincipalUsers(passwords), ACLs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	admin, err := sarama.NewClusterAdmin([]string{b.Addr()}, config(t, kafka.Security{User: "admin", Password: "a"}))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for _, topic := range []string{topology.BankEvents, topology.UserEvents, topology.UserCommands} {
		if err := admin.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
			t.Fatal(err)
		}
	}
	gateway := config(t, kafka.Security{User: "gateway", Password: "g"})
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, gateway)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topology.UserCommands, Value: sarama.StringEncoder("ok")}); err != nil {
		t.Errorf("the gateway writes a command: %v", err)
	}
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: topology.BankEvents, Value: sarama.StringEncoder("forged")})
	if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("the gateway writes bank_events: %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
	}
	c, err := sarama.NewConsumer([]string{b.Addr()}, gateway)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if pc, err := c.ConsumePartition(topology.UserEvents, 0, sarama.OffsetOldest); err == nil {
		pc.Close()
		t.Error("the gateway reads user_events")
	} else if !errors.Is(err, sarama.ErrTopicAuthorizationFailed) {
		t.Errorf("the gateway reads user_events: %v, want %v", err, sarama.ErrTopicAuthorizationFailed)
	}
}
