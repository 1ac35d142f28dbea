package domain

import (
	"fmt"

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

// Env is what deciding needs from outside: the only source of randomness.
type Env struct {
	NewToken func() string
}

func succeeded(id schemas.ID, command string, info string) schemas.Record {
	fb := &schemas.CommandSucceeded{ID: id, CommandName: command}
	if info != "" {
		fb.AdditionalInfo = &info
	}
	return fb
}

func failed(id schemas.ID, command, reason string) Decision {
	return Decision{Feedback: []schemas.Record{&schemas.CommandFailed{ID: id, CommandName: command, Reason: reason}}}
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
	case *schemas.MoneyTransferCommand:
		return s.MoneyTransfer(c), nil
	case *schemas.DebitMoneyCommand:
		return s.DebitMoney(c), nil
	case *schemas.CreditMoneyCommand:
		return s.CreditMoney(c), nil
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
