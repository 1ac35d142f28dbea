package domain

import (
	"crypto/sha1"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// CompanyOwner owns the company account.
const CompanyOwner = "openbank"

// FixedID derives a command id from a name, so every instance and every
// start sends the same command, and the handler's idempotence makes it
// happen once.
func FixedID(name string) schemas.ID {
	sum := sha1.Sum([]byte("openbank:" + name))
	var id schemas.ID
	copy(id[:], sum[:16])
	id[6] = (id[6] & 0x0f) | 0x50 // a name-based (version 5) UUID
	id[8] = (id[8] & 0x3f) | 0x80
	return id
}

// CompanyOwnerID is the id of the command creating the company account's
// owner at bootstrap: the only command that may create that user, so no one
// can sign up under its name and take the company account's money.
var CompanyOwnerID = FixedID("company-owner")

// NoPassword is the password hash of a user who cannot log in: no bcrypt
// hash is this short.
const NoPassword = "!"

// GenesisID is the transfer id of the company account's initial cash
// deposit, made once at bootstrap. It is the one transfer exempt from the
// amount and deposit limits: it brings the bank's own capital in.
var GenesisID = FixedID("company-initial-deposit")

// isGenesis reports whether c is the company account's initial deposit.
func isGenesis(c *schemas.MoneyTransferCommand) bool {
	return c.ID == GenesisID && c.From == Cash && c.To == iban.Company
}
