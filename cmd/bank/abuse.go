package main

import (
	"log/slog"

	"github.com/openbank/bank/services/gateway"
)

// abuseFlags are the gateway's limits on what one client or operation may
// make it do, beyond the request limits in gatewayFlags.
type abuseFlags struct {
	introspection  *bool
	maxAliases     *int
	maxResponse    *int
	connsPerClient *int
	subsPerClient  *int
	conns          *int
	subs           *int
	loadTest       *bool
	allowPrivate   *bool
}

// abuseFlags adds them; introspection is its flag's default.
func (f *flags) abuseFlags(introspection bool) abuseFlags {
	return abuseFlags{
		introspection:  f.boolDefault("introspection", "INTROSPECTION", introspection, "serve the schema to clients (__schema, __type), which GraphiQL needs for completion and docs"),
		maxAliases:     f.int("max-aliases", "MAX_ALIASES", 30, "aliased fields an operation may use, counted through fragments"),
		maxResponse:    f.int("max-response-bytes", "MAX_RESPONSE_BYTES", 2<<20, "largest answer to one operation or subscription event; a larger one is the error RESPONSE_TOO_LARGE"),
		connsPerClient: f.int("ws-max-connections-per-client", "WS_MAX_CONNECTIONS_PER_CLIENT", 20, "websocket connections one client address may hold; beyond, the upgrade answers 429"),
		subsPerClient:  f.int("ws-max-subscriptions-per-client", "WS_MAX_SUBSCRIPTIONS_PER_CLIENT", 200, "running subscriptions one client address may hold, over all its connections"),
		conns:          f.int("ws-max-connections", "WS_MAX_CONNECTIONS", 20_000, "websocket connections the gateway holds at most"),
		subs:           f.int("ws-max-subscriptions-total", "WS_MAX_SUBSCRIPTIONS_TOTAL", 50_000, "running subscriptions the gateway holds at most"),
		allowPrivate:   f.webhooksAllowPrivate(),
		loadTest:       f.bool("load-test", "LOAD_TEST", "test profile for load generators and test drivers, one client with the load of many: lifts the limits per client address (websockets, subscriptions, failed log-ins). Never in production"),
	}
}

// apply puts the flags into a gateway's configuration.
func (af abuseFlags) apply(cfg *gateway.Config, log *slog.Logger) {
	cfg.Introspection = *af.introspection
	cfg.MaxAliases = *af.maxAliases
	cfg.MaxResponseBytes = *af.maxResponse
	cfg.MaxConnectionsPerClient, cfg.MaxSubscriptionsPerClient = *af.connsPerClient, *af.subsPerClient
	cfg.MaxConnections, cfg.MaxSubscriptionsTotal = *af.conns, *af.subs
	cfg.LoadTest = *af.loadTest
	cfg.AllowPrivateWebhooks = *af.allowPrivate
	if cfg.LoadTest {
		log.Warn("gateway: --load-test: no limits per client address (websockets, subscriptions, failed log-ins); a test profile, never for production")
	}
}

// webhooksAllowPrivate adds --webhooks-allow-private once per command (the
// gateway checks rules' webhooks as they are set, the alerts service every
// address it posts to).
func (f *flags) webhooksAllowPrivate() *bool {
	if f.allowPrivate == nil {
		f.allowPrivate = f.bool("webhooks-allow-private", "WEBHOOKS_ALLOW_PRIVATE", "let alert webhooks reach loopback, private and link-local addresses (tests, on-premises receivers); by default they go to public addresses only")
	}
	return f.allowPrivate
}
