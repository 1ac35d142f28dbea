// Package graph is the GraphQL API: the schema (*.graphqls), the code gqlgen
// generates from it, and the resolvers. Mutations send commands and queries
// ask the projector, both over Kafka through a Sender; subscriptions read
// the live transactions a gateway fans out.
package graph

//go:generate go run ../cmd/reasoncodes -graphql reasons.graphqls -js ../web/src/codes.js
//go:generate go tool gqlgen generate

import (
	"context"
	"sync"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
)

// Sender sends a command or query and returns its answer (*bus.Bus).
type Sender interface {
	Send(ctx context.Context, rec schemas.Record) (schemas.Record, error)
}

// Transactions streams the live transactions (the gateway's feed).
type Transactions interface {
	// Subscribe returns the transactions from now on that pass f; slow is
	// called before the channel closes if the subscriber falls behind.
	Subscribe(ctx context.Context, f Filter, slow func()) <-chan *model.Transaction
}

// Sessions issues login sessions (*session.Keeper).
type Sessions interface {
	Issue(username string) string
	// IssueAfter issues a session that outlives a revocation at revokedAt
	// (Unix ms).
	IssueAfter(username string, revokedAt int64) string
	IssueEmployee() string
}

// Logins limits log-in attempts (*ratelimit.Logins).
type Logins interface {
	// Begin reserves an attempt of username (empty for an employee) from
	// client, waiting while a username under attack is slowed; it returns
	// done, to call with whether the password was right, or how long to
	// wait before trying again.
	Begin(ctx context.Context, username, client string) (done func(ok bool), retry time.Duration)
}

// Throttle limits uses per key (*ratelimit.Limiter).
type Throttle interface {
	// Take counts a use of key: 0 when key may, else how long to wait.
	Take(key string) time.Duration
}

// Resolver holds what the resolvers need.
type Resolver struct {
	Bus  Sender
	Live Transactions
	// Alerts streams raised alerts; nil, the alerts subscription is
	// refused.
	Alerts   Alerts
	Sessions Sessions
	// Revoke ends a user's sessions issued up to at (Unix ms) on this
	// gateway at once, before session_events carries the revocation to
	// every gateway; nil, only session_events does.
	Revoke func(username string, at int64)
	// Timeout bounds the wait for each answer from Kafka.
	Timeout time.Duration
	// HashCost is bcrypt's cost for new passwords.
	HashCost int
	// NewIBAN picks an IBAN for a new account.
	NewIBAN func() string
	// EmployeePassword is the employees' credential; empty, none can log
	// in.
	EmployeePassword string
	// Logins limits log-in attempts; nil, no limit.
	Logins Logins
	// SignUps limits sign-ups (and get_account, which may sign up) per
	// client address; Deposits limits cash deposits per client address.
	// Nil, no limit.
	SignUps, Deposits Throttle
	// Limits bound amounts, as the command handler's do (answered early
	// here; decided there). Zero: contract.DefaultAmountLimits.
	Limits contract.AmountLimits
	// OpenReads lets anyone read any account's transactions and stream
	// every transaction, as the original did: for running its frontend
	// against a demo bank, never in production.
	OpenReads bool
	// AllowPrivateWebhooks accepts alert webhooks on private, loopback and
	// link-local addresses (tests, on-premise receivers).
	AllowPrivateWebhooks bool
	// Admit decides whether a live subscription may start: an error
	// refuses it; release is called when it ends. Nil admits all.
	Admit func(ctx context.Context) (release func(), err error)

	dummyOnce sync.Once
	dummy     []byte // a bcrypt hash no password matches, at HashCost
}

type userKey struct{}

type employeeKey struct{}

type clientKey struct{}

// WithClient returns ctx for a request from the client at addr (its IP
// address), whose log-ins, sign-ups and deposits are counted together.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// ClientOf returns the client address of a request ("" when unknown).
func ClientOf(ctx context.Context) string {
	c, _ := ctx.Value(clientKey{}).(string)
	return c
}

// WithUser returns ctx for a request of a logged-in user.
func WithUser(ctx context.Context, username string) context.Context {
	return context.WithValue(ctx, userKey{}, username)
}

func (r *Resolver) limits() contract.AmountLimits {
	if r.Limits == (contract.AmountLimits{}) {
		return contract.DefaultAmountLimits()
	}
	return r.Limits
}

// WithEmployee returns ctx for a request of a logged-in employee.
func WithEmployee(ctx context.Context) context.Context {
	return context.WithValue(ctx, employeeKey{}, true)
}

// Viewer names who a request acts for, as the resolvers tell: "employee",
// "user:" and the username, or "" for anyone.
func Viewer(ctx context.Context) string {
	if isEmployee(ctx) {
		return "employee"
	}
	if u, err := userOf(ctx); err == nil {
		return "user:" + u
	}
	return ""
}

func isEmployee(ctx context.Context) bool {
	e, _ := ctx.Value(employeeKey{}).(bool)
	return e
}

// userOf returns the logged-in user of a request.
func userOf(ctx context.Context) (string, error) {
	if u, ok := ctx.Value(userKey{}).(string); ok {
		return u, nil
	}
	return "", refusal{contract.NotLoggedIn}
}

// SubscriberBuffer is how many transactions a subscriber may fall behind
// before it is dropped.
const SubscriberBuffer = 256
