package contract

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openbank/bank/money"
)

// Code is a failure's stable code: what programs match on (the gateway, the
// web client, scripts). The sentence beside it is for people and may be
// reworded; a code is never renamed or reused.
type Code string

// Reason is a failure that crosses a process boundary: a stable code and a
// sentence for people. It travels in CommandFailed and QueryFailed (code,
// reason), in TransferFailedEvent, and in the GraphQL answers (reason_code
// beside reason, extensions.code on errors).
type Reason struct {
	Code Code   `json:"code"`
	Text string `json:"reason"`
}

func (r Reason) Error() string { return r.Text }

// Failed reports whether r is a failure: the zero Reason is none.
func (r Reason) Failed() bool { return r.Code != "" }

// Is reports whether err is (or wraps) a Reason of this code: reasons are
// compared by code, never by sentence.
func (r Reason) Is(err error) bool {
	other, ok := err.(Reason)
	return ok && other.Code == r.Code
}

// known holds every code with its fixed sentence ("" for one made per
// failure, such as an amount limit that names the limit).
var known = map[Code]string{}

// fixed defines a code with its one sentence.
func fixed(code Code, text string) Reason {
	define(code, text)
	return Reason{code, text}
}

// define registers a code; a code defined twice is a programming error.
func define(code Code, text string) Code {
	if _, dup := known[code]; dup {
		panic("contract: code " + string(code) + " defined twice")
	}
	known[code] = text
	return code
}

// Codes lists every code, sorted: the GraphQL enum ReasonCode and the web
// client's messages are made from it and checked against it.
func Codes() []Code {
	out := make([]Code, 0, len(known))
	for c := range known {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// FixedText returns a code's fixed sentence ("" for a code whose sentence
// is made per failure).
func FixedText(c Code) string { return known[c] }

// Sentence describes a code for documentation: its fixed sentence, or how
// its made sentences begin ("" when they have no common beginning).
func Sentence(c Code) string {
	if text := known[c]; text != "" {
		return text
	}
	for prefix, code := range madePrefixes {
		if code == c {
			return prefix + " …"
		}
	}
	return about[c]
}

// about describes the codes whose made sentences share no beginning.
var about = map[Code]string{}

// madeAbout defines a code whose sentences are made per failure with no
// common beginning; what describes it is for documentation.
func madeAbout(code Code, what string) Code {
	about[code] = what
	return made(code, "")
}

// Known reports whether c is a defined code.
func Known(c Code) bool { _, ok := known[c]; return ok }

// ReasonOf turns a code and sentence read off the wire into a Reason. A
// record written before codes existed has none: its sentence finds its
// code among the fixed ones, and the prefix of a made one finds its own;
// else it is UNKNOWN_REASON.
func ReasonOf(code, text string) Reason {
	if code != "" {
		return Reason{Code(code), text}
	}
	for c, t := range known {
		if t != "" && t == text {
			return Reason{c, text}
		}
	}
	for prefix, c := range madePrefixes {
		if strings.HasPrefix(text, prefix) {
			return Reason{c, text}
		}
	}
	return Reason{UnknownReason, text}
}

// madePrefixes are the beginnings of the sentences made per failure.
var madePrefixes = map[string]Code{}

// made defines a code whose sentence is made per failure; prefix (if any)
// is how such a sentence begins.
func made(code Code, prefix string) Code {
	define(code, "")
	if prefix != "" {
		madePrefixes[prefix] = code
	}
	return code
}

// UnknownReason is the code of a reason from a record that carries none
// and whose sentence is not one of ours.
var UnknownReason = madeAbout("UNKNOWN_REASON", "a failure from a record that carries no code and whose sentence is not one of ours")

// Users and accounts.
var (
	UserExists        = fixed("USER_EXISTS", "user already exists")
	UsernameInvalid   = fixed("USERNAME_INVALID", ReasonUsername)
	PasswordEmpty     = fixed("PASSWORD_EMPTY", "password can't be empty")
	PasswordHashSize  = fixed("PASSWORD_HASH_INVALID", "password hash must be 1 to 128 bytes")
	IBANInvalidOpen   = fixed("IBAN_INVALID", "invalid open iban")
	IBANExists        = fixed("IBAN_EXISTS", "iban already exist")
	AccountUnknown    = fixed("ACCOUNT_UNKNOWN", "account does not exist")
	AlreadyOwner      = fixed("ALREADY_OWNER", "user is already an owner of the account")
	UserUnknown       = fixed("USER_UNKNOWN", "user does not exist")
	LastOwnerBalance  = fixed("LAST_OWNER_BALANCE", "the last owner can't leave an account whose balance is not zero")
	RuleExists        = fixed("RULE_EXISTS", "alert rule already exists")
	RuleUnknown       = fixed("RULE_UNKNOWN", "alert rule does not exist")
	TooManyRules      = fixed("TOO_MANY_RULES", "an account has at most 20 alert rules")
	NotAuthorized     = fixed("NOT_AUTHORIZED", "username or token is not valid for this account")
	RuleInvalidCode   = madeAbout("RULE_INVALID", "the alert rule is not valid; the sentence says why")
	WebhookNotPublic  = made("WEBHOOK_NOT_PUBLIC", "webhooks go to public addresses only")
	RuleIDInvalid     = fixed("RULE_ID_INVALID", "id is not an alert rule's id")
	NotYourAccount    = fixed("NOT_YOUR_ACCOUNT", "not your account")
	NotLoggedIn       = fixed("NOT_LOGGED_IN", "not logged in: log_in answers a session; send it as the header 'Authorization: Bearer <session>'")
	EmployeesOnly     = fixed("EMPLOYEES_ONLY", "employees only: log in with employee_login and send its session as 'Authorization: Bearer <session>'")
	StreamNeedsAnIBAN = fixed("STREAM_NEEDS_IBAN", "every account's transactions are for employees only: give the iban of an account of yours")
)

// Transfers.
var (
	TransferStarted   = fixed("TRANSFER_ALREADY_STARTED", "transfer was already started")
	SameFromTo        = fixed("SAME_FROM_TO", "from and to can't be same for transfer")
	FromInvalid       = fixed("FROM_INVALID", "from is invalid")
	ToInvalid         = fixed("TO_INVALID", "to is invalid")
	CashToOutside     = fixed("CASH_TO_OUTSIDE", "cash can only be deposited on an account of this bank")
	AmountNotPositive = fixed("AMOUNT_NOT_POSITIVE", ReasonAmountNotPositive)
	DescriptionSize   = fixed("DESCRIPTION_INVALID", ReasonDescriptionLength)
	TransferUnknown   = fixed("TRANSFER_UNKNOWN", "transfer does not exist")
	FieldTooLong      = fixed("FIELD_TOO_LONG", "username, token, from or to is too long")
	CashNeedsOwner    = fixed("CASH_NEEDS_OWNER", "cash can be deposited only by an owner of the account (username and token) or by an employee")
	BalanceTooLarge   = fixed("BALANCE_TOO_LARGE", "the balance would exceed what an account can hold")
	TransferEnded     = fixed("TRANSFER_ENDED", "the transfer has already ended")
	NothingToReturn   = fixed("NOTHING_TO_RETURN", "the money of this transfer arrived; there is nothing to return")
	MoneyReturned     = fixed("MONEY_RETURNED", "the credit failed and the money was returned")
	UUIDInvalid       = fixed("UUID_INVALID", "uuid is not a valid UUID")

	amountTooLarge    = made("AMOUNT_TOO_LARGE", "amount may be at most")
	depositTooLarge   = made("DEPOSIT_TOO_LARGE", "a cash deposit may be at most")
	dailyDepositLimit = made("DAILY_DEPOSIT_LIMIT", "cash deposits on an account may total at most")
	insufficientFunds = made("INSUFFICIENT_FUNDS", "insufficient funds")
	transferState     = madeAbout("TRANSFER_STATE", "the transfer is not at a step where it can be ended so")
	markedFailed      = madeAbout("MARKED_FAILED", "an operator ended the transfer as failed; the sentence is theirs")
	noAnswer          = made("NO_ANSWER", "no answer to")
	noOutcome         = made("NO_OUTCOME", "no outcome within")
	kafkaUnavailable  = made("KAFKA_UNAVAILABLE", "kafka unavailable")
	tooManyDeposits   = made("TOO_MANY_DEPOSITS", "too many cash deposits from this address")
)

// AmountTooLargeReason is a transfer above the limit.
func AmountTooLargeReason(limit int64) Reason { return Reason{amountTooLarge, AmountTooLarge(limit)} }

// DepositTooLarge is a cash deposit above the limit.
func DepositTooLarge(limit int64) Reason {
	return Reason{depositTooLarge, "a cash deposit may be at most " + money.Euro(limit)}
}

// DailyDepositLimit is a cash deposit beyond the account's daily limit.
func DailyDepositLimit(limit int64) Reason {
	return Reason{dailyDepositLimit, "cash deposits on an account may total at most " + money.Euro(limit) + " a day (UTC)"}
}

// InsufficientFunds is a debit that would take the balance to or below the
// limit (a negative amount: the account's overdraft).
func InsufficientFunds(limit int64) Reason {
	return Reason{insufficientFunds, "insufficient funds would be below the limit of " + money.Euro(limit)}
}

// TransferState is a transfer ended by hand that its step does not allow.
func TransferState(text string) Reason { return Reason{transferState, text} }

// MarkedFailed is a transfer ended by hand with its operator's reason.
func MarkedFailed(text string) Reason { return Reason{markedFailed, text} }

// RuleInvalid is an alert rule that cannot be set, and why.
func RuleInvalid(err error) Reason {
	if strings.HasPrefix(err.Error(), "webhooks go to public addresses only") {
		return Reason{WebhookNotPublic, err.Error()}
	}
	return Reason{RuleInvalidCode, err.Error()}
}

// NoAnswer is a request whose answer did not come in time: it may still be
// decided.
func NoAnswer(text string) Reason { return Reason{noAnswer, text} }

// NoOutcome is a transfer whose saga did not end in time: it may still
// happen (the answer says PENDING).
func NoOutcome(text string) Reason { return Reason{noOutcome, text} }

// KafkaUnavailable is a request Kafka could not take.
func KafkaUnavailable(text string) Reason { return Reason{kafkaUnavailable, text} }

// TooManyDeposits is a cash deposit not sent because of the deposits
// before it from the same address.
func TooManyDeposits(wait int) Reason {
	return Reason{tooManyDeposits, fmt.Sprintf("too many cash deposits from this address: not sent now; send the same money_transfer again (same uuid) in %ds", wait)}
}

// Log-in and sessions.
var (
	LoginInvalid            = fixed("LOGIN_INVALID", "invalid username or password")
	EmployeePasswordInvalid = fixed("EMPLOYEE_PASSWORD_INVALID", "invalid password")
	PasswordInvalid         = fixed("PASSWORD_INVALID", "password must be 1 to 72 bytes")
	UsernameTaken           = fixed("USERNAME_TAKEN", "username is taken")
	NoEmployees             = fixed("NO_EMPLOYEES", "no employee credential is configured (--employee-password)")

	tooManyLogins  = made("TOO_MANY_LOGINS", "too many failed log-ins")
	tooManySignUps = made("TOO_MANY_SIGN_UPS", "too many sign-ups from this address")
)

// TooManyLogins is a log-in refused because of the failures before it.
func TooManyLogins(wait int) Reason {
	return Reason{tooManyLogins, fmt.Sprintf("too many failed log-ins: try again in %ds", wait)}
}

// TooManySignUps is a sign-up refused because of those before it from the
// same address.
func TooManySignUps(wait int) Reason {
	return Reason{tooManySignUps, fmt.Sprintf("too many sign-ups from this address: try again in %ds", wait)}
}

// Queries.
var (
	UserNotFound        = fixed("USER_NOT_FOUND", "user not found")
	AccountNotFound     = fixed("ACCOUNT_NOT_FOUND", "account not found")
	TransactionNotFound = fixed("TRANSACTION_NOT_FOUND", "transaction not found")
	MaxItemsInvalid     = fixed("MAX_ITEMS_INVALID", fmt.Sprintf("max_items must be between 1 and %d", MaxItems))
	TransferNotFound    = fixed("TRANSFER_NOT_FOUND", "transfer not found")

	CursorInvalid = fixed("CURSOR_INVALID", "after is not a cursor this query answered")
	AsOfInvalid   = fixed("AS_OF_INVALID", "give exactly one of at_transaction (1 or more) and at_time")

	pageSizeInvalid  = made("PAGE_SIZE_INVALID", "first must be between 1 and")
	timeInvalid      = made("TIME_INVALID", "not a time:")
	modelBehind      = made("MODEL_BEHIND", "the read model is")
	modelUnavailable = made("MODEL_UNAVAILABLE", "the read model cannot")
	queryUnknown     = madeAbout("QUERY_UNKNOWN", "the service does not answer this query")
)

// PageSizeInvalid is a page size outside 1 to limit.
func PageSizeInvalid(limit int) Reason {
	return Reason{pageSizeInvalid, fmt.Sprintf("first must be between 1 and %d", limit)}
}

// TimeInvalid is an argument that is not an RFC 3339 time after 1970.
func TimeInvalid(arg, value string) Reason {
	return Reason{timeInvalid, fmt.Sprintf("not a time: %s %q; give an RFC 3339 time after 1970, e.g. 2026-11-27T12:00:00Z", arg, value)}
}

// ModelBehind is a query the read model is too far behind to answer.
func ModelBehind(events int64) Reason {
	return Reason{modelBehind, fmt.Sprintf("the read model is %d events behind; try again shortly", events)}
}

// ModelUnavailable is a query the read model cannot answer for now.
func ModelUnavailable(err error) Reason {
	return Reason{modelUnavailable, "the read model cannot answer now: " + err.Error()}
}

// QueryUnknown is a query record a service does not answer.
func QueryUnknown(record string) Reason {
	return Reason{queryUnknown, record + " is not a query this service answers"}
}

// Requests the gateway refuses for their shape or its limits, before any
// resolver runs (GraphQL errors with extensions.code).
var (
	SubscriptionNeedsWebsocket = fixed("SUBSCRIPTION_NEEDS_WEBSOCKET", "subscriptions are served over websockets only (graphql-transport-ws or graphql-ws at /graphql)")

	queryTooDeep         = made("QUERY_TOO_DEEP", "query is nested more than")
	oneLogInPerRequest   = made("ONE_LOG_IN_PER_REQUEST", "at most one log_in, sign_up, get_account or change_password per request")
	complexityLimit      = made("COMPLEXITY_LIMIT_EXCEEDED", "operation selects more than")
	tooManyAliases       = madeAbout("TOO_MANY_ALIASES", "the operation uses more aliases than the gateway allows")
	responseTooLarge     = made("RESPONSE_TOO_LARGE", "the answer would be larger than")
	tooManySubscriptions = madeAbout("TOO_MANY_SUBSCRIPTIONS", "the connection, the client's address or the gateway has as many subscriptions as it may")
	subscriberTooSlow    = made("SUBSCRIBER_TOO_SLOW", "subscriber too slow")
)

// QueryTooDeep is an operation nested deeper than the limit.
func QueryTooDeep(limit int) Reason {
	return Reason{queryTooDeep, fmt.Sprintf("query is nested more than %d levels deep", limit)}
}

// OneLogInPerRequest is a request with several password checks in it.
func OneLogInPerRequest(n int) Reason {
	return Reason{oneLogInPerRequest, fmt.Sprintf("at most one log_in, sign_up, get_account or change_password per request (this one has %d)", n)}
}

// ComplexityLimit is an operation selecting more fields than the limit.
func ComplexityLimit(limit int) Reason {
	return Reason{complexityLimit, fmt.Sprintf("operation selects more than %d fields (fragments counted each time they are spread), which exceeds the complexity limit", limit)}
}

// TooManyAliases is an operation with more aliases than the limit.
func TooManyAliases(n int64, limit int) Reason {
	return Reason{tooManyAliases, fmt.Sprintf("operation uses %d aliases (fragments counted each time they are spread): at most %d", n, limit)}
}

// ResponseTooLarge is an answer larger than the limit.
func ResponseTooLarge(limit int) Reason {
	return Reason{responseTooLarge, fmt.Sprintf("the answer would be larger than %d bytes: ask for fewer items or fields", limit)}
}

// TooManySubscriptions is a subscription over a limit; text says which.
func TooManySubscriptions(text string) Reason { return Reason{tooManySubscriptions, text} }

// SubscriberTooSlow ends a subscription that fell behind by buffer items
// (what names them: transactions, alerts).
func SubscriberTooSlow(buffer int, what string) Reason {
	return Reason{subscriberTooSlow, fmt.Sprintf("subscriber too slow: it fell %d %s behind and was dropped; subscribe again", buffer, what)}
}
