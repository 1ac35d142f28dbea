// Package gateway serves the GraphQL API over HTTP and websockets: queries
// and mutations go to Kafka through the bus, subscriptions are fed by one
// consumer of transaction_events per gateway, fanned out to every
// subscriber. It adds GraphiQL (assets served from the binary), CORS,
// request limits and login sessions.
//
// By file: gateway.go connects it (New, Close); config.go is its
// configuration and defaults; server.go wires the HTTP routes and the
// GraphQL server; live.go fans live transactions and alerts out; auth.go
// reads sessions (headers and websocket init); origins.go is CORS, the
// origin check and who a client is; limits.go, abuse.go and clients.go
// bound what one request or client may cost; websocket.go and
// websocket_ops.go are the websocket transport (on gorilla/websocket);
// sessions.go follows revocations.
package gateway

import (
	"context"
	"fmt"
	"net/http"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/services/gateway/feed"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Gateway is a running gateway: its Kafka clients and its HTTP handler.
type Gateway struct {
	cfg     Config
	bus     *bus.Bus
	client  sarama.Client // the live transactions' consumer
	tail    *eventlog.Log // transaction_events and alerts, from the newest
	live    LiveFeed
	alerts  *feed.Hub[*model.Alert, string]
	clients *Clients
	handler http.Handler
	ws      *wsTransport // the websockets, which outlive their requests

	revocations *session.Revocations
	revoked     *revocationReader // session_events
	sessions    *liveSessions
}

// New connects a gateway to Kafka. Close releases it.
func New(ctx context.Context, cfg Config, codec *topology.Codec) (*Gateway, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	b, err := bus.New(ctx, cfg.Brokers, codec, cfg.ClientID, cfg.Log)
	if err != nil {
		return nil, fmt.Errorf("gateway bus: %w", err)
	}
	g := &Gateway{cfg: cfg, bus: b, revocations: session.NewRevocations(), clients: NewClients(cfg.clientLimits()),
		live:   NewLiveFeed(),
		alerts: feed.New[*model.Alert, string](graph.SubscriberBuffer, func(a *model.Alert) string { return a.Username })}
	g.sessions = newLiveSessions(g.revocations)
	g.client, err = kafka.Connect(ctx, cfg.Brokers, kafka.ConsumerConfig(cfg.ClientID+"-live"), cfg.Log)
	if err != nil {
		b.Close()
		return nil, err
	}
	g.tail, err = eventlog.Follow(ctx, g.client, []string{topology.TransactionEvents, topology.Alerts}, "gateway live", cfg.Log, func(m *sarama.ConsumerMessage) {
		g.publish(codec, m)
	})
	if err != nil {
		g.client.Close()
		b.Close()
		return nil, fmt.Errorf("gateway live transactions: %w", err)
	}
	if g.revoked, err = g.followRevocations(ctx, codec); err != nil {
		g.tail.Close()
		g.client.Close()
		b.Close()
		return nil, fmt.Errorf("gateway revoked sessions: %w", err)
	}
	g.handler = g.routes()
	return g, nil
}

// Handler serves /graphql (POST, GET, websockets), the original's /api and
// /ws, GraphiQL at /graphiql and the original's /ide, and the frontend on /.
func (g *Gateway) Handler() http.Handler { return g.handler }

// Subscribers returns how many subscriptions are live.
func (g *Gateway) Subscribers() int { return g.live.Len() }

// Ready reports whether Kafka answers.
func (g *Gateway) Ready() error {
	if err := g.client.RefreshMetadata(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	return nil
}

// Close closes the websockets (1001, going away), stops the consumers
// and closes the connections.
func (g *Gateway) Close() {
	g.ws.Close()
	g.revoked.Close()
	g.tail.Close()
	g.client.Close()
	g.bus.Close()
}
