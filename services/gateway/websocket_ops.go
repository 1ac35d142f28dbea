package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

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

	// How its events are marshalled: by its group (see websocket_groups.go),
	// or, when it has none, by gqlgen's executor of its own operation
	// (next, which takes each event from handoff). Set by start before the
	// operation goes live (c.mu orders them).
	group   *marshalGroup
	rc      *graphql.OperationContext
	next    graphql.ResponseHandler
	nextCtx context.Context
	handoff func(any)

	// Guarded by c.mu.
	state   opState
	claimed bool  // a feed delivers to it (push)
	queue   []any // events not yet sent
	queued  bool  // in c.ready
	fed     bool  // the feed has ended it: once queue is sent, it ends
	errs    []*gqlerror.Error
	// silent ends it without a word: a legacy client started another
	// operation with its id.
	silent   bool
	cleanups []func() // WhenDone's
	cleaned  bool     // the cleanups have run
}

type opState uint8

const (
	opStarting opState = iota
	opLive             // its feed pushes events; flush sends them
	opPulling          // a goroutine of its own runs it through gqlgen
	opEnded
)

var _ graph.Subscription = (*wsOp)(nil)

// pushTo returns the websocket subscription ctx's resolver serves, for a
// feed to deliver to it (nil: none).
func pushTo(ctx context.Context) *wsOp {
	op, _ := graph.SubscriptionOf(ctx).(*wsOp)
	return op
}

// subscribe registers an operation and queues its start; false ends the
// connection.
func (c *wsConn) subscribe(id string, payload json.RawMessage, read graphql.TraceTiming) bool {
	c.mu.Lock()
	old := c.op(id)
	if old != nil {
		if !c.proto.legacy {
			c.mu.Unlock()
			c.closeWith(closeSubscriberExists, "Subscriber for "+id+" already exists")
			return false
		}
		// As subscriptions-transport-ws servers do, the new operation
		// replaces the old one, which ends without a word.
		old.silent = true
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
	c.ops = append(c.ops, op)
	c.mu.Unlock()
	if old != nil {
		c.stopped(old)
	}
	c.t.queueStart(startJob{c: c, op: op, payload: payload, read: read})
	return true
}

// op returns the operation id (nil for none); c.mu is held. A connection
// has a few operations: a slice costs less than a map. A replaced one
// (silent) is not found by its id.
func (c *wsConn) op(id string) *wsOp {
	for _, op := range c.ops {
		if op.id == id && !op.silent {
			return op
		}
	}
	return nil
}

// forget takes op out of the connection's operations; c.mu is held.
func (c *wsConn) forget(op *wsOp) {
	if i := slices.Index(c.ops, op); i >= 0 {
		c.ops = slices.Delete(c.ops, i, i+1)
		if len(c.ops) == 0 {
			c.ops = nil
		}
	}
}

// stop ends the operation id at the client's request; an unknown id (one
// that ended already) is ignored.
func (c *wsConn) stop(id string) {
	c.mu.Lock()
	op := c.op(id)
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

// startJob is an operation waiting to start.
type startJob struct {
	c       *wsConn
	op      *wsOp
	payload json.RawMessage
	read    graphql.TraceTiming
}

// queueStart has j started by one of at most MaxStarting goroutines of
// the transport, in the order they come. A subscription's start asks
// Kafka whether its user may read the account: a burst of them (a
// gateway's clients reconnecting at once) would otherwise each hold a
// goroutine and its stack while they wait, and wait longer than the
// answer's timeout. Queued, one costs its message.
func (t *wsTransport) queueStart(j startJob) {
	t.startMu.Lock()
	defer t.startMu.Unlock()
	t.starts = append(t.starts, j)
	if t.starters < t.MaxStarting {
		t.starters++
		t.startersWG.Add(1)
		go t.starter()
	}
}

// starter starts queued operations until none is left.
func (t *wsTransport) starter() {
	defer t.startersWG.Done()
	for {
		t.startMu.Lock()
		if len(t.starts) == 0 {
			t.starters--
			t.starts = nil
			t.startMu.Unlock()
			return
		}
		j := t.starts[0]
		t.starts[0] = startJob{}
		t.starts = t.starts[1:]
		t.startMu.Unlock()
		// The connection owns the operation once it starts; one that
		// ended meanwhile is skipped.
		if j.c.enter() {
			j.c.start(j.op, j.payload, j.read)
		}
	}
}

// start parses, validates and dispatches an operation, as gqlgen's
// transport did. A subscription whose resolver subscribed to a feed goes
// live; anything else runs on a goroutine of its own to its end.
func (c *wsConn) start(op *wsOp, payload json.RawMessage, read graphql.TraceTiming) {
	defer c.wg.Done()
	if op.ctx.Err() != nil {
		c.end(op) // stopped, or the connection ended, while it waited
		return
	}
	ctx := op.ctx
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
	// The trace's start is read into rc's stats; the operation's context
	// need not keep it.
	traced := graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(traced, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(traced, rc), errs)
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
	subscription := rc.Operation.Operation == ast.Subscription
	if subscription {
		ctx = graph.WithSubscription(ctx, op)
	}
	next, nextCtx := c.exec.DispatchOperation(ctx, rc)
	c.mu.Lock()
	claimed := op.claimed && op.state == opStarting
	c.mu.Unlock()
	if !claimed {
		op.next, op.nextCtx = next, nextCtx
		c.mu.Lock()
		op.state = opPulling
		c.wg.Add(1)
		c.mu.Unlock()
		go c.pull(op)
		return
	}
	// A feed delivers to it: its events are marshalled by the group of
	// the operations like it, and gqlgen's state of its own operation
	// (next, rc and their contexts) can go.
	if g := c.t.join(op, params); g != nil {
		op.group = g
		op.rc, op.handoff = nil, nil
	} else {
		op.next, op.nextCtx = next, nextCtx
	}
	c.mu.Lock()
	op.state = opLive
	if len(op.queue) > 0 || op.fed || op.ctx.Err() != nil {
		c.schedule(op)
	}
	c.mu.Unlock()
}

// pull runs an operation through gqlgen's executor to its end: a query,
// a mutation, or a stream that is not a feed's.
func (c *wsConn) pull(op *wsOp) {
	defer c.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			c.sendErrors(op, recovered(op.nextCtx, op.rc, r))
			c.end(op)
		}
	}()
	for {
		resp := op.next(op.nextCtx)
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
// channel through handoff (when op marshals them itself); false if
// another feed already does (an operation has one root field) or op is
// no longer starting.
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
// as too slow, or removed).
func (op *wsOp) feedEnded() {
	c := op.c
	c.mu.Lock()
	op.fed = true
	if op.state == opLive {
		c.schedule(op)
	}
	c.mu.Unlock()
}

// SubscriptionError keeps an error op's stream ends with
// (graph.Subscription).
func (op *wsOp) SubscriptionError(err *gqlerror.Error) {
	op.c.mu.Lock()
	op.errs = append(op.errs, err)
	op.c.mu.Unlock()
}

// WhenDone calls f once op ends (graph.Subscription): when it ends, or
// when its connection does.
func (op *wsOp) WhenDone(f func()) {
	c := op.c
	c.mu.Lock()
	if op.cleaned {
		c.mu.Unlock()
		f()
		return
	}
	op.cleanups = append(op.cleanups, f)
	c.mu.Unlock()
}

// cleanup runs op's WhenDone functions, once.
func (op *wsOp) cleanup() {
	c := op.c
	c.mu.Lock()
	fs := op.cleanups
	op.cleanups, op.cleaned = nil, true
	c.mu.Unlock()
	for _, f := range fs {
		f()
	}
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
	var payload []byte
	var panicked *gqlerror.Error
	if op.group != nil {
		payload, panicked = op.group.marshal(v)
	} else {
		var resp *graphql.Response
		if resp, panicked = op.marshal(v); resp != nil {
			var err error
			if payload, err = json.Marshal(resp); err != nil {
				panic(err) // as gqlgen's: a response is JSON
			}
		}
	}
	switch {
	case panicked != nil:
		c.sendErrors(op, panicked)
		c.end(op)
	case payload == nil: // the context ended
		c.end(op)
	default:
		c.sendPayload(op, payload)
		eventsSent.Inc()
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
// releases what it holds (its feed, its place in the limits, its group).
func (c *wsConn) end(op *wsOp) {
	c.mu.Lock()
	if op.state == opEnded {
		c.mu.Unlock()
		return
	}
	op.state = opEnded
	op.queue = nil
	c.forget(op)
	errs, silent := op.errs, op.silent
	c.mu.Unlock()
	op.cancel()
	op.cleanup()
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
	c.sendPayload(op, b)
}

// sendPayload sends a result of op given as the JSON of its
// graphql.Response.
func (c *wsConn) sendPayload(op *wsOp, payload []byte) {
	if c.isSilent(op) {
		return
	}
	// What gorilla's WriteJSON of the wsMessage writes (the payload,
	// json.Marshal's, is compact and escaped already), without copying
	// the payload.
	id, _ := json.Marshal(op.id)
	c.writeRaw([]byte(`{"payload":`), payload, []byte(`,"id":`), id, []byte(`,"type":"`+c.proto.next+"\"}\n"))
}

// sendErrors sends op's error message.
func (c *wsConn) sendErrors(op *wsOp, errs ...*gqlerror.Error) {
	if !c.isSilent(op) {
		c.write(errorMessage(op.id, errs...))
	}
}

func (c *wsConn) isSilent(op *wsOp) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return op.silent
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
