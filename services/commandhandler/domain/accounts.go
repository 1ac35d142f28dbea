package domain

import (
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/alerts/rule"
	"github.com/openbank/bank/topology/iban"
)

// Failure reasons of the user and account commands.
const (
	ReasonUserExists       = "user already exists"
	ReasonEmptyUsername    = "username can't be empty"
	ReasonEmptyPassword    = "password can't be empty"
	ReasonInvalidOpenIBAN  = "invalid open iban"
	ReasonIBANExists       = "iban already exist"
	ReasonUnknownAccount   = "account does not exist"
	ReasonNotOwner         = "user is not an owner of the account"
	ReasonInvalidToken     = "token is not valid"
	ReasonAlreadyOwner     = "user is already an owner of the account"
	ReasonUnknownUser      = "user does not exist"
	ReasonLastOwnerBalance = "the last owner can't leave an account whose balance is not zero"
	ReasonRuleExists       = "alert rule already exists"
	ReasonUnknownRule      = "alert rule does not exist"
	ReasonTooManyRules     = "an account has at most 20 alert rules"
)

// MaxRules bounds the alert rules of one account.
const MaxRules = 20

// CreateAlertRule decides on an alert rule an owner sets on an account.
func (s *State) CreateAlertRule(c *schemas.CreateAlertRuleCommand) Decision {
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	if reason != "" {
		return failed(c.ID, createRule, reason)
	}
	r := rule.Rule{IBAN: c.IBAN, Kind: rule.Kind(c.Kind), Amount: c.Amount, Word: c.Word, Webhook: c.Webhook}
	switch err := r.Validate(); {
	case a.Rules[c.ID]:
		return failed(c.ID, createRule, ReasonRuleExists)
	case err != nil:
		return failed(c.ID, createRule, err.Error())
	case len(a.Rules) >= MaxRules:
		return failed(c.ID, createRule, ReasonTooManyRules)
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
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != "":
		return failed(c.ID, deleteRule, reason)
	case !a.Rules[c.ID]:
		return failed(c.ID, deleteRule, ReasonUnknownRule)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.AlertRuleDeletedEvent{ID: c.ID, IBAN: c.IBAN, Username: c.Username}},
		Feedback: []schemas.Record{succeeded(c.ID, deleteRule, "")},
	}
}

// CreateUserAccount decides on a new user; the password arrives hashed.
func (s *State) CreateUserAccount(c *schemas.CreateUserAccountCommand) Decision {
	switch {
	case c.Username == "":
		return failed(c.ID, createUser, ReasonEmptyUsername)
	case c.Password == "":
		return failed(c.ID, createUser, ReasonEmptyPassword)
	case s.Users[c.Username] != nil:
		return failed(c.ID, createUser, ReasonUserExists)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.UserAccountCreatedEvent{ID: c.ID, Username: c.Username, Password: c.Password}},
		Feedback: []schemas.Record{succeeded(c.ID, createUser, "")},
	}
}

// CreateBankAccount decides on a new account for a user; the feedback
// carries the owner's token.
func (s *State) CreateBankAccount(c *schemas.CreateBankAccountCommand, env Env) Decision {
	switch {
	case !iban.IsOpen(c.IBAN):
		return failed(c.ID, createAccount, ReasonInvalidOpenIBAN)
	case s.Accounts[c.IBAN] != nil:
		return failed(c.ID, createAccount, ReasonIBANExists)
	case c.Username == "":
		return failed(c.ID, createAccount, ReasonEmptyUsername)
	}
	tok := env.NewToken()
	return Decision{
		Events:   []schemas.Record{&schemas.BankAccountCreatedEvent{ID: c.ID, IBAN: c.IBAN, Token: tok, Username: c.Username}},
		Feedback: []schemas.Record{succeeded(c.ID, createAccount, tok)},
	}
}

// authorize checks that username owns the account with this token.
func (s *State) authorize(ibanCode, username, token string) (*Account, string) {
	a := s.Accounts[ibanCode]
	switch {
	case a == nil:
		return nil, ReasonUnknownAccount
	case a.Tokens[username] == "":
		return nil, ReasonNotOwner
	case a.Tokens[username] != token:
		return nil, ReasonInvalidToken
	}
	return a, ""
}

// AddUserToBankAccount decides on an owner giving another user access; the
// feedback carries the new owner's own token.
func (s *State) AddUserToBankAccount(c *schemas.AddUserToBankAccountCommand, env Env) Decision {
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != "":
		return failed(c.ID, addUser, reason)
	case a.Tokens[c.UserToAdd] != "":
		return failed(c.ID, addUser, ReasonAlreadyOwner)
	case s.Users[c.UserToAdd] == nil:
		return failed(c.ID, addUser, ReasonUnknownUser)
	}
	tok := env.NewToken()
	return Decision{
		Events:   []schemas.Record{&schemas.UserAddedToBankAccountEvent{ID: c.ID, Username: c.UserToAdd, IBAN: c.IBAN, Token: tok}},
		Feedback: []schemas.Record{succeeded(c.ID, addUser, tok)},
	}
}

// RemoveUserFromBankAccount decides on an owner leaving an account. The last
// owner may leave only an empty account, so no money is stranded.
func (s *State) RemoveUserFromBankAccount(c *schemas.RemoveUserFromBankAccountCommand) Decision {
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != "":
		return failed(c.ID, removeUser, reason)
	case len(a.Tokens) == 1 && a.Balance != 0:
		return failed(c.ID, removeUser, ReasonLastOwnerBalance)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.UserRemovedFromBankAccountEvent{ID: c.ID, Username: c.Username, IBAN: c.IBAN}},
		Feedback: []schemas.Record{succeeded(c.ID, removeUser, "")},
	}
}

// DebitMoney decides on taking money from an account for a transfer.
func (s *State) DebitMoney(c *schemas.DebitMoneyCommand) Decision {
	a, reason := s.authorize(c.IBAN, c.Username, c.Token)
	switch {
	case reason != "":
		return failed(c.ID, debitMoney, reason)
	case c.Amount <= 0:
		return failed(c.ID, debitMoney, ReasonAmountNotPositive)
	case a.Balance-c.Amount <= a.Limit:
		return failed(c.ID, debitMoney, InsufficientFunds(a.Limit))
	}
	return Decision{
		Events:   []schemas.Record{&schemas.MoneyDebitedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount}},
		Feedback: []schemas.Record{succeeded(c.ID, debitMoney, "")},
	}
}

// CreditMoney decides on putting money on an account for a transfer.
func (s *State) CreditMoney(c *schemas.CreditMoneyCommand) Decision {
	switch {
	case s.Accounts[c.IBAN] == nil:
		return failed(c.ID, creditMoney, ReasonUnknownAccount)
	case c.Amount <= 0:
		return failed(c.ID, creditMoney, ReasonAmountNotPositive)
	}
	return Decision{
		Events:   []schemas.Record{&schemas.MoneyCreditedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount}},
		Feedback: []schemas.Record{succeeded(c.ID, creditMoney, "")},
	}
}

// ReturnMoney decides on giving debited money back after a failed credit. It
// has no limit to check: the money left this account moments ago.
func (s *State) ReturnMoney(c *schemas.ReturnMoneyCommand) Decision {
	switch {
	case s.Accounts[c.IBAN] == nil:
		return failed(c.ID, returnMoney, ReasonUnknownAccount)
	case c.Amount <= 0:
		return failed(c.ID, returnMoney, ReasonAmountNotPositive)
	}
	return Decision{
		Events: []schemas.Record{&schemas.MoneyReturnedEvent{ID: c.ID, IBAN: c.IBAN, Amount: c.Amount, Reason: c.Reason}},
		// The saga ends the transfer with this reason.
		Feedback: []schemas.Record{succeeded(c.ID, returnMoney, c.Reason)},
	}
}

// InsufficientFunds is the reason a debit fails that would take the balance
// to or below the limit.
func InsufficientFunds(limit int64) string {
	return "insufficient funds would be below the limit of " + money.Euro(-limit)
}
