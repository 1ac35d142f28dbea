package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
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

// deliverer posts alerts to their webhooks. The group's committed offset
// is the delivery state: it moves past an alert only once its webhook
// answered 2xx (or the alert was parked after the last attempt), so a
// restarted instance neither skips nor repeats a delivery — except one
// posted in the moment between the receiver's answer and the commit, which
// the Idempotency-Key lets a receiver recognize.
type deliverer struct{ s *service }

func (*deliverer) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (*deliverer) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (d *deliverer) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	ctx := sess.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if !d.handle(ctx, m) {
				return nil // the alert comes again, to this or the next owner
			}
			sess.MarkMessage(m, "")
			sess.Commit()
			kafka.ObserveLag(DeliverGroup, claim, m)
		}
	}
}

// handle delivers one alert, retrying with back-off; it returns false if
// ctx ended first.
func (d *deliverer) handle(ctx context.Context, m *sarama.ConsumerMessage) bool {
	s := d.s
	rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil && !topology.IsPoison(err) {
		// The registry away, say: the alert comes again.
		s.log.Warn("decoding an alert failed; it will be delivered again", "offset", m.Offset, "err", err)
		kafka.Sleep(ctx, time.Second)
		return false
	}
	a, ok := rec.(*schemas.AlertTriggeredEvent)
	if err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("%s is not an AlertTriggeredEvent", rec.AvroName())
		}
		return d.park(m, err)
	}
	if a.Webhook == "" {
		return true
	}
	wait := s.cfg.RetryAfter
	for attempt := 1; ; attempt++ {
		err := d.post(ctx, a)
		if err == nil {
			webhookDeliveries.WithLabelValues("delivered").Inc()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, contract.ErrNotPublic) {
			// Trying again would not change where it leads.
			webhookDeliveries.WithLabelValues("refused").Inc()
			return d.park(m, fmt.Errorf("webhook %s refused: %w", a.Webhook, err))
		}
		if attempt == s.cfg.Attempts {
			webhookDeliveries.WithLabelValues("given_up").Inc()
			return d.park(m, fmt.Errorf("webhook %s: %d attempts, the last: %w", a.Webhook, attempt, err))
		}
		webhookDeliveries.WithLabelValues("failed").Inc()
		s.log.Warn("webhook failed; trying again", "alert", a.ID.String(), "attempt", attempt, "in", wait, "err", err)
		if !kafka.Sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, time.Minute)
	}
}

func (d *deliverer) post(ctx context.Context, a *schemas.AlertTriggeredEvent) error {
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
	res, err := d.s.cfg.Webhooks.Do(req)
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

// park puts an alert that cannot be delivered on dead_letters; it returns
// false if that failed (the alert then comes again).
func (d *deliverer) park(m *sarama.ConsumerMessage, cause error) bool {
	d.s.log.Error("alert parked on dead letters", "partition", m.Partition, "offset", m.Offset, "err", cause)
	if _, _, err := d.s.parking.SendMessage(kafka.DeadLetter(m, DeliverGroup, cause)); err != nil {
		d.s.log.Error("dead letter not written; the alert comes again", "err", err)
		return false
	}
	return true
}
