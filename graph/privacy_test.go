package graph

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// The bank of these tests: alice owns NL11, someone else NL22; NL33 does
// not exist.
func ownedBank(rec schemas.Record) (schemas.Record, error) {
	switch q := rec.(type) {
	case *schemas.FindUserQuery:
		if q.Username == "alice" {
			return answered(contract.User{Username: "alice", Accounts: []string{"NL11"}})
		}
		return refused(contract.UserNotFound.Text)
	case *schemas.TransactionsByIbanQuery:
		if q.IBAN == "NL33" {
			return refused(contract.AccountNotFound.Text)
		}
		return answered([]contract.Transaction{{ID: 1, IBAN: q.IBAN, ChangedBy: 5}})
	case *schemas.TransactionByIdQuery:
		switch q.TransactionID {
		case 1:
			return answered(contract.Transaction{ID: 1, IBAN: "NL11"})
		case 2:
			return answered(contract.Transaction{ID: 2, IBAN: "NL22"})
		case 3:
			return answered(contract.Transaction{ID: 3, IBAN: iban.Company})
		}
		return refused(contract.TransactionNotFound.Text)
	case *schemas.TransferByIdQuery:
		switch q.TransferID.String()[0] {
		case '1':
			return answered(contract.Transfer{ID: q.TransferID.String(), From: "NL22", To: "NL11", Status: "completed"})
		case '2':
			return answered(contract.Transfer{ID: q.TransferID.String(), From: "NL22", To: "NL91ABNA0417164300", Status: "completed"})
		}
		return refused(contract.TransferNotFound.Text)
	}
	return failed("unexpected " + shortName(rec))
}

// Reads follow ownership: an owner and an employee read, anyone reads the
// company account, everyone else — anonymous, another user — gets "not
// your account", and so does an account or transaction that does not
// exist, so IBANs and ids cannot be probed.
func TestReadsFollowOwnership(t *testing.T) {
	const (
		mine    = "11111111-0000-4000-8000-000000000000"
		foreign = "22222222-0000-4000-8000-000000000000"
		missing = "33333333-0000-4000-8000-000000000000"
	)
	company := `"` + iban.Company + `"`
	reads := []struct {
		name string
		op   string
		// who reads, and whether they may (false: "not your account")
		allowed map[asWho]bool
	}{
		{"own account's transactions", `{ transactions_by_iban(iban: "NL11", max_items: 5) { id } }`, map[asWho]bool{anonymous: false, alice: true, employee: true}},
		{"another's account's transactions", `{ transactions_by_iban(iban: "NL22", max_items: 5) { id } }`, map[asWho]bool{anonymous: false, alice: false, employee: true}},
		{"an account that does not exist", `{ transactions_by_iban(iban: "NL33", max_items: 5) { id } }`, map[asWho]bool{anonymous: false, alice: false}},
		{"the company account's transactions", `{ transactions_by_iban(iban: ` + company + `, max_items: 5) { id } }`, map[asWho]bool{anonymous: true, alice: true, employee: true}},
		{"own transaction", `{ transaction_by_id(id: 1) { id } }`, map[asWho]bool{anonymous: false, alice: true, employee: true}},
		{"another's transaction", `{ transaction_by_id(id: 2) { id } }`, map[asWho]bool{anonymous: false, alice: false, employee: true}},
		{"the company's transaction", `{ transaction_by_id(id: 3) { id } }`, map[asWho]bool{anonymous: true, alice: true, employee: true}},
		{"a transaction that does not exist", `{ transaction_by_id(id: 99) { id } }`, map[asWho]bool{anonymous: false, alice: false}},
		{"a transfer to own account", `{ transfer(uuid: "` + mine + `") { uuid } }`, map[asWho]bool{anonymous: false, alice: true, employee: true}},
		{"another's transfer", `{ transfer(uuid: "` + foreign + `") { uuid } }`, map[asWho]bool{anonymous: false, alice: false, employee: true}},
	}
	for _, rd := range reads {
		for who, allowed := range rd.allowed {
			t.Run(rd.name, func(t *testing.T) {
				errs := run(t, &fakeBus{answer: ownedBank}, who, rd.op, nil, nil)
				switch {
				case allowed && errs != nil:
					t.Fatalf("as %d: errors %v, want the data", who, errs)
				case !allowed && (len(errs) != 1 || errs[0] != contract.NotYourAccount.Text):
					t.Fatalf("as %d: errors %v, want only %q", who, errs, contract.NotYourAccount.Text)
				}
			})
		}
	}
	// A transfer nobody knows is null for a logged-in user.
	var got struct{ Transfer *struct{ UUID string } }
	if errs := run(t, &fakeBus{answer: ownedBank}, alice, `{ transfer(uuid: "`+missing+`") { uuid } }`, nil, &got); errs != nil || got.Transfer != nil {
		t.Fatalf("unknown transfer: %v %+v", errs, got.Transfer)
	}
}

func TestStreamsFollowOwnership(t *testing.T) {
	ctxOf := map[asWho]context.Context{
		anonymous: context.Background(), alice: WithUser(context.Background(), "alice"), employee: WithEmployee(context.Background()),
	}
	cases := []struct {
		name    string
		iban    *string
		allowed map[asWho]bool
	}{
		{"every account", nil, map[asWho]bool{anonymous: false, alice: false, employee: true}},
		{"own account", ptr("NL11"), map[asWho]bool{anonymous: false, alice: true, employee: true}},
		{"another's", ptr("NL22"), map[asWho]bool{anonymous: false, alice: false, employee: true}},
		{"the company's", ptr(iban.Company), map[asWho]bool{anonymous: true, alice: true, employee: true}},
	}
	for _, tc := range cases {
		for who, allowed := range tc.allowed {
			r := &Resolver{Bus: &fakeBus{answer: ownedBank}, Live: &fakeLive{}, Timeout: 1e9}
			_, err := r.streamTransactions(ctxOf[who], NewFilter(tc.iban, nil, nil, nil, nil))
			if (err == nil) != allowed {
				t.Errorf("%s as %d: %v, want allowed %v", tc.name, who, err, allowed)
			}
		}
	}
	// --open-reads: the original's behaviour, anyone reads anything.
	r := &Resolver{Bus: &fakeBus{answer: ownedBank}, Live: &fakeLive{}, Timeout: 1e9, OpenReads: true}
	if _, err := r.streamTransactions(context.Background(), NewFilter(nil, nil, nil, nil, nil)); err != nil {
		t.Fatalf("open reads: %v", err)
	}
	if _, err := r.transactionsByIBAN(context.Background(), "NL22", 5); err != nil {
		t.Fatalf("open reads: %v", err)
	}
}

// A failed log-in says the same, and checks one password hash, whether or
// not the username exists: neither the answer nor its time tells.
func TestALogInDoesNotTellWhetherTheUserExists(t *testing.T) {
	var compared atomic.Int32
	orig := compareHash
	compareHash = func(h, p []byte) error { compared.Add(1); return orig(h, p) }
	defer func() { compareHash = orig }()
	b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
		if q := rec.(*schemas.FindCredentialsQuery); q.Username == "alice" {
			return answered(contract.Credentials{Username: "alice", PasswordHash: hash(t, "right")})
		}
		return refused(contract.UserNotFound.Text)
	}}
	r := &Resolver{Bus: b, Sessions: fakeSessions{}, Timeout: 1e9, HashCost: 4}
	for _, user := range []string{"alice", "nobody"} {
		compared.Store(0)
		res, err := r.logIn(context.Background(), user, "wrong")
		if err != nil || str(res.Reason) != contract.LoginInvalid.Text || compared.Load() != 1 {
			t.Errorf("%s: reason %q, %d hash comparisons, %v", user, str(res.Reason), compared.Load(), err)
		}
	}
	// The company account's owner has no password at all.
	b.answer = func(schemas.Record) (schemas.Record, error) {
		return answered(contract.Credentials{Username: "openbank", PasswordHash: "!"})
	}
	if res, _ := r.logIn(context.Background(), "openbank", ""); str(res.Reason) != contract.PasswordInvalid.Text {
		t.Errorf("empty password: %q", str(res.Reason))
	}
	if res, _ := r.logIn(context.Background(), "openbank", "!"); str(res.Reason) != contract.LoginInvalid.Text {
		t.Errorf("the company owner logged in: %q", str(res.Reason))
	}
}

func TestSignUpAndLogInAreApart(t *testing.T) {
	b := &fakeBus{answer: func(rec schemas.Record) (schemas.Record, error) {
		switch rec.(type) {
		case *schemas.CreateUserAccountCommand:
			return failed("user already exists")
		case *schemas.FindCredentialsQuery:
			return refused(contract.UserNotFound.Text)
		}
		return failed("unexpected " + shortName(rec))
	}}
	r := &Resolver{Bus: b, Sessions: fakeSessions{}, Timeout: 1e9, HashCost: 4, NewIBAN: func() string { return "NL11" }}
	if res, _ := r.signUp(context.Background(), "Alice", "pw"); str(res.Reason) != contract.UsernameTaken.Text {
		t.Errorf("sign_up of a taken name: %q", str(res.Reason))
	}
	// log_in of a name nobody has never signs it up.
	if res, _ := r.logIn(context.Background(), "Alic", "pw"); str(res.Reason) != contract.LoginInvalid.Text {
		t.Errorf("log_in of a typo: %q", str(res.Reason))
	}
	if got := strings.Join(b.sentNames(), ","); got != "CreateUserAccountCommand,FindCredentialsQuery" {
		t.Errorf("sent %s", got)
	}
	if c := b.sent[0].(*schemas.CreateUserAccountCommand); c.Username != "alice" {
		t.Errorf("signed up %q, want the normal form alice", c.Username)
	}
}

func TestLogOutAndPasswordChangeEndSessions(t *testing.T) {
	var revoked []string
	b := &fakeBus{}
	r := &Resolver{Bus: b, Sessions: fakeSessions{}, Timeout: 1e9, HashCost: 4,
		Revoke: func(u string, at int64) { revoked = append(revoked, u) }}
	b.answer = func(rec schemas.Record) (schemas.Record, error) {
		switch rec.(type) {
		case *schemas.FindCredentialsQuery:
			return answered(contract.Credentials{Username: "alice", PasswordHash: hash(t, "old")})
		}
		return succeeded("")
	}
	ctx := WithUser(context.Background(), "alice")
	if res, err := r.logOut(ctx); err != nil || !res.Success {
		t.Fatalf("log_out: %+v %v", res, err)
	}
	if res, _ := r.changePassword(ctx, "not it", "new"); str(res.Reason) != contract.LoginInvalid.Text || res.Session != nil {
		t.Fatalf("change with a wrong old password: %+v", res)
	}
	res, err := r.changePassword(ctx, "old", "new")
	if err != nil || res.Session == nil || !strings.HasPrefix(*res.Session, "session-of-alice-after-") {
		t.Fatalf("change: %+v %v", res, err)
	}
	if got := strings.Join(b.sentNames(), ","); got != "RevokeSessionsCommand,FindCredentialsQuery,FindCredentialsQuery,ChangePasswordCommand" {
		t.Fatalf("sent %s", got)
	}
	if len(revoked) != 2 {
		t.Fatalf("revoked here %v, want at log-out and at the change", revoked)
	}
}
