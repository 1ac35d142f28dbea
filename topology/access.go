package topology

import (
	"fmt"
	"slices"
	"strings"
)

// Least privilege: each part of the bank speaks to Kafka as its own
// principal (a SASL/SCRAM user), allowed only the topics, consumer groups
// and transactional ids it uses. The table below is the one place that
// says so: the synchronizer turns it into ACLs on a secured cluster (`bank
// sync --acls`), the embedded broker enforces it when it runs with one
// principal per service (`bank broker` given their passwords, as compose's
// Kafka is), the tests check it against the services' own names, and the
// README shows it (a test keeps that copy equal to PrincipalsMarkdown).
//
// Adding a service: add its Principal here (topics read and written, its
// groups, the prefix of its transactional ids), give it a password in
// docker-compose.yml (KAFKA_PASSWORD_<NAME>, for Kafka and the service),
// and run the tests, which say what else is out of date.

// Principal is a Kafka user and what it may do.
type Principal struct {
	// Name is the SASL user name.
	Name string
	// Runs says what speaks as this principal.
	Runs string
	// Super is a super user: it may do anything, needs no ACLs, and is the
	// only principal that creates topics, changes configs and sets ACLs.
	Super bool
	// Read are topics it consumes (Read, and Describe with it).
	Read []string
	// Write are topics it produces to (Write, and Describe with it).
	Write []string
	// Groups are the consumer groups it joins and commits offsets for.
	Groups []string
	// TransactionalIDs are the prefixes of its transactional ids, each
	// followed by an instance id.
	TransactionalIDs []string
	// Extra are grants beyond the bank's topics (a third-party part).
	Extra []Grant
	// Note says what the grants do not show.
	Note string
}

// Resource types and operations, as Kafka names them.
const (
	ResourceTopic           = "Topic"
	ResourceGroup           = "Group"
	ResourceTransactionalID = "TransactionalId"
	ResourceCluster         = "Cluster"

	OpRead     = "Read"
	OpWrite    = "Write"
	OpDescribe = "Describe"
	OpAll      = "All"
)

// Grant allows a principal one operation on a resource.
type Grant struct {
	Resource string // ResourceTopic, ResourceGroup, ResourceTransactionalID or ResourceCluster
	Name     string // the resource's name, or a prefix of names when Prefixed
	Prefixed bool
	Op       string
}

func (g Grant) String() string {
	name := g.Name
	if g.Prefixed {
		name += "*"
	}
	return g.Op + " " + g.Resource + " " + name
}

// Principal names.
const (
	PrincipalAdmin     = "admin"
	PrincipalCommands  = "commands"
	PrincipalProjector = "projector"
	PrincipalGateway   = "gateway"
	PrincipalAlerts    = "alerts"
	PrincipalReports   = "reports"
	PrincipalRegistry  = "registry"
)

var commandFeedbackTopics = []string{UserCommandFeedback, BankCommandFeedback, TransferCommandFeedback}

// Principals is the table of who may do what. Group names and
// transactional-id prefixes are the services' own (a test compares them
// with their constants).
var Principals = []Principal{
	{Name: PrincipalAdmin, Super: true, Runs: "bank sync (topics, configs, schemas, ACLs); operators' tools",
		Note: "Kafka's super user (super.users); also the brokers' own principal between each other."},
	{Name: PrincipalCommands, Runs: "bank commands",
		Read: []string{UserCommands, BankCommands, TransferCommands, TransferCommandFeedback, UserEvents, BankEvents,
			// The company account's bootstrap asks through the bus, which
			// follows every feedback topic.
			UserCommandFeedback, BankCommandFeedback, UserQueriesFeedback, BankQueriesFeedback, ReportsQueriesFeedback},
		Write: append([]string{UserEvents, BankEvents, SessionEvents, TransferCommands, DeadLetters,
			UserCommands, BankCommands}, commandFeedbackTopics...),
		Groups: []string{"openbank-commands"}, TransactionalIDs: []string{"openbank-commands-"},
		Note: "Writes user_commands and bank_commands only to open the company account at start."},
	{Name: PrincipalProjector, Runs: "bank projector",
		Read:             []string{UserEvents, BankEvents, UserQueries, BankQueries},
		Write:            []string{TransactionEvents, UserQueriesFeedback, BankQueriesFeedback, DeadLetters},
		Groups:           []string{"openbank-projector", "openbank-queries"},
		TransactionalIDs: []string{"openbank-projector-"}},
	{Name: PrincipalGateway, Runs: "bank gateway; bank query",
		Read: append([]string{UserQueriesFeedback, BankQueriesFeedback, ReportsQueriesFeedback, TransactionEvents, Alerts, SessionEvents},
			commandFeedbackTopics...),
		Write: []string{UserCommands, BankCommands, UserQueries, BankQueries, ReportsQueries, DeadLetters},
		Note:  "Never user_events or bank_events: they carry password hashes and tokens."},
	{Name: PrincipalAlerts, Runs: "bank alerts",
		Read:             []string{BankEvents, TransactionEvents, Alerts},
		Write:            []string{Alerts, DeadLetters},
		Groups:           []string{"openbank-alerts", "openbank-alert-webhooks"},
		TransactionalIDs: []string{"openbank-alerts-"}},
	{Name: PrincipalReports, Runs: "bank reports",
		Read: []string{BankEvents, UserEvents, ReportsQueries}, Write: []string{ReportsQueriesFeedback, DeadLetters},
		Groups: []string{"openbank-reports-queries"},
		Note:   "Follows the events outside any group, from the offsets it keeps in PostgreSQL with its rows; no Kafka transactions."},
	{Name: PrincipalRegistry, Runs: "Confluent Schema Registry in docker-compose (its _schemas topic)",
		Extra: []Grant{
			{Resource: ResourceTopic, Name: "_schemas", Op: OpAll},
			{Resource: ResourceGroup, Name: "schema-registry", Prefixed: true, Op: OpAll},
		},
		Note: "From Confluent's documentation; not run here (no Confluent registry is installable on the test machines)."},
}

// LookupPrincipal returns the principal named name.
func LookupPrincipal(name string) (Principal, bool) {
	i := slices.IndexFunc(Principals, func(p Principal) bool { return p.Name == name })
	if i < 0 {
		return Principal{}, false
	}
	return Principals[i], true
}

// Grants returns what p is allowed, without repeats: Read on the topics it
// reads, Write on those it writes, Read on its groups (which covers
// joining, committing and fetching offsets), Write on its transactional
// ids (which covers Describe). A super user needs none.
func (p Principal) Grants() []Grant {
	if p.Super {
		return nil
	}
	var out []Grant
	add := func(g Grant) {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	for _, t := range p.Read {
		add(Grant{Resource: ResourceTopic, Name: t, Op: OpRead})
	}
	for _, t := range p.Write {
		add(Grant{Resource: ResourceTopic, Name: t, Op: OpWrite})
	}
	for _, g := range p.Groups {
		add(Grant{Resource: ResourceGroup, Name: g, Op: OpRead})
	}
	for _, id := range p.TransactionalIDs {
		add(Grant{Resource: ResourceTransactionalID, Name: id, Prefixed: true, Op: OpWrite})
	}
	for _, g := range p.Extra {
		add(g)
	}
	return out
}

// SuperUsers returns the names of the super users.
func SuperUsers() []string {
	var out []string
	for _, p := range Principals {
		if p.Super {
			out = append(out, p.Name)
		}
	}
	return out
}

// PasswordVariable is the environment variable that holds principal's
// password where one process needs them all (compose's Kafka, and `bank
// broker` standing in for it): KAFKA_PASSWORD_COMMANDS, say.
func PasswordVariable(principal string) string {
	return "KAFKA_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(principal, "-", "_"))
}

// PrincipalsMarkdown renders the table for the README.
func PrincipalsMarkdown() string {
	var b strings.Builder
	b.WriteString("| principal | runs | reads | writes | groups | transactional ids |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	list := func(s []string, suffix string) string {
		if len(s) == 0 {
			return ""
		}
		q := make([]string, len(s))
		for i, x := range s {
			q[i] = "`" + x + suffix + "`"
		}
		return strings.Join(q, ", ")
	}
	for _, p := range Principals {
		reads, writes := list(p.Read, ""), list(p.Write, "")
		if p.Super {
			reads, writes = "everything (super user)", "everything"
		}
		for _, g := range p.Extra {
			writes = strings.TrimPrefix(writes+", "+g.Op+" "+g.Resource+" `"+g.Name+map[bool]string{true: "*"}[g.Prefixed]+"`", ", ")
		}
		runs := p.Runs
		if p.Note != "" {
			runs += ". " + p.Note
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Name, runs, reads, writes,
			list(p.Groups, ""), list(p.TransactionalIDs, "*"))
	}
	return b.String()
}
