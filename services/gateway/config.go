package gateway

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/services/gateway/session"
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
