package graph

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
)

// Playback: an account's history a page at a time, an account as it stood
// at a past point (both answered by the projector, for owners and
// employees), and the audit log (answered by the reports service, for
// employees).

// history answers a page of an account's history, newest first. Its
// cursor is the id of the last transaction of the page before.
func (r *Resolver) history(ctx context.Context, iban string, first int, after, from, to *string) (*model.TransactionPage, error) {
	if first < 1 || first > contract.MaxHistoryPage {
		return nil, contract.PageSizeInvalid(contract.MaxHistoryPage)
	}
	q := &schemas.AccountAsOfQuery{ID: schemas.NewID(), IBAN: iban, MaxItems: int32(first + 1)}
	if after != nil {
		id, err := strconv.ParseInt(*after, 10, 64)
		if err != nil || id < 1 {
			return nil, contract.CursorInvalid
		}
		if id == 1 {
			return &model.TransactionPage{Items: []*model.Transaction{}}, nil // nothing is older
		}
		q.AsOfTransactionID = id - 1
	}
	var err error
	if q.FromMillis, err = millis("from", from); err != nil {
		return nil, err
	}
	if q.AsOfMillis, err = millis("to", to); err != nil {
		return nil, err
	}
	if ok, err := r.mayRead(ctx, iban); err != nil || !ok {
		return nil, orNotYours(err)
	}
	var a contract.AccountAsOf
	if err := r.query(ctx, q, &a); err != nil {
		return nil, r.hideUnknown(ctx, err)
	}
	page := &model.TransactionPage{Items: transactions(a.Transactions)}
	if len(page.Items) > first {
		page.Items, page.HasMore = page.Items[:first], true
		page.Next = ptr(strconv.FormatInt(page.Items[first-1].TransactionID, 10))
	}
	return page, nil
}

// accountAsOf answers an account as it stood after a transaction or at a
// time, to its owners now, its owners then, and employees.
func (r *Resolver) accountAsOf(ctx context.Context, iban string, atTransaction *int64, atTime *string) (*model.AccountAsOf, error) {
	q := &schemas.AccountAsOfQuery{ID: schemas.NewID(), IBAN: iban, MaxItems: 1}
	switch {
	case (atTransaction == nil) == (atTime == nil):
		return nil, contract.AsOfInvalid
	case atTransaction != nil:
		if *atTransaction < 1 {
			return nil, contract.AsOfInvalid
		}
		q.AsOfTransactionID = *atTransaction
	default:
		var err error
		if q.AsOfMillis, err = millis("at_time", atTime); err != nil {
			return nil, err
		}
	}
	mayNow, err := r.mayRead(ctx, iban)
	if err != nil {
		return nil, err
	}
	if !mayNow {
		if _, err := userOf(ctx); err != nil {
			return nil, contract.NotYourAccount
		}
	}
	var a contract.AccountAsOf
	if err := r.query(ctx, q, &a); err != nil {
		return nil, r.hideUnknown(ctx, err)
	}
	if !mayNow {
		user, _ := userOf(ctx)
		if !slices.Contains(a.Owners, user) {
			return nil, contract.NotYourAccount
		}
	}
	return &model.AccountAsOf{Iban: a.IBAN, AsOfTransaction: a.AsOfTransactionID, Balance: money.Euro(a.Balance),
		BalanceCents: a.Balance, Owners: a.Owners}, nil
}

// auditLog answers a page of the audit log, to employees.
func (r *Resolver) auditLog(ctx context.Context, from, to, after *string, first int) (*model.AuditPage, error) {
	if !isEmployee(ctx) && !r.OpenReads {
		return nil, refusal{contract.EmployeesOnly}
	}
	if first < 1 || first > contract.MaxAuditPage {
		return nil, contract.PageSizeInvalid(contract.MaxAuditPage)
	}
	q := &schemas.AuditLogQuery{ID: schemas.NewID(), First: int32(first)}
	if after != nil {
		q.After = *after
	}
	var err error
	if q.FromMillis, err = millis("from", from); err != nil {
		return nil, err
	}
	if q.ToMillis, err = millis("to", to); err != nil {
		return nil, err
	}
	var p contract.AuditPage
	if err := r.query(ctx, q, &p); err != nil {
		return nil, err
	}
	out := &model.AuditPage{Events: make([]*model.AuditEvent, len(p.Events)), HasMore: p.HasMore}
	if p.Next != "" {
		out.Next = &p.Next
	}
	for i, e := range p.Events {
		out.Events[i] = auditEvent(e)
	}
	return out, nil
}

func auditEvent(e contract.AuditEvent) *model.AuditEvent {
	out := &model.AuditEvent{Cursor: e.Cursor, Topic: e.Topic, Offset: e.Offset, At: e.At.UTC().Format(time.RFC3339Nano),
		Type: e.Type, Aggregate: e.Aggregate, Actor: e.Actor, Body: string(e.Body)}
	if t := e.Transaction; t != nil {
		out.Transaction = &model.AuditTransaction{ID: t.ID, Iban: t.IBAN, ChangeCents: t.Change, BalanceCents: t.Balance,
			BalanceBeforeCents: t.Balance - t.Change}
	}
	return out
}

// millis reads an optional RFC 3339 time argument as ms since the epoch
// (0 when absent); the projector and the reports service take 0 for none,
// so times at or before 1970 are refused.
func millis(arg string, value *string) (int64, error) {
	if value == nil || *value == "" {
		return 0, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *value)
	if err != nil || t.UnixMilli() <= 0 {
		return 0, contract.TimeInvalid(arg, *value)
	}
	return t.UnixMilli(), nil
}

// orNotYours is err, or "not your account" when there is none.
func orNotYours(err error) error {
	if err != nil {
		return err
	}
	return contract.NotYourAccount
}

// hideUnknown answers "not your account" for an account that does not
// exist, but to employees: IBANs cannot be probed.
func (r *Resolver) hideUnknown(ctx context.Context, err error) error {
	if errors.Is(err, contract.AccountNotFound) && !isEmployee(ctx) && !r.OpenReads {
		return contract.NotYourAccount
	}
	return err
}
