package commandhandler_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

func startWith(t *testing.T, env *kafkatest.Env, id string, configure func(*commandhandler.Config)) *kafkatest.Service {
	t.Helper()
	return kafkatest.Run(t, "command handler "+id, func(ctx context.Context, ready func()) error {
		cfg := commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry, InstanceID: id, Log: kafkatest.Log(t),
			OnReady: ready, NewToken: func() string { return testToken }}
		configure(&cfg)
		return commandhandler.Run(ctx, cfg)
	})
}

// eventTypes lists the records' types, in order, for one transfer.
func eventTypes(events []schemas.Record, id schemas.ID) []string {
	var out []string
	for _, e := range events {
		if e.RecordID() == id {
			out = append(out, topology.ShortName(e.AvroName()))
		}
	}
	return out
}

// With one instance every step is its own: a transfer is one Kafka
// transaction, nothing goes through transfer_commands or its feedback, and
// bank_events holds exactly what the saga writes step by step, in the same
// order — for a transfer inside the bank, one out of it, a deposit, and one
// that fails and is returned.
func TestALocalTransferIsOneTransaction(t *testing.T) {
	run := func(t *testing.T, local bool) (map[string][]string, float64) {
		env := kafkatest.Synced(t)
		// Stopped at the end of the run: on real Kafka both runs share the
		// cluster, and a second "a" would fence the first while it still
		// ran (a fenced produce of several partitions sets off a data race
		// inside sarama, IBM/sarama#2913).
		handler := startWith(t, env, "a", func(c *commandhandler.Config) { c.NoLocalSteps = !local })
		defer handler.Stop(t)
		c := client{t, newBus(t, env)}
		annName, bobName := kafkatest.Unique("ann"), kafkatest.Unique("bob")
		start := testutil.ToFloat64(commandhandler.Transactions)
		c.user(annName)
		c.user(bobName)
		ann, tok := c.account(annName)
		bob, _ := c.account(bobName)
		ids := map[string]schemas.ID{"deposit": schemas.NewID(), "inside": schemas.NewID(), "outside": schemas.NewID(),
			"returned": schemas.NewID(), "refused": schemas.NewID()}
		// Four commands, each sent when the one before was answered: four
		// transactions, counted (see below) before the transfers' are.
		before := start + countedSince(t, commandhandler.Transactions, start, 4)
		sagaTopics := []string{topology.TransferCommands, topology.TransferCommandFeedback}
		sagaEnds := env.EndOffsets(t, sagaTopics...)
		steps := []struct {
			name     string
			from, to string
			amount   int64
			ok       bool
		}{
			{"deposit", domain.Cash, ann, 10_000, true},
			{"inside", ann, bob, 2_500, true},
			{"outside", ann, "NL91ABNA0417164300", 1_000, true},
			{"returned", ann, "NL02OPEN0000000009", 700, false}, // no such account here: debited, then returned
			{"refused", ann, bob, 1_000_000, false},             // beyond the overdraft
		}
		for _, s := range steps {
			if ok, reason := c.transfer(ids[s.name], s.from, s.to, tok, annName, s.amount); ok != s.ok {
				t.Fatalf("%s: ok %v (%s), want %v", s.name, ok, reason, s.ok)
			}
		}
		// The handler counts a transaction when its commit returns, which
		// can be after the client read the answer the transaction carried:
		// wait for at least one a transfer (the number that must hold).
		txns := countedSince(t, commandhandler.Transactions, before, float64(len(steps)))
		state, events := replay(t, env)
		if got := state.Accounts[ann].Balance + state.Accounts[bob].Balance; got != 10_000-1_000 {
			t.Errorf("ann and bob hold %d, want %d", got, 10_000-1_000)
		}
		out := map[string][]string{}
		for name, id := range ids {
			out[name] = eventTypes(events, id)
		}
		// Compared with the ends before: against real Kafka other tests
		// wrote saga steps there.
		if after := env.EndOffsets(t, sagaTopics...); local && after != sagaEnds {
			t.Errorf("%d offsets written on %v: local steps are never written", after-sagaEnds, sagaTopics)
		}
		return out, txns
	}
	local, localTxns := run(t, true)
	saga, sagaTxns := run(t, false)
	for name, want := range saga {
		if !slices.Equal(local[name], want) {
			t.Errorf("%s: local steps wrote %v, the saga %v", name, local[name], want)
		}
	}
	if localTxns != 5 {
		t.Errorf("%v transactions for 5 local transfers, want one each", localTxns)
	}
	if sagaTxns <= localTxns {
		t.Errorf("the saga took %v transactions, local steps %v", sagaTxns, localTxns)
	}
	t.Logf("5 transfers: %v transactions step by step, %v with local steps", sagaTxns, localTxns)
}

// A rebalance that begins while a local transfer's transaction is about to
// commit (another instance joins) cannot apply the transfer twice: the
// transaction commits whole under its generation before the partitions
// move (the session waits for it), or not at all and the input is decided
// again by its next owner, once.
func TestARebalanceDuringALocalTransferAppliesItOnce(t *testing.T) {
	env := kafkatest.Synced(t)
	var armed atomic.Bool
	joined := make(chan struct{})
	rebalancing := make(chan struct{}, 1)
	startWith(t, env, "a", func(c *commandhandler.Config) {
		commandhandler.SetBeforeCommit(c, func(s sarama.ConsumerGroupSession) {
			if !armed.CompareAndSwap(true, false) {
				return
			}
			close(joined) // the test starts the second instance now
			select {
			case <-s.Context().Done(): // the rebalance has begun
				rebalancing <- struct{}{}
			case <-time.After(30 * time.Second):
			}
		})
	})
	c := client{t, newBus(t, env)}
	annName, bobName := kafkatest.Unique("ann"), kafkatest.Unique("bob")
	c.user(annName)
	c.user(bobName)
	ann, tok := c.account(annName)
	bob, _ := c.account(bobName)
	if ok, reason := c.transfer(schemas.NewID(), domain.Cash, ann, tok, annName, 10_000); !ok {
		t.Fatal(reason)
	}
	armed.Store(true)
	id := schemas.NewID()
	done := make(chan bool, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		fb, err := c.requests.Send(ctx, &schemas.MoneyTransferCommand{ID: id, Token: tok, Amount: 2_500, From: ann, To: bob, Description: "mid-rebalance", Username: annName})
		done <- err == nil && fb != nil
	}()
	<-joined
	startWith(t, env, "b", func(*commandhandler.Config) {})
	select {
	case <-rebalancing:
	case <-time.After(60 * time.Second):
		t.Fatal("the second instance's join did not begin a rebalance")
	}
	if !<-done {
		t.Fatal("the transfer got no answer")
	}
	// More transfers after the rebalance, decided by either instance.
	for range 10 {
		if ok, reason := c.transfer(schemas.NewID(), ann, bob, tok, annName, 100); !ok {
			t.Fatal(reason)
		}
	}
	state, events := replay(t, env)
	if got := eventTypes(events, id); !slices.Equal(got, []string{"TransferStartedEvent", "MoneyDebitedEvent", "MoneyCreditedEvent", "TransferCompletedEvent"}) {
		t.Errorf("the transfer's events: %v, want each step once", got)
	}
	if a, b := state.Accounts[ann].Balance, state.Accounts[bob].Balance; a != 10_000-2_500-1_000 || b != 2_500+1_000 {
		t.Errorf("ann %d, bob %d", a, b)
	}
}

// countedSince waits until counter has grown by at least want since
// before (or ten seconds) and returns by how much it has.
func countedSince(t *testing.T, counter prometheus.Collector, before, want float64) float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := testutil.ToFloat64(counter) - before
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}
