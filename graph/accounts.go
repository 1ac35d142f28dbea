package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
)

// openAccount opens an account with a fresh IBAN for username and answers
// it with its token and a session.
func (r *Resolver) openAccount(ctx context.Context, username string) (*model.AccountResult, error) {
	for range 5 { // a random IBAN is rarely taken; try another when it is
		iban := r.NewIBAN()
		_, err := r.ask(ctx, &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: iban, Username: username})
		if errors.Is(err, contract.IBANExists) {
			continue
		}
		if err != nil {
			return failedAs(err, accountFailed)
		}
		// The token is in the event only (feedback reaches every
		// gateway): ask for it as a log-in does.
		creds, err := r.credentials(ctx, username)
		if err != nil {
			return failedAs(err, accountFailed)
		}
		for _, a := range creds.Accounts {
			if a.IBAN == iban {
				return r.loggedIn(username, iban, a.Token), nil
			}
		}
		return nil, fmt.Errorf("account %s opened but not in the read model", iban)
	}
	return nil, errors.New("no free IBAN found in 5 tries")
}

// tokenFor returns the logged-in user's token for an account; for an
// account that is not theirs (or does not exist), the failure "not your
// account".
func (r *Resolver) tokenFor(ctx context.Context, iban string) (user, token string, err error) {
	if user, err = userOf(ctx); err != nil {
		return "", "", err
	}
	creds, err := r.credentials(ctx, user)
	if err != nil {
		return "", "", err
	}
	for _, a := range creds.Accounts {
		if a.IBAN == iban {
			return user, a.Token, nil
		}
	}
	return "", "", contract.NotYourAccount
}

// command runs an owner's command on one of their accounts.
func (r *Resolver) command(ctx context.Context, iban string, cmd func(user, token string) schemas.Record) (*model.CommandResult, error) {
	user, token, err := r.tokenFor(ctx, iban)
	if err == nil {
		_, err = r.ask(ctx, cmd(user, token))
	}
	if err != nil {
		return failedAs(err, commandFailed)
	}
	return &model.CommandResult{Success: true}, nil
}

// me answers the logged-in user's accounts, with their tokens.
func (r *Resolver) me(ctx context.Context) (*model.User, error) {
	user, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	creds, err := r.credentials(ctx, user)
	if err != nil {
		return nil, err
	}
	var accounts []contract.Account
	if err := r.query(ctx, &schemas.FindBankAccountsForUserQuery{ID: schemas.NewID(), Username: user}, &accounts); err != nil {
		return nil, err
	}
	byIBAN := map[string]contract.Account{}
	for _, a := range accounts {
		byIBAN[a.IBAN] = a
	}
	out := &model.User{Username: user, Accounts: []*model.Account{}}
	for _, c := range creds.Accounts {
		a := byIBAN[c.IBAN]
		out.Accounts = append(out.Accounts, &model.Account{Iban: c.IBAN, Balance: money.Euro(a.Balance),
			BalanceCents: a.Balance, Owners: a.Users, Token: c.Token, OverdraftLimitCents: contract.OverdraftLimit})
	}
	return out, nil
}
