package projector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openbank/bank/contract"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector/projection"
)

// AccountAsOf answers AccountAsOfQuery.
type AccountAsOf = contract.AccountAsOf

// query answers rec from the read model once it holds every event written
// before the query arrived: a JSON result, or the reason it has none. A
// model too far behind says so rather than answer from old data.
func (p *projector) query(ctx context.Context, rec schemas.Record) (result string, failure contract.Reason) {
	ends, err := p.events.Ends()
	if err != nil {
		return "", contract.ModelUnavailable(err)
	}
	wait, cancel := context.WithTimeout(ctx, p.cfg.CatchUpWait)
	defer cancel()
	if err := p.events.WaitCaughtUp(wait, ends); err != nil {
		return "", contract.ModelBehind(p.events.Behind(ends))
	}
	var answer any
	p.store.read(func(m *projection.Model) { answer, failure = Answer(m, rec) })
	if failure != (contract.Reason{}) {
		return "", failure
	}
	b, err := json.Marshal(answer)
	if err != nil {
		return "", contract.ModelUnavailable(fmt.Errorf("encode answer: %w", err))
	}
	return string(b), contract.Reason{}
}

// Answer answers one query from the model: the value to send as JSON, or
// the reason there is none.
// It is one case per query, each short: the list of what the read
// model answers, kept in one place.
func Answer(m *projection.Model, rec schemas.Record) (any, contract.Reason) {
	switch q := rec.(type) {
	case *schemas.FindUserQuery:
		if u, ok := m.User(q.Username); ok {
			return u, contract.Reason{}
		}
		return nil, contract.UserNotFound
	case *schemas.FindCredentialsQuery:
		if c, ok := m.Credentials(q.Username); ok {
			return c, contract.Reason{}
		}
		return nil, contract.UserNotFound
	case *schemas.FindBankAccountQuery:
		if a, ok := m.Account(q.IBAN); ok {
			return a, contract.Reason{}
		}
		return nil, contract.AccountNotFound
	case *schemas.FindBankAccountsForUserQuery:
		if _, ok := m.User(q.Username); !ok {
			return nil, contract.UserNotFound
		}
		return m.AccountsOf(q.Username), contract.Reason{}
	case *schemas.BankSummaryQuery:
		s, ok := m.Summary()
		if !ok {
			return nil, contract.ModelUnavailable(errors.New("the accounts' balances sum past 64 bits"))
		}
		return s, contract.Reason{}
	case *schemas.AllLastTransactionsQuery:
		return m.LastTransactions(), contract.Reason{}
	case *schemas.TransactionByIdQuery:
		if tx, ok := m.TransactionByID(q.TransactionID); ok {
			return tx, contract.Reason{}
		}
		return nil, contract.TransactionNotFound
	case *schemas.TransactionsByIbanQuery:
		if q.MaxItems < 1 || q.MaxItems > contract.MaxItems {
			return nil, contract.MaxItemsInvalid
		}
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, contract.AccountNotFound
		}
		return m.TransactionsByIBAN(q.IBAN, int(q.MaxItems)), contract.Reason{}
	case *schemas.AlertRulesQuery:
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, contract.AccountNotFound
		}
		return m.AlertRules(q.IBAN), contract.Reason{}
	case *schemas.TransferByIdQuery:
		if tr, ok := m.Transfer(q.TransferID); ok {
			return tr, contract.Reason{}
		}
		return nil, contract.TransferNotFound
	case *schemas.AccountAsOfQuery:
		if q.MaxItems < 1 || q.MaxItems > contract.MaxItems {
			return nil, contract.MaxItemsInvalid
		}
		if _, ok := m.Account(q.IBAN); !ok {
			return nil, contract.AccountNotFound
		}
		asOf, at := m.Transactions(), time.Time{}
		if q.AsOfTransactionID > 0 {
			asOf = min(asOf, q.AsOfTransactionID)
		}
		if q.AsOfMillis > 0 {
			at = time.UnixMilli(q.AsOfMillis)
			asOf = min(asOf, m.TransactionsUntil(at))
		}
		var from time.Time
		if q.FromMillis > 0 {
			from = time.UnixMilli(q.FromMillis)
		}
		history := m.History(q.IBAN, asOf, from, int(q.MaxItems))
		balance, _ := m.AsOf(q.IBAN, asOf, 0)
		owners := m.OwnersAsOf(q.IBAN, asOf, at)
		if q.AsOfMillis > 0 && q.AsOfTransactionID <= 0 {
			owners = m.OwnersAsOf(q.IBAN, 0, at)
		}
		if history == nil {
			history = []projection.Transaction{}
		}
		if owners == nil {
			owners = []string{}
		}
		return AccountAsOf{IBAN: q.IBAN, AsOfTransactionID: asOf, Balance: balance, Owners: owners, Transactions: history}, contract.Reason{}
	}
	return nil, contract.QueryUnknown(rec.AvroName())
}
