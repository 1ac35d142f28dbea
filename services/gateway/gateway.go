// Package gateway serves the GraphQL API over HTTP and websockets: queries
// and mutations go to Kafka through the bus, subscriptions are fed by one
// consumer of transaction_events per gateway, fanned out to every
// subscriber. It adds GraphiQL (assets served from the binary), CORS,
// request limits and login sessions.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/IBM/sarama"
	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/vektah/gqlparser/v2/ast"
	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/generated"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway/feed"
	"github.com/openbank/bank/services/gateway/ratelimit"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/iban"
	"github.com/openbank/bank/topology/kafka"
)

// Config configures a gateway. Zero fields take the defaults documented
// on them.
type Config struct {
	Brokers []string
	// ClientID names the gateway's Kafka clients (default "openbank-gateway").
	ClientID string
	// Timeout bounds the wait for each answer from Kafka (default 5s).
	Timeout time.Duration
	// HashCost is bcrypt's cost for new passwords (default 10).
	HashCost int
	// Sessions issues and checks logins (required).
	Sessions *session.Keeper
	// CORSOrigins may call the API from a browser, besides the gateway's
	// own origin; "*" allows any.
	CORSOrigins []string
	// MaxBodyBytes bounds a request body and a websocket message (default
	// 64 KiB).
	MaxBodyBytes int64
	// MaxDepth bounds how deep an operation nests, introspection included
	// (default 15: GraphiQL's introspection query nests 14 deep; the
	// bank's own types 3).
	MaxDepth int
	// MaxComplexity bounds an operation's cost: a field costs 1, a list
	// costs its items times their fields (default 20,000).
	MaxComplexity int
	// EmployeePassword lets employees log in (employee_login); empty, none
	// can.
	EmployeePassword string
	// KeepAlive is the websocket ping interval (default 15s).
	KeepAlive time.Duration
	// LoginFailuresPerUser and LoginFailuresPerClient are how many wrong
	// passwords a minute a username, and a client address, may send before
	// their log-ins are refused for a while (defaults 5 and 30).
	LoginFailuresPerUser, LoginFailuresPerClient int
	// ClientAddressHeader names a header a trusted reverse proxy sets to
	// the client's address (such as X-Real-IP); empty, the client is the
	// connection's peer.
	ClientAddressHeader string
	// MaxSubscriptions bounds the running subscriptions of one websocket
	// connection (default 100); MaxMessagesPerSecond the messages its
	// client may send, twice that at once (default 100): a faster one is
	// disconnected.
	MaxSubscriptions, MaxMessagesPerSecond int
	// SignUpsPerClient bounds sign-ups (and get_account calls) a minute
	// from one client address (default 10); DepositsPerClient cash
	// deposits (default 30).
	SignUpsPerClient, DepositsPerClient int
	// LoginPace is how far apart the log-ins of a username under attack
	// run, one at a time, once its free attempts are used (default 1s).
	LoginPace time.Duration
	// Limits bound transfer amounts, as the command handler's do
	// (contract defaults when zero).
	Limits contract.AmountLimits
	// OpenReads lets anyone read any account, as the original did (for
	// its frontend against a demo bank; never in production).
	OpenReads bool
	// Introspection serves the schema (__schema, __type), which GraphiQL
	// uses for completion and docs; off, only __typename is answered.
	Introspection bool
	// MaxAliases bounds the aliased fields of an operation, counted
	// through fragments (default 30).
	MaxAliases int
	// MaxResponseBytes bounds one answer: a query's, a mutation's, or one
	// event of a subscription (default 2 MiB).
	MaxResponseBytes int
	// MaxConnectionsPerClient and MaxSubscriptionsPerClient bound the
	// websocket connections and running subscriptions of one client
	// address (defaults 20 and 200); MaxConnections and
	// MaxSubscriptionsTotal those of the whole gateway (defaults 20,000 and
	// 50,000).
	MaxConnectionsPerClient, MaxSubscriptionsPerClient int
	MaxConnections, MaxSubscriptionsTotal              int
	// LoadTest lifts the limits per client address (connections,
	// subscriptions, failed log-ins) for load generators, which are one
	// client with the load of many. Never in production.
	LoadTest bool
	// AllowPrivateWebhooks lets alert rules' webhooks name loopback,
	// private and link-local addresses (tests, on-premises receivers).
	AllowPrivateWebhooks bool
	Log                  *slog.Logger
}

func (c *Config) defaults() error {
	if len(c.Brokers) == 0 {
		return errors.New("gateway: no Kafka brokers")
	}
	if c.Sessions == nil {
		return errors.New("gateway: no session keeper")
	}
	if c.ClientID == "" {
		c.ClientID = "openbank-gateway"
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.HashCost == 0 {
		c.HashCost = bcrypt.DefaultCost
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.MaxDepth <= 0 {
		c.MaxDepth = 15
	}
	if c.MaxComplexity <= 0 {
		c.MaxComplexity = 20_000
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 15 * time.Second
	}
	if c.LoginFailuresPerUser <= 0 {
		c.LoginFailuresPerUser = 5
	}
	if c.LoginFailuresPerClient <= 0 {
		c.LoginFailuresPerClient = 30
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = 100
	}
	if c.MaxMessagesPerSecond <= 0 {
		c.MaxMessagesPerSecond = 100
	}
	if c.SignUpsPerClient <= 0 {
		c.SignUpsPerClient = 10
	}
	if c.DepositsPerClient <= 0 {
		c.DepositsPerClient = 30
	}
	if c.LoginPace <= 0 {
		c.LoginPace = time.Second
	}
	if c.Limits == (contract.AmountLimits{}) {
		c.Limits = contract.DefaultAmountLimits()
	}
	if err := c.Limits.Validate(); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.abuseDefaults()
	c.clientLimitDefaults()
	return nil
}

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
	context.AfterFunc(ctx, subscribers.Dec)
	return l.Hub.Subscribe(ctx, f.IBAN, f, f.Match, slow)
}

// alertFeed subscribes to a user's alerts.
type alertFeed struct {
	*feed.Hub[*model.Alert, string]
}

func (a alertFeed) Subscribe(ctx context.Context, username string, slow func()) <-chan *model.Alert {
	return a.Hub.Subscribe(ctx, username, username, nil, slow)
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

// Close stops the consumers and closes the connections.
func (g *Gateway) Close() {
	g.revoked.Close()
	g.tail.Close()
	g.client.Close()
	g.bus.Close()
}

func (g *Gateway) routes() http.Handler {
	perClient := func(n int) int {
		if g.cfg.LoadTest {
			return 1 << 30 // a load generator is one client with the load of many
		}
		return n
	}
	resolver := &graph.Resolver{Bus: g.bus, Live: g.live, Alerts: alertFeed{g.alerts}, Sessions: g.cfg.Sessions,
		Revoke: g.revocations.Revoke, Timeout: g.cfg.Timeout, HashCost: g.cfg.HashCost, NewIBAN: iban.New,
		EmployeePassword: g.cfg.EmployeePassword, Limits: g.cfg.Limits, OpenReads: g.cfg.OpenReads,
		Logins:  ratelimit.NewLogins(perClient(g.cfg.LoginFailuresPerClient), g.cfg.LoginFailuresPerUser, g.cfg.LoginPace),
		SignUps: ratelimit.New(perClient(g.cfg.SignUpsPerClient)), Deposits: ratelimit.New(perClient(g.cfg.DepositsPerClient)),
		Admit: AdmitSubscriptions(g.cfg.MaxSubscriptions, g.clients), AllowPrivateWebhooks: g.cfg.AllowPrivateWebhooks}
	api := g.cors(g.checkOrigin(g.authenticate(g.identifyClient(g.admitWebsockets(holdWebsockets(
		http.MaxBytesHandler(NewServer(resolver, g.cfg, g.revocations, g.sessions), g.cfg.MaxBodyBytes)))))))
	mux := http.NewServeMux()
	for _, path := range []string{"/graphql", "/api", "/ws"} {
		mux.Handle(path, api)
	}
	if err := frontend(mux); err != nil {
		g.cfg.Log.Warn("gateway: / unavailable", "err", err)
	}
	for _, path := range []string{"/graphiql", "/ide"} {
		if err := graphiql(mux, path, "/graphql"); err != nil {
			g.cfg.Log.Warn("gateway: "+path+" unavailable", "err", err)
		}
	}
	return SecurityHeaders(mux)
}

// NewServer returns the GraphQL server for a resolver, with the limits and
// websocket settings of cfg. Websocket sessions are checked against
// revoked and tracked in live, which closes them when revoked or expired
// (nil, neither).
func NewServer(resolver *graph.Resolver, cfg Config, revoked *session.Revocations, live *liveSessions) *handler.Server {
	complexity := generated.ComplexityRoot{}
	complexity.Query.TransactionsByIban = func(child int, _ string, maxItems int) int { return child * max(maxItems, 1) }
	// Nothing bounds the number of accounts; count on a thousand.
	complexity.Query.AllLastTransactions = func(child int) int { return child * 1000 }
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: resolver, Complexity: complexity}))
	srv.SetErrorPresenter(graph.PresentError)
	readLimit := cfg.MaxBodyBytes
	srv.AddTransport(transport.Websocket{
		Implementation: newGorillaWebsocket(10*time.Second, cfg.MaxMessagesPerSecond),
		InitFunc:       websocketInit(cfg.Sessions, revoked, live),
		InitTimeout:    10 * time.Second,
		// Pings: the legacy protocol's "ka" messages, and
		// graphql-transport-ws pings whose missing pongs drop dead peers.
		KeepAlivePingInterval: cfg.KeepAlive,
		PingPongInterval:      cfg.KeepAlive,
		PayloadReadLimit:      &readLimit,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	cfg.abuseDefaults()
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](100)})
	// Before the complexity and depth limits, which would walk an
	// operation of nested fragments for ever.
	srv.Use(shapeLimit{maxAliases: cfg.MaxAliases, maxFields: cfg.MaxComplexity})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.Use(depthLimit{max: cfg.MaxDepth})
	srv.Use(websocketOnly{})
	srv.Use(oneLogIn{})
	limitResponseSize(srv, int64(cfg.MaxResponseBytes))
	srv.SetRecoverFunc(func(ctx context.Context, p any) error {
		cfg.Log.Error("gateway: resolver panic", "panic", p, "operation", operationName(ctx))
		return errors.New("internal error")
	})
	return srv
}

func operationName(ctx context.Context) string {
	if graphql.HasOperationContext(ctx) {
		return graphql.GetOperationContext(ctx).OperationName
	}
	return ""
}

// authenticate puts the user of a valid "Authorization: Bearer <session>"
// into the request's context; an invalid or expired one is refused.
func (g *Gateway) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx, _, err := checkBearer(r.Context(), g.cfg.Sessions, g.revocations, h)
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"errors":[{"message":%q}]}`+"\n", err.Error())
			return
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// checkBearer returns ctx for the user or employee of an Authorization
// header's session, unless it is invalid, expired or revoked.
func checkBearer(ctx context.Context, k *session.Keeper, revoked *session.Revocations, h string) (context.Context, session.Subject, error) {
	scheme, s, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ctx, session.Subject{}, errors.New("authorization: want 'Bearer <session>'")
	}
	who, err := k.Check(strings.TrimSpace(s))
	switch {
	case err != nil:
		return ctx, who, err
	case revoked != nil && revoked.Revoked(who):
		return ctx, who, session.ErrInvalid
	case who.Employee:
		return graph.WithEmployee(ctx), who, nil
	}
	return graph.WithUser(ctx, who.Username), who, nil
}

// websocketInit reads a session from the connection_init payload, as
// {"Authorization": "Bearer <session>"} (or nested in "headers", as
// GraphiQL sends its headers). A bad one closes the connection with 4401,
// on which graphql-ws clients stop retrying; so does the session's
// revocation or expiry later.
func websocketInit(k *session.Keeper, revoked *session.Revocations, live *liveSessions) transport.WebsocketInitFunc {
	return func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx = overWebsocket(ctx)
		h := authorization(p)
		if h == "" {
			return ctx, nil, nil
		}
		authed, who, err := checkBearer(ctx, k, revoked, h)
		if err != nil {
			ctx = transport.WithWebsocketCloseCode(ctx, 4401)
			return transport.AppendCloseReason(ctx, "unauthorized"), nil, err
		}
		if holder := holderOf(ctx); holder != nil && live != nil {
			live.add(ctx, holder, who)
		}
		return authed, nil, nil
	}
}

func authorization(p map[string]any) string {
	for k, v := range p {
		if s, ok := v.(string); ok && strings.EqualFold(k, "Authorization") {
			return s
		}
	}
	if h, ok := p["headers"].(map[string]any); ok {
		return authorization(h)
	}
	return ""
}

// cors lets the configured origins call the API from browsers; the
// gateway's own pages need nothing.
func (g *Gateway) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && g.cfg.listed(origin) {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Add("Vary", "Origin")
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (c Config) listed(origin string) bool {
	return slices.Contains(c.CORSOrigins, "*") || slices.Contains(c.CORSOrigins, origin)
}

// identifyClient names the request's client for the log-in limits and
// the websocket limits: the one place that decides who a client is.
func (g *Gateway) identifyClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := ""
		if g.cfg.ClientAddressHeader != "" {
			// A proxy appending to X-Forwarded-For puts the address it saw last.
			list := strings.Split(r.Header.Get(g.cfg.ClientAddressHeader), ",")
			addr = strings.TrimSpace(list[len(list)-1])
		}
		if addr == "" {
			addr = r.RemoteAddr
			if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
				addr = host
			}
		}
		next.ServeHTTP(w, r.WithContext(graph.WithClient(withClientAddress(r.Context(), addr), addr)))
	})
}

// checkOrigin refuses websockets from other sites' pages: browsers let any
// page open a websocket to any host, with the visitor's network position
// and cookies.
func (g *Gateway) checkOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) && !g.cfg.originAllowed(r) {
			http.Error(w, "websocket origin not allowed: "+r.Header.Get("Origin")+" (see --cors-origins)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed accepts no Origin (not a browser), the gateway's own host,
// or a configured origin.
func (c Config) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host) || c.listed(origin)
}
