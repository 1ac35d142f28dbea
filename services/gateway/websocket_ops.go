package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph"
)

// The operations of a websocket connection: how they start, how a
// subscription's events reach the client without a goroutine of its own,
// and how they end.

// wsOp is an operation of a connection, by the client's id.
type wsOp struct {
	c      *wsConn
	id     string
	ctx    context.Context
	cancel context.CancelFunc

	// Set by start before the operation goes live (c.mu orders them).
	rc      *graphql.OperationContext
	next    graphql.ResponseHandler // gqlgen's: one event, marshalled
	nextCtx context.Context
	handoff func(any) // puts an event where next reads it

	// Guarded by c.mu.
	state   opState
	claimed bool  // a feed delivers to it (push)
	queue   []any // events not yet sent
	queued  bool  // in c.ready
	fed     bool  // the feed has ended it: once queue is sent, it ends
	errs    []*gqlerror.Error
	// silent ends it without a word: a legacy client started another
	// operation with its id.
	silent bool
}

type opState uint8

const (
	opStarting opState = iota
	opLive             // its feed pushes events; flush sends them
	opPulling          // its start goroutine runs it through gqlgen
	opEnded
)

type wsOpKey struct{}

// pushTo returns the websocket operation ctx belongs to, for a feed to
// deliver to it (nil: none).
func pushTo(ctx context.Context) *wsOp {
	op, _ := ctx.Value(wsOpKey{}).(*wsOp)
	return op
}

// subscribe registers an operation and starts it; false ends the
// connection.
func (c *wsConn) subscribe(id string, payload json.RawMessage, read graphql.TraceTiming) bool {
	c.mu.Lock()
	old := c.ops[id]
	if old != nil {
		if !c.proto.legacy {
			c.mu.Unlock()
			c.closeWith(closeSubscriberExists, "Subscriber for "+id+" already exists")
			return false
		}
		// As subscriptions-transport-ws servers do, the new operation
		// replaces the old one, which ends without a word.
		old.silent = true
		delete(c.ops, id)
	}
	if len(c.ops) >= c.t.MaxOperations {
		c.mu.Unlock()
		if old != nil {
			c.stopped(old)
		}
		c.write(errorMessage(id, graph.Error(contract.TooManySubscriptions(fmt.Sprintf(
			"too many operations in flight on this connection: at most %d; end one, or open another connection", c.t.MaxOperations)))))
		c.write(wsMessage{ID: id, Type: "complete"})
		return true
	}
	ctx, cancel := context.WithCancel(c.ctx)
	op := &wsOp{c: c, id: id, ctx: ctx, cancel: cancel}
	c.ops[id] = op
	c.wg.Add(1)
	c.mu.Unlock()
	if old != nil {
		c.stopped(old)
	}
	go c.start(op, payload, read)
	return true
}

// stop ends the operation id at the client's request; an unknown id (one
// that ended already) is ignored.
func (c *wsConn) stop(id string) {
	c.mu.Lock()
	op := c.ops[id]
	c.mu.Unlock()
	if op != nil {
		c.stopped(op)
	}
}

// stopped cancels op; whoever runs it ends it (a live one, flush).
func (c *wsConn) stopped(op *wsOp) {
	op.cancel()
	c.mu.Lock()
	if op.state == opLive {
		c.schedule(op)
	}
	c.mu.Unlock()
}

// start parses, validates and dispatches an operation, as gqlgen's
// transport did. A subscription whose resolver subscribed to a feed goes
// live and this goroutine ends; anything else runs here to its end.
func (c *wsConn) start(op *wsOp, payload json.RawMessage, read graphql.TraceTiming) {
	defer c.wg.Done()
	ctx := graphql.StartOperationTrace(op.ctx)
	defer func() {
		if r := recover(); r != nil {
			c.sendErrors(op, recovered(ctx, op.rc, r))
			c.end(op)
		}
	}()
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		c.sendErrors(op, &gqlerror.Error{Message: "invalid json"})
		c.end(op)
		return
	}
	params.ReadTime = read
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			c.sendErrors(op, resp.Errors...)
		} else {
			c.sendResponse(op, &graphql.Response{Errors: errs})
		}
		c.end(op)
		return
	}
	op.rc = rc
	ctx = graphql.WithOperationContext(ctx, rc)
	if rc.Operation.Operation == ast.Subscription {
		ctx = context.WithValue(graph.WithSubscriptionErrors(ctx, op.report), wsOpKey{}, op)
	}
	next, nextCtx := c.exec.DispatchOperation(ctx, rc)
	c.mu.Lock()
	op.next, op.nextCtx = next, nextCtx
	if op.claimed && op.state == opStarting {
		op.state = opLive
		if len(op.queue) > 0 || op.fed || op.ctx.Err() != nil {
			c.schedule(op)
		}
		c.mu.Unlock()
		return
	}
	op.state = opPulling
	c.mu.Unlock()
	for {
		resp := next(nextCtx)
		if resp == nil {
			break
		}
		c.sendResponse(op, resp)
	}
	c.end(op)
}

// recovered is the error a panic in an operation is answered with.
func recovered(ctx context.Context, rc *graphql.OperationContext, r any) *gqlerror.Error {
	if rc == nil {
		return &gqlerror.Error{Message: "internal error"}
	}
	err := rc.Recover(ctx, r)
	if gqlErr, ok := err.(*gqlerror.Error); ok {
		return gqlErr
	}
	gqlErr := &gqlerror.Error{}
	if err != nil {
		gqlErr.Message = err.Error()
	}
	return gqlErr
}

// claim lets a feed deliver to op, handing its events to the resolver's
// channel through handoff; false if another feed already does (an
// operation has one root field) or op is no longer starting.
func (op *wsOp) claim(handoff func(any)) bool {
	c := op.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if op.claimed || op.state != opStarting {
		return false
	}
	op.claimed, op.handoff = true, handoff
	return true
}

// push queues an event of op's feed; false if op has fallen
// graph.SubscriberBuffer events behind, for the feed to drop it. It never
// blocks.
func (op *wsOp) push(v any) bool {
	c := op.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case op.state == opEnded || c.ended:
		return true // ending anyway
	case len(op.queue) >= graph.SubscriberBuffer:
		return false
	}
	op.queue = append(op.queue, v)
	if op.state == opLive {
		c.schedule(op)
	}
	return true
}

// feedEnded is told by the feed that it delivers no more (op was dropped
// as too slow, or its context ended).
func (op *wsOp) feedEnded() {
	c := op.c
	c.mu.Lock()
	op.fed = true
	if op.state == opLive {
		c.schedule(op)
	}
	c.mu.Unlock()
}

// report keeps an error op's stream ends with (graph.WithSubscriptionErrors).
func (op *wsOp) report(err *gqlerror.Error) {
	op.c.mu.Lock()
	op.errs = append(op.errs, err)
	op.c.mu.Unlock()
}

// schedule gives a live operation its turn with the flush goroutine,
// starting one if none runs; c.mu is held.
func (c *wsConn) schedule(op *wsOp) {
	if c.ended {
		return
	}
	if !op.queued {
		op.queued = true
		c.ready = append(c.ready, op)
	}
	if !c.flushing {
		c.flushing = true
		c.wg.Add(1)
		go c.flush()
	}
}

// flush sends the live operations' events, one per operation in turn,
// and ends those that are done; it returns when none has anything left.
func (c *wsConn) flush() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		if len(c.ready) == 0 || c.ended {
			c.flushing = false
			c.ready = nil
			c.mu.Unlock()
			return
		}
		op := c.ready[0]
		c.ready[0] = nil
		c.ready = c.ready[1:]
		op.queued = false
		var v any
		switch {
		case op.state != opLive:
			c.mu.Unlock()
			continue
		case op.ctx.Err() != nil || len(op.queue) == 0 && op.fed:
			c.mu.Unlock()
			c.end(op)
			continue
		case len(op.queue) == 0:
			c.mu.Unlock()
			continue
		}
		v, op.queue[0] = op.queue[0], nil
		op.queue = op.queue[1:]
		if len(op.queue) == 0 {
			op.queue = nil
		}
		if len(op.queue) > 0 || op.fed {
			c.schedule(op)
		}
		c.mu.Unlock()
		c.deliver(op, v)
	}
}

// deliver sends one event of a live operation, marshalled by gqlgen's
// executor as the operation selects it.
func (c *wsConn) deliver(op *wsOp, v any) {
	resp, panicked := op.marshal(v)
	switch {
	case panicked != nil:
		c.sendErrors(op, panicked)
		c.end(op)
	case resp == nil: // op's context ended
		c.end(op)
	default:
		c.sendResponse(op, resp)
	}
}

// marshal hands v to the resolver's channel and has gqlgen's executor
// take it from there, which it does at once: nothing else reads the
// channel, and v is in it.
func (op *wsOp) marshal(v any) (resp *graphql.Response, panicked *gqlerror.Error) {
	defer func() {
		if r := recover(); r != nil {
			panicked = recovered(op.nextCtx, op.rc, r)
		}
	}()
	op.handoff(v)
	return op.next(op.nextCtx), nil
}

// end ends an operation: it says so to the client (complete, or the
// errors its stream ended with), unless the connection is closing, and
// releases what it holds (its feed, its place in the limits).
func (c *wsConn) end(op *wsOp) {
	c.mu.Lock()
	if op.state == opEnded {
		c.mu.Unlock()
		return
	}
	op.state = opEnded
	op.queue = nil
	if c.ops[op.id] == op {
		delete(c.ops, op.id)
	}
	errs, silent := op.errs, op.silent
	c.mu.Unlock()
	op.cancel()
	switch {
	case silent:
	case len(errs) > 0:
		c.sendErrors(op, errs...)
	default:
		c.write(wsMessage{ID: op.id, Type: "complete"})
	}
}

// sendResponse sends a result of op (next, or the legacy data), as
// gqlgen's transport marshalled it.
func (c *wsConn) sendResponse(op *wsOp, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		panic(err) // as gqlgen's: a response is JSON
	}
	c.send(op, wsMessage{ID: op.id, Type: c.proto.next, Payload: b})
}

// sendErrors sends op's error message.
func (c *wsConn) sendErrors(op *wsOp, errs ...*gqlerror.Error) {
	c.send(op, errorMessage(op.id, errs...))
}

// send writes a message of op, unless op was replaced.
func (c *wsConn) send(op *wsOp, m wsMessage) {
	c.mu.Lock()
	silent := op.silent
	c.mu.Unlock()
	if !silent {
		c.write(m)
	}
}

// errorMessage is the error message of operation id.
func errorMessage(id string, errs ...*gqlerror.Error) wsMessage {
	list := make([]error, len(errs))
	for i, err := range errs {
		list[i] = err
	}
	b, err := json.Marshal(list)
	if err != nil {
		panic(err)
	}
	return wsMessage{ID: id, Type: "error", Payload: b}
}
