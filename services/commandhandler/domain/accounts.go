package domain

import (
	"bytes"
	"slices"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// MaxRules bounds the alert rules of one account.
const MaxRules = 20

// CreateAlertRule decides on an alert rule an owner sets on an account.
func (s *State) CreateAlertRule(c *schemas.CreateAlertRuleCommand) Decision {
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	if reason != (contract.Reason{}) {
		return failed(c.ID, createRule, reason)
	}
	r := contract.AlertRule{IBAN: c.IBAN, Kind: contract.AlertKind(c.Kind), Amount: c.Amount, Word: c.Word, Webhook: c.Webhook}
	_, exists := a.Rules[c.ID]
	exists = exists || s.decided(&schemas.AlertRuleCreatedEvent{ID: c.ID}) // a rule id is never used twice
	switch err := r.Validate(); {
	case exists:
		return failed(c.ID, createRule, contract.RuleExists)
	case err != nil:
		return failed(c.ID, createRule, contract.RuleInvalid(err))
	case len(a.Rules) >= MaxRules:
		return failed(c.ID, createRule, contract.TooManyRules)
	}
	return Decision{
		Events: []schemas.Record{&schemas.AlertRuleCreatedEvent{ID: c.ID, IBAN: c.IBAN, Username: c.Username,
			Kind: c.Kind, Amount: c.Amount, Word: c.Word, Webhook: c.Webhook}},
		Feedback: []schemas.Record{succeeded(c.ID, createRule, "")},
	}
}

// DeleteAlertRule decides on ending an alert rule; any owner of the account
// may end any of its rules.
func (s *State) DeleteAlertRule(c *schemas.DeleteAlertRuleCommand) Decision {
	if s.decided(&schemas.AlertRuleDeletedEvent{ID: c.ID}) {
		return Decision{Feedback: []schemas.Record{succeeded(c.ID, deleteRule, "")}}
	}
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	if reason != (contract.Reason{}) {
		return failed(c.ID, deleteRule, reason)
	}
	if _, ok := a.Rules[c.ID]; !ok {
		return failed(c.ID, deleteRule, contract.RuleUnknown)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.AlertRuleDeletedEvent{ID: c.ID, IBAN: c.IBAN, Username: c.Username}},
		Feedback: []schemas.Record{succeeded(c.ID, deleteRule, "")},
	}
}

// CreateUserAccount decides on a new user; the password arrives hashed.
// Only a username in its normal form is taken (contract.NormalizeUsername),
// so that "Alice" and "alice" can never be two users.
func (s *State) CreateUserAccount(c *schemas.CreateUserAccountCommand) Decision {
	switch {
	case !contract.IsNormalUsername(c.Username):
		return failed(c.ID, createUser, contract.UsernameInvalid)
	case c.Username == CompanyOwner && c.ID != CompanyOwnerID:
		return failed(c.ID, createUser, contract.UserExists) // reserved, whether created yet or not
	case c.Password == "":
		return failed(c.ID, createUser, contract.PasswordEmpty)
	case len(c.Password) > contract.MaxPasswordHash:
		return failed(c.ID, createUser, contract.PasswordHashSize)
	case s.Users[c.Username] != nil:
		return failed(c.ID, createUser, contract.UserExists)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.UserAccountCreatedEvent{ID: c.ID, Username: c.Username, Password: c.Password}},
		Feedback: []schemas.Record{succeeded(c.ID, createUser, "")},
	}
}

// CreateBankAccount decides on a new account for a user. The owner's token
// is in the event only: feedback is read by every gateway, so it carries no
// secret (the gateway asks for the user's credentials instead).
func (s *State) CreateBankAccount(c *schemas.CreateBankAccountCommand, env Env) Decision {
	switch {
	case !iban.IsOpen(c.IBAN):
		return failed(c.ID, createAccount, contract.IBANInvalidOpen)
	case s.Accounts[c.IBAN] != nil:
		return failed(c.ID, createAccount, contract.IBANExists)
	case c.Username == "":
		return failed(c.ID, createAccount, contract.UsernameInvalid)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.BankAccountCreatedEvent{ID: c.ID, IBAN: c.IBAN, Token: env.NewToken(), Username: c.Username}},
		Feedback: []schemas.Record{succeeded(c.ID, createAccount, "")},
	}
}

// decided reports whether the event with e's kind and id was applied: a
// command whose event it is came again, and is answered, not applied twice.
func (s *State) decided(e schemas.Record) bool {
	return s.Seen[EventKey{Kind: e.AvroName(), ID: e.RecordID()}]
}

// authorize checks that username owns the account with this token: one
// reason for an account that does not exist, a user who does not own it
// and a wrong token, so that a request cannot tell which, and IBANs and
// owners cannot be probed.
func (s *State) authorize(ibanCode, username, token string) (*Account, contract.Reason) {
	a := s.Accounts[ibanCode]
	if a == nil || a.Tokens[username] == "" || a.Tokens[username] != token {
		return nil, contract.NotAuthorized
	}
	return a, contract.Reason{}
}

// AddUserToBankAccount decides on an owner giving another user access; the
// new owner gets a token of their own (in the event only, as for a new
// account).
func (s *State) AddUserToBankAccount(c *schemas.AddUserToBankAccountCommand, env Env) Decision {
	if s.decided(&schemas.UserAddedToBankAccountEvent{ID: c.ID}) {
		return Decision{Feedback: []schemas.Record{succeeded(c.ID, addUser, "")}}
	}
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != (contract.Reason{}):
		return failed(c.ID, addUser, reason)
	case a.Tokens[c.UserToAdd] != "":
		return failed(c.ID, addUser, contract.AlreadyOwner)
	case s.Users[c.UserToAdd] == nil:
		return failed(c.ID, addUser, contract.UserUnknown)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.UserAddedToBankAccountEvent{ID: c.ID, Username: c.UserToAdd, IBAN: c.IBAN, Token: env.NewToken()}},
		Feedback: []schemas.Record{succeeded(c.ID, addUser, "")},
	}
}

// RemoveUserFromBankAccount decides on an owner leaving an account. The last
// owner may leave only an empty account, so no money is stranded. The
// alert rules the leaving owner set on it end with them, so no alert about
// an account they no longer own reaches them.
func (s *State) RemoveUserFromBankAccount(c *schemas.RemoveUserFromBankAccountCommand) Decision {
	if s.decided(&schemas.UserRemovedFromBankAccountEvent{ID: c.ID}) {
		return Decision{Feedback: []schemas.Record{succeeded(c.ID, removeUser, "")}}
	}
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != (contract.Reason{}):
		return failed(c.ID, removeUser, reason)
	case len(a.Tokens) == 1 && a.Balance != 0:
		return failed(c.ID, removeUser, contract.LastOwnerBalance)
	}
	d := Decision{
		Events:   []schemas.Record{&schemas.UserRemovedFromBankAccountEvent{ID: c.ID, Username: c.Username, IBAN: c.IBAN}},
		Feedback: []schemas.Record{succeeded(c.ID, removeUser, "")},
	}
	var theirs []schemas.ID
	for id, owner := range a.Rules {
		if owner == c.Username {
			theirs = append(theirs, id)
		}
	}
	slices.SortFunc(theirs, func(x, y schemas.ID) int { return bytes.Compare(x[:], y[:]) }) // one order on every instance
	for _, id := range theirs {
		d.Events = append(d.Events, &schemas.AlertRuleDeletedEvent{ID: id, IBAN: c.IBAN, Username: c.Username})
	}
	return d
}
