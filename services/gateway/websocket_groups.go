package gateway

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/executor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/graph/generated"
	"github.com/openbank/bank/graph/model"
)

// Subscriptions alike — the same operation with the same variables, for
// the same viewer — answer each event alike. So they share one marshaller:
// gqlgen's executor state of one operation, run by a second executor
// whose subscription resolvers only hand it the events (the subscribers'
// own resolvers have checked and subscribed them already). Each
// subscription then keeps only its queue and its place in the feed and
// the limits, not gqlgen's state of its operation (some 3 KB), and an
// event is marshalled once for all of them rather than once each.
//
// The viewer is part of the likeness although no field of a streamed
// type depends on who asks today: one that did would not leak to another.

// groupKey is what makes subscriptions alike.
type groupKey struct {
	query, operation, variables, viewer string
}

// marshalGroup marshals the events of its subscriptions.
type marshalGroup struct {
	t      *wsTransport
	key    groupKey
	refs   int         // subscriptions in it; guarded by t.groupMu
	shared atomic.Bool // refs > 1: worth keeping recent events
	cancel context.CancelFunc

	ready sync.Once // made by the first subscription
	ok    bool

	mu      sync.Mutex // one event at a time through next
	rc      *graphql.OperationContext
	next    graphql.ResponseHandler
	nextCtx context.Context
	handoff func(any)
	// recent are the last events marshalled, for the other subscriptions
	// of the group to send as they are.
	recent [4]marshalled
	pos    int
}

type marshalled struct {
	v        any
	payload  []byte
	panicked *gqlerror.Error
}

// join puts op, a subscription its feed delivers to, in the group of the
// subscriptions like it, made if need be; nil if it has none (no marshal
// executor, or the group could not be made: op marshals its own events).
// op leaves the group when it ends.
func (t *wsTransport) join(op *wsOp, params *graphql.RawParams) *marshalGroup {
	if t.Marshal == nil {
		return nil
	}
	vars, err := json.Marshal(op.rc.Variables)
	if err != nil {
		return nil
	}
	key := groupKey{query: op.rc.RawQuery, operation: op.rc.OperationName, variables: string(vars), viewer: graph.Viewer(op.ctx)}
	t.groupMu.Lock()
	g := t.groups[key]
	if g == nil {
		g = &marshalGroup{t: t, key: key}
		t.groups[key] = g
	}
	g.refs++
	g.shared.Store(g.refs > 1)
	t.groupMu.Unlock()
	g.ready.Do(func() { g.ok = g.make(op.ctx, params) })
	if !g.ok {
		g.leave()
		return nil
	}
	op.WhenDone(g.leave)
	return g
}

type marshalGroupKey struct{}

// make dispatches the group's operation on the marshal executor, with
// the values (the viewer) of the context of the subscription that made
// it, but not its end.
func (g *marshalGroup) make(opCtx context.Context, params *graphql.RawParams) bool {
	ctx, cancel := context.WithCancel(context.WithValue(context.WithoutCancel(opCtx), marshalGroupKey{}, g))
	g.cancel = cancel
	rc, errs := g.t.Marshal.CreateOperationContext(graphql.StartOperationTrace(ctx), params)
	if errs != nil {
		return false
	}
	g.rc = rc
	g.next, g.nextCtx = g.t.Marshal.DispatchOperation(graphql.WithOperationContext(ctx, rc), rc)
	return g.handoff != nil
}

// leave takes a subscription out of the group; the last one ends it.
func (g *marshalGroup) leave() {
	g.t.groupMu.Lock()
	g.refs--
	g.shared.Store(g.refs > 1)
	last := g.refs == 0
	if last && g.t.groups[g.key] == g {
		delete(g.t.groups, g.key)
	}
	g.t.groupMu.Unlock()
	if last && g.cancel != nil {
		g.cancel()
	}
}

// marshal returns the JSON of the response to event v (nil when the
// group's context ended), or the error of a panic marshalling it.
func (g *marshalGroup) marshal(v any) (payload []byte, panicked *gqlerror.Error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, m := range g.recent {
		// Events are pointers, shared by the feed's subscribers; one kept
		// here is not collected, so no later event has its address.
		if m.v == v && v != nil {
			return m.payload, m.panicked
		}
	}
	resp, panicked := g.response(v)
	eventsMarshalled.Inc()
	if resp != nil {
		var err error
		if payload, err = json.Marshal(resp); err != nil {
			panic(err) // as gqlgen's: a response is JSON
		}
	}
	switch {
	case !g.shared.Load():
		g.recent = [len(g.recent)]marshalled{} // alone, it needs none kept
	case resp != nil || panicked != nil:
		g.recent[g.pos] = marshalled{v: v, payload: payload, panicked: panicked}
		g.pos = (g.pos + 1) % len(g.recent)
	}
	return payload, panicked
}

func (g *marshalGroup) response(v any) (resp *graphql.Response, panicked *gqlerror.Error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = recovered(g.nextCtx, g.rc, r)
		}
	}()
	g.handoff(v)
	return g.next(g.nextCtx), nil
}

var (
	eventsMarshalled = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_websocket_events_marshalled_total",
		Help: "Subscription events marshalled by the websocket transport's groups of like subscriptions.",
	})
	eventsSent = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_websocket_events_sent_total",
		Help: "Subscription events sent to websocket subscribers (of the feeds).",
	})
)

// groupChannel is a marshal resolver's answer: a channel the group hands
// each event through.
func groupChannel[T any](ctx context.Context) (<-chan T, error) {
	g, _ := ctx.Value(marshalGroupKey{}).(*marshalGroup)
	if g == nil {
		return nil, gqlerror.Errorf("no marshal group")
	}
	ch := make(chan T, 1)
	g.handoff = func(v any) {
		select {
		case ch <- v.(T):
		default: // cannot be: the executor takes each before the next
		}
	}
	return ch, nil
}

// marshalResolvers are the resolvers of the marshal executor: only its
// subscriptions are ever resolved, by handing the group's events on.
type marshalResolvers struct{}

func (marshalResolvers) Query() generated.QueryResolver       { return nil }
func (marshalResolvers) Mutation() generated.MutationResolver { return nil }
func (marshalResolvers) Subscription() generated.SubscriptionResolver {
	return marshalSubscriptions{}
}

type marshalSubscriptions struct{}

func (marshalSubscriptions) StreamTransactions(ctx context.Context, _ *string, _, _ *int, _ *model.Dtype, _ *string) (<-chan *model.Transaction, error) {
	return groupChannel[*model.Transaction](ctx)
}

func (marshalSubscriptions) Alerts(ctx context.Context) (<-chan *model.Alert, error) {
	return groupChannel[*model.Alert](ctx)
}

// newMarshalExecutor returns the executor of the marshal groups: the
// gateway's schema and limits, and its response and field middlewares
// (the response size limit, the error presenter), with marshalResolvers.
func newMarshalExecutor(cfg Config) *executor.Executor {
	e := executor.New(generated.NewExecutableSchema(generated.Config{Resolvers: marshalResolvers{}, Complexity: complexityRoot()}))
	configureExecutor(e, cfg)
	return e
}
