package contract

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/openbank/bank/topology/iban"
)

// AlertKind is what an alert rule watches.
type AlertKind string

// The kinds of alert rules.
const (
	// BalanceBelow fires when a transaction takes the balance from Amount
	// or more to below it (once per drop, not on every transaction while
	// it stays low).
	BalanceBelow AlertKind = "BALANCE_BELOW"
	// IncomingAbove fires on money coming in of more than Amount.
	IncomingAbove AlertKind = "INCOMING_ABOVE"
	// OutgoingAbove fires on money going out of more than Amount.
	OutgoingAbove AlertKind = "OUTGOING_ABOVE"
	// DescriptionContains fires on a description holding Word, whatever
	// the case.
	DescriptionContains AlertKind = "DESCRIPTION_CONTAINS"
)

// AlertRule is one alert rule of an account: decided by the command
// handler, kept by the projector (answered to AlertRulesQuery), applied by
// the alerts service.
type AlertRule struct {
	ID      string    `json:"id"`
	IBAN    string    `json:"iban"`
	Owner   string    `json:"username"` // who set it, and who is alerted
	Kind    AlertKind `json:"kind"`
	Amount  int64     `json:"amount"`  // cents, for the amount kinds
	Word    string    `json:"word"`    // for DescriptionContains
	Webhook string    `json:"webhook"` // an http(s) URL alerts are posted to; empty for none
}

// MaxAlertWord bounds a DescriptionContains rule's word.
const MaxAlertWord = 100

// Validate says what is wrong with a rule, in words for its owner.
func (r AlertRule) Validate() error {
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
		if w := strings.TrimSpace(r.Word); w == "" || len(w) > MaxAlertWord {
			errs = append(errs, fmt.Errorf("word must be 1 to %d characters", MaxAlertWord))
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
