package alerts

import (
	"context"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/services/alerts/rule"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Held is the part of the service that checks batches against the rules,
// with a rules reader no one applies until FollowRules: a test can call
// Raise while the rules are held back.
type Held struct{ s *service }

func NewHeld(log *slog.Logger, codec *topology.Codec, lookups sarama.Client, rules *eventlog.Log) *Held {
	return &Held{&service{log: log, codec: codec, lookups: lookups, events: rules, book: rule.NewBook()}}
}

func (h *Held) Raise(ctx context.Context, batch []*sarama.ConsumerMessage) (kafka.Output, error) {
	return h.s.raise(ctx, batch)
}

func (h *Held) FollowRules(ctx context.Context) { h.s.followRules(ctx) }
