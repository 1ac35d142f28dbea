// Code in this file follows the .avsc files one to one; a test checks each
// type against its schema by a round trip through the Avro codec.

package schemas

// Commands.

// AddUserToBankAccountCommand: An owner (username, token) adds user_to_add to the account.
type AddUserToBankAccountCommand struct {
	ID        ID     `avro:"id"`
	IBAN      string `avro:"iban"`
	Username  string `avro:"username"`
	Token     string `avro:"token"`
	UserToAdd string `avro:"user_to_add"`
}

// CreateAlertRuleCommand: An owner (username, token) of iban sets an alert rule; id is the rule's id.
type CreateAlertRuleCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
	Token    string `avro:"token"`
	Kind     string `avro:"kind"`
	Amount   int64  `avro:"amount"`
	Word     string `avro:"word"`
	Webhook  string `avro:"webhook"`
}

// DeleteAlertRuleCommand: An owner (username, token) of iban ends the alert rule id.
type DeleteAlertRuleCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
	Token    string `avro:"token"`
}

// CreateBankAccountCommand: Asks to open a bank account with the given IBAN for an existing user.
type CreateBankAccountCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
}

// CreateUserAccountCommand: Asks to create a user; the password arrives already hashed.
type CreateUserAccountCommand struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
	Password string `avro:"password"`
}

// CreditMoneyCommand: Saga step: put money on an account of this bank; id is the transfer id.
type CreditMoneyCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Amount   int64  `avro:"amount"`
	Deposit  bool   `avro:"deposit"`
	Teller   bool   `avro:"teller"`
	Username string `avro:"username"`
	Token    string `avro:"token"`
}

// DebitMoneyCommand: Saga step: take money from an account of this bank; id is the transfer id.
type DebitMoneyCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Amount   int64  `avro:"amount"`
	Token    string `avro:"token"`
	Username string `avro:"username"`
}

// MarkTransferCompletedCommand: Saga step: the transfer succeeded.
type MarkTransferCompletedCommand struct {
	ID ID `avro:"id"`
}

// MarkTransferFailedCommand: Saga step: the transfer failed for reason.
type MarkTransferFailedCommand struct {
	ID     ID     `avro:"id"`
	Reason string `avro:"reason"`
}

// MoneyTransferCommand: Starts a transfer saga; id is the transfer id chosen by the client, so a retry is safe.
type MoneyTransferCommand struct {
	ID          ID     `avro:"id"`
	Token       string `avro:"token"`
	Amount      int64  `avro:"amount"`
	From        string `avro:"from"`
	To          string `avro:"to"`
	Description string `avro:"description"`
	Username    string `avro:"username"`
	Teller      bool   `avro:"teller"`
}

// RemoveUserFromBankAccountCommand: An owner (username, token) leaves the account.
type RemoveUserFromBankAccountCommand struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
	Token    string `avro:"token"`
}

// ReturnMoneyCommand: Saga step: give debited money back after a failed credit; id is the transfer id.
type ReturnMoneyCommand struct {
	ID     ID     `avro:"id"`
	IBAN   string `avro:"iban"`
	Amount int64  `avro:"amount"`
	Reason string `avro:"reason"`
}

// Events.

// AlertTriggeredEvent: A transaction set off the alert rule rule_id of iban; username set the rule and is alerted.
type AlertTriggeredEvent struct {
	ID            ID     `avro:"id"`
	RuleID        ID     `avro:"rule_id"`
	IBAN          string `avro:"iban"`
	Username      string `avro:"username"`
	TransactionID int64  `avro:"transaction_id"`
	Message       string `avro:"message"`
	Webhook       string `avro:"webhook"`
}

// AlertRuleCreatedEvent: username set the alert rule id on iban.
type AlertRuleCreatedEvent struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
	Kind     string `avro:"kind"`
	Amount   int64  `avro:"amount"`
	Word     string `avro:"word"`
	Webhook  string `avro:"webhook"`
}

// AlertRuleDeletedEvent: username ended the alert rule id of iban.
type AlertRuleDeletedEvent struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Username string `avro:"username"`
}

// BankAccountCreatedEvent: An account exists, owned by username with token.
type BankAccountCreatedEvent struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	Token    string `avro:"token"`
	Username string `avro:"username"`
}

// MoneyCreditedEvent: Money arrived on an account; id is the transfer id.
type MoneyCreditedEvent struct {
	ID          ID     `avro:"id"`
	IBAN        string `avro:"iban"`
	Amount      int64  `avro:"amount"`
	DepositedAt int64  `avro:"deposited_at"`
}

// MoneyDebitedEvent: Money left an account; id is the transfer id.
type MoneyDebitedEvent struct {
	ID     ID     `avro:"id"`
	IBAN   string `avro:"iban"`
	Amount int64  `avro:"amount"`
}

// MoneyReturnedEvent: Debited money came back after a failed credit; id is the transfer id.
type MoneyReturnedEvent struct {
	ID     ID     `avro:"id"`
	IBAN   string `avro:"iban"`
	Amount int64  `avro:"amount"`
	Reason string `avro:"reason"`
}

// TransferCompletedEvent: A transfer saga ended well.
type TransferCompletedEvent struct {
	ID ID `avro:"id"`
}

// TransferFailedEvent: A transfer saga ended in failure.
type TransferFailedEvent struct {
	ID     ID     `avro:"id"`
	Reason string `avro:"reason"`
	Code   string `avro:"code"`
}

// TransferStartedEvent: A transfer saga began.
type TransferStartedEvent struct {
	ID          ID     `avro:"id"`
	Token       string `avro:"token"`
	Amount      int64  `avro:"amount"`
	From        string `avro:"from"`
	To          string `avro:"to"`
	Description string `avro:"description"`
	Username    string `avro:"username"`
	Teller      bool   `avro:"teller"`
}

// UserAccountCreatedEvent: A user exists; password is the hash.
type UserAccountCreatedEvent struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
	Password string `avro:"password"`
}

// UserAddedToBankAccountEvent: username became an owner of iban, with its own token.
type UserAddedToBankAccountEvent struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
	IBAN     string `avro:"iban"`
	Token    string `avro:"token"`
}

// UserRemovedFromBankAccountEvent: username is no longer an owner of iban.
type UserRemovedFromBankAccountEvent struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
	IBAN     string `avro:"iban"`
}

// Feedback.

// CommandFailed: The command with this id was refused for reason.
type CommandFailed struct {
	ID          ID     `avro:"id"`
	CommandName string `avro:"command_name"`
	Reason      string `avro:"reason"`
	Code        string `avro:"code"`
}

// CommandSucceeded: The command with this id was applied; additional_info carries e.g. the new token.
type CommandSucceeded struct {
	ID             ID      `avro:"id"`
	CommandName    string  `avro:"command_name"`
	AdditionalInfo *string `avro:"additional_info"`
}

// QueryFailed: The query with this id could not be answered.
type QueryFailed struct {
	ID        ID     `avro:"id"`
	QueryName string `avro:"query_name"`
	Reason    string `avro:"reason"`
	Code      string `avro:"code"`
}

// QuerySucceeded: The query with this id was answered; query_result is JSON.
type QuerySucceeded struct {
	ID          ID     `avro:"id"`
	QueryName   string `avro:"query_name"`
	QueryResult string `avro:"query_result"`
}

// Queries.

// BankSummaryQuery: How many users, accounts and transactions the bank has, and the money its accounts hold together.
type BankSummaryQuery struct {
	ID ID `avro:"id"`
}

// AllLastTransactionsQuery: The last transaction of every account.
type AllLastTransactionsQuery struct {
	ID ID `avro:"id"`
}

// FindBankAccountQuery: Looks up an account by IBAN.
type FindBankAccountQuery struct {
	ID   ID     `avro:"id"`
	IBAN string `avro:"iban"`
}

// FindBankAccountsForUserQuery: The accounts a user owns.
type FindBankAccountsForUserQuery struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
}

// FindCredentialsQuery: A user's password hash and account tokens, for the gateway to check a login and answer only the user. No other query returns them.
type FindCredentialsQuery struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
}

// FindUserQuery: Looks up a user by name.
type FindUserQuery struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
}

// TransactionByIdQuery: One transaction by its global id.
type TransactionByIdQuery struct {
	ID            ID    `avro:"id"`
	TransactionID int64 `avro:"transaction_id"`
}

// TransactionsByIbanQuery: The newest max_items transactions of an account.
type TransactionsByIbanQuery struct {
	ID       ID     `avro:"id"`
	IBAN     string `avro:"iban"`
	MaxItems int32  `avro:"max_items"`
}

// TransferByIdQuery: A transfer's progress: started, completed or failed (and why).
type TransferByIdQuery struct {
	ID         ID `avro:"id"`
	TransferID ID `avro:"transfer_id"`
}

// AlertRulesQuery: Asks for the alert rules of an account.
type AlertRulesQuery struct {
	ID   ID     `avro:"id"`
	IBAN string `avro:"iban"`
}

// AccountAsOfQuery: An account as it stood after a transaction or at a time (time travel).
type AccountAsOfQuery struct {
	ID                ID     `avro:"id"`
	IBAN              string `avro:"iban"`
	AsOfTransactionID int64  `avro:"as_of_transaction_id"`
	AsOfMillis        int64  `avro:"as_of_millis"`
	MaxItems          int32  `avro:"max_items"`
	FromMillis        int64  `avro:"from_millis"`
}

// AuditLogQuery: Every event in log order, a page at a time, answered by the reports service.
type AuditLogQuery struct {
	ID         ID     `avro:"id"`
	FromMillis int64  `avro:"from_millis"`
	ToMillis   int64  `avro:"to_millis"`
	After      string `avro:"after"`
	First      int32  `avro:"first"`
}

// Derived.

// TransactionHappenedEvent: A credit, debit or return as seen by one account; id is the transfer id, changed_by is signed.
type TransactionHappenedEvent struct {
	ID            ID     `avro:"id"`
	TransactionID int64  `avro:"transaction_id"`
	IBAN          string `avro:"iban"`
	NewBalance    int64  `avro:"new_balance"`
	ChangedBy     int64  `avro:"changed_by"`
	FromTo        string `avro:"from_to"`
	Description   string `avro:"description"`
	AtMillis      int64  `avro:"at_millis"`
	Kind          string `avro:"kind"`
}

// AvroName returns the record's full Avro name, which identifies it on the
// wire and in the registry (never the Go type name).

func (*CreateAlertRuleCommand) AvroName() string { return Namespace + ".CreateAlertRuleCommand" }
func (*DeleteAlertRuleCommand) AvroName() string { return Namespace + ".DeleteAlertRuleCommand" }
func (*AlertRuleCreatedEvent) AvroName() string  { return Namespace + ".AlertRuleCreatedEvent" }
func (*AlertRuleDeletedEvent) AvroName() string  { return Namespace + ".AlertRuleDeletedEvent" }
func (*AlertTriggeredEvent) AvroName() string    { return Namespace + ".AlertTriggeredEvent" }
func (*AlertRulesQuery) AvroName() string        { return Namespace + ".AlertRulesQuery" }

func (*AddUserToBankAccountCommand) AvroName() string {
	return Namespace + ".AddUserToBankAccountCommand"
}
func (*CreateBankAccountCommand) AvroName() string { return Namespace + ".CreateBankAccountCommand" }
func (*CreateUserAccountCommand) AvroName() string { return Namespace + ".CreateUserAccountCommand" }
func (*CreditMoneyCommand) AvroName() string       { return Namespace + ".CreditMoneyCommand" }
func (*DebitMoneyCommand) AvroName() string        { return Namespace + ".DebitMoneyCommand" }
func (*MarkTransferCompletedCommand) AvroName() string {
	return Namespace + ".MarkTransferCompletedCommand"
}
func (*MarkTransferFailedCommand) AvroName() string { return Namespace + ".MarkTransferFailedCommand" }
func (*MoneyTransferCommand) AvroName() string      { return Namespace + ".MoneyTransferCommand" }
func (*RemoveUserFromBankAccountCommand) AvroName() string {
	return Namespace + ".RemoveUserFromBankAccountCommand"
}
func (*ReturnMoneyCommand) AvroName() string      { return Namespace + ".ReturnMoneyCommand" }
func (*BankAccountCreatedEvent) AvroName() string { return Namespace + ".BankAccountCreatedEvent" }
func (*MoneyCreditedEvent) AvroName() string      { return Namespace + ".MoneyCreditedEvent" }
func (*MoneyDebitedEvent) AvroName() string       { return Namespace + ".MoneyDebitedEvent" }
func (*MoneyReturnedEvent) AvroName() string      { return Namespace + ".MoneyReturnedEvent" }
func (*TransferCompletedEvent) AvroName() string  { return Namespace + ".TransferCompletedEvent" }
func (*TransferFailedEvent) AvroName() string     { return Namespace + ".TransferFailedEvent" }
func (*TransferStartedEvent) AvroName() string    { return Namespace + ".TransferStartedEvent" }
func (*UserAccountCreatedEvent) AvroName() string { return Namespace + ".UserAccountCreatedEvent" }
func (*UserAddedToBankAccountEvent) AvroName() string {
	return Namespace + ".UserAddedToBankAccountEvent"
}
func (*UserRemovedFromBankAccountEvent) AvroName() string {
	return Namespace + ".UserRemovedFromBankAccountEvent"
}
func (*CommandFailed) AvroName() string            { return Namespace + ".CommandFailed" }
func (*CommandSucceeded) AvroName() string         { return Namespace + ".CommandSucceeded" }
func (*QueryFailed) AvroName() string              { return Namespace + ".QueryFailed" }
func (*QuerySucceeded) AvroName() string           { return Namespace + ".QuerySucceeded" }
func (*AllLastTransactionsQuery) AvroName() string { return Namespace + ".AllLastTransactionsQuery" }
func (*BankSummaryQuery) AvroName() string         { return Namespace + ".BankSummaryQuery" }
func (*FindBankAccountQuery) AvroName() string     { return Namespace + ".FindBankAccountQuery" }
func (*FindBankAccountsForUserQuery) AvroName() string {
	return Namespace + ".FindBankAccountsForUserQuery"
}
func (*FindUserQuery) AvroName() string            { return Namespace + ".FindUserQuery" }
func (*FindCredentialsQuery) AvroName() string     { return Namespace + ".FindCredentialsQuery" }
func (*TransactionByIdQuery) AvroName() string     { return Namespace + ".TransactionByIdQuery" }
func (*TransactionsByIbanQuery) AvroName() string  { return Namespace + ".TransactionsByIbanQuery" }
func (*TransferByIdQuery) AvroName() string        { return Namespace + ".TransferByIdQuery" }
func (*AccountAsOfQuery) AvroName() string         { return Namespace + ".AccountAsOfQuery" }
func (*TransactionHappenedEvent) AvroName() string { return Namespace + ".TransactionHappenedEvent" }
func (*AuditLogQuery) AvroName() string            { return Namespace + ".AuditLogQuery" }

// Key returns the Kafka key: the id of the aggregate the record belongs to, so
// that all records of one aggregate land on one partition, in order.

func (r *AddUserToBankAccountCommand) Key() string      { return r.IBAN }
func (r *CreateAlertRuleCommand) Key() string           { return r.IBAN }
func (r *DeleteAlertRuleCommand) Key() string           { return r.IBAN }
func (r *AlertRuleCreatedEvent) Key() string            { return r.IBAN }
func (r *AlertRuleDeletedEvent) Key() string            { return r.IBAN }
func (r *AlertTriggeredEvent) Key() string              { return r.IBAN }
func (r *AlertRulesQuery) Key() string                  { return r.IBAN }
func (r *CreateBankAccountCommand) Key() string         { return r.IBAN }
func (r *CreateUserAccountCommand) Key() string         { return r.Username }
func (r *CreditMoneyCommand) Key() string               { return r.IBAN }
func (r *DebitMoneyCommand) Key() string                { return r.IBAN }
func (r *MarkTransferCompletedCommand) Key() string     { return r.ID.String() }
func (r *MarkTransferFailedCommand) Key() string        { return r.ID.String() }
func (r *MoneyTransferCommand) Key() string             { return r.ID.String() }
func (r *RemoveUserFromBankAccountCommand) Key() string { return r.IBAN }
func (r *ReturnMoneyCommand) Key() string               { return r.IBAN }
func (r *BankAccountCreatedEvent) Key() string          { return r.IBAN }
func (r *MoneyCreditedEvent) Key() string               { return r.IBAN }
func (r *MoneyDebitedEvent) Key() string                { return r.IBAN }
func (r *MoneyReturnedEvent) Key() string               { return r.IBAN }
func (r *TransferCompletedEvent) Key() string           { return r.ID.String() }
func (r *TransferFailedEvent) Key() string              { return r.ID.String() }
func (r *TransferStartedEvent) Key() string             { return r.ID.String() }
func (r *UserAccountCreatedEvent) Key() string          { return r.Username }
func (r *UserAddedToBankAccountEvent) Key() string      { return r.IBAN }
func (r *UserRemovedFromBankAccountEvent) Key() string  { return r.IBAN }
func (r *CommandFailed) Key() string                    { return r.ID.String() }
func (r *CommandSucceeded) Key() string                 { return r.ID.String() }
func (r *QueryFailed) Key() string                      { return r.ID.String() }
func (r *QuerySucceeded) Key() string                   { return r.ID.String() }
func (r *AllLastTransactionsQuery) Key() string         { return r.ID.String() }
func (r *BankSummaryQuery) Key() string                 { return r.ID.String() }
func (r *FindBankAccountQuery) Key() string             { return r.IBAN }
func (r *FindBankAccountsForUserQuery) Key() string     { return r.Username }
func (r *FindUserQuery) Key() string                    { return r.Username }
func (r *FindCredentialsQuery) Key() string             { return r.Username }
func (r *TransactionByIdQuery) Key() string             { return r.ID.String() }
func (r *TransactionsByIbanQuery) Key() string          { return r.IBAN }
func (r *TransferByIdQuery) Key() string                { return r.TransferID.String() }
func (r *AccountAsOfQuery) Key() string                 { return r.IBAN }
func (r *TransactionHappenedEvent) Key() string         { return r.IBAN }
func (r *AuditLogQuery) Key() string                    { return r.ID.String() }

// RecordID returns the record's id: the command's, query's or event's own, or
// for saga steps and their events the transfer's.
func (r *AddUserToBankAccountCommand) RecordID() ID      { return r.ID }
func (r *CreateAlertRuleCommand) RecordID() ID           { return r.ID }
func (r *DeleteAlertRuleCommand) RecordID() ID           { return r.ID }
func (r *AlertRuleCreatedEvent) RecordID() ID            { return r.ID }
func (r *AlertRuleDeletedEvent) RecordID() ID            { return r.ID }
func (r *AlertTriggeredEvent) RecordID() ID              { return r.ID }
func (r *AlertRulesQuery) RecordID() ID                  { return r.ID }
func (r *CreateBankAccountCommand) RecordID() ID         { return r.ID }
func (r *CreateUserAccountCommand) RecordID() ID         { return r.ID }
func (r *CreditMoneyCommand) RecordID() ID               { return r.ID }
func (r *DebitMoneyCommand) RecordID() ID                { return r.ID }
func (r *MarkTransferCompletedCommand) RecordID() ID     { return r.ID }
func (r *MarkTransferFailedCommand) RecordID() ID        { return r.ID }
func (r *MoneyTransferCommand) RecordID() ID             { return r.ID }
func (r *RemoveUserFromBankAccountCommand) RecordID() ID { return r.ID }
func (r *ReturnMoneyCommand) RecordID() ID               { return r.ID }
func (r *BankAccountCreatedEvent) RecordID() ID          { return r.ID }
func (r *MoneyCreditedEvent) RecordID() ID               { return r.ID }
func (r *MoneyDebitedEvent) RecordID() ID                { return r.ID }
func (r *MoneyReturnedEvent) RecordID() ID               { return r.ID }
func (r *TransferCompletedEvent) RecordID() ID           { return r.ID }
func (r *TransferFailedEvent) RecordID() ID              { return r.ID }
func (r *TransferStartedEvent) RecordID() ID             { return r.ID }
func (r *UserAccountCreatedEvent) RecordID() ID          { return r.ID }
func (r *UserAddedToBankAccountEvent) RecordID() ID      { return r.ID }
func (r *UserRemovedFromBankAccountEvent) RecordID() ID  { return r.ID }
func (r *CommandFailed) RecordID() ID                    { return r.ID }
func (r *CommandSucceeded) RecordID() ID                 { return r.ID }
func (r *QueryFailed) RecordID() ID                      { return r.ID }
func (r *QuerySucceeded) RecordID() ID                   { return r.ID }
func (r *AllLastTransactionsQuery) RecordID() ID         { return r.ID }
func (r *BankSummaryQuery) RecordID() ID                 { return r.ID }
func (r *FindBankAccountQuery) RecordID() ID             { return r.ID }
func (r *FindBankAccountsForUserQuery) RecordID() ID     { return r.ID }
func (r *FindUserQuery) RecordID() ID                    { return r.ID }
func (r *FindCredentialsQuery) RecordID() ID             { return r.ID }
func (r *TransactionByIdQuery) RecordID() ID             { return r.ID }
func (r *TransactionsByIbanQuery) RecordID() ID          { return r.ID }
func (r *TransferByIdQuery) RecordID() ID                { return r.ID }
func (r *AccountAsOfQuery) RecordID() ID                 { return r.ID }
func (r *TransactionHappenedEvent) RecordID() ID         { return r.ID }
func (r *AuditLogQuery) RecordID() ID                    { return r.ID }

// all lists one value of every record type; the decoder creates records by
// their Avro name from it.
var all = []Record{
	&AddUserToBankAccountCommand{},
	&CreateAlertRuleCommand{},
	&DeleteAlertRuleCommand{},
	&AlertRuleCreatedEvent{},
	&AlertRuleDeletedEvent{},
	&AlertTriggeredEvent{},
	&AlertRulesQuery{},
	&CreateBankAccountCommand{},
	&CreateUserAccountCommand{},
	&CreditMoneyCommand{},
	&DebitMoneyCommand{},
	&MarkTransferCompletedCommand{},
	&MarkTransferFailedCommand{},
	&MoneyTransferCommand{},
	&RemoveUserFromBankAccountCommand{},
	&ReturnMoneyCommand{},
	&BankAccountCreatedEvent{},
	&MoneyCreditedEvent{},
	&MoneyDebitedEvent{},
	&MoneyReturnedEvent{},
	&TransferCompletedEvent{},
	&TransferFailedEvent{},
	&TransferStartedEvent{},
	&UserAccountCreatedEvent{},
	&UserAddedToBankAccountEvent{},
	&UserRemovedFromBankAccountEvent{},
	&CommandFailed{},
	&CommandSucceeded{},
	&QueryFailed{},
	&QuerySucceeded{},
	&AllLastTransactionsQuery{},
	&BankSummaryQuery{},
	&FindBankAccountQuery{},
	&FindBankAccountsForUserQuery{},
	&FindUserQuery{},
	&FindCredentialsQuery{},
	&TransactionByIdQuery{},
	&TransactionsByIbanQuery{},
	&TransferByIdQuery{},
	&AccountAsOfQuery{},
	&TransactionHappenedEvent{},
	&RevokeSessionsCommand{},
	&ChangePasswordCommand{},
	&PasswordChangedEvent{},
	&SessionsRevokedEvent{},
	&AuditLogQuery{},
}

// Sessions and passwords.

// RevokeSessionsCommand: Ends every session of username issued up to revoked_at (log out everywhere).
type RevokeSessionsCommand struct {
	ID        ID     `avro:"id"`
	Username  string `avro:"username"`
	RevokedAt int64  `avro:"revoked_at"`
}

// ChangePasswordCommand: username sets a new password (already hashed); sessions issued up to revoked_at end.
type ChangePasswordCommand struct {
	ID        ID     `avro:"id"`
	Username  string `avro:"username"`
	Password  string `avro:"password"`
	RevokedAt int64  `avro:"revoked_at"`
}

// PasswordChangedEvent: username has a new password; password is the hash.
type PasswordChangedEvent struct {
	ID       ID     `avro:"id"`
	Username string `avro:"username"`
	Password string `avro:"password"`
}

// SessionsRevokedEvent: Every session of username issued at or before revoked_at has ended.
type SessionsRevokedEvent struct {
	ID        ID     `avro:"id"`
	Username  string `avro:"username"`
	RevokedAt int64  `avro:"revoked_at"`
}

func (*RevokeSessionsCommand) AvroName() string { return Namespace + ".RevokeSessionsCommand" }
func (*ChangePasswordCommand) AvroName() string { return Namespace + ".ChangePasswordCommand" }
func (*PasswordChangedEvent) AvroName() string  { return Namespace + ".PasswordChangedEvent" }
func (*SessionsRevokedEvent) AvroName() string  { return Namespace + ".SessionsRevokedEvent" }

func (r *RevokeSessionsCommand) Key() string { return r.Username }
func (r *ChangePasswordCommand) Key() string { return r.Username }
func (r *PasswordChangedEvent) Key() string  { return r.Username }
func (r *SessionsRevokedEvent) Key() string  { return r.Username }

func (r *RevokeSessionsCommand) RecordID() ID { return r.ID }
func (r *ChangePasswordCommand) RecordID() ID { return r.ID }
func (r *PasswordChangedEvent) RecordID() ID  { return r.ID }
func (r *SessionsRevokedEvent) RecordID() ID  { return r.ID }
