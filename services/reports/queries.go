package reports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/store"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

var queriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
	Name: "openbank_reports_queries_total", Help: "Queries the reports service answered, by query and outcome (succeeded or failed).",
}, []string{"query", "outcome"})

// answer answers one query; an error means it should be tried again.
func (s *service) answer(ctx context.Context, m *sarama.ConsumerMessage) error {
	rec, err := s.codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		if !topology.IsPoison(err) {
			return err
		}
		s.log.Warn("undecodable query parked", "partition", m.Partition, "offset", m.Offset, "err", err)
		_, _, err := s.replies.SendMessage(kafka.DeadLetter(m, QueryGroup, err))
		return err
	}
	result, reason := s.query(ctx, rec)
	outcome := "succeeded"
	if reason.Failed() {
		outcome = "failed"
	}
	queriesTotal.WithLabelValues(topology.ShortName(rec.AvroName()), outcome).Inc()
	msg, err := kafka.QueryReply(ctx, s.codec, m, rec, result, reason)
	if err != nil {
		return err
	}
	_, _, err = s.replies.SendMessage(msg)
	return err
}

// query answers rec once the store holds every event written before the
// query arrived: a JSON result, or the reason it has none. While a rebuild
// runs, the live tables are answered from as they stand.
func (s *service) query(ctx context.Context, rec schemas.Record) (result string, reason contract.Reason) {
	q, ok := rec.(*schemas.AuditLogQuery)
	if !ok {
		return "", contract.QueryUnknown(rec.AvroName())
	}
	if l := s.liveLog(); l != nil {
		ends, err := l.Ends()
		if err != nil {
			return "", contract.ModelUnavailable(fmt.Errorf("the SQL store cannot tell how far the events go: %w", err))
		}
		wait, cancel := context.WithTimeout(ctx, s.cfg.CatchUpWait)
		defer cancel()
		done := s.hurry()
		err = l.WaitCaughtUp(wait, ends)
		done()
		if err != nil {
			return "", contract.ModelBehind(l.Behind(ends))
		}
	}
	aq := store.AuditQuery{After: q.After, First: int(q.First)}
	if q.FromMillis > 0 {
		aq.From = time.UnixMilli(q.FromMillis)
	}
	if q.ToMillis > 0 {
		aq.To = time.UnixMilli(q.ToMillis)
	}
	page, err := store.AuditLog(ctx, s.pool, store.Live, aq)
	if err != nil {
		var bad store.BadQuery
		if errors.As(err, &bad) {
			return "", bad.Reason
		}
		s.log.Warn("audit log query failed", "err", err)
		return "", contract.ModelUnavailable(fmt.Errorf("the SQL store could not answer: %w", err))
	}
	b, err := json.Marshal(page)
	if err != nil {
		return "", contract.ModelUnavailable(fmt.Errorf("encode answer: %w", err))
	}
	return string(b), contract.Reason{}
}
