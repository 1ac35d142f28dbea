package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology"
)

// failure is an answer that says no, with the reason from Kafka.
type failure struct{ reason string }

func (f failure) Error() string { return f.reason }

// ask sends rec and waits, at most the resolver's timeout, for its answer:
// the additional info or query result on success, a failure with the
// reason otherwise. It wraps bus.ErrTimeout when no answer came in time.
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
	ok, info := bus.Result(fb)
	if !ok {
		return "", failure{info}
	}
	return info, nil
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

// reasonOf splits an error into a reason to answer in the result (a
// failure) and an error to report as a GraphQL error (anything else).
func reasonOf(err error) (*string, error) {
	var f failure
	if errors.As(err, &f) {
		return &f.reason, nil
	}
	return nil, err
}

// errorOf turns a failure into a GraphQL error saying its reason; other
// errors pass as they are.
func errorOf(err error) error {
	var f failure
	if errors.As(err, &f) {
		return errors.New(f.reason)
	}
	return err
}

// ReasonNotYourAccount answers any read or command about an account that
// is not the session's user's: the same for an account that does not
// exist, so IBANs cannot be probed.
const ReasonNotYourAccount = "not your account"

// errNotYourAccount returns ReasonNotYourAccount as a GraphQL error: a new
// one each time, since gqlgen writes the field's path into it.
func errNotYourAccount() error {
	return &gqlerror.Error{Message: ReasonNotYourAccount, Extensions: map[string]any{"code": "NOT_YOUR_ACCOUNT"}}
}

// transaction converts the read model's transaction.
func transaction(t projection.Transaction) *model.Transaction {
	return newTransaction(t.ID, t.IBAN, t.NewBalance, t.ChangedBy, t.FromTo, t.Description)
}

// Transaction converts a live transaction event.
func Transaction(e *schemas.TransactionHappenedEvent) *model.Transaction {
	return newTransaction(e.TransactionID, e.IBAN, e.NewBalance, e.ChangedBy, e.FromTo, e.Description)
}

func newTransaction(id int64, iban string, balance, change int64, fromTo, descr string) *model.Transaction {
	dir := model.DtypeCredit
	if change < 0 {
		dir = model.DtypeDebit
	}
	return &model.Transaction{ID: int(id), Iban: &iban, NewBalance: ptr(money.Euro(balance)), ChangedBy: ptr(money.Euro(change)),
		FromTo: &fromTo, Descr: &descr, Direction: &dir, NewBalanceCents: &balance, ChangedByCents: &change}
}

func transactions(ts []projection.Transaction) []*model.Transaction {
	out := make([]*model.Transaction, len(ts))
	for i, t := range ts {
		out[i] = transaction(t)
	}
	return out
}

func ptr[T any](v T) *T { return &v }
