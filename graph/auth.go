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
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/projector/projection"
)

// Reasons of log-in, sign-up and sessions.
const (
	// ReasonLogin answers a failed log-in, whether the username exists or
	// not: the answer (and its timing) must not tell.
	ReasonLogin = "invalid username or password"
	// ReasonInvalidPassword answers a wrong employee credential.
	ReasonInvalidPassword = "invalid password"
	ReasonPassword        = "password must be 1 to 72 bytes"
	ReasonUsernameTaken   = "username is taken"
	ReasonUUID            = "uuid is not a valid UUID"
	ReasonNoEmployees     = "no employee credential is configured (--employee-password)"
	// ReasonTooManyLogins starts the reason of a log-in refused because of
	// earlier failures; it ends with when to try again.
	ReasonTooManyLogins = "too many failed log-ins"
	// ReasonTooManySignUps starts the reason of a sign-up refused because
	// of the sign-ups before it from the same address.
	ReasonTooManySignUps = "too many sign-ups from this address"
)

// ReasonUsername is why a username is refused.
const ReasonUsername = contract.ReasonUsername

var errEmployeesOnly = errors.New("employees only: log in with employee_login and send its session as 'Authorization: Bearer <session>'")

var errNotLoggedIn = errors.New("not logged in: log_in answers a session; send it as the header 'Authorization: Bearer <session>'")

// checkCredentials validates a username and password as sent, and returns
// the username in its one form.
func checkCredentials(username, password string) (string, *string) {
	username = contract.NormalizeUsername(username)
	if reason := contract.CheckUsername(username); reason != "" {
		return "", &reason
	}
	if password == "" || len(password) > contract.MaxPassword { // bcrypt reads 72 bytes
		return "", ptr(ReasonPassword)
	}
	return username, nil
}

func retryIn(reason string, wait time.Duration) *string {
	return ptr(fmt.Sprintf("%s: try again in %ds", reason, int(wait/time.Second)+1))
}

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
// credentials, or the reason the log-in failed (the same for an unknown
// user and a wrong password).
func (r *Resolver) verify(ctx context.Context, username, password string) (projection.Credentials, *string, error) {
	done := func(bool) {}
	if r.Logins != nil {
		var retry time.Duration
		if done, retry = r.Logins.Begin(ctx, username, ClientOf(ctx)); done == nil {
			return projection.Credentials{}, retryIn(ReasonTooManyLogins, retry), nil
		}
	}
	creds, err := r.credentials(ctx, username)
	var f failure
	known := err == nil
	if !known && !(errors.As(err, &f) && f.reason == projector.ReasonUserNotFound) {
		done(true) // not a wrong password: the bank did not answer
		return projection.Credentials{}, nil, err
	}
	hash := []byte(creds.PasswordHash)
	if _, err := bcrypt.Cost(hash); !known || err != nil {
		hash, known = r.dummyHash(), false // the company's owner has no password
	}
	ok := compareHash(hash, []byte(password)) == nil && known
	done(ok)
	if !ok {
		return projection.Credentials{}, ptr(ReasonLogin), nil
	}
	return creds, nil, nil
}

// logIn logs a user in: never creates one.
func (r *Resolver) logIn(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	creds, reason, err := r.verify(ctx, username, password)
	if reason != nil || err != nil {
		return &model.AccountResult{Reason: reason}, err
	}
	return r.firstAccount(ctx, creds)
}

// firstAccount answers a logged-in user's first account, opening one for a
// user who has none (signed up, but the gateway stopped before the account
// was opened; or they left every account).
func (r *Resolver) firstAccount(ctx context.Context, creds projection.Credentials) (*model.AccountResult, error) {
	if len(creds.Accounts) == 0 {
		return r.openAccount(ctx, creds.Username)
	}
	first := creds.Accounts[0]
	return r.loggedIn(creds.Username, first.IBAN, first.Token), nil
}

// signUp creates a user with a first account and logs them in.
func (r *Resolver) signUp(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	if reason := r.takeSignUp(ctx); reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	return r.createUser(ctx, username, password)
}

func (r *Resolver) takeSignUp(ctx context.Context) *string {
	if r.SignUps == nil {
		return nil
	}
	if wait := r.SignUps.Take(ClientOf(ctx)); wait > 0 {
		return retryIn(ReasonTooManySignUps, wait)
	}
	return nil
}

// createUser creates the user (the password hashed here: the bank never
// sees it) and opens their first account.
func (r *Resolver) createUser(ctx context.Context, username, password string) (*model.AccountResult, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), r.HashCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	_, err = r.ask(ctx, &schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: username, Password: string(hash)})
	var f failure
	if errors.As(err, &f) && f.reason == domain.ReasonUserExists {
		return &model.AccountResult{Reason: ptr(ReasonUsernameTaken)}, nil
	}
	if err != nil {
		reason, err := reasonOf(err)
		return &model.AccountResult{Reason: reason}, err
	}
	return r.openAccount(ctx, username)
}

// getAccount is the original's log-in: it logs a user in, or signs up a
// username no one has. It is limited like sign_up, and checks one
// password or hashes one, never both.
func (r *Resolver) getAccount(ctx context.Context, username, password string) (*model.AccountResult, error) {
	username, reason := checkCredentials(username, password)
	if reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	if reason := r.takeSignUp(ctx); reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	err := r.query(ctx, &schemas.FindUserQuery{ID: schemas.NewID(), Username: username}, &projection.User{})
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonUserNotFound {
		res, err := r.createUser(ctx, username, password)
		if res != nil && res.Reason != nil && *res.Reason == ReasonUsernameTaken {
			// Someone signed up the same name a moment ago: their
			// password decides, as for any log-in.
			return r.logIn(ctx, username, password)
		}
		return res, err
	}
	if err != nil {
		reason, err := reasonOf(err)
		return &model.AccountResult{Reason: reason}, err
	}
	return r.logIn(ctx, username, password)
}

func (r *Resolver) loggedIn(username, iban, token string) *model.AccountResult {
	return &model.AccountResult{Iban: &iban, Token: &token, Username: &username, Session: ptr(r.Sessions.Issue(username))}
}

func (r *Resolver) credentials(ctx context.Context, username string) (projection.Credentials, error) {
	var c projection.Credentials
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
		reason, err := reasonOf(err)
		return &model.CommandResult{Reason: reason}, err
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
	if _, reason := checkCredentials(user, newPassword); reason != nil {
		return &model.SessionResult{Reason: reason}, nil
	}
	if _, reason, err := r.verify(ctx, user, oldPassword); reason != nil || err != nil {
		return &model.SessionResult{Reason: reason}, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), r.HashCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	at := time.Now().UnixMilli()
	if _, err := r.ask(ctx, &schemas.ChangePasswordCommand{ID: schemas.NewID(), Username: user, Password: string(hash), RevokedAt: at}); err != nil {
		reason, err := reasonOf(err)
		return &model.SessionResult{Reason: reason}, err
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
	if r.EmployeePassword == "" {
		return &model.EmployeeSession{Reason: ptr(ReasonNoEmployees)}
	}
	done := func(bool) {}
	if r.Logins != nil {
		var retry time.Duration
		if done, retry = r.Logins.Begin(ctx, "", ClientOf(ctx)); done == nil {
			return &model.EmployeeSession{Reason: retryIn(ReasonTooManyLogins, retry)}
		}
	}
	// Compare digests: constant time whatever the lengths.
	want, got := sha256.Sum256([]byte(r.EmployeePassword)), sha256.Sum256([]byte(password))
	ok := subtle.ConstantTimeCompare(want[:], got[:]) == 1
	done(ok)
	if !ok {
		return &model.EmployeeSession{Reason: ptr(ReasonInvalidPassword)}
	}
	return &model.EmployeeSession{Session: ptr(r.Sessions.IssueEmployee())}
}
