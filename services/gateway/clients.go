package gateway

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// ClientLimits bound the websockets and subscriptions a gateway holds: per
// client address (as identifyClient names it), so that one client cannot
// take them all, and in all, so that the gateway stays within its memory
// (about 50 KiB per idle subscriber, see docs/benchmarks.md). Zero is no
// limit.
type ClientLimits struct {
	ConnectionsPerClient, SubscriptionsPerClient int
	Connections, Subscriptions                   int
}

// clientLimitDefaults sets the defaults of the client limits.
func (c *Config) clientLimitDefaults() {
	if c.MaxConnectionsPerClient <= 0 {
		c.MaxConnectionsPerClient = 20
	}
	if c.MaxSubscriptionsPerClient <= 0 {
		c.MaxSubscriptionsPerClient = 200
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = 20_000
	}
	if c.MaxSubscriptionsTotal <= 0 {
		c.MaxSubscriptionsTotal = 50_000
	}
}

// clientLimits are the limits of a configuration: under LoadTest, none per
// client address.
func (c Config) clientLimits() ClientLimits {
	l := ClientLimits{ConnectionsPerClient: c.MaxConnectionsPerClient, SubscriptionsPerClient: c.MaxSubscriptionsPerClient,
		Connections: c.MaxConnections, Subscriptions: c.MaxSubscriptionsTotal}
	if c.LoadTest {
		l.ConnectionsPerClient, l.SubscriptionsPerClient = 0, 0
	}
	return l
}

// Clients counts the websocket connections and running subscriptions of a
// gateway's clients against their limits.
type Clients struct {
	limits ClientLimits
	mu     sync.Mutex
	by     map[string]*clientUse // by client address
	conns  int
	subs   int
}

type clientUse struct{ conns, subs int }

// NewClients returns counters for limits.
func NewClients(limits ClientLimits) *Clients {
	return &Clients{limits: limits, by: map[string]*clientUse{}}
}

var (
	websocketConnections = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "openbank_websocket_connections",
		Help: "Open websocket connections on a gateway.",
	})
	websocketRefusals = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_websocket_refusals_total",
		Help: "Websocket connections and subscriptions refused for a limit: per_client or total.",
	}, []string{"what", "limit"})
)

// use returns the counts of addr, created if need be; c.mu is held.
func (c *Clients) use(addr string) *clientUse {
	u := c.by[addr]
	if u == nil {
		u = &clientUse{}
		c.by[addr] = u
	}
	return u
}

// forget drops addr's counts once they are zero; c.mu is held.
func (c *Clients) forget(addr string, u *clientUse) {
	if u.conns == 0 && u.subs == 0 {
		delete(c.by, addr)
	}
}

// connect admits a websocket connection of the client at addr; release
// ends it.
func (c *Clients) connect(addr string) (release func(), refusal string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.use(addr)
	switch {
	case c.limits.ConnectionsPerClient > 0 && u.conns >= c.limits.ConnectionsPerClient:
		c.forget(addr, u)
		websocketRefusals.WithLabelValues("connection", "per_client").Inc()
		return nil, fmt.Sprintf("too many websocket connections from your address: at most %d; close one, or try again later", c.limits.ConnectionsPerClient)
	case c.limits.Connections > 0 && c.conns >= c.limits.Connections:
		c.forget(addr, u)
		websocketRefusals.WithLabelValues("connection", "total").Inc()
		return nil, fmt.Sprintf("this gateway holds as many websocket connections as it may (%d): try again later", c.limits.Connections)
	}
	u.conns++
	c.conns++
	websocketConnections.Inc()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			u.conns--
			c.conns--
			c.forget(addr, u)
			websocketConnections.Dec()
		})
	}, ""
}

// subscribe admits a subscription of the client at addr; release ends it.
func (c *Clients) subscribe(addr string) (release func(), err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u := c.use(addr)
	switch {
	case c.limits.SubscriptionsPerClient > 0 && u.subs >= c.limits.SubscriptionsPerClient:
		c.forget(addr, u)
		websocketRefusals.WithLabelValues("subscription", "per_client").Inc()
		return nil, graph.Error(contract.TooManySubscriptions(fmt.Sprintf("too many subscriptions from your address: at most %d; end one, or try again later", c.limits.SubscriptionsPerClient)))
	case c.limits.Subscriptions > 0 && c.subs >= c.limits.Subscriptions:
		c.forget(addr, u)
		websocketRefusals.WithLabelValues("subscription", "total").Inc()
		return nil, graph.Error(contract.TooManySubscriptions(fmt.Sprintf("this gateway serves as many subscriptions as it may (%d): try again later", c.limits.Subscriptions)))
	}
	u.subs++
	c.subs++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			u.subs--
			c.subs--
			c.forget(addr, u)
		})
	}, nil
}

type clientAddressKey struct{}

// withClientAddress returns ctx for a request of the client at addr.
func withClientAddress(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddressKey{}, addr)
}

// clientAddress returns the client address identifyClient named ("" for
// none).
func clientAddress(ctx context.Context) string {
	addr, _ := ctx.Value(clientAddressKey{}).(string)
	return addr
}

// admitWebsockets refuses a websocket beyond its client's or the
// gateway's limit with 429 Too Many Requests, before it is upgraded, and
// counts it while it is open: the transport takes the admission with the
// connection, which outlives the request, and gives it back when the
// connection ends.
func (g *Gateway) admitWebsockets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !websocket.IsWebSocketUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		release, refusal := g.clients.connect(clientAddress(r.Context()))
		if refusal != "" {
			w.Header().Set("Retry-After", strconv.Itoa(10))
			http.Error(w, refusal, http.StatusTooManyRequests)
			return
		}
		a := &admission{release: release}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), admissionKey{}, a)))
		if !a.taken.Load() {
			release() // not upgraded
		}
	})
}

// admission is a websocket's place within the client limits, from the
// upgrade request to the connection that takes it.
type admission struct {
	release func()
	taken   atomic.Bool
}

type admissionKey struct{}

func admissionOf(ctx context.Context) *admission {
	a, _ := ctx.Value(admissionKey{}).(*admission)
	return a
}

// take hands the admission to the connection, which calls release when it
// ends.
func (a *admission) take() (release func()) {
	a.taken.Store(true)
	return a.release
}
