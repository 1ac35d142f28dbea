package graph

import (
	"context"
	"errors"
	"slices"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
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
	var u contract.User
	err = r.query(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: user}, &u)
	if errors.Is(err, contract.UserNotFound) {
		return false, nil // a session outliving its user (a reset bank)
	}
	if err != nil {
		return false, err
	}
	return slices.Contains(u.Accounts, account), nil
}

// transactionsByIBAN answers the newest transactions of an account.
func (r *Resolver) transactionsByIBAN(ctx context.Context, account string, maxItems int) ([]*model.Transaction, error) {
	if maxItems < 1 || maxItems > contract.MaxItems {
		return nil, contract.MaxItemsInvalid
	}
	ok, err := r.mayRead(ctx, account)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, contract.NotYourAccount
	}
	var ts []contract.Transaction
	err = r.query(ctx, &schemas.TransactionsByIbanQuery{ID: schemas.NewID(), IBAN: account, MaxItems: int32(maxItems)}, &ts)
	if errors.Is(err, contract.AccountNotFound) && !isEmployee(ctx) && !r.OpenReads {
		return nil, contract.NotYourAccount
	}
	if err != nil {
		return nil, err
	}
	return transactions(ts), nil
}

// transactionByID answers one transaction of an account the request may
// read. An id that does not exist is "not your account" too, but for an
// employee.
func (r *Resolver) transactionByID(ctx context.Context, id int) (*model.Transaction, error) {
	var t contract.Transaction
	err := r.query(ctx, &schemas.TransactionByIdQuery{ID: schemas.NewID(), TransactionID: int64(id)}, &t)
	if errors.Is(err, contract.TransactionNotFound) && !isEmployee(ctx) && !r.OpenReads {
		return nil, contract.NotYourAccount
	}
	if err != nil {
		return nil, err
	}
	ok, err := r.mayRead(ctx, t.IBAN)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, contract.NotYourAccount
	}
	return transaction(t), nil
}

// allLastTransactions answers every account's last transaction, to
// employees.
func (r *Resolver) allLastTransactions(ctx context.Context) ([]*model.Transaction, error) {
	if !isEmployee(ctx) && !r.OpenReads {
		return nil, refusal{contract.EmployeesOnly}
	}
	var ts []contract.Transaction
	if err := r.query(ctx, &schemas.AllLastTransactionsQuery{ID: schemas.NewID()}, &ts); err != nil {
		return nil, err
	}
	return transactions(ts), nil
}

// bankSummary answers the bank in four figures, to employees.
func (r *Resolver) bankSummary(ctx context.Context) (*model.BankSummary, error) {
	if !isEmployee(ctx) && !r.OpenReads {
		return nil, refusal{contract.EmployeesOnly}
	}
	var s contract.BankSummary
	if err := r.query(ctx, &schemas.BankSummaryQuery{ID: schemas.NewID()}, &s); err != nil {
		return nil, err
	}
	return &model.BankSummary{Users: s.Users, Accounts: s.Accounts, Transactions: s.Transactions,
		Balances: money.Euro(s.Balances), BalancesCents: s.Balances}, nil
}
