package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/client"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"golang.org/x/crypto/bcrypt"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/generated"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway/ratelimit"
)

// fakeBus answers what the resolvers send with a script, and keeps what
// they sent.
type fakeBus struct {
	mu     sync.Mutex
	sent   []schemas.Record
	answer func(rec schemas.Record) (schemas.Record, error)
}

func (b *fakeBus) Send(ctx context.Context, rec schemas.Record) (schemas.Record, error) {
	b.mu.Lock()
	b.sent = append(b.sent, rec)
	b.mu.Unlock()
	return b.answer(rec)
}

// sentNames lists the records sent, by short name.
func (b *fakeBus) sentNames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var names []string
	for _, r := range b.sent {
		names = append(names, shortName(r))
	}
	return names
}

func succeeded(info string) (schemas.Record, error) {
	return &schemas.CommandSucceeded{AdditionalInfo: &info}, nil
}

func failed(reason string) (schemas.Record, error) {
	return &schemas.CommandFailed{Reason: reason}, nil
}

func answered(v any) (schemas.Record, error) {
	js, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &schemas.QuerySucceeded{QueryResult: string(js)}, nil
}

func refused(reason string) (schemas.Record, error) {
	return &schemas.QueryFailed{Reason: reason}, nil
}

type fakeSessions struct{}

func (fakeSessions) Issue(username string) string { return "session-of-" + username }
func (fakeSessions) IssueAfter(username string, at int64) string {
	return fmt.Sprintf("session-of-%s-after-%d", username, at)
}
func (fakeSessions) IssueEmployee() string { return "employee-session" }

// fakeLive keeps the filter of the last subscription.
type fakeLive struct {
	filter *Filter
	ch     chan *model.Transaction
}

func (l *fakeLive) Subscribe(ctx context.Context, f Filter, slow func()) <-chan *model.Transaction {
	l.filter = &f
	return l.ch
}

func hash(t *testing.T, password string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type asWho int

const (
	anonymous asWho = iota
	alice
	employee
	asBob
)

// run executes one operation against the real executable schema with the
// fake bus; it returns the data and the GraphQL errors' messages.
func run(t *testing.T, b *fakeBus, who asWho, query string, vars map[string]any, data any) []string {
	t.Helper()
	var msgs []string
	for _, e := range runCoded(t, b, who, query, vars, data) {
		msgs = append(msgs, e.Message)
	}
	return msgs
}

// gqlError is a GraphQL error as clients read it.
type gqlError struct {
	Message    string
	Extensions struct{ Code string }
}

// runCoded is run answering the errors whole, codes included.
func runCoded(t *testing.T, b *fakeBus, who asWho, query string, vars map[string]any, data any) []gqlError {
	t.Helper()
	ibans := 0
	r := &Resolver{Bus: b, Live: &fakeLive{}, Sessions: fakeSessions{}, Timeout: time.Second, HashCost: bcrypt.MinCost,
		NewIBAN: func() string { ibans++; return fmt.Sprintf("NL%02dOPEN000000000%d", ibans, ibans) }, EmployeePassword: "staff secret"}
	srv := handler.New(generated.NewExecutableSchema(generated.Config{Resolvers: r}))
	srv.SetErrorPresenter(PresentError)
	srv.AddTransport(transport.POST{})
	c := client.New(srv)
	opts := []client.Option{func(req *client.Request) {
		ctx := req.HTTP.Context()
		switch who {
		case alice:
			ctx = WithUser(ctx, "alice")
		case employee:
			ctx = WithEmployee(ctx)
		case asBob:
			ctx = WithUser(ctx, "bob")
		}
		req.HTTP = req.HTTP.WithContext(ctx)
	}}
	for k, v := range vars {
		opts = append(opts, client.Var(k, v))
	}
	resp, err := c.RawPost(query, opts...)
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	var errs []gqlError
	if len(resp.Errors) > 0 {
		if err := json.Unmarshal(resp.Errors, &errs); err != nil {
			t.Fatalf("errors %s: %v", resp.Errors, err)
		}
	}
	if data != nil && resp.Data != nil {
		js, err := json.Marshal(resp.Data)
		if err == nil {
			err = json.Unmarshal(js, data)
		}
		if err != nil {
			t.Fatalf("data: %v", err)
		}
	}
	return errs
}

type accountResult struct {
	GetAccount *struct {
		IBAN, Token, Reason, Username, Session *string
	} `json:"get_account"`
}

const getAccount = `mutation($u: String!, $p: String!) { get_account(username: $u, password: $p) { iban token reason username session } }`

func str(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// userFound answers FindUserQuery for the names given, and "user not
// found" for others.
func userFound(names ...string) func(*schemas.FindUserQuery) (schemas.Record, error) {
	return func(q *schemas.FindUserQuery) (schemas.Record, error) {
		for _, n := range names {
			if q.Username == n {
				return answered(contract.User{Username: n})
			}
		}
		return refused(contract.UserNotFound.Text)
	}
}

func TestGetAccount(t *testing.T) {
	aliceHash := hash(t, "right")
	aliceCreds := contract.Credentials{Username: "alice", PasswordHash: aliceHash,
		Accounts: []contract.AccountToken{{IBAN: "NL11OPEN0000000001", Token: "tok1"}, {IBAN: "NL22OPEN0000000002", Token: "tok2"}}}
	bobCreds := func(accounts ...contract.AccountToken) contract.Credentials {
		return contract.Credentials{Username: "bob", PasswordHash: "whatever", Accounts: accounts}
	}
	cases := []struct {
		name, username, password string
		answer                   func(rec schemas.Record) (schemas.Record, error)
		wantUser                 string
		wantIBAN, wantToken      string
		wantReason               string
		wantSent                 []string
	}{{
		name: "log in answers the first account and a session", username: "alice", password: "right",
		answer: func(rec schemas.Record) (schemas.Record, error) {
			if q, ok := rec.(*schemas.FindUserQuery); ok {
				return userFound("alice")(q)
			}
			return answered(aliceCreds)
		},
		wantUser: "alice", wantIBAN: "NL11OPEN0000000001", wantToken: "tok1", wantSent: []string{"FindUserQuery", "FindCredentialsQuery"},
	}, {
		name: "the username in another case and with spaces is the same user", username: " ALICE ", password: "right",
		answer: func(rec schemas.Record) (schemas.Record, error) {
			if q, ok := rec.(*schemas.FindUserQuery); ok {
				return userFound("alice")(q)
			}
			return answered(aliceCreds)
		},
		wantUser: "alice", wantIBAN: "NL11OPEN0000000001", wantToken: "tok1", wantSent: []string{"FindUserQuery", "FindCredentialsQuery"},
	}, {
		name: "wrong password", username: "alice", password: "wrong",
		answer: func(rec schemas.Record) (schemas.Record, error) {
			if q, ok := rec.(*schemas.FindUserQuery); ok {
				return userFound("alice")(q)
			}
			return answered(aliceCreds)
		},
		wantReason: contract.LoginInvalid.Text, wantSent: []string{"FindUserQuery", "FindCredentialsQuery"},
	}, {
		name: "sign up creates the user and a first account", username: "bob", password: "pw",
		answer: func() func(schemas.Record) (schemas.Record, error) {
			opened := false
			return func(rec schemas.Record) (schemas.Record, error) {
				switch rec := rec.(type) {
				case *schemas.FindUserQuery:
					return userFound()(rec)
				case *schemas.CreateUserAccountCommand:
					if rec.Username != "bob" || bcrypt.CompareHashAndPassword([]byte(rec.Password), []byte("pw")) != nil {
						return failed("the command does not carry bob and a bcrypt hash of his password")
					}
					return succeeded("")
				case *schemas.CreateBankAccountCommand:
					opened = true
					return succeeded("")
				case *schemas.FindCredentialsQuery:
					if !opened {
						return refused(contract.UserNotFound.Text)
					}
					return answered(bobCreds(contract.AccountToken{IBAN: "NL01OPEN0000000001", Token: "new-token"}))
				}
				return failed("unexpected " + shortName(rec))
			}
		}(),
		wantUser: "bob", wantIBAN: "NL01OPEN0000000001", wantToken: "new-token",
		wantSent: []string{"FindUserQuery", "CreateUserAccountCommand", "CreateBankAccountCommand", "FindCredentialsQuery"},
	}, {
		name: "someone signed up the same user first: their password decides", username: "alice", password: "pw",
		answer: func(rec schemas.Record) (schemas.Record, error) {
			switch rec := rec.(type) {
			case *schemas.FindUserQuery:
				return userFound()(rec)
			case *schemas.CreateUserAccountCommand:
				return failed(contract.UserExists.Text)
			case *schemas.FindCredentialsQuery:
				return answered(aliceCreds)
			}
			return failed("unexpected " + shortName(rec))
		},
		wantReason: contract.LoginInvalid.Text,
		wantSent:   []string{"FindUserQuery", "CreateUserAccountCommand", "FindCredentialsQuery"},
	}, {
		name: "a taken IBAN is replaced by another", username: "bob", password: "pw",
		answer: func(rec schemas.Record) (schemas.Record, error) {
			switch rec := rec.(type) {
			case *schemas.FindUserQuery:
				return userFound()(rec)
			case *schemas.CreateUserAccountCommand:
				return succeeded("")
			case *schemas.CreateBankAccountCommand:
				if rec.IBAN == "NL01OPEN0000000001" {
					return failed(contract.IBANExists.Text)
				}
				return succeeded("")
			case *schemas.FindCredentialsQuery:
				return answered(bobCreds(contract.AccountToken{IBAN: "NL02OPEN0000000002", Token: "tok-2"}))
			}
			return failed("unexpected " + shortName(rec))
		},
		wantUser: "bob", wantIBAN: "NL02OPEN0000000002", wantToken: "tok-2",
		wantSent: []string{"FindUserQuery", "CreateUserAccountCommand", "CreateBankAccountCommand", "CreateBankAccountCommand", "FindCredentialsQuery"},
	}, {
		name: "a user with no account left gets a new one", username: "alice", password: "right",
		answer: func() func(schemas.Record) (schemas.Record, error) {
			opened := false
			return func(rec schemas.Record) (schemas.Record, error) {
				switch rec := rec.(type) {
				case *schemas.FindUserQuery:
					return userFound("alice")(rec)
				case *schemas.FindCredentialsQuery:
					c := contract.Credentials{Username: "alice", PasswordHash: aliceHash}
					if opened {
						c.Accounts = []contract.AccountToken{{IBAN: "NL01OPEN0000000001", Token: "tok-new"}}
					}
					return answered(c)
				case *schemas.CreateBankAccountCommand:
					opened = true
					return succeeded("")
				}
				return failed("unexpected " + shortName(rec))
			}
		}(),
		wantUser: "alice", wantIBAN: "NL01OPEN0000000001", wantToken: "tok-new",
		wantSent: []string{"FindUserQuery", "FindCredentialsQuery", "CreateBankAccountCommand", "FindCredentialsQuery"},
	}, {
		name: "empty username", username: "", password: "pw", wantReason: contract.UsernameInvalid.Text,
	}, {
		name: "only spaces", username: "   ", password: "pw", wantReason: contract.UsernameInvalid.Text,
	}, {
		name: "username with a control character", username: "al\nice", password: "pw", wantReason: contract.UsernameInvalid.Text,
	}, {
		name: "username too long", username: strings.Repeat("a", 65), password: "pw", wantReason: contract.UsernameInvalid.Text,
	}, {
		name: "username of 10 MB", username: strings.Repeat("a", 10<<20), password: "pw", wantReason: contract.UsernameInvalid.Text,
	}, {
		name: "empty password", username: "alice", password: "", wantReason: contract.PasswordInvalid.Text,
	}, {
		name: "password longer than bcrypt reads", username: "alice", password: strings.Repeat("p", 73), wantReason: contract.PasswordInvalid.Text,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBus{answer: tc.answer}
			if b.answer == nil {
				b.answer = func(rec schemas.Record) (schemas.Record, error) {
					return nil, fmt.Errorf("%s sent for invalid input", shortName(rec))
				}
			}
			var got accountResult
			if errs := run(t, b, anonymous, getAccount, map[string]any{"u": tc.username, "p": tc.password}, &got); errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			r := got.GetAccount
			if tc.wantReason != "" {
				if str(r.Reason) != tc.wantReason || r.IBAN != nil || r.Token != nil || r.Session != nil {
					t.Fatalf("got reason %q iban %s session %s, want only reason %q", str(r.Reason), str(r.IBAN), str(r.Session), tc.wantReason)
				}
			} else {
				if r.Reason != nil || str(r.IBAN) != tc.wantIBAN || str(r.Token) != tc.wantToken ||
					str(r.Username) != tc.wantUser || str(r.Session) != "session-of-"+tc.wantUser {
					t.Fatalf("got reason %s iban %s token %s username %s session %s; want iban %s token %s",
						str(r.Reason), str(r.IBAN), str(r.Token), str(r.Username), str(r.Session), tc.wantIBAN, tc.wantToken)
				}
			}
			if got := strings.Join(b.sentNames(), ","); got != strings.Join(tc.wantSent, ",") {
				t.Fatalf("sent %s, want %s", got, strings.Join(tc.wantSent, ","))
			}
		})
	}
}

func TestGetAccountBusError(t *testing.T) {
	b := &fakeBus{answer: func(schemas.Record) (schemas.Record, error) {
		return nil, fmt.Errorf("send: %w", bus.ErrTimeout)
	}}
	var got accountResult
	errs := run(t, b, anonymous, getAccount, map[string]any{"u": "alice", "p": "pw"}, &got)
	if len(errs) != 1 || !strings.Contains(errs[0], "no answer to FindUserQuery within 1s") {
		t.Fatalf("errors %v, want one saying no answer came in time", errs)
	}
}

const moneyTransfer = `mutation($uuid: String!, $amount: Int!) {
	money_transfer(uuid: $uuid, username: "alice", token: "tok", amount: $amount, from: "NL11OPEN0000000001", to: "NL22OPEN0000000002", descr: "rent") {
		uuid success reason status } }`

func TestMoneyTransfer(t *testing.T) {
	const id = "5f0ad4a4-8c49-4d3c-9d3b-2d8f1b5b4e11"
	cases := []struct {
		name        string
		uuid        string
		answer      func(rec schemas.Record) (schemas.Record, error)
		wantSuccess *bool
		wantStatus  model.TransferStatus
		wantReason  string
		wantSent    int
	}{
		{"completed", id, func(schemas.Record) (schemas.Record, error) { return succeeded("") },
			ptr(true), model.TransferStatusCompleted, "", 1},
		{"failed with the saga's reason", id, func(schemas.Record) (schemas.Record, error) { return failed("insufficient funds") },
			ptr(false), model.TransferStatusFailed, "insufficient funds", 1},
		{"no outcome in time is pending, not failed", id, func(schemas.Record) (schemas.Record, error) { return nil, bus.ErrTimeout },
			nil, model.TransferStatusPending, "send the same money_transfer again (same uuid)", 1},
		{"Kafka out of reach is pending too: the command may have been written", id,
			func(schemas.Record) (schemas.Record, error) {
				return nil, fmt.Errorf("%w: send MoneyTransferCommand: connection refused", bus.ErrUnavailable)
			},
			nil, model.TransferStatusPending, "kafka unavailable: send MoneyTransferCommand: connection refused; the transfer was probably not sent: send the same money_transfer again (same uuid)", 1},
		{"an invalid uuid is refused before anything is sent", "not-a-uuid", nil,
			ptr(false), model.TransferStatusFailed, contract.UUIDInvalid.Text, 0},
	}
	for _, amount := range []int{0, -1, math.MinInt32, contract.DefaultMaxTransfer + 1, math.MaxInt32} {
		t.Run(fmt.Sprint("amount ", amount, " is refused before anything is sent"), func(t *testing.T) {
			b := &fakeBus{}
			var got struct {
				MoneyTransfer struct{ Reason *string } `json:"money_transfer"`
			}
			if errs := run(t, b, anonymous, moneyTransfer, map[string]any{"uuid": id, "amount": amount}, &got); errs != nil {
				t.Fatal(errs)
			}
			if r := got.MoneyTransfer.Reason; r == nil || !strings.Contains(*r, "amount") || len(b.sent) != 0 {
				t.Fatalf("reason %s, sent %v", str(r), b.sentNames())
			}
		})
	}
	for _, amount := range []any{int64(math.MaxInt32) + 1, int64(math.MaxInt64), "100"} {
		t.Run(fmt.Sprint("amount ", amount, " is not a GraphQL Int"), func(t *testing.T) {
			b := &fakeBus{}
			errs := run(t, b, anonymous, moneyTransfer, map[string]any{"uuid": id, "amount": amount}, nil)
			if len(errs) == 0 || len(b.sent) != 0 {
				t.Fatalf("errors %v, sent %v", errs, b.sentNames())
			}
		})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBus{answer: tc.answer}
			var got struct {
				MoneyTransfer struct {
					UUID, Reason *string
					Success      *bool
					Status       *model.TransferStatus
				} `json:"money_transfer"`
			}
			if errs := run(t, b, anonymous, moneyTransfer, map[string]any{"uuid": tc.uuid, "amount": 1250}, &got); errs != nil {
				t.Fatalf("errors: %v", errs)
			}
			r := got.MoneyTransfer
			if (r.Success == nil) != (tc.wantSuccess == nil) || (r.Success != nil && *r.Success != *tc.wantSuccess) {
				t.Errorf("success %v, want %v", r.Success, tc.wantSuccess)
			}
			if r.Status == nil || *r.Status != tc.wantStatus {
				t.Errorf("status %v, want %s", r.Status, tc.wantStatus)
			}
			if !strings.Contains(str(r.Reason), tc.wantReason) || (tc.wantReason == "") != (r.Reason == nil) {
				t.Errorf("reason %s, want %q", str(r.Reason), tc.wantReason)
			}
			if str(r.UUID) != tc.uuid {
				t.Errorf("uuid %s, want %s", str(r.UUID), tc.uuid)
			}
			if len(b.sent) != tc.wantSent {
				t.Fatalf("sent %v", b.sentNames())
			}
			if tc.wantSent == 1 {
				cmd := b.sent[0].(*schemas.MoneyTransferCommand)
				if cmd.ID.String() != id || cmd.Amount != 1250 || cmd.Token != "tok" || cmd.Username != "alice" ||
					cmd.From != "NL11OPEN0000000001" || cmd.To != "NL22OPEN0000000002" || cmd.Description != "rent" {
					t.Fatalf("command %+v does not carry the mutation's arguments", cmd)
				}
			}
		})
	}
}

// A deposit made with an employee session is a teller's: the command says
// so, and the handler then checks no owner's token.
func TestATellerDepositsWithAnEmployeeSession(t *testing.T) {
	const q = `mutation { money_transfer(uuid: "5f0ad4a4-8c49-4d3c-9d3b-2d8f1b5b4e11", username: "", token: "", amount: 500, from: "cash", to: "NL11OPEN0000000001", descr: "counter") { success } }`
	for who, teller := range map[asWho]bool{employee: true, alice: false, anonymous: false} {
		b := &fakeBus{answer: func(schemas.Record) (schemas.Record, error) { return succeeded("") }}
		if errs := run(t, b, who, q, nil, nil); errs != nil {
			t.Fatal(errs)
		}
		if cmd := b.sent[0].(*schemas.MoneyTransferCommand); cmd.Teller != teller {
			t.Errorf("as %d: teller %v", who, cmd.Teller)
		}
	}
}

func TestTransferByUUID(t *testing.T) {
	const id = "5f0ad4a4-8c49-4d3c-9d3b-2d8f1b5b4e11"
	const q = `query($uuid: String!) { transfer(uuid: $uuid) { uuid from to amount amount_cents descr status reason } }`
	type result struct {
		Transfer *struct {
			UUID, From, To, Amount, Descr, Status string
			AmountCents                           int64 `json:"amount_cents"`
			Reason                                *string
		}
	}
	t.Run("a failed transfer with its reason", func(t *testing.T) {
		b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
			if q, ok := rec.(*schemas.FindUserQuery); ok {
				return answered(contract.User{Username: q.Username, Accounts: []string{"NL11"}})
			}
			if q := rec.(*schemas.TransferByIdQuery); q.TransferID.String() != id {
				return refused("asked for " + q.TransferID.String())
			}
			return answered(contract.Transfer{ID: id, From: "cash", To: "NL11", Amount: 123456, Description: "d",
				Status: "failed", Reason: "to is invalid"})
		}}
		var got result
		if errs := run(t, b, alice, q, map[string]any{"uuid": id}, &got); errs != nil {
			t.Fatal(errs)
		}
		tr := got.Transfer
		if tr == nil || tr.Status != "FAILED" || str(tr.Reason) != "to is invalid" || tr.Amount != "€1.234,56" || tr.AmountCents != 123456 {
			t.Fatalf("got %+v", tr)
		}
	})
	t.Run("unknown is null", func(t *testing.T) {
		b := &fakeBus{answer: func(schemas.Record) (schemas.Record, error) { return refused(contract.TransferNotFound.Text) }}
		got := result{Transfer: &struct {
			UUID, From, To, Amount, Descr, Status string
			AmountCents                           int64 `json:"amount_cents"`
			Reason                                *string
		}{}}
		if errs := run(t, b, alice, q, map[string]any{"uuid": id}, &got); errs != nil || got.Transfer != nil {
			t.Fatalf("errors %v, transfer %+v, want null", errs, got.Transfer)
		}
	})
	t.Run("invalid uuid", func(t *testing.T) {
		b := &fakeBus{}
		errs := run(t, b, anonymous, q, map[string]any{"uuid": "x"}, nil)
		if len(errs) != 1 || errs[0] != contract.UUIDInvalid.Text || len(b.sent) != 0 {
			t.Fatalf("errors %v, sent %v", errs, b.sentNames())
		}
	})
}

func TestLoggedInOnly(t *testing.T) {
	ops := map[string]string{
		"me":              `{ me { username } }`,
		"open_account":    `mutation { open_account { iban } }`,
		"add_owner":       `mutation { add_owner(iban: "NL11", username: "bob") { success } }`,
		"leave_account":   `mutation { leave_account(iban: "NL11") { success } }`,
		"log_out":         `mutation { log_out { success } }`,
		"change_password": `mutation { change_password(old_password: "a", new_password: "b") { session } }`,
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			b := &fakeBus{}
			errs := run(t, b, anonymous, op, nil, nil)
			if len(errs) != 1 || !strings.HasPrefix(errs[0], "not logged in") || len(b.sent) != 0 {
				t.Fatalf("errors %v, sent %v; want 'not logged in' and nothing sent", errs, b.sentNames())
			}
		})
	}
}

func TestMe(t *testing.T) {
	b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
		switch rec := rec.(type) {
		case *schemas.FindCredentialsQuery:
			if rec.Username != "alice" {
				return refused(contract.UserNotFound.Text)
			}
			return answered(contract.Credentials{Username: "alice", PasswordHash: "secret hash",
				Accounts: []contract.AccountToken{{IBAN: "NL22", Token: "t2"}, {IBAN: "NL11", Token: "t1"}}})
		case *schemas.FindBankAccountsForUserQuery:
			return answered([]contract.Account{{IBAN: "NL11", Balance: -5, Users: []string{"alice"}},
				{IBAN: "NL22", Balance: 1000000, Users: []string{"alice", "bob"}}})
		}
		return failed("unexpected")
	}}
	var got struct {
		Me struct {
			Username string
			Accounts []struct {
				IBAN, Balance, Token string
				BalanceCents         int64 `json:"balance_cents"`
				Owners               []string
			}
		}
	}
	if errs := run(t, b, alice, `{ me { username accounts { iban balance balance_cents owners token } } }`, nil, &got); errs != nil {
		t.Fatal(errs)
	}
	js, _ := json.Marshal(got.Me)
	want := `{"Username":"alice","Accounts":[` +
		`{"IBAN":"NL22","Balance":"€10.000,00","Token":"t2","balance_cents":1000000,"Owners":["alice","bob"]},` +
		`{"IBAN":"NL11","Balance":"-€0,05","Token":"t1","balance_cents":-5,"Owners":["alice"]}]}`
	if string(js) != want {
		t.Fatalf("me\n got %s\nwant %s", js, want)
	}
}

func TestOwnerCommands(t *testing.T) {
	creds := contract.Credentials{Username: "alice", Accounts: []contract.AccountToken{{IBAN: "NL11", Token: "t1"}}}
	cases := []struct {
		name, op   string
		cmdReason  string // the command handler's answer; "" succeeds
		wantReason string
		wantSent   []string
	}{
		{"add an owner", `mutation { add_owner(iban: "NL11", username: "bob") { success reason } }`, "", "",
			[]string{"FindCredentialsQuery", "AddUserToBankAccountCommand"}},
		{"add an unknown user", `mutation { add_owner(iban: "NL11", username: "bob") { success reason } }`,
			contract.UserUnknown.Text, contract.UserUnknown.Text, []string{"FindCredentialsQuery", "AddUserToBankAccountCommand"}},
		{"leave", `mutation { leave_account(iban: "NL11") { success reason } }`, "", "",
			[]string{"FindCredentialsQuery", "RemoveUserFromBankAccountCommand"}},
		{"leave an account of someone else", `mutation { leave_account(iban: "NL99") { success reason } }`, "",
			contract.NotYourAccount.Text, []string{"FindCredentialsQuery"}},
		{"add an owner in another case", `mutation { add_owner(iban: "NL11", username: " Bob") { success reason } }`, "", "",
			[]string{"FindCredentialsQuery", "AddUserToBankAccountCommand"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
				switch rec := rec.(type) {
				case *schemas.FindCredentialsQuery:
					return answered(creds)
				case *schemas.AddUserToBankAccountCommand:
					if rec.Token != "t1" || rec.Username != "alice" || rec.UserToAdd != "bob" {
						return failed(fmt.Sprintf("wrong command %+v", rec))
					}
				case *schemas.RemoveUserFromBankAccountCommand:
					if rec.Token != "t1" || rec.Username != "alice" {
						return failed(fmt.Sprintf("wrong command %+v", rec))
					}
				}
				if tc.cmdReason != "" {
					return failed(tc.cmdReason)
				}
				return succeeded("")
			}}
			var got map[string]struct {
				Success bool
				Reason  *string
			}
			if errs := run(t, b, alice, tc.op, nil, &got); errs != nil {
				t.Fatal(errs)
			}
			for _, r := range got {
				if r.Success != (tc.wantReason == "") || str(r.Reason) != map[bool]string{true: "<nil>", false: tc.wantReason}[tc.wantReason == ""] {
					t.Fatalf("success %v reason %s, want reason %q", r.Success, str(r.Reason), tc.wantReason)
				}
			}
			if got := strings.Join(b.sentNames(), ","); got != strings.Join(tc.wantSent, ",") {
				t.Fatalf("sent %s, want %s", got, strings.Join(tc.wantSent, ","))
			}
		})
	}
}

func TestEmployees(t *testing.T) {
	const login = `mutation($p: String!) { employee_login(password: $p) { session reason } }`
	type result struct {
		EmployeeLogin struct{ Session, Reason *string } `json:"employee_login"`
	}
	var got result
	run(t, &fakeBus{}, anonymous, login, map[string]any{"p": "staff secret"}, &got)
	if str(got.EmployeeLogin.Session) != "employee-session" || got.EmployeeLogin.Reason != nil {
		t.Fatalf("right password: %s %s", str(got.EmployeeLogin.Session), str(got.EmployeeLogin.Reason))
	}
	got = result{}
	run(t, &fakeBus{}, anonymous, login, map[string]any{"p": "staff"}, &got)
	if got.EmployeeLogin.Session != nil || str(got.EmployeeLogin.Reason) != contract.EmployeePasswordInvalid.Text {
		t.Fatalf("wrong password: %s %s", str(got.EmployeeLogin.Session), str(got.EmployeeLogin.Reason))
	}
	if r := (&Resolver{}).employeeLogin(context.Background(), ""); str(r.Reason) != contract.NoEmployees.Text || r.Session != nil {
		t.Fatalf("no credential configured: %s", str(r.Reason))
	}

	const all = `{ all_last_transactions { id iban changed_by } }`
	lastTx := func(schemas.Record) (schemas.Record, error) {
		return answered([]contract.Transaction{{ID: 7, IBAN: "NL11", ChangedBy: -250, NewBalance: 0}})
	}
	for _, who := range []asWho{anonymous, alice} {
		b := &fakeBus{answer: lastTx}
		errs := run(t, b, who, all, nil, nil)
		if len(errs) != 1 || !strings.HasPrefix(errs[0], "employees only") || len(b.sent) != 0 {
			t.Fatalf("as %d: errors %v, sent %v", who, errs, b.sentNames())
		}
	}
	var txs struct {
		All []struct {
			ID        int
			IBAN      string
			ChangedBy string `json:"changed_by"`
		} `json:"all_last_transactions"`
	}
	if errs := run(t, &fakeBus{answer: lastTx}, employee, all, nil, &txs); errs != nil || len(txs.All) != 1 || txs.All[0].ChangedBy != "-€2,50" {
		t.Fatalf("as an employee: errors %v, got %+v", errs, txs)
	}
}

func TestQueriesPassReasonsOn(t *testing.T) {
	b := &fakeBus{answer: func(schemas.Record) (schemas.Record, error) { return refused(contract.TransactionNotFound.Text) }}
	errs := run(t, b, employee, `{ transaction_by_id(id: 3) { id } }`, nil, nil)
	if len(errs) != 1 || errs[0] != contract.TransactionNotFound.Text {
		t.Fatalf("errors %v", errs)
	}
	b = &fakeBus{}
	errs = run(t, b, anonymous, `{ transactions_by_iban(iban: "NL11", max_items: 0) { id } }`, nil, nil)
	if len(errs) != 1 || errs[0] != contract.MaxItemsInvalid.Text || len(b.sent) != 0 {
		t.Fatalf("max_items 0: errors %v, sent %v", errs, b.sentNames())
	}
}

func TestTransactionConversion(t *testing.T) {
	cases := []struct {
		change, balance   int64
		wantDir           model.Dtype
		wantChange, wantB string
	}{
		{100, 100, model.DtypeCredit, "€1,00", "€1,00"},
		{-1, 99, model.DtypeDebit, "-€0,01", "€0,99"},
		{0, 0, model.DtypeCredit, "€0,00", "€0,00"},
		{-123456789, -123456789, model.DtypeDebit, "-€1.234.567,89", "-€1.234.567,89"},
	}
	for _, tc := range cases {
		tx := Transaction(&schemas.TransactionHappenedEvent{TransactionID: 9, IBAN: "NL11", NewBalance: tc.balance,
			ChangedBy: tc.change, FromTo: "cash", Description: "d"})
		if *tx.Direction != tc.wantDir || *tx.ChangedBy != tc.wantChange || *tx.NewBalance != tc.wantB ||
			*tx.ChangedByCents != tc.change || *tx.NewBalanceCents != tc.balance || tx.ID != 9 {
			t.Errorf("change %d: got %s %s %s", tc.change, *tx.Direction, *tx.ChangedBy, *tx.NewBalance)
		}
		if tx.At != nil {
			t.Errorf("an event without a time got %q", *tx.At)
		}
	}
	at := time.Date(2026, 11, 27, 9, 30, 0, 123e6, time.UTC)
	tx := Transaction(&schemas.TransactionHappenedEvent{TransactionID: 1 << 40, AtMillis: at.UnixMilli(), Kind: "return"})
	if str(tx.At) != "2026-11-27T09:30:00.123Z" || tx.TransactionID != 1<<40 || tx.Kind == nil || *tx.Kind != model.TransactionKindReturn {
		t.Errorf("time %s, id %d", str(tx.At), tx.TransactionID)
	}
}

func TestFilterMatcher(t *testing.T) {
	tx := func(iban string, change int64, descr string) *model.Transaction {
		return Transaction(&schemas.TransactionHappenedEvent{IBAN: iban, ChangedBy: change, Description: descr})
	}
	debit, credit := model.DtypeDebit, model.DtypeCredit
	f := NewFilter
	cases := []struct {
		name   string
		filter Filter
		tx     *model.Transaction
		want   bool
	}{
		{"no filter takes all", f(nil, nil, nil, nil, nil), tx("NL11", -5, "x"), true},
		{"iban matches", f(ptr("NL11"), nil, nil, nil, nil), tx("NL11", 5, ""), true},
		{"iban differs", f(ptr("NL11"), nil, nil, nil, nil), tx("NL22", 5, ""), false},
		{"min amount compares the size of a debit", f(nil, ptr(500), nil, nil, nil), tx("NL11", -500, ""), true},
		{"below min", f(nil, ptr(500), nil, nil, nil), tx("NL11", 499, ""), false},
		{"max amount", f(nil, nil, ptr(500), nil, nil), tx("NL11", -501, ""), false},
		{"within max", f(nil, nil, ptr(500), nil, nil), tx("NL11", 500, ""), true},
		{"a negative max matches nothing", f(nil, nil, ptr(-1), nil, nil), tx("NL11", 1, ""), false},
		{"debit only", f(nil, nil, nil, &debit, nil), tx("NL11", 5, ""), false},
		{"credit only", f(nil, nil, nil, &credit, nil), tx("NL11", 5, ""), true},
		{"descr ignores case", f(nil, nil, nil, nil, ptr("RENT")), tx("NL11", 5, "March rent"), true},
		{"descr missing", f(nil, nil, nil, nil, ptr("rent")), tx("NL11", 5, "groceries"), false},
		{"all filters together", f(ptr("NL11"), ptr(1), ptr(10), &debit, ptr("a")), tx("NL11", -10, "A"), true},
		{"all but one", f(ptr("NL11"), ptr(1), ptr(10), &credit, ptr("a")), tx("NL11", -10, "A"), false},
	}
	for _, tc := range cases {
		if got := tc.filter.Match(tc.tx); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	if f(ptr("NL11"), nil, nil, nil, ptr("Rent")) != f(ptr("NL11"), nil, nil, nil, ptr("rENT")) {
		t.Error("equal filters are not equal keys: they would be evaluated twice")
	}
}

func TestStreamTransactionsSubscribesWithTheFilter(t *testing.T) {
	live := &fakeLive{ch: make(chan *model.Transaction)}
	r := &Resolver{Live: live}
	ch, err := r.Subscription().StreamTransactions(WithEmployee(context.Background()), ptr("NL11"), ptr(100), nil, nil, nil)
	if err != nil || ch == nil {
		t.Fatalf("subscribe: %v", err)
	}
	match := func(iban string, change int64) bool {
		return live.filter.Match(Transaction(&schemas.TransactionHappenedEvent{IBAN: iban, ChangedBy: change}))
	}
	if !match("NL11", 100) || match("NL11", 99) || match("NL22", 100) {
		t.Fatal("the subscription does not filter with its arguments")
	}
}

func TestFailedLoginsAreLimited(t *testing.T) {
	creds := func(user string) contract.Credentials {
		return contract.Credentials{Username: user, PasswordHash: hash(t, "right"),
			Accounts: []contract.AccountToken{{IBAN: "NL11OPEN0000000001", Token: "tok1"}}}
	}
	b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
		return answered(creds(rec.(*schemas.FindCredentialsQuery).Username))
	}}
	r := &Resolver{Bus: b, Sessions: fakeSessions{}, Timeout: time.Second, HashCost: bcrypt.MinCost,
		Logins: ratelimit.NewLogins(5, 3, time.Millisecond), EmployeePassword: "staff secret"}
	from := func(client string) context.Context { return WithClient(context.Background(), client) }
	const refused = "too many failed log-ins"
	steps := []struct {
		name, client, user, password, wantReason string
	}{
		{"wrong 1", "10.0.0.1", "alice", "x", contract.LoginInvalid.Text},
		{"wrong 2", "10.0.0.1", "alice", "x", contract.LoginInvalid.Text},
		{"right password logs in and counts nothing", "10.0.0.1", "alice", "right", "<nil>"},
		{"wrong 3", "10.0.0.1", "alice", "x", contract.LoginInvalid.Text},
		{"alice is now refused from this client, even with the right password", "10.0.0.1", "alice", "right", refused},
		{"but not from another: slowed, not locked out", "10.0.0.2", "alice", "right", "<nil>"},
		{"bob from the first client may", "10.0.0.1", "bob", "x", contract.LoginInvalid.Text},
		{"the client's fifth failure", "10.0.0.1", "carol", "x", contract.LoginInvalid.Text},
		{"the client is now refused for anyone", "10.0.0.1", "dave", "right", ""},
		{"another client is not", "10.0.0.2", "dave", "right", "<nil>"},
	}
	for _, s := range steps {
		got, err := r.logIn(from(s.client), s.user, s.password)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if s.wantReason == "" || s.wantReason == refused {
			if !strings.HasPrefix(str(got.Reason), "too many failed log-ins"+": try again in ") {
				t.Fatalf("%s: reason %q, want refused", s.name, str(got.Reason))
			}
			continue
		}
		if str(got.Reason) != s.wantReason {
			t.Fatalf("%s: reason %q, want %q", s.name, str(got.Reason), s.wantReason)
		}
	}
	// A refused log-in does not even ask Kafka.
	before := len(b.sentNames())
	r.logIn(from("10.0.0.1"), "erin", "right")
	if len(b.sentNames()) != before {
		t.Errorf("a refused log-in sent %v", b.sentNames()[before:])
	}

	// Employees' failures count per client, never against the credential
	// itself (which would lock every employee out).
	for i := range 5 {
		e := r.employeeLogin(from("10.0.0.3"), "wrong")
		if str(e.Reason) != contract.EmployeePasswordInvalid.Text {
			t.Fatalf("employee try %d: %q", i, str(e.Reason))
		}
	}
	if e := r.employeeLogin(from("10.0.0.3"), "staff secret"); !strings.HasPrefix(str(e.Reason), "too many failed log-ins") {
		t.Fatalf("sixth employee log-in from the same client: %q, want refused", str(e.Reason))
	}
	if e := r.employeeLogin(from("10.0.0.4"), "staff secret"); e.Session == nil {
		t.Fatalf("an employee elsewhere: %q, want a session", str(e.Reason))
	}
}
