package commandhandler

import (
	"context"
	"crypto/sha1"
	"fmt"
	"log/slog"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/commandhandler/domain"
	"github.com/openbank/bank/topology/iban"
)

// CompanyOwner owns the company account.
const CompanyOwner = "openbank"

// fixedID derives a command id from a name, so every instance and every
// start sends the same command, and the handler's idempotence makes it
// happen once.
func fixedID(name string) schemas.ID {
	sum := sha1.Sum([]byte("openbank:" + name))
	var id schemas.ID
	copy(id[:], sum[:16])
	id[6] = (id[6] & 0x0f) | 0x50 // a name-based (version 5) UUID
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// OpenCompanyAccount opens the company account and deposits the initial
// cash, once: both commands have fixed ids, an existing account is refused
// harmlessly, and a repeated transfer id answers the first outcome.
func OpenCompanyAccount(ctx context.Context, requests *bus.Bus, deposit int64, log *slog.Logger) error {
	open := &schemas.CreateBankAccountCommand{ID: fixedID("company-account"), IBAN: iban.Company, Username: CompanyOwner}
	fb, err := requests.Send(ctx, open)
	if err != nil {
		return fmt.Errorf("open company account: %w", err)
	}
	if f, ok := fb.(*schemas.CommandFailed); ok && f.Reason != domain.ReasonIBANExists {
		return fmt.Errorf("open company account: %s", f.Reason)
	}
	cash := &schemas.MoneyTransferCommand{ID: fixedID("company-initial-deposit"), Amount: deposit, From: domain.Cash,
		To: iban.Company, Description: "initial deposit", Username: CompanyOwner}
	fb, err = requests.Send(ctx, cash)
	if err != nil {
		return fmt.Errorf("initial deposit: %w", err)
	}
	if f, ok := fb.(*schemas.CommandFailed); ok {
		if f.Reason == domain.ReasonAlreadyStarted {
			// Made before with another amount; it stays as it was.
			log.Info("initial deposit made before with another amount; not repeated")
			return nil
		}
		return fmt.Errorf("initial deposit: %s", f.Reason)
	}
	log.Info("company account open", "iban", iban.Company, "initial_deposit", money.Euro(deposit))
	return nil
}
