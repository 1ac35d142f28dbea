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
