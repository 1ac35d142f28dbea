package graph

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
)

// checkCredentials validates a username and password as sent, and returns
// the username in its one form.
func checkCredentials(username, password string) (string, contract.Reason) {
	username = contract.NormalizeUsername(username)
	if reason := contract.CheckUsername(username); reason.Failed() {
		return "", reason
	}
	if password == "" || len(password) > contract.MaxPassword { // bcrypt reads 72 bytes
		return "", contract.PasswordInvalid
	}
	return username, contract.Reason{}
}

// seconds rounds a wait up to whole seconds, as reasons say it.
func seconds(wait time.Duration) int { return int(wait/time.Second) + 1 }

// compareHash checks a password against its hash; a test counts the calls.
var compareHash = bcrypt.CompareHashAndPassword

// dummyHash is a bcrypt hash no password matches, at the cost of real
// ones: checking a password of a username that does not exist takes as
// long as one that does.
func (r *Resolver) dummyHash() []byte {
	r.dummyOnce.Do(func() {
		r.dummy, _ = bcrypt.GenerateFromPassword([]byte(schemas.NewID().String()), max(r.HashCost, bcrypt.MinCost))
	})
	return r.dummy
}

// verify checks username's password, within the log-in limits, with one
// bcrypt comparison whether or not the user exists. It answers the user's
// credentials, or (as the error) the reason the log-in failed: the same
// for an unknown user and a wrong password.
func (r *Resolver) verify(ctx context.Context, username, password string) (contract.Credentials, error) {
	done := func(bool) {}
	if r.Logins != nil {
		var retry time.Duration
		if done, retry = r.Logins.Begin(ctx, username, ClientOf(ctx)); done == nil {
			return contract.Credentials{}, contract.TooManyLogins(seconds(retry))
		}
	}
	creds, err := r.credentials(ctx, username)
	known := err == nil
	if !known && !errors.Is(err, contract.UserNotFound) {
		done(true) // not a wrong password: the bank did not answer
		return contract.Credentials{}, err
	}
	hash := []byte(creds.PasswordHash)
	if _, err := bcrypt.Cost(hash); !known || err != nil {
		hash, known = r.dummyHash(), false // the company's owner has no password
	}
	ok := compareHash(hash, []byte(password)) == nil && known
	done(ok)
	if !ok {
		return contract.Credentials{}, contract.LoginInvalid
	}
	return creds, nil
}

// logIn logs a user in: never creates one.
func (r *Resolver) logIn(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason.Failed() {
		return accountFailed(reason), nil
	}
	creds, err := r.verify(ctx, username, password)
	if err != nil {
		return failedAs(err, accountFailed)
	}
	return r.firstAccount(ctx, creds)
}

// firstAccount answers a logged-in user's first account, opening one for a
// user who has none (signed up, but the gateway stopped before the account
// was opened; or they left every account).
func (r *Resolver) firstAccount(ctx context.Context, creds contract.Credentials) (*model.AccountResult, error) {
	if len(creds.Accounts) == 0 {
		return r.openAccount(ctx, creds.Username)
	}
	first := creds.Accounts[0]
	return r.loggedIn(creds.Username, first.IBAN, first.Token), nil
}

// signUp creates a user with a first account and logs them in.
func (r *Resolver) signUp(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason.Failed() {
		return accountFailed(reason), nil
	}
	if reason := r.takeSignUp(ctx); reason.Failed() {
		return accountFailed(reason), nil
	}
	return r.createUser(ctx, username, password)
}

func (r *Resolver) takeSignUp(ctx context.Context) contract.Reason {
	if r.SignUps == nil {
		return contract.Reason{}
	}
	if wait := r.SignUps.Take(ClientOf(ctx)); wait > 0 {
		return contract.TooManySignUps(seconds(wait))
	}
	return contract.Reason{}
}

// createUser creates the user (the password hashed here: the bank never
// sees it) and opens their first account.
func (r *Resolver) createUser(ctx context.Context, username, password string) (*model.AccountResult, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), r.HashCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	_, err = r.ask(ctx, &schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: username, Password: string(hash)})
	if errors.Is(err, contract.UserExists) {
		return accountFailed(contract.UsernameTaken), nil
	}
	if err != nil {
		return failedAs(err, accountFailed)
	}
	return r.openAccount(ctx, username)
}

// getAccount is the original's log-in: it logs a user in, or signs up a
// username no one has. It is limited like sign_up, and checks one
// password or hashes one, never both.
func (r *Resolver) getAccount(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason.Failed() {
		return accountFailed(reason), nil
	}
	if reason := r.takeSignUp(ctx); reason.Failed() {
		return accountFailed(reason), nil
	}
	err := r.query(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: username}, &contract.User{})
	if errors.Is(err, contract.UserNotFound) {
		res, err := r.createUser(ctx, username, password)
		if res != nil && res.ReasonCode != nil && *res.ReasonCode == model.ReasonCode(contract.UsernameTaken.Code) {
			// Someone signed up the same name a moment ago: their
			// password decides, as for any log-in.
			return r.logIn(ctx, username, password)
		}
		return res, err
	}
	if err != nil {
		return failedAs(err, accountFailed)
	}
	return r.logIn(ctx, username, password)
}

func (r *Resolver) loggedIn(username, iban, token string) *model.AccountResult {
	return &model.AccountResult{Iban: &iban, Token: &token, Username: &username, Session: ptr(r.Sessions.Issue(username))}
}

func (r *Resolver) credentials(ctx context.Context, username string) (contract.Credentials, error) {
	var c contract.Credentials
	err := r.query(ctx, &schemas.FindCredentialsQuery{ID: schemas.NewID(), Username: username}, &c)
	return c, err
}

// logOut ends every session of the logged-in user.
func (r *Resolver) logOut(ctx context.Context) (*model.CommandResult, error) {
	user, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	at := time.Now().UnixMilli()
	if _, err := r.ask(ctx, &schemas.RevokeSessionsCommand{ID: schemas.NewID(), Username: user, RevokedAt: at}); err != nil {
		return failedAs(err, commandFailed)
	}
	if r.Revoke != nil {
		r.Revoke(user, at)
	}
	return &model.CommandResult{Success: true}, nil
}

// changePassword checks the old password (within the log-in limits),
// sets the new one and ends every other session of the user; it answers a
// session issued after that.
func (r *Resolver) changePassword(ctx context.Context, oldPassword, newPassword string) (*model.SessionResult, error) {
	user, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	if _, reason := checkCredentials(user, newPassword); reason.Failed() {
		return sessionFailed(reason), nil
	}
	if _, err := r.verify(ctx, user, oldPassword); err != nil {
		return failedAs(err, sessionFailed)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), r.HashCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	at := time.Now().UnixMilli()
	if _, err := r.ask(ctx, &schemas.ChangePasswordCommand{ID: schemas.NewID(), Username: user, Password: string(hash), RevokedAt: at}); err != nil {
		return failedAs(err, sessionFailed)
	}
	if r.Revoke != nil {
		r.Revoke(user, at)
	}
	return &model.SessionResult{Session: ptr(r.Sessions.IssueAfter(user, at))}, nil
}

// employeeLogin checks the employee credential. Attempts count per client
// only: counting them per the one employee credential would let anyone
// lock every employee out.
func (r *Resolver) employeeLogin(ctx context.Context, password string) *model.EmployeeSession {
	failed := func(r contract.Reason) *model.EmployeeSession {
		return &model.EmployeeSession{Reason: &r.Text, ReasonCode: code(r)}
	}
	if r.EmployeePassword == "" {
		return failed(contract.NoEmployees)
	}
	done := func(bool) {}
	if r.Logins != nil {
		var retry time.Duration
		if done, retry = r.Logins.Begin(ctx, "", ClientOf(ctx)); done == nil {
			return failed(contract.TooManyLogins(seconds(retry)))
		}
	}
	// Compare digests: constant time whatever the lengths.
	want, got := sha256.Sum256([]byte(r.EmployeePassword)), sha256.Sum256([]byte(password))
	ok := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	done(ok)
	if !ok {
		return failed(contract.EmployeePasswordInvalid)
	}
	return &model.EmployeeSession{Session: ptr(r.Sessions.IssueEmployee())}
}
