package main

import (
	"context"
	"errors"
	"fmt"
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
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// holder is the member of the command handlers' group with an instance id,
// and the partitions it holds.
type holder struct {
	member     string
	partitions int
}

// holders describes the command handlers' group: per static instance id,
// its member and how many partitions it holds.
func holders(t *testing.T, admin sarama.ClusterAdmin) map[string]holder {
	t.Helper()
	groups, err := admin.DescribeConsumerGroups([]string{commandhandler.Group})
	if err != nil || len(groups) != 1 {
		return nil // the broker busy: the caller asks again
	}
	out := map[string]holder{}
	for _, m := range groups[0].Members {
		if m.GroupInstanceId == nil {
			continue
		}
		a, err := m.GetMemberAssignment()
		if err != nil || a == nil {
			continue
		}
		n := 0
		for _, ps := range a.Topics {
			n += len(ps)
		}
		out[*m.GroupInstanceId] = holder{m.MemberId, n}
	}
	return out
}

// A command handler killed with SIGKILL and started again under a steady
// load of transfers holds its partitions again within 10 s of its start
// (static membership: it takes its place back without waiting out the
// dead member's session), and the load goes on meanwhile: every transfer
// ends, and money is conserved.
func TestARestartedHandlerRejoinsUnderSteadyLoad(t *testing.T) {
	skipOnRealKafka(t)
	c := startCluster(t)
	handler := func(id string) *proc { return start(t, append(c.env, "INSTANCE_ID="+id), "commands") }
	h1, h2 := handler("one"), handler("two")
	kenv := c.kafka(t)
	admin, err := sarama.NewClusterAdmin(kenv.Brokers, kafka.NewConfig("test-rejoin"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	const two = "openbank-commands-two"
	var before holder
	waitUntil(t, 60*time.Second, "both handlers hold partitions", func() bool {
		hs := holders(t, admin)
		before = hs[two]
		return len(hs) == 2 && hs["openbank-commands-one"].partitions > 0 && before.partitions > 0
	})

	requests, err := bus.New(t.Context(), kenv.Brokers, kenv.Codec(), "test-rejoin", kafkatest.Log(t))
	if err != nil {
		t.Fatal(err)
	}
	defer requests.Close()
	send := func(ctx context.Context, cmd schemas.Record) (bool, error) {
		for {
			try, cancel := context.WithTimeout(ctx, 10*time.Second)
			fb, err := requests.Send(try, cmd)
			cancel()
			if errors.Is(err, bus.ErrTimeout) && ctx.Err() == nil {
				continue // the same id again: the outcome of the first
			}
			if err != nil {
				return false, err
			}
			_, failure := bus.Answer(fb)
			return !failure.Failed(), nil
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	var ibans []string
	for i := range 8 {
		ib := iban.Open(fmt.Sprintf("%010d", 2000+i))
		if ok, err := send(ctx, &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ib, Username: "u"}); !ok || err != nil {
			t.Fatalf("account: %v", err)
		}
		if ok, err := send(ctx, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 100_000, From: contract.Cash, To: ib, Teller: true}); !ok || err != nil {
			t.Fatalf("deposit: %v", err)
		}
		ibans = append(ibans, ib)
	}
	tokens := map[string]string{}
	for _, ib := range ibans {
		tokens[ib] = kenv.Token(t, ib, "u")
	}

	// A steady load: a transfer every 50 ms, each on its own goroutine so
	// a slow answer does not slow the rate.
	var sent, ended atomic.Int64
	var failures sync.Map
	load, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-load.Done():
				return
			case <-tick.C:
			}
			from, to := ibans[i%8], ibans[(i+1+i%5)%8]
			sent.Add(1)
			wg.Go(func() {
				if _, err := send(ctx, &schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: tokens[from], Amount: int64(1 + i%500),
					From: from, To: to, Username: "u"}); err != nil {
					failures.Store(i, err)
				}
				ended.Add(1)
			})
		}
	})
	waitUntil(t, 60*time.Second, "the load running", func() bool { return ended.Load() >= 20 })

	if err := h2.cmd.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
		t.Fatal(err)
	}
	h2.wait(t)
	h2 = handler("two")
	restarted := time.Now()
	var after holder
	waitUntil(t, 60*time.Second, "the restarted handler holds partitions", func() bool {
		after = holders(t, admin)[two]
		return after.member != "" && after.member != before.member && after.partitions > 0
	})
	if took := time.Since(restarted); took > 10*time.Second {
		t.Errorf("the restarted handler held its partitions again %s after its start; want within 10 s", took.Round(time.Millisecond))
	} else {
		t.Logf("the restarted handler held %d partitions again %s after its start", after.partitions, took.Round(time.Millisecond))
	}
	// The load goes on through the restarted handler.
	mark := ended.Load()
	waitUntil(t, 60*time.Second, "transfers after the rejoin", func() bool { return ended.Load() >= mark+40 })
	stopLoad()
	wg.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("transfer %v got no answer: %v", k, v)
		return true
	})
	if sent.Load() != ended.Load() {
		t.Errorf("%d transfers sent, %d answered", sent.Load(), ended.Load())
	}
	checkConserved(t, kenv, ibans, 8*100_000)
	h1.stop(t)
	h2.stop(t)
	c.broker.stop(t)
}

// waitUntil polls cond every 100 ms until it holds, failing after limit:
// the limit only bounds a hang, it is not what the test measures.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkConserved rebuilds the state from bank_events: the accounts hold
// total between them and every transfer has ended.
func checkConserved(t *testing.T, kenv *kafkatest.Env, ibans []string, total int64) {
	t.Helper()
	state := domain.NewState()
	for _, rec := range kenv.ReadAll(t, topology.BankEvents) {
		if err := state.Apply(rec); err != nil {
			t.Fatal(err)
		}
	}
	var sum int64
	for _, ib := range ibans {
		sum += state.Accounts[ib].Balance
	}
	if sum != total {
		t.Errorf("money not conserved: the accounts hold %d, want %d", sum, total)
	}
	for id, tr := range state.Transfers {
		if !tr.Step.Ended() {
			t.Errorf("transfer %s left %s", id, tr.Step)
		}
	}
}
