package gateway

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway/feed"
	"github.com/openbank/bank/topology"
)

// LiveConsumer names the gateway's reading of transaction_events and
// alerts on dead letters.
const LiveConsumer = "gateway-live"

// publish fans a transaction event or an alert out to its subscribers;
// what it cannot read is parked on dead letters (see bus.Bus.Park).
func (g *Gateway) publish(codec *topology.Codec, m *sarama.ConsumerMessage) {
	rec, err := codec.Decode(context.Background(), m.Topic, m.Value)
	if err != nil {
		g.bus.Park(m, LiveConsumer, fmt.Errorf("undecodable %s record: %w", m.Topic, err))
		return
	}
	switch e := rec.(type) {
	case *schemas.TransactionHappenedEvent:
		g.live.Publish(graph.Transaction(e))
	case *schemas.AlertTriggeredEvent:
		g.alerts.Publish(graph.Alert(e))
	default:
		g.bus.Park(m, LiveConsumer, fmt.Errorf("%s is not a record of %s", rec.AvroName(), m.Topic))
	}
}

var subscribers = promauto.NewGauge(prometheus.GaugeOpts{
	Name: "openbank_websocket_subscribers",
	Help: "Live stream_transactions subscriptions.",
})

// LiveFeed fans the live transactions out, routed by IBAN: a transaction
// is matched only against its account's filters and those of employees
// following every account. It counts the subscriptions.
type LiveFeed struct {
	*feed.Hub[*model.Transaction, graph.Filter]
}

// NewLiveFeed returns an empty live feed.
func NewLiveFeed() LiveFeed {
	return LiveFeed{feed.New[*model.Transaction, graph.Filter](graph.SubscriberBuffer, func(t *model.Transaction) string { return *t.Iban })}
}

// Subscribe implements graph.Transactions.
func (l LiveFeed) Subscribe(ctx context.Context, f graph.Filter, slow func()) <-chan *model.Transaction {
	subscribers.Inc()
	graph.WhenDone(ctx, subscribers.Dec)
	return subscribe(ctx, l.Hub, f.IBAN, f, f.Match, slow)
}

// alertFeed subscribes to a user's alerts.
type alertFeed struct {
	*feed.Hub[*model.Alert, string]
}

func (a alertFeed) Subscribe(ctx context.Context, username string, slow func()) <-chan *model.Alert {
	return subscribe(ctx, a.Hub, username, username, nil, slow)
}

// subscribe subscribes to h for a resolver, which must return the channel
// it gets as its answer, without an error. Within a websocket subscription
// the hub delivers straight to the operation, which queues the events
// until they are written (no goroutine waits on them), until the
// operation ends; the channel is where the operation's own executor takes
// each from to marshal it, when its group does not. Elsewhere it is the
// hub's own channel, until ctx ends.
func subscribe[T any, K comparable](ctx context.Context, h *feed.Hub[T, K], route string, key K, match func(T) bool, slow func()) <-chan T {
	op := pushTo(ctx)
	if op == nil {
		return h.Subscribe(ctx, route, key, match, slow)
	}
	ch := make(chan T, 1)
	handoff := func(v any) {
		select {
		case ch <- v.(T):
		default: // cannot be: the executor takes each before the next
		}
	}
	if !op.claim(handoff) {
		return h.Subscribe(ctx, route, key, match, slow)
	}
	op.WhenDone(h.SubscribeFunc(route, key, match, func(v T) bool { return op.push(v) }, slow, op.feedEnded))
	return ch
}
