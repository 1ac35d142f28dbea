package gateway

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// depthLimit refuses operations nested deeper than max fields,
// introspection (__schema, __type) included: the bank's own types nest 3
// deep, so the schema's types, which refer to each other, are all that can
// nest deeper.
type depthLimit struct{ max int }

var (
	_ graphql.HandlerExtension        = depthLimit{}
	_ graphql.OperationContextMutator = depthLimit{}
)

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(oc.Operation.SelectionSet, 0, d.max); depth > d.max {
		return graph.Error(contract.QueryTooDeep(d.max))
	}
	return nil
}

// websocketOnly refuses subscriptions outside a websocket: over HTTP POST
// or GET one would hold the request until its first event, then end.
type websocketOnly struct{}

var (
	_ graphql.HandlerExtension        = websocketOnly{}
	_ graphql.OperationContextMutator = websocketOnly{}
)

// connection is what the gateway keeps of one websocket connection in its
// operations' context.
type connection struct {
	subscriptions atomic.Int32 // running
}

type connectionKey struct{}

// overWebsocket marks the context of a websocket connection's operations.
func overWebsocket(ctx context.Context) context.Context {
	return context.WithValue(ctx, connectionKey{}, &connection{})
}

// AdmitSubscriptions returns graph.Resolver.Admit allowing max running
// subscriptions per websocket connection and, with clients (which may be
// nil), within the limits per client address and in all: each holds a
// goroutine and a buffer, so no connection or client may open them
// without end.
func AdmitSubscriptions(max int, clients *Clients) func(ctx context.Context) (func(), error) {
	return func(ctx context.Context) (func(), error) {
		c, ok := ctx.Value(connectionKey{}).(*connection)
		if !ok {
			return func() {}, nil
		}
		if c.subscriptions.Add(1) > int32(max) {
			c.subscriptions.Add(-1)
			return nil, graph.Error(contract.TooManySubscriptions(fmt.Sprintf("too many subscriptions on this connection: at most %d; end one, or open another connection", max)))
		}
		if clients == nil {
			return func() { c.subscriptions.Add(-1) }, nil
		}
		release, err := clients.subscribe(clientAddress(ctx))
		if err != nil {
			c.subscriptions.Add(-1)
			return nil, err
		}
		return func() { release(); c.subscriptions.Add(-1) }, nil
	}
}

func (websocketOnly) ExtensionName() string                   { return "WebsocketOnlySubscriptions" }
func (websocketOnly) Validate(graphql.ExecutableSchema) error { return nil }

func (websocketOnly) MutateOperationContext(ctx context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Subscription || ctx.Value(connectionKey{}) != nil {
		return nil
	}
	return graph.Error(contract.SubscriptionNeedsWebsocket)
}

// selectionDepth returns the depth of a selection set, stopping early once
// past limit (fragments could otherwise be walked many times over).
func selectionDepth(set ast.SelectionSet, depth, limit int) int {
	if depth > limit {
		return depth
	}
	deepest := depth
	for _, sel := range set {
		var d int
		switch s := sel.(type) {
		case *ast.Field:
			d = depth + 1
			if len(s.SelectionSet) > 0 {
				d = selectionDepth(s.SelectionSet, depth+1, limit)
			}
		case *ast.InlineFragment:
			d = selectionDepth(s.SelectionSet, depth, limit)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				d = selectionDepth(s.Definition.SelectionSet, depth, limit)
			}
		}
		deepest = max(deepest, d)
	}
	return deepest
}

// oneLogIn refuses an operation with more than one field that checks or
// hashes a password: bcrypt is slow on purpose, and aliases would
// otherwise let one request run it hundreds of times.
type oneLogIn struct{}

var (
	_ graphql.HandlerExtension        = oneLogIn{}
	_ graphql.OperationContextMutator = oneLogIn{}
)

// passwordFields are the fields that run bcrypt.
var passwordFields = map[string]bool{"log_in": true, "sign_up": true, "get_account": true, "change_password": true}

func (oneLogIn) ExtensionName() string                   { return "OneLogInPerRequest" }
func (oneLogIn) Validate(graphql.ExecutableSchema) error { return nil }

func (oneLogIn) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil || oc.Operation.Operation != ast.Mutation {
		return nil
	}
	if n := countFields(oc.Operation.SelectionSet, passwordFields, 0); n > 1 {
		return graph.Error(contract.OneLogInPerRequest(n))
	}
	return nil
}

// countFields counts the top-level fields of a selection set named in
// names, through fragments (depth bounds fragment cycles, which validation
// refuses anyway).
func countFields(set ast.SelectionSet, names map[string]bool, depth int) int {
	if depth > 10 {
		return 0
	}
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if names[s.Name] {
				n++
			}
		case *ast.InlineFragment:
			n += countFields(s.SelectionSet, names, depth+1)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n += countFields(s.Definition.SelectionSet, names, depth+1)
			}
		}
	}
	return n
}
