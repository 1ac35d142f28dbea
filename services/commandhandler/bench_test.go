package commandhandler_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// BenchmarkTransferSaga measures whole transfers through one handler
// instance on the embedded broker, with 1 and with 64 in flight: with local
// steps (the default: a transfer is one transaction) and step by step
// (MoneyTransfer, debit, credit, completion: four transactions and three
// hops over the broker). It reports transfers/s, the latency a client
// waits, and the Kafka transactions per transfer (below 1 when a batch
// holds several transfers).
func BenchmarkTransferSaga(b *testing.B) {
	for _, mode := range []struct {
		name    string
		noLocal bool
	}{{"local", false}, {"step by step", true}} {
		for _, clients := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/%d in flight", mode.name, clients), func(b *testing.B) { benchTransfers(b, mode.noLocal, clients) })
		}
	}
}

func benchTransfers(b *testing.B, noLocal bool, clients int) {
	env := kafkatest.Synced(b)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "bench", OnReady: func() { close(ready) }, NewToken: func() string { return testToken }, NoLocalSteps: noLocal,
			Limits: contract.AmountLimits{MaxTransfer: 1 << 50, MaxDeposit: 1 << 50, MaxDepositsPerDay: 1 << 50}})
	}()
	<-ready
	defer func() { cancel(); <-done }()
	requests, err := bus.New(ctx, env.Brokers, env.Codec(), "bench", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer requests.Close()
	send := func(cmd schemas.Record) {
		c, stop := context.WithTimeout(ctx, 30*time.Second)
		defer stop()
		fb, err := requests.Send(c, cmd)
		if err != nil {
			b.Fatal(err)
		}
		if ok, reason := bus.Result(fb); !ok {
			b.Fatal(reason)
		}
	}
	type acct struct{ iban, token string }
	var accts []acct
	for range 64 {
		ib := iban.New()
		cmd := &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: ib, Username: "u"}
		c, stop := context.WithTimeout(ctx, 30*time.Second)
		fb, err := requests.Send(c, cmd)
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if ok, reason := bus.Result(fb); !ok {
			b.Fatal(reason)
		}
		send(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Amount: 1 << 40, From: "cash", To: ib, Teller: true})
		accts = append(accts, acct{ib, testToken})
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
	)
	jobs := make(chan int)
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from, to := accts[w], accts[(w+1)%64]
			for range jobs {
				t0 := time.Now()
				send(&schemas.MoneyTransferCommand{ID: schemas.NewID(), Token: from.token, Amount: 1,
					From: from.iban, To: to.iban, Username: "u"})
				mu.Lock()
				latencies = append(latencies, time.Since(t0))
				mu.Unlock()
			}
		}()
	}
	txns := testutil.ToFloat64(commandhandler.Transactions)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "transfers/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric((testutil.ToFloat64(commandhandler.Transactions)-txns)/float64(b.N), "txns/transfer")
}
