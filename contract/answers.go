package contract

import (
	"encoding/json"
	"time"
)

// The answers of the projector's queries, as JSON in QuerySucceeded: the
// projector builds them, the gateway reads them. They carry no secret but
// in Credentials, which only FindCredentialsQuery answers.

// Transaction is one change of one account's balance.
type Transaction struct {
	ID          int64     `json:"id"`
	IBAN        string    `json:"iban"`
	NewBalance  int64     `json:"new_balance"`
	ChangedBy   int64     `json:"changed_by"` // negative for money leaving
	FromTo      string    `json:"from_to"`    // the counterparty: an IBAN or "cash"
	Description string    `json:"description"`
	TransferID  string    `json:"transfer_id"`
	Kind        string    `json:"kind"` // KindTransfer, KindDeposit or KindReturn
	At          time.Time `json:"at"`   // when the event was written
}

// The kinds of transactions.
const (
	// KindTransfer is money moved by a transfer, in or out.
	KindTransfer = "transfer"
	// KindDeposit is cash deposited.
	KindDeposit = "deposit"
	// KindReturn is a debit given back: the transfer's credit failed.
	KindReturn = "return"
)

// Account is an account as queries show it: no tokens.
type Account struct {
	IBAN    string   `json:"iban"`
	Balance int64    `json:"balance"`
	Users   []string `json:"users"`
}

// User is a user as queries show it: no password hash.
type User struct {
	Username string   `json:"username"`
	Accounts []string `json:"accounts"`
}

// Credentials are what a log-in checks and what only their user may see:
// kept apart from User and Account so no other answer can carry them.
type Credentials struct {
	Username     string `json:"username"`
	PasswordHash string `json:"password_hash"`
	// Accounts are the user's accounts, in the order they got them.
	Accounts []AccountToken `json:"accounts"`
}

// AccountToken is a user's token for one account.
type AccountToken struct {
	IBAN  string `json:"iban"`
	Token string `json:"token"`
}

// Transfer is a transfer's progress.
type Transfer struct {
	ID          string `json:"id"`
	From        string `json:"from"`
	To          string `json:"to"`
	Amount      int64  `json:"amount"`
	Description string `json:"description"`
	Status      string `json:"status"` // started, completed or failed
	Reason      string `json:"reason,omitempty"`
	ReasonCode  Code   `json:"reason_code,omitempty"`
}

// AccountAsOf answers AccountAsOfQuery: an account as it stood then.
type AccountAsOf struct {
	IBAN string `json:"iban"`
	// AsOfTransactionID is the newest transaction of the whole bank the
	// answer includes.
	AsOfTransactionID int64         `json:"as_of_transaction_id"`
	Balance           int64         `json:"balance"`
	Owners            []string      `json:"owners"`
	Transactions      []Transaction `json:"transactions"`
}

// BankSummary answers BankSummaryQuery: the bank in four figures.
type BankSummary struct {
	Users        int64 `json:"users"`
	Accounts     int64 `json:"accounts"`
	Transactions int64 `json:"transactions"`
	// Balances is what the accounts hold together, in cents: the cash
	// deposited less what left the bank.
	Balances int64 `json:"balances"`
}

// MaxHistoryPage bounds a page of an account's history.
const MaxHistoryPage = 100

// MaxAuditPage bounds a page of the audit log.
const MaxAuditPage = 500

// AuditPage answers AuditLogQuery: a page of the audit log, in log order.
type AuditPage struct {
	Events []AuditEvent `json:"events"`
	// Next is the cursor to ask the following page with; HasMore tells
	// whether the store held more when asked.
	Next    string `json:"next"`
	HasMore bool   `json:"has_more"`
}

// AuditEvent is one event of the audit log.
type AuditEvent struct {
	// Cursor is the event's position in the log order, the same after a
	// rebuild of the store.
	Cursor    string          `json:"cursor"`
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	At        time.Time       `json:"at"`
	Type      string          `json:"type"`
	Aggregate string          `json:"aggregate"`
	Actor     *string         `json:"actor"`
	Body      json.RawMessage `json:"body"` // the event without secrets
	Note      *string         `json:"note,omitempty"`
	// Transaction is the balance change a credit, debit or return made.
	Transaction *AuditTransaction `json:"transaction,omitempty"`
}

// AuditTransaction is what a money event did to its account.
type AuditTransaction struct {
	ID      int64  `json:"id"`
	IBAN    string `json:"iban"`
	Change  int64  `json:"change"`
	Balance int64  `json:"balance"` // after it; before it, Balance - Change
}
