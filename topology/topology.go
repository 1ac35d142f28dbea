// Package topology describes Open Bank's Kafka topics as data: their names,
// partitions, replication, configs and which Avro records each one carries.
// The synchronizer makes a cluster match it; the codec refuses records that
// do not belong on a topic.
package topology

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openbank/bank/schemas"
)

// Topic names. They are part of the contract with the original system's
// tools, so they keep its spelling.
const (
	UserEvents              = "user_events"
	BankEvents              = "bank_events"
	UserCommands            = "user_commands"
	BankCommands            = "bank_commands"
	TransferCommands        = "transfer_commands"
	UserCommandFeedback     = "user_command_feedback"
	BankCommandFeedback     = "bank_command_feedback"
	TransferCommandFeedback = "transfer_command_feedback"
	UserQueries             = "user_queries"
	BankQueries             = "bank_queries"
	UserQueriesFeedback     = "user_queries_feedback"
	BankQueriesFeedback     = "bank_queries_feedback"
	TransactionEvents       = "transaction_events"
	// SessionEvents holds the revocations of login sessions, which every
	// gateway follows. They are apart from user_events, which carries
	// password hashes that gateways must not read.
	SessionEvents = "session_events"
	// ReportsQueries holds questions to the reports service (the SQL
	// store), apart from bank_queries, which the projector's group reads
	// whole; ReportsQueriesFeedback its answers.
	ReportsQueries         = "reports_queries"
	ReportsQueriesFeedback = "reports_queries_feedback"
	// Alerts holds the alerts the alerts service raised.
	Alerts = "alerts"
	// DeadLetters holds messages a consumer could not handle, as the raw
	// bytes it received, with their origin in the headers.
	DeadLetters = "dead_letters"
)

// StateTopics hold the facts every read of the bank's state is built from:
// the command handler's aggregates, the projector's read model and any
// other consumer that builds what it needs from events. Each has one
// partition, so it has one order.
var StateTopics = []string{UserEvents, BankEvents}

// Topic is one topic as the bank wants it.
type Topic struct {
	Name       string
	Partitions int32
	// Replication is the wanted replication factor; a cluster with fewer
	// brokers gets as many replicas as it has brokers.
	Replication int16
	// Configs are the topic-level configs the bank sets; any other config
	// keeps the broker's default.
	Configs map[string]string
	// Records are the full Avro names of the records the topic carries.
	// Empty means the topic holds raw bytes (the dead-letter topic).
	Records []string
	Doc     string
}

const (
	forever = "-1"
	hour    = "3600000"
	day     = "86400000"
	week    = "604800000"
	month   = "2592000000"
	minute  = "60000"
	// sessionRetention (8 days) outlives the longest session a gateway
	// issues (MaxSessionTTL), so a revocation is read as long as the
	// sessions it ends could be valid.
	sessionRetention = "691200000"
	replicas         = 3
	// maxMessageBytes bounds every message: the largest record we write is
	// a query answer listing transactions, well below this.
	maxMessageBytes = "1048576"
)

func configs(retention string) map[string]string {
	return map[string]string{
		"cleanup.policy":      "delete",
		"retention.ms":        retention,
		"min.insync.replicas": "2",
		"max.message.bytes":   maxMessageBytes,
	}
}

// eventConfigs are the configs of event topics: kept forever, and stamped by
// the broker when appended, so timestamps rise with offsets and a point in
// time maps to a point in the log (the projector's time travel relies on it).
func eventConfigs() map[string]string {
	c := configs(forever)
	c["message.timestamp.type"] = "LogAppendTime"
	return c
}

func names(short ...string) []string {
	out := make([]string, len(short))
	for i, s := range short {
		out[i] = schemas.Namespace + "." + s
	}
	return out
}

var (
	commandFeedback = names("CommandSucceeded", "CommandFailed")
	queryFeedback   = names("QuerySucceeded", "QueryFailed")
)

// Topics is the bank's topology. Retention departs from the original where
// its 60 s would lose data: commands live a day so that a handler outage
// shorter than that loses none, and transaction_events a week so that a
// subscriber service can resume after a restart.
var Topics = []Topic{
	{Name: UserEvents, Partitions: 1, Replication: replicas, Configs: eventConfigs(),
		Records: names("UserAccountCreatedEvent", "PasswordChangedEvent"),
		Doc:     "Facts about users, kept forever; one partition keeps them in one order."},
	{Name: SessionEvents, Partitions: 1, Replication: replicas, Configs: configs(sessionRetention),
		Records: names("SessionsRevokedEvent"),
		Doc:     "Sessions revoked (log out, password changed), kept longer than any session lives; every gateway reads it whole."},
	{Name: BankEvents, Partitions: 1, Replication: replicas, Configs: eventConfigs(),
		Records: names("BankAccountCreatedEvent", "MoneyCreditedEvent", "MoneyDebitedEvent", "MoneyReturnedEvent",
			"TransferStartedEvent", "TransferCompletedEvent", "TransferFailedEvent",
			"UserAddedToBankAccountEvent", "UserRemovedFromBankAccountEvent",
			"AlertRuleCreatedEvent", "AlertRuleDeletedEvent"),
		Doc: "Facts about accounts and transfers, kept forever; one partition gives the projector one global order."},
	{Name: UserCommands, Partitions: 24, Replication: replicas, Configs: configs(day),
		Records: names("CreateUserAccountCommand", "ChangePasswordCommand", "RevokeSessionsCommand"), Doc: "Keyed by username."},
	{Name: BankCommands, Partitions: 24, Replication: replicas, Configs: configs(day),
		Records: names("CreateBankAccountCommand", "MoneyTransferCommand", "MarkTransferCompletedCommand",
			"MarkTransferFailedCommand", "AddUserToBankAccountCommand", "RemoveUserFromBankAccountCommand",
			"CreateAlertRuleCommand", "DeleteAlertRuleCommand"),
		Doc: "Keyed by IBAN, or by transfer id for the transfer commands."},
	{Name: TransferCommands, Partitions: 24, Replication: replicas, Configs: configs(day),
		Records: names("DebitMoneyCommand", "CreditMoneyCommand", "ReturnMoneyCommand"),
		Doc:     "Saga steps, keyed by the IBAN they change."},
	{Name: UserCommandFeedback, Partitions: 24, Replication: replicas, Configs: configs(hour), Records: commandFeedback,
		Doc: "Answers to user_commands, keyed by command id."},
	{Name: BankCommandFeedback, Partitions: 24, Replication: replicas, Configs: configs(hour), Records: commandFeedback,
		Doc: "Answers to bank_commands, keyed by command id."},
	{Name: TransferCommandFeedback, Partitions: 24, Replication: replicas, Configs: configs(hour), Records: commandFeedback,
		Doc: "Answers to transfer_commands, keyed by transfer id."},
	{Name: UserQueries, Partitions: 24, Replication: replicas, Configs: configs(minute),
		Records: names("FindUserQuery", "FindCredentialsQuery"), Doc: "Questions to the projector about users."},
	{Name: BankQueries, Partitions: 24, Replication: replicas, Configs: configs(minute),
		Records: names("AllLastTransactionsQuery", "BankSummaryQuery", "FindBankAccountQuery", "FindBankAccountsForUserQuery",
			"TransactionByIdQuery", "TransactionsByIbanQuery", "TransferByIdQuery", "AccountAsOfQuery", "AlertRulesQuery"),
		Doc: "Questions to the projector about accounts and transactions."},
	{Name: UserQueriesFeedback, Partitions: 24, Replication: replicas, Configs: configs(minute), Records: queryFeedback,
		Doc: "Answers to user_queries, keyed by query id."},
	{Name: BankQueriesFeedback, Partitions: 24, Replication: replicas, Configs: configs(minute), Records: queryFeedback,
		Doc: "Answers to bank_queries, keyed by query id."},
	{Name: ReportsQueries, Partitions: 24, Replication: replicas, Configs: configs(minute),
		Records: names("AuditLogQuery"), Doc: "Questions to the reports service, answered from its SQL store."},
	{Name: ReportsQueriesFeedback, Partitions: 24, Replication: replicas, Configs: configs(minute), Records: queryFeedback,
		Doc: "Answers to reports_queries, keyed by query id."},
	{Name: TransactionEvents, Partitions: 24, Replication: replicas, Configs: configs(week),
		Records: names("TransactionHappenedEvent"), Doc: "Derived by the projector, keyed by IBAN."},
	{Name: Alerts, Partitions: 24, Replication: replicas, Configs: configs(month),
		Records: names("AlertTriggeredEvent"), Doc: "Alert rules set off, by the alerts service; keyed by IBAN."},
	{Name: DeadLetters, Partitions: 1, Replication: replicas, Configs: configs(month),
		Doc: "Messages no consumer could handle, as received; headers say where they came from and why."},
}

// MaxSessionTTL is the longest a login session may last: revocations are
// kept on session_events a day longer.
const MaxSessionTTL = 7 * 24 * time.Hour

// Lookup returns the topic with the given name.
func Lookup(name string) (Topic, bool) {
	i := slices.IndexFunc(Topics, func(t Topic) bool { return t.Name == name })
	if i < 0 {
		return Topic{}, false
	}
	return Topics[i], true
}

// Carries reports whether the record with the given full Avro name belongs on
// the topic.
func Carries(topic, record string) bool {
	t, ok := Lookup(topic)
	return ok && slices.Contains(t.Records, record)
}

// Subject is the registry subject of a record on a topic. Several record types
// share a topic, so subjects follow the TopicRecordNameStrategy.
func Subject(topic, record string) string { return topic + "-" + record }

// Effective returns the topic as it should exist on a cluster with the given
// number of brokers: replication capped at the broker count, and
// min.insync.replicas no higher than the replication (else no write could
// ever succeed).
func (t Topic) Effective(brokers int) Topic {
	rf := t.Replication
	if brokers > 0 && int(rf) > brokers {
		rf = int16(brokers)
	}
	out := t
	out.Replication = rf
	out.Configs = make(map[string]string, len(t.Configs))
	for k, v := range t.Configs {
		out.Configs[k] = v
	}
	if v, ok := out.Configs["min.insync.replicas"]; ok {
		if n, err := strconv.Atoi(v); err == nil && n > int(rf) {
			out.Configs["min.insync.replicas"] = strconv.Itoa(int(rf))
		}
	}
	return out
}

// Validate checks the topology against the schemas: every record named by a
// topic has a schema, and every record schema lives on some topic.
func Validate() error {
	known, err := schemas.RecordNames()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	seen := map[string]bool{}
	for _, t := range Topics {
		if seen[t.Name] {
			return fmt.Errorf("topic %s listed twice", t.Name)
		}
		seen[t.Name] = true
		for _, r := range t.Records {
			if !slices.Contains(known, r) {
				return fmt.Errorf("topic %s names record %s, which has no schema", t.Name, r)
			}
			used[r] = true
		}
	}
	for _, r := range known {
		if !used[r] {
			return fmt.Errorf("record %s is on no topic", r)
		}
	}
	return nil
}

// TopicOf returns the one topic that carries the record, for records that
// live on exactly one topic (commands, events, queries). Feedback lives on
// several: see FeedbackTopic.
func TopicOf(record string) (string, error) {
	var found []string
	for _, t := range Topics {
		if slices.Contains(t.Records, record) {
			found = append(found, t.Name)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("record %s is on %d topics, not one", record, len(found))
	}
	return found[0], nil
}

// feedbackOf maps each command or query topic to the topic of its answers.
var feedbackOf = map[string]string{
	UserCommands:     UserCommandFeedback,
	BankCommands:     BankCommandFeedback,
	TransferCommands: TransferCommandFeedback,
	UserQueries:      UserQueriesFeedback,
	BankQueries:      BankQueriesFeedback,
	ReportsQueries:   ReportsQueriesFeedback,
}

// FeedbackTopics lists every topic answers come on, sorted: what a client
// awaiting answers (package bus) reads.
func FeedbackTopics() []string {
	out := make([]string, 0, len(feedbackOf))
	for _, fb := range feedbackOf {
		out = append(out, fb)
	}
	slices.Sort(out)
	return out
}

// FeedbackTopic returns the topic answering the commands or queries of
// requestTopic.
func FeedbackTopic(requestTopic string) (string, error) {
	fb, ok := feedbackOf[requestTopic]
	if !ok {
		return "", fmt.Errorf("topic %s has no feedback topic", requestTopic)
	}
	return fb, nil
}

// ShortName is a record's name without its namespace, as feedback names
// commands and queries.
func ShortName(record string) string {
	if i := strings.LastIndexByte(record, '.'); i >= 0 {
		return record[i+1:]
	}
	return record
}
