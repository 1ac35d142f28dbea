package domain

import (
	"fmt"
	"time"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
)

// Decision is what handling one command or feedback leads to.
type Decision struct {
	// Events to append; the handler applies them to the state too.
	Events []schemas.Record
	// Commands are the saga's next steps, to send.
	Commands []schemas.Record
	// Feedback answers commands: CommandSucceeded or CommandFailed.
	Feedback []schemas.Record
}

// Env is what deciding needs from outside: the only sources of randomness
// and time, and the deployment's limits. Replaying events needs none of it.
type Env struct {
	NewToken func() string
	// Now is the time of a decision; time.Now when nil.
	Now func() time.Time
	// Limits bound the amounts of transfers and cash deposits; the zero
	// value means contract.DefaultAmountLimits.
	Limits contract.AmountLimits
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e Env) limits() contract.AmountLimits {
	if e.Limits == (contract.AmountLimits{}) {
		return contract.DefaultAmountLimits()
	}
	return e.Limits
}

func succeeded(id schemas.ID, command string, info string) schemas.Record {
	fb := &schemas.CommandSucceeded{ID: id, CommandName: command}
	if info != "" {
		fb.AdditionalInfo = &info
	}
	return fb
}

func failed(id schemas.ID, command string, r contract.Reason) Decision {
	return Decision{Feedback: []schemas.Record{commandFailed(id, command, r)}}
}

// commandFailed answers a command with a reason: its code for programs,
// its sentence for people.
func commandFailed(id schemas.ID, command string, r contract.Reason) *schemas.CommandFailed {
	return &schemas.CommandFailed{ID: id, CommandName: command, Reason: r.Text, Code: string(r.Code)}
}

// Command names, as they appear in feedback.
const (
	createUser    = "CreateUserAccountCommand"
	createAccount = "CreateBankAccountCommand"
	moneyTransfer = "MoneyTransferCommand"
	debitMoney    = "DebitMoneyCommand"
	creditMoney   = "CreditMoneyCommand"
	returnMoney   = "ReturnMoneyCommand"
	markCompleted = "MarkTransferCompletedCommand"
	markFailed    = "MarkTransferFailedCommand"
	addUser       = "AddUserToBankAccountCommand"
	removeUser    = "RemoveUserFromBankAccountCommand"
	createRule    = "CreateAlertRuleCommand"
	deleteRule    = "DeleteAlertRuleCommand"
	changePass    = "ChangePasswordCommand"
	revokeSess    = "RevokeSessionsCommand"
)

// Decide handles one command, or the feedback of a saga step.
func (s *State) Decide(rec schemas.Record, env Env) (Decision, error) {
	switch c := rec.(type) {
	case *schemas.CreateUserAccountCommand:
		return s.CreateUserAccount(c), nil
	case *schemas.CreateBankAccountCommand:
		return s.CreateBankAccount(c, env), nil
	case *schemas.AddUserToBankAccountCommand:
		return s.AddUserToBankAccount(c, env), nil
	case *schemas.RemoveUserFromBankAccountCommand:
		return s.RemoveUserFromBankAccount(c), nil
	case *schemas.CreateAlertRuleCommand:
		return s.CreateAlertRule(c), nil
	case *schemas.DeleteAlertRuleCommand:
		return s.DeleteAlertRule(c), nil
	case *schemas.ChangePasswordCommand:
		return s.ChangePassword(c), nil
	case *schemas.RevokeSessionsCommand:
		return s.RevokeSessions(c), nil
	case *schemas.MoneyTransferCommand:
		return s.MoneyTransfer(c, env), nil
	case *schemas.DebitMoneyCommand:
		return s.DebitMoney(c, env), nil
	case *schemas.CreditMoneyCommand:
		return s.CreditMoney(c, env), nil
	case *schemas.ReturnMoneyCommand:
		return s.ReturnMoney(c), nil
	case *schemas.MarkTransferCompletedCommand:
		return s.MarkTransferCompleted(c), nil
	case *schemas.MarkTransferFailedCommand:
		return s.MarkTransferFailed(c), nil
	case *schemas.CommandSucceeded, *schemas.CommandFailed:
		return s.StepDone(rec)
	}
	return Decision{}, fmt.Errorf("the command handler does not handle %s", rec.AvroName())
}
