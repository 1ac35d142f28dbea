package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

// ask sends rec and waits, at most the resolver's timeout, for its answer:
// the additional info or query result on success, the failure (a
// contract.Reason) otherwise. It wraps bus.ErrTimeout when no answer came
// in time.
func (r *Resolver) ask(ctx context.Context, rec schemas.Record) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.Timeout)
	defer cancel()
	fb, err := r.Bus.Send(ctx, rec)
	if errors.Is(err, bus.ErrTimeout) {
		return "", fmt.Errorf("no answer to %s within %s: %w", shortName(rec), r.Timeout, bus.ErrTimeout)
	}
	if err != nil {
		return "", err
	}
	result, failure := bus.Answer(fb)
	if failure.Failed() {
		return "", failure
	}
	return result, nil
}

// query asks the projector and decodes its JSON answer into out.
func (r *Resolver) query(ctx context.Context, q schemas.Record, out any) error {
	result, err := r.ask(ctx, q)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(result), out); err != nil {
		return fmt.Errorf("answer to %s: %w", shortName(q), err)
	}
	return nil
}

func shortName(rec schemas.Record) string { return topology.ShortName(rec.AvroName()) }

// failedAs splits an error: a failure (a contract.Reason) is answered in
// the result that result makes of it; anything else is a GraphQL error.
func failedAs[T any](err error, result func(contract.Reason) T) (T, error) {
	var failure contract.Reason
	if errors.As(err, &failure) {
		return result(failure), nil
	}
	var none T
	return none, err
}

// refusal is a failure answered as a GraphQL error, never in a result:
// the request may not be made at all (not logged in, employees only).
type refusal struct{ reason contract.Reason }

func (r refusal) Error() string { return r.reason.Text }

// code is a failure's code as GraphQL answers it.
func code(r contract.Reason) *model.ReasonCode {
	c := model.ReasonCode(r.Code)
	return &c
}

func accountFailed(r contract.Reason) *model.AccountResult {
	return &model.AccountResult{Reason: &r.Text, ReasonCode: code(r)}
}

func commandFailed(r contract.Reason) *model.CommandResult {
	return &model.CommandResult{Reason: &r.Text, ReasonCode: code(r)}
}

func sessionFailed(r contract.Reason) *model.SessionResult {
	return &model.SessionResult{Reason: &r.Text, ReasonCode: code(r)}
}

func alertRuleFailed(r contract.Reason) *model.AlertRuleResult {
	return &model.AlertRuleResult{Reason: &r.Text, ReasonCode: code(r)}
}

// Error is a failure as a GraphQL error, with its code as extensions.code,
// for what answers *gqlerror.Error without the presenter (the gateway's
// operation checks, a subscription's end).
func Error(r contract.Reason) *gqlerror.Error {
	return &gqlerror.Error{Err: r, Message: r.Text, Extensions: map[string]any{"code": string(r.Code)}}
}

// PresentError is the GraphQL error presenter: a failure answered as an
// error (not your account, employees only, …) carries its code as
// extensions.code, as do the bus's timeouts and outages.
func PresentError(ctx context.Context, err error) *gqlerror.Error {
	failure, ok := errors.AsType[contract.Reason](err)
	refused, isRefusal := errors.AsType[refusal](err)
	switch {
	case ok:
	case isRefusal:
		failure = refused.reason
	case errors.Is(err, bus.ErrTimeout):
		failure = contract.NoAnswer(err.Error())
	case errors.Is(err, bus.ErrUnavailable):
		failure = contract.KafkaUnavailable(err.Error())
	}
	out := graphql.DefaultErrorPresenter(ctx, err)
	if failure.Failed() {
		if out.Extensions == nil {
			out.Extensions = map[string]any{}
		}
		out.Extensions["code"] = string(failure.Code)
	}
	return out
}

// transaction converts the read model's transaction.
func transaction(t contract.Transaction) *model.Transaction {
	tx := newTransaction(t.ID, t.IBAN, t.NewBalance, t.ChangedBy, t.FromTo, t.Description, t.At)
	tx.Kind = kindOf(t.Kind)
	return tx
}

// Transaction converts a live transaction event.
func Transaction(e *schemas.TransactionHappenedEvent) *model.Transaction {
	var at time.Time
	if e.AtMillis > 0 { // 0: published before times were carried
		at = time.UnixMilli(e.AtMillis)
	}
	tx := newTransaction(e.TransactionID, e.IBAN, e.NewBalance, e.ChangedBy, e.FromTo, e.Description, at)
	tx.Kind = kindOf(e.Kind)
	return tx
}

// kindOf is a transaction's kind as GraphQL answers it (nil when unknown).
func kindOf(kind string) *model.TransactionKind {
	k := model.TransactionKind(strings.ToUpper(kind))
	if !k.IsValid() {
		return nil
	}
	return &k
}

func newTransaction(id int64, iban string, balance, change int64, fromTo, descr string, at time.Time) *model.Transaction {
	dir := model.DtypeCredit
	if change < 0 {
		dir = model.DtypeDebit
	}
	t := &model.Transaction{ID: int(id), TransactionID: id, Iban: &iban, NewBalance: ptr(money.Euro(balance)), ChangedBy: ptr(money.Euro(change)),
		FromTo: &fromTo, Descr: &descr, Direction: &dir, NewBalanceCents: &balance, ChangedByCents: &change}
	if !at.IsZero() {
		t.At = ptr(at.UTC().Format(time.RFC3339Nano))
	}
	return t
}

func transactions(ts []contract.Transaction) []*model.Transaction {
	out := make([]*model.Transaction, len(ts))
	for i, t := range ts {
		out[i] = transaction(t)
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// deref is *p, or def when p is nil.
func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}
