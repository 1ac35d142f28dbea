package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/openbank/bank/schemas"
)

// Webhook is the JSON body an alert's webhook receives. The header
// Idempotency-Key carries the alert's id too.
type Webhook struct {
	ID            string `json:"id"`
	RuleID        string `json:"rule_id"`
	IBAN          string `json:"iban"`
	Username      string `json:"username"`
	TransactionID int64  `json:"transaction_id"`
	Message       string `json:"message"`
}

// post posts a to its webhook once: nil if the receiver answered 2xx.
func (s *service) post(ctx context.Context, a *schemas.AlertTriggeredEvent) error {
	body, err := json.Marshal(Webhook{ID: a.ID.String(), RuleID: a.RuleID.String(), IBAN: a.IBAN, Username: a.Username,
		TransactionID: a.TransactionID, Message: a.Message})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.Webhook, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", a.ID.String())
	req.Header.Set("User-Agent", "OpenBank-Alerts")
	res, err := s.cfg.Webhooks.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	switch res.StatusCode / 100 {
	case 2:
		return nil
	case 3:
		return fmt.Errorf("%s: the receiver redirects (to %q), and webhooks follow no redirect", res.Status, res.Header.Get("Location"))
	}
	return errors.New(res.Status)
}
