// Package graph is the GraphQL API: the schema (*.graphqls), the code gqlgen
// generates from it, and the resolvers. Mutations send commands and queries
// ask the projector, both over Kafka through a Sender; subscriptions read
// the live transactions a gateway fans out.
package graph

//go:generate go tool gqlgen generate

import (
	"context"
	"time"

	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
)

// Sender sends a command or query and returns its answer (*bus.Bus).
type Sender interface {
	Send(ctx context.Context, rec schemas.Record) (schemas.Record, error)
}

// Transactions streams the live transactions (*feed.Hub).
type Transactions interface {
	Subscribe(ctx context.Context, match func(*model.Transaction) bool, slow func()) <-chan *model.Transaction
}

// Sessions issues login sessions (*session.Keeper).
type Sessions interface {
	Issue(username string) string
	IssueEmployee() string
}

// Throttle limits failed log-ins per key (*ratelimit.Limiter).
type Throttle interface {
	// Wait returns how long key must wait before its next try.
	Wait(key string) time.Duration
	// Fail counts a failed try of key.
	Fail(key string)
}

// Resolver holds what the resolvers need.
type Resolver struct {
	Bus  Sender
	Live Transactions
	// Alerts streams raised alerts; nil, the alerts subscription is
	// refused.
	Alerts   Alerts
	Sessions Sessions
	// Timeout bounds the wait for each answer from Kafka.
	Timeout time.Duration
	// HashCost is bcrypt's cost for new passwords.
	HashCost int
	// NewIBAN picks an IBAN for a new account.
	NewIBAN func() string
	// EmployeePassword is the employees' credential; empty, none can log
	// in.
	EmployeePassword string
	// UserLogins and ClientLogins limit failed log-ins per username and
	// per client address (see WithClient); nil, no limit.
	UserLogins, ClientLogins Throttle
	// Admit decides whether a live subscription may start: an error
	// refuses it; release is called when it ends. Nil admits all.
	Admit func(ctx context.Context) (release func(), err error)
	// AllowPrivateWebhooks lets alert rules post to loopback, private and
	// link-local addresses (see rule.CheckWebhookTarget).
	AllowPrivateWebhooks bool
}

type userKey struct{}

type employeeKey struct{}

type clientKey struct{}

// WithClient returns ctx for a request from the client at addr (its IP
// address), whose failed log-ins are counted together.
func WithClient(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientKey{}, addr)
}

// WithUser returns ctx for a request of a logged-in user.
func WithUser(ctx context.Context, username string) context.Context {
	return context.WithValue(ctx, userKey{}, username)
}

// WithEmployee returns ctx for a request of a logged-in employee.
func WithEmployee(ctx context.Context) context.Context {
	return context.WithValue(ctx, employeeKey{}, true)
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
	return "", errNotLoggedIn
}

// SubscriberBuffer is how many transactions a subscriber may fall behind
// before it is dropped.
const SubscriberBuffer = 256
