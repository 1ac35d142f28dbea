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
	return r.Live.Subscribe(ctx, f, func() {
		subscriptionError(ctx, Error(contract.SubscriberTooSlow(SubscriberBuffer, "transactions")))
	}), nil
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
	context.AfterFunc(ctx, release)
	return nil
}

type subscriptionErrorsKey struct{}

// WithSubscriptionErrors returns ctx for a subscription whose transport
// wants the errors its stream ends with (a subscriber too slow): report is
// called with each, before the stream's channel closes, and the transport
// sends them as the subscription's error once it has sent the events
// before them. It may be called from any goroutine.
func WithSubscriptionErrors(ctx context.Context, report func(*gqlerror.Error)) context.Context {
	return context.WithValue(ctx, subscriptionErrorsKey{}, report)
}

// subscriptionError tells ctx's transport the error its subscription ends
// with; without one (no websocket) there is no one to tell.
func subscriptionError(ctx context.Context, err *gqlerror.Error) {
	if report, ok := ctx.Value(subscriptionErrorsKey{}).(func(*gqlerror.Error)); ok {
		report(err)
	}
}
