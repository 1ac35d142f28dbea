package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/iban"
)

// What an idle subscriber costs the gateway: websocket connections, each
// with one subscription, opened by another process (so that the clients'
// memory is not counted), measured after collections. This file uses
// only what the gateway exported before its own websocket transport, so
// it runs unchanged against the commit before (see docs/benchmarks.md).
//
//	go test -run '^$' -bench IdleSubscribers -benchtime 1x ./services/gateway/
func BenchmarkIdleSubscribers(b *testing.B) {
	const n = 2000
	for range b.N {
		live := gateway.NewLiveFeed()
		srv := httptest.NewServer(gateway.NewServer(&graph.Resolver{Live: live},
			gateway.Config{MaxDepth: 10, MaxComplexity: 1000, KeepAlive: time.Hour, MaxBodyBytes: 64 << 10}, nil, nil))
		before := measure()
		clients := exec.Command(os.Args[0], "-test.run=^TestIdleSubscribersHelper$")
		clients.Env = append(os.Environ(), "OPENBANK_WS_CLIENTS_URL="+srv.URL, "OPENBANK_WS_CLIENTS="+strconv.Itoa(n))
		stdin, _ := clients.StdinPipe()
		stdout, _ := clients.StdoutPipe()
		clients.Stderr = os.Stderr
		if err := clients.Start(); err != nil {
			b.Fatal(err)
		}
		ready := bufio.NewScanner(stdout)
		if !ready.Scan() || ready.Text() != "ready" {
			b.Fatalf("the clients: %q", ready.Text())
		}
		deadline := time.Now().Add(time.Minute)
		for live.Len() != n {
			if time.Now().After(deadline) {
				b.Fatalf("%d subscribers of %d", live.Len(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		after := measure()
		b.ReportMetric(float64(after.heap-before.heap)/n, "heap-B/sub")
		b.ReportMetric(float64(after.stack-before.stack)/n, "stack-B/sub")
		b.ReportMetric(float64(after.heap+after.stack-before.heap-before.stack)/n, "B/sub")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/n, "goroutines/sub")
		b.ReportMetric(float64(after.rss-before.rss)/n/1024, "RSS-KiB/sub")
		stdin.Close()
		_ = clients.Wait()
		srv.Close()
	}
}

type memory struct {
	heap, stack, rss uint64
	goroutines       int
}

func measure() memory {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	mem := memory{heap: m.HeapAlloc, stack: m.StackInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			pages, _ := strconv.ParseUint(f[1], 10, 64)
			mem.rss = pages * uint64(os.Getpagesize())
		}
	}
	return mem
}

// TestIdleSubscribersHelper is BenchmarkIdleSubscribers's client process:
// it opens the subscribers, says "ready" and holds them until its stdin
// closes.
func TestIdleSubscribersHelper(t *testing.T) {
	url := os.Getenv("OPENBANK_WS_CLIENTS_URL")
	if url == "" {
		t.Skip("the client process of BenchmarkIdleSubscribers")
	}
	n, _ := strconv.Atoi(os.Getenv("OPENBANK_WS_CLIENTS"))
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second}
	var mu sync.Mutex
	var conns []*websocket.Conn
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, _, err := d.Dial("ws"+strings.TrimPrefix(url, "http")+"/graphql", nil)
			if err != nil {
				t.Error(err)
				return
			}
			var ack struct{ Type string }
			if conn.WriteJSON(map[string]any{"type": "connection_init"}) != nil || conn.ReadJSON(&ack) != nil || ack.Type != "connection_ack" {
				t.Error("no ack")
				return
			}
			_ = conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
				"query": `subscription($iban: String) { stream_transactions(iban: $iban) { id descr } }`, "variables": map[string]any{"iban": iban.Company}}})
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
		})
	}
	wg.Wait()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
