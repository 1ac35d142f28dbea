package graph

import (
	"context"
	"math"
	"strings"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
)

// Filter is what stream_transactions selects on. It is comparable, so
// subscribers with the same filter share one evaluation per transaction.
type Filter struct {
	IBAN      string // "" for every account
	MinAmount int64  // cents, compared with the size of the change
	MaxAmount int64
	Direction model.Dtype // "" for both
	// DescrIncludes is lower-cased: the match ignores case.
	DescrIncludes string
}

// NewFilter builds a filter from stream_transactions' arguments.
func NewFilter(iban *string, minAmount, maxAmount *int, direction *model.Dtype, descrIncludes *string) Filter {
	f := Filter{MaxAmount: math.MaxInt64}
	if iban != nil {
		f.IBAN = *iban
	}
	if minAmount != nil {
		f.MinAmount = int64(*minAmount)
	}
	if maxAmount != nil {
		f.MaxAmount = int64(*maxAmount)
	}
	if direction != nil {
		f.Direction = *direction
	}
	if descrIncludes != nil {
		f.DescrIncludes = strings.ToLower(*descrIncludes)
	}
	return f
}

// Match reports whether a transaction passes the filter.
func (f Filter) Match(t *model.Transaction) bool {
	size := *t.ChangedByCents
	if size < 0 {
		size = -size
	}
	switch {
	case f.IBAN != "" && f.IBAN != *t.Iban,
		size < f.MinAmount || size > f.MaxAmount,
		f.Direction != "" && f.Direction != *t.Direction,
		f.DescrIncludes != "" && !strings.Contains(strings.ToLower(*t.Descr), f.DescrIncludes):
		return false
	}
	return true
}

// streamTransactions streams the transactions of an account the session's
// user owns (or of the company account); only employees may stream every
// account's.
func (r *Resolver) streamTransactions(ctx context.Context, f Filter) (<-chan *model.Transaction, error) {
	if f.IBAN == "" && !isEmployee(ctx) && !r.OpenReads {
		return nil, refusal{contract.StreamNeedsAnIBAN}
	}
	if f.IBAN != "" {
		ok, err := r.mayRead(ctx, f.IBAN)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, contract.NotYourAccount
		}
	}
	if err := r.admit(ctx); err != nil {
		return nil, err
	}
	return r.Live.Subscribe(ctx, f, tooSlow(ctx, "transactions")), nil
}

// admit lets a subscription start within the gateway's limits, releasing
// its place when ctx ends.
func (r *Resolver) admit(ctx context.Context) error {
	if r.Admit == nil {
		return nil
	}
	release, err := r.Admit(ctx)
	if err != nil {
		return err
	}
	WhenDone(ctx, release)
	return nil
}

type subscriptionKey struct{}

// Subscription is what a websocket transport tells the resolver of a
// subscription it serves.
type Subscription interface {
	// SubscriptionError is told an error the stream ends with (a
	// subscriber too slow), before its channel closes; the transport
	// sends it as the subscription's error after the events before it.
	// It may be told from any goroutine.
	SubscriptionError(*gqlerror.Error)
	// WhenDone calls f once the subscription ends (at once if it has).
	// Unlike context.AfterFunc on the resolver's context it keeps nothing
	// of that context (gqlgen's state of the operation) alive, which
	// the transport need not keep once the resolver has returned.
	WhenDone(f func())
}

// WithSubscription returns ctx for the resolver of s.
func WithSubscription(ctx context.Context, s Subscription) context.Context {
	return context.WithValue(ctx, subscriptionKey{}, s)
}

// SubscriptionOf returns the subscription ctx's resolver serves (nil:
// none, as over HTTP), for its transport to find its own.
func SubscriptionOf(ctx context.Context) Subscription {
	s, _ := ctx.Value(subscriptionKey{}).(Subscription)
	return s
}

// WhenDone calls f once ctx's subscription ends, or, without one, once
// ctx ends.
func WhenDone(ctx context.Context, f func()) {
	if s := SubscriptionOf(ctx); s != nil {
		s.WhenDone(f)
		return
	}
	context.AfterFunc(ctx, f)
}

// tooSlow returns the slow callback of a subscription's feed: it tells
// the transport the subscription ends as too slow (what names what fell
// behind). It keeps the subscription, not ctx.
func tooSlow(ctx context.Context, what string) func() {
	s := SubscriptionOf(ctx)
	return func() {
		if s != nil {
			s.SubscriptionError(Error(contract.SubscriberTooSlow(SubscriberBuffer, what)))
		}
	}
}
