package commandhandler_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// BenchmarkTransferSaga measures whole transfers (MoneyTransfer, debit,
// credit, completion: four transactions and three hops over the broker)
// through one handler instance on the embedded broker, with 64 in flight.
// It reports transfers/s and the latency a client waits.
func BenchmarkTransferSaga(b *testing.B) {
	env := kafkatest.Synced(b)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- commandhandler.Run(ctx, commandhandler.Config{Brokers: env.Brokers, Registry: env.Registry,
			InstanceID: "bench", OnReady: func() { close(ready) }, NewToken: func() string { return testToken },
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
	for w := range 64 {
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
}
