// Package rule holds the alert rules an account's owner sets and decides
// which of them a transaction sets off. It is plain Go: the alerts service
// feeds it rule events and transactions from Kafka.
package rule

import (
	"fmt"
	"slices"
	"strings"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
)

// Rule is one alert rule of an account; what makes a rule valid is part of
// the contract (the command handler decides it, the gateway checks it).
type Rule = contract.AlertRule

// The kinds of rules.
const (
	BalanceBelow        = contract.BalanceBelow
	IncomingAbove       = contract.IncomingAbove
	OutgoingAbove       = contract.OutgoingAbove
	DescriptionContains = contract.DescriptionContains
)

// Fires reports whether tx sets r off and, if so, the alert's message.
func Fires(r Rule, tx *schemas.TransactionHappenedEvent) (string, bool) {
	if tx.IBAN != r.IBAN {
		return "", false
	}
	switch r.Kind {
	case BalanceBelow:
		before := tx.NewBalance - tx.ChangedBy
		if tx.NewBalance < r.Amount && before >= r.Amount {
			return fmt.Sprintf("the balance of %s dropped below %s: it is %s", r.IBAN, money.Euro(r.Amount), money.Euro(tx.NewBalance)), true
		}
	case IncomingAbove:
		if tx.ChangedBy > r.Amount {
			return fmt.Sprintf("%s came in on %s (%q), more than %s", money.Euro(tx.ChangedBy), r.IBAN, tx.Description, money.Euro(r.Amount)), true
		}
	case OutgoingAbove:
		if -tx.ChangedBy > r.Amount {
			return fmt.Sprintf("%s went out of %s (%q), more than %s", money.Euro(-tx.ChangedBy), r.IBAN, tx.Description, money.Euro(r.Amount)), true
		}
	case DescriptionContains:
		if strings.Contains(strings.ToLower(tx.Description), strings.ToLower(strings.TrimSpace(r.Word))) {
			return fmt.Sprintf("a transaction on %s of %s says %q", r.IBAN, money.Euro(tx.ChangedBy), tx.Description), true
		}
	}
	return "", false
}

// Book holds the rules in force, by account.
type Book struct {
	byIBAN map[string]map[string]Rule
}

// NewBook returns an empty book.
func NewBook() *Book { return &Book{byIBAN: map[string]map[string]Rule{}} }

// Add puts r in force, replacing a rule of the same id.
func (b *Book) Add(r Rule) {
	if b.byIBAN[r.IBAN] == nil {
		b.byIBAN[r.IBAN] = map[string]Rule{}
	}
	b.byIBAN[r.IBAN][r.ID] = r
}

// Remove ends the rule id of iban; it reports whether there was one.
func (b *Book) Remove(iban, id string) bool {
	if _, ok := b.byIBAN[iban][id]; !ok {
		return false
	}
	delete(b.byIBAN[iban], id)
	if len(b.byIBAN[iban]) == 0 {
		delete(b.byIBAN, iban)
	}
	return true
}

// Rules returns the rules of iban, by id.
func (b *Book) Rules(iban string) []Rule {
	var out []Rule
	for _, r := range b.byIBAN[iban] {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Rule) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Alert is a rule set off by a transaction.
type Alert struct {
	Rule    Rule
	Message string
}

// Triggered returns the alerts tx sets off, by rule id.
func (b *Book) Triggered(tx *schemas.TransactionHappenedEvent) []Alert {
	var out []Alert
	for _, r := range b.Rules(tx.IBAN) {
		if msg, ok := Fires(r, tx); ok {
			out = append(out, Alert{Rule: r, Message: msg})
		}
	}
	return out
}

// Len returns how many rules are in force.
func (b *Book) Len() int {
	n := 0
	for _, rules := range b.byIBAN {
		n += len(rules)
	}
	return n
}
