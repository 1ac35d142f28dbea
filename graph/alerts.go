package graph

import (
	"context"
	"errors"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/graph/model"
	"github.com/openbank/bank/money"
	"github.com/openbank/bank/schemas"
)

// Alerts streams the raised alerts (the gateway's feed).
type Alerts interface {
	// Subscribe returns username's alerts from now on; slow is called
	// before the channel closes if the subscriber falls behind.
	Subscribe(ctx context.Context, username string, slow func()) <-chan *model.Alert
}

// Alert turns an AlertTriggeredEvent into its GraphQL type.
func Alert(e *schemas.AlertTriggeredEvent) *model.Alert {
	return &model.Alert{ID: e.ID.String(), RuleID: e.RuleID.String(), Iban: e.IBAN, Username: e.Username,
		TransactionID: int(e.TransactionID), Message: e.Message}
}

func alertRule(r contract.AlertRule) *model.AlertRule {
	return &model.AlertRule{ID: r.ID, Iban: r.IBAN, Kind: model.AlertKind(r.Kind), AmountCents: int(r.Amount),
		Amount: money.Euro(r.Amount), Word: r.Word, Webhook: r.Webhook, Username: r.Owner}
}

// createAlert sets an alert rule on an account of the logged-in user.
func (r *Resolver) createAlert(ctx context.Context, iban string, kind model.AlertKind, amountCents *int, word, webhook *string) (*model.AlertRuleResult, error) {
	rule := contract.AlertRule{ID: schemas.NewID().String(), IBAN: iban, Kind: contract.AlertKind(kind)}
	if amountCents != nil {
		rule.Amount = int64(*amountCents)
	}
	if word != nil {
		rule.Word = *word
	}
	if webhook != nil {
		rule.Webhook = *webhook
	}
	user, token, err := r.tokenFor(ctx, iban)
	if err == nil && rule.Webhook != "" {
		if werr := contract.CheckWebhookTarget(rule.Webhook, r.AllowPrivateWebhooks); werr != nil {
			err = contract.RuleInvalid(werr)
		}
	}
	if err == nil {
		rule.Owner = user
		id, _ := schemas.ParseID(rule.ID)
		_, err = r.ask(ctx, &schemas.CreateAlertRuleCommand{ID: id, IBAN: iban, Username: user, Token: token,
			Kind: string(rule.Kind), Amount: rule.Amount, Word: rule.Word, Webhook: rule.Webhook})
	}
	if err != nil {
		return failedAs(err, alertRuleFailed)
	}
	return &model.AlertRuleResult{Rule: alertRule(rule)}, nil
}

// deleteAlert ends an alert rule of an account of the logged-in user.
func (r *Resolver) deleteAlert(ctx context.Context, iban, id string) (*model.CommandResult, error) {
	ruleID, err := schemas.ParseID(id)
	if err != nil {
		return commandFailed(contract.RuleIDInvalid), nil
	}
	return r.command(ctx, iban, func(user, token string) schemas.Record {
		return &schemas.DeleteAlertRuleCommand{ID: ruleID, IBAN: iban, Username: user, Token: token}
	})
}

// alertRules answers the alert rules of an account of the logged-in user.
func (r *Resolver) alertRules(ctx context.Context, iban string) ([]*model.AlertRule, error) {
	if _, _, err := r.tokenFor(ctx, iban); err != nil {
		return nil, err
	}
	var rules []contract.AlertRule
	if err := r.query(ctx, &schemas.AlertRulesQuery{ID: schemas.NewID(), IBAN: iban}, &rules); err != nil {
		return nil, err
	}
	out := make([]*model.AlertRule, len(rules))
	for i, rule := range rules {
		out[i] = alertRule(rule)
	}
	return out, nil
}

// alerts streams the logged-in user's alerts.
func (r *Resolver) alerts(ctx context.Context) (<-chan *model.Alert, error) {
	user, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	if r.Alerts == nil {
		return nil, errors.New("this gateway serves no alerts")
	}
	if err := r.admit(ctx); err != nil {
		return nil, err
	}
	return r.Alerts.Subscribe(ctx, user, tooSlow(ctx, "alerts")), nil
}
