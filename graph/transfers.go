package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
)

// moneyTransfer starts a transfer and waits for its saga to end. Without an
// answer in time the result says PENDING: the same call again (same uuid)
// answers the real outcome once there is one, and never moves money twice.
// What the command handler would refuse at once (an amount outside the
// limits, a description too long) is refused here without sending it; the
// handler checks again when it decides.
func (r *Resolver) moneyTransfer(ctx context.Context, uuid, username, token string, amount int, from, to, descr string) (*model.MoneyTransferResult, error) {
	res := &model.MoneyTransferResult{UUID: &uuid}
	// pending answers a transfer that may still happen (or not be sent
	// yet); failed one that never will.
	pending := func(reason contract.Reason) (*model.MoneyTransferResult, error) {
		res.Reason, res.ReasonCode, res.Status = &reason.Text, code(reason), ptr(model.TransferStatusPending)
		return res, nil
	}
	failed := func(reason contract.Reason) *model.MoneyTransferResult {
		res.Success, res.Reason, res.ReasonCode, res.Status = ptr(false), &reason.Text, code(reason), ptr(model.TransferStatusFailed)
		return res
	}
	id, err := schemas.ParseID(uuid)
	if err != nil {
		return failed(contract.UUIDInvalid), nil
	}
	if reason := r.limits().CheckAmount(int64(amount)); reason.Failed() {
		return failed(reason), nil
	}
	if reason := contract.CheckDescription(descr); reason.Failed() {
		return failed(reason), nil
	}
	cmd := &schemas.MoneyTransferCommand{ID: id, Token: token, Amount: int64(amount), From: from, To: to,
		Description: descr, Username: contract.NormalizeUsername(username)}
	if from == contract.Cash {
		// A teller (an employee session) deposits on any account.
		cmd.Teller = isEmployee(ctx)
		if wait := r.takeDeposit(ctx); wait > 0 {
			return pending(contract.TooManyDeposits(seconds(wait)))
		}
	}
	_, err = r.ask(ctx, cmd)
	switch {
	case err == nil:
		res.Success, res.Status = ptr(true), ptr(model.TransferStatusCompleted)
	case errors.Is(err, bus.ErrTimeout):
		return pending(contract.NoOutcome(fmt.Sprintf("no outcome within %s; the transfer may still happen: send the same money_transfer again (same uuid) for its outcome, or ask transfer(uuid)", r.Timeout)))
	case errors.Is(err, bus.ErrUnavailable):
		return pending(contract.KafkaUnavailable(fmt.Sprintf("%s; the transfer was probably not sent: send the same money_transfer again (same uuid) when it is back", err)))
	default:
		return failedAs(err, failed)
	}
	return res, nil
}

func (r *Resolver) takeDeposit(ctx context.Context) time.Duration {
	if r.Deposits == nil {
		return 0
	}
	return r.Deposits.Take(ClientOf(ctx))
}

// transfer looks a transfer up, for the owners of its accounts; nil when
// the read model has not seen it.
func (r *Resolver) transfer(ctx context.Context, uuid string) (*model.Transfer, error) {
	id, err := schemas.ParseID(uuid)
	if err != nil {
		return nil, contract.UUIDInvalid
	}
	if !r.OpenReads && !isEmployee(ctx) {
		if _, err := userOf(ctx); err != nil {
			return nil, contract.NotYourAccount
		}
	}
	var t contract.Transfer
	err = r.query(ctx, &schemas.TransferByIdQuery{ID: schemas.NewID(), TransferID: id}, &t)
	if errors.Is(err, contract.TransferNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mayFrom, err := r.mayRead(ctx, t.From)
	if err != nil {
		return nil, err
	}
	if !mayFrom {
		mayTo, err := r.mayRead(ctx, t.To)
		if err != nil {
			return nil, err
		}
		if !mayTo {
			return nil, contract.NotYourAccount
		}
	}
	out := &model.Transfer{UUID: t.ID, From: t.From, To: t.To, Amount: money.Euro(t.Amount), AmountCents: t.Amount,
		Descr: t.Description, Status: model.TransferStatus(strings.ToUpper(t.Status))}
	if t.Reason != "" || t.ReasonCode != "" {
		reason := contract.ReasonOf(string(t.ReasonCode), t.Reason)
		out.Reason, out.ReasonCode = &reason.Text, code(reason)
	}
	return out, nil
}
