package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/projector/projection"
	"github.com/openbank/bank/topology/iban"
)

// Reads follow ownership: an account's transactions are answered to its
// owners, to employees, and to anyone for the company account (the home
// page shows its feed). Anyone else gets "not your account", the same for
// an account that does not exist.

// mayRead reports whether the request may read the account's history.
func (r *Resolver) mayRead(ctx context.Context, account string) (bool, error) {
	if r.OpenReads || isEmployee(ctx) || account == iban.Company {
		return true, nil
	}
	user, err := userOf(ctx)
	if err != nil {
		return false, nil
	}
	var u projection.User
	err = r.query(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: user}, &u)
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonUserNotFound {
		return false, nil // a session outliving its user (a reset bank)
	}
	if err != nil {
		return false, err
	}
	return slices.Contains(u.Accounts, account), nil
}

// transactionsByIBAN answers the newest transactions of an account.
func (r *Resolver) transactionsByIBAN(ctx context.Context, account string, maxItems int) ([]*model.Transaction, error) {
	if maxItems < 1 || maxItems > projector.MaxItems {
		return nil, errors.New(projector.ReasonMaxItems)
	}
	ok, err := r.mayRead(ctx, account)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotYourAccount()
	}
	var ts []projection.Transaction
	err = r.query(ctx, &schemas.TransactionsByIbanQuery{ID: schemas.NewID(), IBAN: account, MaxItems: int32(maxItems)}, &ts)
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonAccountNotFound && !isEmployee(ctx) && !r.OpenReads {
		return nil, errNotYourAccount()
	}
	if err != nil {
		return nil, errorOf(err)
	}
	return transactions(ts), nil
}

// transactionByID answers one transaction of an account the request may
// read. An id that does not exist is "not your account" too, but for an
// employee.
func (r *Resolver) transactionByID(ctx context.Context, id int) (*model.Transaction, error) {
	var t projection.Transaction
	err := r.query(ctx, &schemas.TransactionByIdQuery{ID: schemas.NewID(), TransactionID: int64(id)}, &t)
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonTransactionNotFound && !isEmployee(ctx) && !r.OpenReads {
		return nil, errNotYourAccount()
	}
	if err != nil {
		return nil, errorOf(err)
	}
	ok, err := r.mayRead(ctx, t.IBAN)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotYourAccount()
	}
	return transaction(t), nil
}

// allLastTransactions answers every account's last transaction, to
// employees.
func (r *Resolver) allLastTransactions(ctx context.Context) ([]*model.Transaction, error) {
	if !isEmployee(ctx) && !r.OpenReads {
		return nil, errEmployeesOnly
	}
	var ts []projection.Transaction
	if err := r.query(ctx, &schemas.AllLastTransactionsQuery{ID: schemas.NewID()}, &ts); err != nil {
		return nil, errorOf(err)
	}
	return transactions(ts), nil
}
