package contract

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/openbank/bank/money"
)

// Amount limits, in euro cents. The defaults are what the services use
// unless configured otherwise (--max-transfer, --max-deposit,
// --max-deposits-per-day).
const (
	// MinAmount is the smallest amount a transfer may move.
	MinAmount = 1
	// DefaultMaxTransfer bounds one transfer: €1,000,000.00.
	DefaultMaxTransfer = 100_000_000
	// DefaultMaxDeposit bounds one cash deposit: €10,000.00.
	DefaultMaxDeposit = 1_000_000
	// DefaultMaxDepositsPerDay bounds the cash deposited on one account in
	// one UTC day: €25,000.00.
	DefaultMaxDepositsPerDay = 2_500_000
)

// OverdraftLimit is how far below zero an account may go, in cents
// (−€500,00): a debit that would take the balance to it or below is
// refused.
const OverdraftLimit = -50_000

// Cash is the "from" of a deposit, in MoneyTransferCommand: money entering
// the bank.
const Cash = "cash"

// MaxItems bounds the transactions one query answers.
const MaxItems = 1000

// Length limits of what clients send.
const (
	// MaxDescription is a bank statement line, in characters.
	MaxDescription = 140
	// MaxUsername is in characters.
	MaxUsername = 64
	// MaxPassword is in bytes: bcrypt reads no more.
	MaxPassword = 72
	// MaxPasswordHash bounds the stored hash (bcrypt's is 60 bytes).
	MaxPasswordHash = 128
	// MaxToken bounds an account token as sent (ours have 20 digits).
	MaxToken = 64
	// MaxIBAN bounds an IBAN as sent (ISO 13616: at most 34 characters).
	MaxIBAN = 34
)

// AmountLimits are the money limits one deployment applies.
type AmountLimits struct {
	MaxTransfer       int64 // per transfer
	MaxDeposit        int64 // per cash deposit
	MaxDepositsPerDay int64 // cash per account per UTC day
}

// DefaultAmountLimits are the documented defaults.
func DefaultAmountLimits() AmountLimits {
	return AmountLimits{MaxTransfer: DefaultMaxTransfer, MaxDeposit: DefaultMaxDeposit, MaxDepositsPerDay: DefaultMaxDepositsPerDay}
}

// Validate checks that the limits make sense together.
func (l AmountLimits) Validate() error {
	switch {
	case l.MaxTransfer < MinAmount:
		return fmt.Errorf("max transfer %d cents: want at least %d", l.MaxTransfer, MinAmount)
	case l.MaxDeposit < MinAmount || l.MaxDeposit > l.MaxTransfer:
		return fmt.Errorf("max deposit %d cents: want %d to the max transfer (%d)", l.MaxDeposit, MinAmount, l.MaxTransfer)
	case l.MaxDepositsPerDay < l.MaxDeposit:
		return fmt.Errorf("max deposits per day %d cents: want at least the max deposit (%d)", l.MaxDepositsPerDay, l.MaxDeposit)
	}
	return nil
}

// CheckAmount returns why amount may not be transferred (a zero Reason
// when it may).
func (l AmountLimits) CheckAmount(amount int64) Reason {
	switch {
	case amount < MinAmount:
		return AmountNotPositive
	case amount > l.MaxTransfer:
		return AmountTooLargeReason(l.MaxTransfer)
	}
	return Reason{}
}

// Reasons about amounts and lengths.
const (
	ReasonAmountNotPositive = "amount should be positive"
	ReasonDescriptionLength = "description must be at most 140 characters of text"
)

// AmountTooLarge is the reason a transfer above the limit is refused.
func AmountTooLarge(limit int64) string {
	return "amount may be at most " + money.Euro(limit) + " per transfer"
}

// CheckDescription returns why a transfer description is refused (a zero
// Reason when it is not). Control characters are refused too: a
// description is one line of a statement.
func CheckDescription(s string) Reason {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDescription {
		return DescriptionSize
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return DescriptionSize
		}
	}
	return Reason{}
}
