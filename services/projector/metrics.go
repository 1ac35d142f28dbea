package projector

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	queriesTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_queries_total",
		Help: "Queries answered, by query and outcome (succeeded, failed).",
	}, []string{"query", "outcome"})
	transactionsPublished = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_transactions_published_total",
		Help: "TransactionHappenedEvents published (committed) on transaction_events.",
	})
)
