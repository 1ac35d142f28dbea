// Package rule holds the alert rules an account's owner sets and decides
// which of them a transaction sets off. It is plain Go: the alerts service
// feeds it rule events and transactions from Kafka.
package rule

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/iban"
)

// Kind is what a rule watches.
type Kind string

// The kinds of rules.
const (
	// BalanceBelow fires when a transaction takes the balance from Amount
	// or more to below it (once per drop, not on every transaction while
	// it stays low).
	BalanceBelow Kind = "BALANCE_BELOW"
	// IncomingAbove fires on money coming in of more than Amount.
	IncomingAbove Kind = "INCOMING_ABOVE"
	// OutgoingAbove fires on money going out of more than Amount.
	OutgoingAbove Kind = "OUTGOING_ABOVE"
	// DescriptionContains fires on a description holding Word, whatever
	// the case.
	DescriptionContains Kind = "DESCRIPTION_CONTAINS"
)

// Rule is one alert rule of an account.
type Rule struct {
	ID      string
	IBAN    string
	Owner   string // who set it, and who is alerted
	Kind    Kind
	Amount  int64  // cents, for the amount kinds
	Word    string // for DescriptionContains
	Webhook string // an http(s) URL alerts are posted to; empty for none
}

// MaxWordLength bounds a DescriptionContains rule's word.
const MaxWordLength = 100

// Validate says what is wrong with a rule, in words for its owner.
func (r Rule) Validate() error {
	var errs []error
	if !iban.Valid(r.IBAN) {
		errs = append(errs, errors.New("iban is not a valid IBAN"))
	}
	switch r.Kind {
	case BalanceBelow, IncomingAbove, OutgoingAbove:
		if r.Amount < 0 {
			errs = append(errs, errors.New("amount may not be negative"))
		}
	case DescriptionContains:
		if w := strings.TrimSpace(r.Word); w == "" || len(w) > MaxWordLength {
			errs = append(errs, fmt.Errorf("word must be 1 to %d characters", MaxWordLength))
		}
	default:
		errs = append(errs, fmt.Errorf("kind %q is not one of %s, %s, %s, %s", r.Kind, BalanceBelow, IncomingAbove, OutgoingAbove, DescriptionContains))
	}
	if r.Webhook != "" {
		u, err := url.Parse(r.Webhook)
		switch {
		case len(r.Webhook) > MaxWebhookLength:
			errs = append(errs, fmt.Errorf("webhook may be at most %d bytes", MaxWebhookLength))
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			errs = append(errs, errors.New("webhook must be an http or https URL"))
		}
	}
	return errors.Join(errs...)
}

// Fires reports whether tx sets r off and, if so, the alert's message.
func (r Rule) Fires(tx *schemas.TransactionHappenedEvent) (string, bool) {
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
		if msg, ok := r.Fires(tx); ok {
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
