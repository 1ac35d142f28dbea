package graph

import (
	"fmt"
	"slices"
	"testing"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/schemas"
)

// The GraphQL enum is generated from contract: the same codes, no more.
func TestReasonCodeEnumIsTheContractsCodes(t *testing.T) {
	var enum, codes []string
	for _, c := range model.AllReasonCode {
		enum = append(enum, string(c))
	}
	for _, c := range contract.Codes() {
		codes = append(codes, string(c))
	}
	slices.Sort(enum)
	if !slices.Equal(enum, codes) {
		t.Fatalf("enum ReasonCode %v\ncontract codes  %v\nrun go generate ./...", enum, codes)
	}
}

// Every failure answers its code beside its sentence: in the result
// (reason_code) or on the error (extensions.code). The code comes from the
// record; a record from before codes gets it from its sentence.
func TestFailuresCarryTheirCodes(t *testing.T) {
	creds := contract.Credentials{Username: "alice", Accounts: []contract.AccountToken{{IBAN: "NL11OPEN0000000001", Token: "t1"}}}
	withCode := func(r contract.Reason) func(schemas.Record) (schemas.Record, error) {
		return func(rec schemas.Record) (schemas.Record, error) {
			if _, ok := rec.(*schemas.FindCredentialsQuery); ok {
				return answered(creds)
			}
			return &schemas.CommandFailed{Reason: r.Text, Code: string(r.Code)}, nil
		}
	}
	const transfer = `mutation($amount: Int!) { money_transfer(uuid: "5f0ad4a4-8c49-4d3c-9d3b-2d8f1b5b4e11", username: "alice", token: "tok", amount: $amount,
		from: "NL11OPEN0000000001", to: "NL22OPEN0000000002", descr: "rent") { reason reason_code } }`
	cases := []struct {
		name     string
		who      asWho
		op       string
		vars     map[string]any
		answer   func(schemas.Record) (schemas.Record, error)
		want     contract.Code
		asError  bool
		wantText string
	}{
		{name: "an amount refused before sending", op: transfer, vars: map[string]any{"amount": 0}, want: contract.AmountNotPositive.Code},
		{name: "the saga's failure, sentence reworded", op: transfer, vars: map[string]any{"amount": 5},
			answer: withCode(contract.Reason{Code: contract.NotAuthorized.Code, Text: "a newer sentence"}), want: contract.NotAuthorized.Code, wantText: "a newer sentence"},
		{name: "a record from before codes", op: transfer, vars: map[string]any{"amount": 5},
			answer: func(schemas.Record) (schemas.Record, error) {
				return failed("insufficient funds would be below the limit of €0,00")
			},
			want: "INSUFFICIENT_FUNDS"},
		{name: "no outcome in time", op: transfer, vars: map[string]any{"amount": 5},
			answer: func(schemas.Record) (schemas.Record, error) { return nil, bus.ErrTimeout }, want: "NO_OUTCOME"},
		{name: "a command's failure", who: alice, op: `mutation { add_owner(iban: "NL11OPEN0000000001", username: "bob") { reason reason_code } }`,
			answer: withCode(contract.UserUnknown), want: contract.UserUnknown.Code},
		{name: "someone else's account", who: alice, op: `mutation { leave_account(iban: "NL99OPEN0000000009") { reason reason_code } }`,
			answer: withCode(contract.Reason{}), want: contract.NotYourAccount.Code},
		{name: "a wrong employee password", op: `mutation { employee_login(password: "nope") { reason reason_code } }`,
			want: contract.EmployeePasswordInvalid.Code},
		{name: "a bad username", op: `mutation { sign_up(username: "", password: "pw") { reason reason_code } }`,
			want: contract.UsernameInvalid.Code},
		{name: "not logged in", op: `mutation { leave_account(iban: "NL11OPEN0000000001") { reason } }`,
			want: contract.NotLoggedIn.Code, asError: true},
		{name: "employees only", who: alice, op: `{ all_last_transactions { id } }`, want: contract.EmployeesOnly.Code, asError: true},
		{name: "the bank's summary, employees only", who: alice, op: `{ bank_summary { accounts } }`, want: contract.EmployeesOnly.Code, asError: true},
		{name: "a read of someone else's account", who: alice, op: `{ transactions_by_iban(iban: "NL99OPEN0000000009", max_items: 5) { id } }`,
			answer: func(schemas.Record) (schemas.Record, error) { return answered(contract.User{Username: "alice"}) },
			want:   contract.NotYourAccount.Code, asError: true},
		{name: "a query's failure", who: employee, op: `{ transaction_by_id(id: 3) { id } }`,
			answer: func(schemas.Record) (schemas.Record, error) { return refused(contract.TransactionNotFound.Text) },
			want:   contract.TransactionNotFound.Code, asError: true},
		{name: "no answer in time", who: alice, op: `mutation { log_out { reason } }`,
			answer: func(schemas.Record) (schemas.Record, error) { return nil, fmt.Errorf("send: %w", bus.ErrTimeout) },
			want:   "NO_ANSWER", asError: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := &fakeBus{answer: tc.answer}
			var data map[string]*struct {
				Reason     *string
				ReasonCode *string `json:"reason_code"`
			}
			errs := runCoded(t, b, tc.who, tc.op, tc.vars, &data)
			if tc.asError {
				if len(errs) != 1 || errs[0].Extensions.Code != string(tc.want) {
					t.Fatalf("errors %+v, want one with code %s", errs, tc.want)
				}
				return
			}
			if len(errs) != 0 || len(data) != 1 {
				t.Fatalf("errors %+v, data %v", errs, data)
			}
			for _, r := range data {
				if r == nil || str(r.ReasonCode) != string(tc.want) || r.Reason == nil {
					t.Fatalf("got %+v, want code %s", r, tc.want)
				}
				if tc.wantText != "" && *r.Reason != tc.wantText {
					t.Fatalf("reason %q, want the record's %q", *r.Reason, tc.wantText)
				}
			}
		})
	}
}
