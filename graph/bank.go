package graph

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/projector/projection"
)

// Reasons the gateway itself gives.
const (
	ReasonInvalidPassword = "invalid password"
	ReasonUsername        = "username must be 1 to 64 printable characters"
	ReasonPassword        = "password must be 1 to 72 bytes"
	ReasonUUID            = "uuid is not a valid UUID"
	ReasonNoEmployees     = "no employee credential is configured (--employee-password)"
	// ReasonTooManyLogins starts the reason of a log-in refused because of
	// earlier failures; it ends with when to try again.
	ReasonTooManyLogins = "too many failed log-ins"
)

var errEmployeesOnly = errors.New("employees only: log in with employee_login and send its session as 'Authorization: Bearer <session>'")

var errNotLoggedIn = errors.New("not logged in: get_account answers a session; send it as the header 'Authorization: Bearer <session>'")

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

func shortName(rec schemas.Record) string {
	n := rec.AvroName()
	return n[strings.LastIndexByte(n, '.')+1:]
}

// reasonOf splits an error into a reason to answer in the result (a
// failure) and an error to report as a GraphQL error (anything else).
func reasonOf(err error) (*string, error) {
	var f failure
	if errors.As(err, &f) {
		return &f.reason, nil
	}
	return nil, err
}

func validUsername(s string) bool {
	if s == "" || len(s) > 64 || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if !unicode.IsPrint(c) {
			return false
		}
	}
	return true
}

// throttled returns why a log-in of username (empty for an employee) from
// the request's client may not be tried now, or nil if it may.
func (r *Resolver) throttled(ctx context.Context, username string) *string {
	var wait time.Duration
	if r.UserLogins != nil && username != "" {
		wait = r.UserLogins.Wait(username)
	}
	if client, ok := ctx.Value(clientKey{}).(string); ok && r.ClientLogins != nil {
		wait = max(wait, r.ClientLogins.Wait(client))
	}
	if wait <= 0 {
		return nil
	}
	return ptr(fmt.Sprintf("%s: try again in %ds", ReasonTooManyLogins, int(wait/time.Second)+1))
}

// failedLogin counts a wrong password for username (empty for an
// employee) and the request's client.
func (r *Resolver) failedLogin(ctx context.Context, username string) {
	if r.UserLogins != nil && username != "" {
		r.UserLogins.Fail(username)
	}
	if client, ok := ctx.Value(clientKey{}).(string); ok && r.ClientLogins != nil {
		r.ClientLogins.Fail(client)
	}
}

// employeeLogin checks the employee credential. Failures count per client
// only: counting them per the one employee credential would let anyone
// lock every employee out.
func (r *Resolver) employeeLogin(ctx context.Context, password string) *model.EmployeeSession {
	if r.EmployeePassword == "" {
		return &model.EmployeeSession{Reason: ptr(ReasonNoEmployees)}
	}
	if reason := r.throttled(ctx, ""); reason != nil {
		return &model.EmployeeSession{Reason: reason}
	}
	// Compare digests: constant time whatever the lengths.
	want, got := sha256.Sum256([]byte(r.EmployeePassword)), sha256.Sum256([]byte(password))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		r.failedLogin(ctx, "")
		return &model.EmployeeSession{Reason: ptr(ReasonInvalidPassword)}
	}
	return &model.EmployeeSession{Session: ptr(r.Sessions.IssueEmployee())}
}

// getAccount logs a user in, or signs them up with a first account.
func (r *Resolver) getAccount(ctx context.Context, username, password string) (*model.AccountResult, error) {
	switch {
	case !validUsername(username):
		return &model.AccountResult{Reason: ptr(ReasonUsername)}, nil
	case password == "" || len(password) > 72: // bcrypt reads 72 bytes
		return &model.AccountResult{Reason: ptr(ReasonPassword)}, nil
	}
	if reason := r.throttled(ctx, username); reason != nil {
		return &model.AccountResult{Reason: reason}, nil
	}
	creds, err := r.credentials(ctx, username)
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonUserNotFound {
		creds, err = r.signUp(ctx, username, password)
	}
	if err != nil {
		reason, err := reasonOf(err)
		return &model.AccountResult{Reason: reason}, err
	}
	if bcrypt.CompareHashAndPassword([]byte(creds.PasswordHash), []byte(password)) != nil {
		r.failedLogin(ctx, username)
		return &model.AccountResult{Reason: ptr(ReasonInvalidPassword)}, nil
	}
	if len(creds.Accounts) == 0 {
		// Signed up, but the first account was never opened (the gateway
		// stopped in between), or the user left every account.
		return r.openAccount(ctx, username)
	}
	first := creds.Accounts[0]
	return r.loggedIn(username, first.IBAN, first.Token), nil
}

func (r *Resolver) loggedIn(username, iban, token string) *model.AccountResult {
	return &model.AccountResult{Iban: &iban, Token: &token, Username: &username, Session: ptr(r.Sessions.Issue(username))}
}

// signUp creates a user; when someone else created the same one first, it
// answers that user's credentials so the password decides.
func (r *Resolver) signUp(ctx context.Context, username, password string) (projection.Credentials, error) {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), r.HashCost)
	if err != nil {
		return projection.Credentials{}, fmt.Errorf("hash password: %w", err)
	}
	_, err = r.ask(ctx, &schemas.CreateUserAccountCommand{ID: schemas.NewID(), Username: username, Password: string(hash)})
	var f failure
	if errors.As(err, &f) && f.reason == domain.ReasonUserExists {
		return r.credentials(ctx, username)
	}
	if err != nil {
		return projection.Credentials{}, err
	}
	return projection.Credentials{Username: username, PasswordHash: string(hash)}, nil
}

func (r *Resolver) credentials(ctx context.Context, username string) (projection.Credentials, error) {
	var c projection.Credentials
	err := r.query(ctx, &schemas.FindCredentialsQuery{ID: schemas.NewID(), Username: username}, &c)
	return c, err
}

// openAccount opens an account with a fresh IBAN for username.
func (r *Resolver) openAccount(ctx context.Context, username string) (*model.AccountResult, error) {
	for range 5 { // a random IBAN is rarely taken; try another when it is
		iban := r.NewIBAN()
		_, err := r.ask(ctx, &schemas.CreateBankAccountCommand{ID: schemas.NewID(), IBAN: iban, Username: username})
		var f failure
		if errors.As(err, &f) && f.reason == domain.ReasonIBANExists {
			continue
		}
		if err != nil {
			reason, err := reasonOf(err)
			return &model.AccountResult{Reason: reason}, err
		}
		// The token is in the event only: ask for it as for a log-in.
		creds, err := r.credentials(ctx, username)
		if err != nil {
			reason, err := reasonOf(err)
			return &model.AccountResult{Reason: reason}, err
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

// tokenFor returns the logged-in user's token for an account.
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
	return "", "", failure{domain.ReasonNotAuthorized}
}

// command runs an owner's command on one of their accounts.
func (r *Resolver) command(ctx context.Context, iban string, cmd func(user, token string) schemas.Record) (*model.CommandResult, error) {
	user, token, err := r.tokenFor(ctx, iban)
	if err == nil {
		_, err = r.ask(ctx, cmd(user, token))
	}
	if err != nil {
		reason, err := reasonOf(err)
		return &model.CommandResult{Reason: reason}, err
	}
	return &model.CommandResult{Success: true}, nil
}

// moneyTransfer starts a transfer and waits for its saga to end. Without an
// answer in time the result says PENDING: the same call again (same uuid)
// answers the real outcome once there is one, and never moves money twice.
func (r *Resolver) moneyTransfer(ctx context.Context, uuid, username, token string, amount int, from, to, descr string) (*model.MoneyTransferResult, error) {
	res := &model.MoneyTransferResult{UUID: &uuid}
	id, err := schemas.ParseID(uuid)
	if err != nil {
		res.Success, res.Reason, res.Status = ptr(false), ptr(ReasonUUID), ptr(model.TransferStatusFailed)
		return res, nil
	}
	_, err = r.ask(ctx, &schemas.MoneyTransferCommand{ID: id, Token: token, Amount: int64(amount), From: from, To: to,
		Description: descr, Username: username})
	switch {
	case err == nil:
		res.Success, res.Status = ptr(true), ptr(model.TransferStatusCompleted)
	case errors.Is(err, bus.ErrTimeout):
		res.Status = ptr(model.TransferStatusPending)
		res.Reason = ptr(fmt.Sprintf("no outcome within %s; the transfer may still happen: send the same money_transfer again (same uuid) for its outcome, or ask transfer(uuid)", r.Timeout))
	case errors.Is(err, bus.ErrUnavailable):
		res.Status = ptr(model.TransferStatusPending)
		res.Reason = ptr(fmt.Sprintf("%s; the transfer was probably not sent: send the same money_transfer again (same uuid) when it is back", err))
	default:
		reason, err := reasonOf(err)
		if err != nil {
			return nil, err
		}
		res.Success, res.Reason, res.Status = ptr(false), reason, ptr(model.TransferStatusFailed)
	}
	return res, nil
}

// transfer looks a transfer up; nil when the read model has not seen it.
func (r *Resolver) transfer(ctx context.Context, uuid string) (*model.Transfer, error) {
	id, err := schemas.ParseID(uuid)
	if err != nil {
		return nil, errors.New(ReasonUUID)
	}
	var t projection.Transfer
	err = r.query(ctx, &schemas.TransferByIdQuery{ID: schemas.NewID(), TransferID: id}, &t)
	var f failure
	if errors.As(err, &f) && f.reason == projector.ReasonTransferNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &model.Transfer{UUID: t.ID, From: t.From, To: t.To, Amount: money.Euro(t.Amount), AmountCents: t.Amount,
		Descr: t.Description, Status: model.TransferStatus(strings.ToUpper(t.Status))}
	if t.Reason != "" {
		out.Reason = &t.Reason
	}
	return out, nil
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
	var accounts []projection.Account
	if err := r.query(ctx, &schemas.FindBankAccountsForUserQuery{ID: schemas.NewID(), Username: user}, &accounts); err != nil {
		return nil, err
	}
	byIBAN := map[string]projection.Account{}
	for _, a := range accounts {
		byIBAN[a.IBAN] = a
	}
	out := &model.User{Username: user, Accounts: []*model.Account{}}
	for _, c := range creds.Accounts {
		a := byIBAN[c.IBAN]
		out.Accounts = append(out.Accounts, &model.Account{Iban: c.IBAN, Balance: money.Euro(a.Balance),
			BalanceCents: a.Balance, Owners: a.Users, Token: c.Token})
	}
	return out, nil
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

// Filter is what stream_transactions selects on.
type Filter struct {
	IBAN          *string
	MinAmount     *int // cents, compared with the size of the change
	MaxAmount     *int
	Direction     *model.Dtype
	DescrIncludes *string // case-insensitive
}

// Matcher returns the filter as a function, prepared once per subscriber.
func (f Filter) Matcher() func(*model.Transaction) bool {
	var needle string
	if f.DescrIncludes != nil {
		needle = strings.ToLower(*f.DescrIncludes)
	}
	return func(t *model.Transaction) bool {
		size := *t.ChangedByCents
		if size < 0 {
			size = -size
		}
		switch {
		case f.IBAN != nil && *f.IBAN != *t.Iban,
			f.MinAmount != nil && size < int64(*f.MinAmount),
			f.MaxAmount != nil && size > int64(*f.MaxAmount),
			f.Direction != nil && *f.Direction != *t.Direction,
			needle != "" && !strings.Contains(strings.ToLower(*t.Descr), needle):
			return false
		}
		return true
	}
}

func ptr[T any](v T) *T { return &v }
