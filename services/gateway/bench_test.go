package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
)

// post sends a GraphQL operation and returns the response body.
func post(url, query string, vars map[string]any) (string, error) {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

// BenchmarkMoneyTransferOverHTTP: whole transfers (debit, credit, saga end)
// through the gateway's HTTP API, 32 clients in a closed loop, on the
// embedded broker. Reports the client-side latency too.
func BenchmarkMoneyTransferOverHTTP(b *testing.B) {
	s := startStack(b, nil)
	const clients = 32
	var accounts []account
	for i := range clients {
		a := s.signUp(b, "bench-"+suffix()+"-"+string(rune('a'+i%26)), "pw")
		s.transfer(b, schemas.NewID().String(), a.Username, a.Token, 1_000_000, "cash", a.IBAN, "funds")
		accounts = append(accounts, a)
	}
	var mu sync.Mutex
	var latencies []time.Duration
	work := make(chan int)
	var wg sync.WaitGroup
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			from, to := accounts[c], accounts[(c+1)%clients]
			var mine []time.Duration
			for range work {
				start := time.Now()
				ok, err := post(s.srv.URL+"/graphql", moneyTransfer, map[string]any{"uuid": schemas.NewID().String(),
					"user": from.Username, "token": from.Token, "amount": 1, "from": from.IBAN, "to": to.IBAN, "descr": "bench"})
				mine = append(mine, time.Since(start))
				if err != nil || !strings.Contains(ok, `"success":true`) {
					b.Errorf("transfer: %s %v", ok, err) // not Fatal: not the benchmark's goroutine
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	for i := range b.N {
		work <- i
	}
	close(work)
	wg.Wait()
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "transfers/s")
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Microseconds())/1000, "p99-ms")
}
