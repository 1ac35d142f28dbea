package commandhandler

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology/iban"
)

// CompanyOwner owns the company account.
const CompanyOwner = domain.CompanyOwner

// OpenCompanyAccount opens the company account and deposits the initial
// cash, once: both commands have fixed ids, an existing account is refused
// harmlessly, and a repeated transfer id answers the first outcome.
func OpenCompanyAccount(ctx context.Context, requests *bus.Bus, deposit int64, log *slog.Logger) error {
	owner := &schemas.CreateUserAccountCommand{ID: domain.CompanyOwnerID, Username: CompanyOwner, Password: domain.NoPassword}
	fb, err := requests.Send(ctx, owner)
	if err != nil {
		return fmt.Errorf("create company account owner: %w", err)
	}
	if f, ok := fb.(*schemas.CommandFailed); ok && f.Code != string(contract.UserExists.Code) {
		return fmt.Errorf("create company account owner: %s", f.Reason)
	}
	open := &schemas.CreateBankAccountCommand{ID: domain.FixedID("company-account"), IBAN: iban.Company, Username: CompanyOwner}
	fb, err = requests.Send(ctx, open)
	if err != nil {
		return fmt.Errorf("open company account: %w", err)
	}
	if f, ok := fb.(*schemas.CommandFailed); ok && f.Code != string(contract.IBANExists.Code) {
		return fmt.Errorf("open company account: %s", f.Reason)
	}
	cash := &schemas.MoneyTransferCommand{ID: domain.GenesisID, Amount: deposit, From: domain.Cash,
		To: iban.Company, Description: "initial deposit", Username: CompanyOwner}
	fb, err = requests.Send(ctx, cash)
	if err != nil {
		return fmt.Errorf("initial deposit: %w", err)
	}
	if f, ok := fb.(*schemas.CommandFailed); ok {
		if f.Code == string(contract.TransferStarted.Code) {
			// Made before with another amount; it stays as it was.
			log.Info("initial deposit made before with another amount; not repeated")
			return nil
		}
		return fmt.Errorf("initial deposit: %s", f.Reason)
	}
	log.Info("company account open", "iban", iban.Company, "initial_deposit", money.Euro(deposit))
	return nil
}
