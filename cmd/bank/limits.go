package main

import (
	"github.com/openbank/bank/contract"
)

// limitsFlags are the money limits. The command handler decides with them;
// the gateway answers early with them. Give every process the same.
type limitsFlags struct {
	maxTransfer, maxDeposit, maxDepositsPerDay *int
}

func (f *flags) limits() limitsFlags {
	return limitsFlags{
		maxTransfer:       f.int("max-transfer", "MAX_TRANSFER", contract.DefaultMaxTransfer, "largest amount of one transfer, in cents"),
		maxDeposit:        f.int("max-deposit", "MAX_DEPOSIT", contract.DefaultMaxDeposit, "largest cash deposit, in cents"),
		maxDepositsPerDay: f.int("max-deposits-per-day", "MAX_DEPOSITS_PER_DAY", contract.DefaultMaxDepositsPerDay, "most cash deposited on one account in one UTC day, in cents"),
	}
}

// get returns the limits, checked.
func (l limitsFlags) get() (contract.AmountLimits, error) {
	out := contract.AmountLimits{MaxTransfer: int64(*l.maxTransfer), MaxDeposit: int64(*l.maxDeposit), MaxDepositsPerDay: int64(*l.maxDepositsPerDay)}
	return out, out.Validate()
}
