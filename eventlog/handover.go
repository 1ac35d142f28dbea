package eventlog

import (
	"sync"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// fetchedOnDemand counts the records CaughtUp fetched and handed over
// itself, by reader: how often a reader's own fetches were too slow for
// someone waiting for it.
var fetchedOnDemand = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "openbank_eventlog_fetched_on_demand_total",
	Help: "Records a reader fetched at once because someone waited for it to catch up, by reader (some may also come from its own fetch, and are handed over once).",
}, []string{"reader"})

// handover passes the records CaughtUp fetched to a partition's forward
// without ever blocking CaughtUp: its caller may be the goroutine that
// applies the messages forward waits to hand over.
type handover struct {
	mu      sync.Mutex
	batches [][]*sarama.ConsumerMessage
	ready   chan struct{} // holds a token while batches is not empty
}

func newHandover() *handover { return &handover{ready: make(chan struct{}, 1)} }

// give queues msgs, in offset order, for forward.
func (h *handover) give(msgs []*sarama.ConsumerMessage) {
	h.mu.Lock()
	h.batches = append(h.batches, msgs)
	h.mu.Unlock()
	select {
	case h.ready <- struct{}{}:
	default: // a token is there already
	}
}

// take returns every queued record, in the order given.
func (h *handover) take() []*sarama.ConsumerMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*sarama.ConsumerMessage
	for _, b := range h.batches {
		out = append(out, b...)
	}
	h.batches = nil
	return out
}
