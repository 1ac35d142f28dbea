package gateway

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Limits on what one GraphQL operation may make the gateway do, besides
// the depth and complexity limits: how many aliases it uses, and how large
// its answer may grow.

// abuseDefaults sets the defaults of these limits.
func (c *Config) abuseDefaults() {
	if c.MaxAliases <= 0 {
		c.MaxAliases = 30
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 2 << 20
	}
}

// shapeLimit refuses operations with more than maxAliases aliased fields,
// or more than maxFields fields, counting a fragment's fields as often as
// it is spread. Aliases are how one operation asks for the same costly
// field many times over; maxFields (the complexity limit) stops fragments
// spread inside fragments before anything walks them field by field:
// gqlgen's own complexity count (and the depth limit) would walk such an
// operation in time exponential in its size. This check memoizes each
// fragment, so it takes time linear in the operation's text.
type shapeLimit struct{ maxAliases, maxFields int }

var (
	_ graphql.HandlerExtension        = shapeLimit{}
	_ graphql.OperationContextMutator = shapeLimit{}
)

func (shapeLimit) ExtensionName() string                   { return "OperationShapeLimit" }
func (shapeLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (l shapeLimit) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	c := shapeCounter{fragments: map[string]*shape{}}
	s := c.count(oc.Operation.SelectionSet)
	switch {
	case s.fields > int64(l.maxFields):
		return graph.Error(contract.ComplexityLimit(l.maxFields))
	case s.aliases > int64(l.maxAliases):
		return graph.Error(contract.TooManyAliases(s.aliases, l.maxAliases))
	}
	return nil
}

// shape is what a selection set holds, fragments expanded.
type shape struct{ fields, aliases int64 }

// saturated bounds the counts: a few dozen nested fragments could
// overflow them otherwise.
const saturated = 1 << 50

func (s *shape) add(o shape) {
	s.fields = min(s.fields+o.fields, saturated)
	s.aliases = min(s.aliases+o.aliases, saturated)
}

type shapeCounter struct{ fragments map[string]*shape }

func (c shapeCounter) count(set ast.SelectionSet) shape {
	var s shape
	for _, sel := range set {
		switch f := sel.(type) {
		case *ast.Field:
			s.add(shape{fields: 1})
			if f.Alias != "" && f.Alias != f.Name {
				s.add(shape{aliases: 1})
			}
			s.add(c.count(f.SelectionSet))
		case *ast.InlineFragment:
			s.add(c.count(f.SelectionSet))
		case *ast.FragmentSpread:
			if f.Definition == nil {
				continue
			}
			known, ok := c.fragments[f.Name]
			if !ok {
				// Validation refuses cycles; the empty entry guards anyway.
				c.fragments[f.Name] = &shape{}
				counted := c.count(f.Definition.SelectionSet)
				c.fragments[f.Name] = &counted
				known = &counted
			}
			s.add(*known)
		}
	}
	return s
}

// responseBudget counts the bytes of one response while it is resolved:
// once they pass max, every field left resolves to null without asking
// anything (Kafka included), and the response becomes the error
// RESPONSE_TOO_LARGE. So the gateway builds no more than about max bytes
// of any answer — a query's, a mutation's, or a subscription's event.
type responseBudget struct {
	max  int64
	used atomic.Int64
	// root lets a query's top-level fields, which gqlgen resolves
	// concurrently, resolve one after another, so that a spent budget stops
	// the next before it sends its query to Kafka and decodes the answer.
	root sync.Mutex
}

type budgetKey struct{}

func (b *responseBudget) spent() bool { return b.used.Load() > b.max }

// limitResponseSize adds the response budget of max bytes to srv.
func limitResponseSize(srv executorSettings, max int64) {
	srv.AroundResponses(func(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
		b := &responseBudget{max: max}
		resp := next(context.WithValue(ctx, budgetKey{}, b))
		if resp == nil {
			return nil
		}
		if b.spent() || responseSize(resp) > max {
			return &graphql.Response{Errors: gqlerror.List{graph.Error(contract.ResponseTooLarge(int(max)))}}
		}
		return resp
	})
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		b, ok := ctx.Value(budgetKey{}).(*responseBudget)
		if !ok {
			return next(ctx)
		}
		b.root.Lock()
		defer b.root.Unlock()
		if b.spent() {
			return nullData(ctx)
		}
		m := next(ctx)
		if b.spent() {
			return nullData(ctx)
		}
		return m
	})
	srv.AroundFields(func(ctx context.Context, next graphql.Resolver) (any, error) {
		b, ok := ctx.Value(budgetKey{}).(*responseBudget)
		if !ok {
			return next(ctx)
		}
		// A marshaler is taken as the field's answer as it is: null here
		// costs nothing and resolves nothing below.
		if b.spent() {
			return graphql.Null, nil
		}
		res, err := next(ctx)
		size := int64(4) // quotes, colon, comma
		if fc := graphql.GetFieldContext(ctx); fc != nil && fc.Field.Field != nil {
			size += int64(len(fc.Field.Alias))
		}
		if b.used.Add(size+valueSize(reflect.ValueOf(res))) > b.max {
			return graphql.Null, nil
		}
		return res, err
	})
}

// nullData is what a top-level field answers once the budget is spent:
// the null that makes the whole of data null (as a non-null field's null
// does), so that nothing already resolved is marshalled only to be thrown
// away.
func nullData(ctx context.Context) graphql.Marshaler {
	if rc := graphql.GetRootFieldContext(ctx); rc != nil && rc.Field.Field != nil && rc.Field.Definition != nil && rc.Field.Definition.Type.NonNull {
		return graphql.Null
	}
	return graphql.RequiredNull
}

// responseSize is about how many bytes resp takes as JSON.
func responseSize(resp *graphql.Response) int64 {
	n := int64(len(resp.Data))
	for _, e := range resp.Errors {
		n += int64(len(e.Message)) + 100 // locations, path, extensions
	}
	return n
}

// valueSize estimates the JSON size of what a resolver answered: a
// scalar's own, or the brackets and commas of a list or object (whose
// fields are counted as they resolve).
func valueSize(v reflect.Value) int64 {
	if !v.IsValid() {
		return 4 // null
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return 4
		}
		return valueSize(v.Elem())
	case reflect.String:
		return jsonStringSize(v.String())
	case reflect.Bool:
		return 5
	case reflect.Slice, reflect.Array:
		n := int64(2 + v.Len())
		if v.Type().Elem().Kind() == reflect.String || v.Type().Elem().Kind() == reflect.Pointer && v.Type().Elem().Elem().Kind() == reflect.String {
			for i := range v.Len() {
				n += valueSize(v.Index(i))
			}
		}
		return n
	case reflect.Struct, reflect.Map:
		return 2
	default: // numbers
		return 20
	}
}

// jsonStringSize is the size of s as a JSON string.
func jsonStringSize(s string) int64 {
	n := int64(len(s) + 2)
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20:
			n += 5 // \u00XX
		case c == '"' || c == '\\':
			n++
		}
	}
	return n
}
