package gateway_test

import (
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/topology/iban"
)

// A subscriber that stops reading is dropped with a clear error, and a
// subscriber that reads gets everything meanwhile.
func TestASlowSubscriberIsDroppedWithAnError(t *testing.T) {
	live := gateway.NewLiveFeed()
	srv := httptest.NewServer(gateway.NewServer(&graph.Resolver{Live: live}, gateway.Config{MaxDepth: 10, MaxComplexity: 1000, KeepAlive: time.Minute}, nil, nil))
	defer srv.Close()

	slow, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "", func(c *wsClient) { c.paused = make(chan struct{}) })
	if err != nil {
		t.Fatal(err)
	}
	slow.subscribe(t, `subscription { stream_transactions(iban: "NL66OPEN0000000000") { id descr } }`, nil)
	fast, err := dialWS(t, srv.URL, "graphql-transport-ws", nil, "")
	if err != nil {
		t.Fatal(err)
	}
	fast.subscribe(t, `subscription { stream_transactions(iban: "NL66OPEN0000000000", min_amount: 5) { id descr } }`, nil)
	waitFor(t, "two subscribers", func() bool { return live.Len() == 2 })

	// The slow client reads nothing: its socket's buffers fill, then its
	// places in the feed, and it is dropped. The fast one reads; the
	// publisher keeps within its buffer.
	var read atomic.Int64
	go func() {
		for m := range fast.msgs {
			if m["type"] == "next" {
				read.Add(1)
			}
		}
	}()
	descr := strings.Repeat("x", 1024)
	published := int64(0)
	for live.Len() == 2 {
		if published == 200_000 {
			t.Fatal("the slow subscriber was never dropped")
		}
		for published-read.Load() > graph.SubscriberBuffer/2 {
			time.Sleep(100 * time.Microsecond)
		}
		published++
		live.Publish(graph.Transaction(&schemas.TransactionHappenedEvent{TransactionID: published, IBAN: iban.Company, ChangedBy: 10, Description: descr}))
	}
	t.Logf("slow subscriber dropped after %d transactions", published)
	waitFor(t, "the reading subscriber to get everything", func() bool { return read.Load() == published })
	close(slow.paused)
	for m := range slow.msgs {
		if m["type"] == "error" {
			if msg := m["payload"].([]any)[0].(map[string]any)["message"].(string); !strings.Contains(msg, "subscriber too slow") {
				t.Errorf("error %q", msg)
			}
			return
		}
	}
	t.Fatal("the slow subscriber got no error")
}
