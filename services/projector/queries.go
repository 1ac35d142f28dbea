package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
)

// MaxItems bounds how many transactions one query returns.
const MaxItems = 1000

// Query failure reasons.
const (
	ReasonUserNotFound        = "user not found"
	ReasonAccountNotFound     = "account not found"
	ReasonTransactionNotFound = "transaction not found"
	ReasonMaxItems            = "max_items must be between 1 and 1000"
	ReasonTransferNotFound    = "transfer not found"
)

// AccountAsOf answers AccountAsOfQuery: an account as it stood then.
type AccountAsOf struct {
	IBAN string `json:"iban"`
	// AsOfTransactionID is the newest transaction of the whole bank the
	// answer includes.
	AsOfTransactionID int64                    `json:"as_of_transaction_id"`
	Balance           int64                    `json:"balance"`
	Transactions      []projection.Transaction `json:"transactions"`
}

// query answers rec from the read model once it holds every event written
// before the query arrived: a JSON result, or the reason it has none. A
// model too far behind says so rather than answer from old data.
func (p *projector) query(ctx context.Context, rec schemas.Record) (result, reason string) {
	ends, err := p.events.Ends()
	if err != nil {
		return "", "the read model cannot tell how far the events go: " + err.Error()
	}
	wait, cancel := context.WithTimeout(ctx, p.cfg.CatchUpWait)
	defer cancel()
	if err := p.events.WaitCaughtUp(wait, ends); err != nil {
		return "", fmt.Sprintf("the read model is %d events behind; try again shortly", p.events.Behind(ends))
	}
	var answer any
	p.store.read(func(m *projection.Model) { answer, reason = Answer(m, rec) })
	if reason != "" {
		return "", reason
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return "", "encode answer: " + err.Error()
	}
	return string(b), ""
}

// Answer answers one query from the model: the value to send as JSON, or
// the reason there is none.
func Answer(m *projection.Model, rec schemas.Record) (any, string) {
	switch q := rec.(type) {
	case *schemas.FindUserQuery:
		if u, ok := m.User(q.Username); ok {
			return u, ""
		}
		return nil, ReasonUserNotFound
	case *schemas.FindCredentialsQuery:
		if c, ok := m.Credentials(q.Username); ok {
			return c, ""
		}
		return nil, ReasonUserNotFound
	case *schemas.FindBankAccountQuery:
		if a, ok := m.Account(q.IBAN); ok {
			return a, ""
		}
		return nil, ReasonAccountNotFound
	case *schemas.FindBankAccountsForUserQuery:
		if _, ok := m.User(q.Username); !ok {
			return nil, ReasonUserNotFound
		}
		return m.AccountsOf(q.Username), ""
	case *schemas.AllLastTransactionsQuery:
		return m.LastTransactions(), ""
	case *schemas.TransactionByIdQuery:
		if tx, ok := m.TransactionByID(q.TransactionID); ok {
			return tx, ""
		}
		return nil, ReasonTransactionNotFound
	case *schemas.TransactionsByIbanQuery:
		if q.MaxItems < 1 || q.MaxItems > MaxItems {
			return nil, ReasonMaxItems
		}
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, ReasonAccountNotFound
		}
		return m.TransactionsByIBAN(q.IBAN, int(q.MaxItems)), ""
	case *schemas.AlertRulesQuery:
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, ReasonAccountNotFound
		}
		return m.AlertRules(q.IBAN), ""
	case *schemas.TransferByIdQuery:
		if tr, ok := m.Transfer(q.TransferID); ok {
			return tr, ""
		}
		return nil, ReasonTransferNotFound
	case *schemas.AccountAsOfQuery:
		if q.MaxItems < 1 || q.MaxItems > MaxItems {
			return nil, ReasonMaxItems
		}
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, ReasonAccountNotFound
		}
		asOf := m.Transactions()
		if q.AsOfTransactionID > 0 {
			asOf = min(asOf, q.AsOfTransactionID)
		}
		var balance int64
		var history []projection.Transaction
		if q.AsOfMillis > 0 && q.AsOfTransactionID <= 0 {
			balance, history = m.AsOfTime(q.IBAN, time.UnixMilli(q.AsOfMillis), int(q.MaxItems))
			asOf = m.TransactionsUntil(time.UnixMilli(q.AsOfMillis))
		} else {
			balance, history = m.AsOf(q.IBAN, asOf, int(q.MaxItems))
		}
		if history == nil {
			history = []projection.Transaction{}
		}
		return AccountAsOf{IBAN: q.IBAN, AsOfTransactionID: asOf, Balance: balance, Transactions: history}, ""
	}
	return nil, fmt.Sprintf("%s is not a query the projector answers", rec.AvroName())
}
