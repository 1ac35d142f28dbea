package gateway

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/generated"
	"github.com/openbank/bank/services/gateway/ratelimit"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology/iban"
)

// routes wires the HTTP paths: the API with its limits, GraphiQL, the
// frontend, and the middlewares every request passes.
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
	srv, ws := newServer(resolver, g.cfg, g.revocations, g.sessions)
	g.ws = ws
	api := g.cors(g.checkOrigin(g.authenticate(g.identifyClient(g.admitWebsockets(holdWebsockets(
		http.MaxBytesHandler(srv, g.cfg.MaxBodyBytes)))))))
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
	srv, _ := newServer(resolver, cfg, revoked, live)
	return srv
}

// newServer is NewServer, with its websocket transport (which Close ends).
func newServer(resolver *graph.Resolver, cfg Config, revoked *session.Revocations, live *liveSessions) (*handler.Server, *wsTransport) {
	ws := newWSTransport(wsSettings{
		Init:        websocketInit(cfg.Sessions, revoked, live),
		InitTimeout: 10 * time.Second,
		// The legacy protocol's "ka" messages, and graphql-transport-ws
		// pings whose missing pongs drop dead peers.
		KeepAlive:    cfg.KeepAlive,
		WriteTimeout: 10 * time.Second,
		ReadLimit:    readLimit(cfg.MaxBodyBytes),
		PerSecond:    cfg.MaxMessagesPerSecond,
		// Enough to keep Kafka busy with subscriptions' checks, few
		// enough that a burst waits in line rather than in goroutines.
		MaxStarting: 64,
		// Running subscriptions are bounded by Admit; as many again may be
		// starting or be queries.
		MaxOperations: 2 * maxSubscriptions(cfg.MaxSubscriptions),
		Marshal:       newMarshalExecutor(cfg),
	})
	return newServerWith(resolver, cfg, ws), ws
}

// newServerWith is the GraphQL server with ws as its websocket transport.
func newServerWith(resolver *graph.Resolver, cfg Config, ws graphql.Transport) *handler.Server {
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: resolver, Complexity: complexityRoot()}))
	srv.AddTransport(ws)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	configureExecutor(srv, cfg)
	return srv
}

// complexityRoot is the cost of the fields whose cost is not their
// children's.
func complexityRoot() generated.ComplexityRoot {
	complexity := generated.ComplexityRoot{}
	complexity.Query.TransactionsByIban = func(child int, _ string, maxItems int) int { return child * max(maxItems, 1) }
	// Nothing bounds the number of accounts; count on a thousand.
	complexity.Query.AllLastTransactions = func(child int) int { return child * 1000 }
	return complexity
}

// executorSettings is what configureExecutor sets: *handler.Server's
// methods, which are its executor's.
type executorSettings interface {
	SetErrorPresenter(graphql.ErrorPresenterFunc)
	SetRecoverFunc(graphql.RecoverFunc)
	SetQueryCache(graphql.Cache[*ast.QueryDocument])
	Use(graphql.HandlerExtension)
	AroundResponses(graphql.ResponseMiddleware)
	AroundRootFields(graphql.RootFieldMiddleware)
	AroundFields(graphql.FieldMiddleware)
}

// configureExecutor sets the gateway's error presenter, limits and
// extensions on a server's executor (or the websocket transport's
// marshal executor, whose responses must be the server's).
func configureExecutor(srv executorSettings, cfg Config) {
	srv.SetErrorPresenter(graph.PresentError)
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
}

// maxSubscriptions is the limit of subscriptions per connection (the
// default when none is set, as in tests).
func maxSubscriptions(n int) int {
	if n <= 0 {
		return 100
	}
	return n
}

// readLimit is the websocket message limit for a body limit (gqlgen's 1 MB
// when none is set, as in tests).
func readLimit(maxBody int64) int64 {
	if maxBody <= 0 {
		return 1 << 20
	}
	return maxBody
}

func operationName(ctx context.Context) string {
	if graphql.HasOperationContext(ctx) {
		return graphql.GetOperationContext(ctx).OperationName
	}
	return ""
}
