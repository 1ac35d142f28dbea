package commandhandler

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/openbank/bank/schemas"
)

var (
	commandsTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_commands_total",
		Help: "Commands answered, by command and outcome (succeeded, failed). A transfer is answered when its saga ends.",
	}, []string{"command", "outcome"})
	transfersTotal = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_transfers_total",
		Help: "Transfer sagas ended, by outcome (completed, failed).",
	}, []string{"outcome"})
	batchSeconds = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "openbank_command_batch_seconds",
		Help:    "Time to decide a batch of inputs and commit its transaction.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	})
	transactions = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_command_transactions_total",
		Help: "Kafka transactions the command handler committed (a batch of inputs each).",
	})
	localSteps = promauto.NewCounter(prometheus.CounterOpts{
		Name: "openbank_command_local_steps_total",
		Help: "Saga steps decided at once, in their input's transaction, because this instance owns them.",
	})
	batchInputs = promauto.NewHistogram(prometheus.HistogramOpts{
		Name:    "openbank_command_batch_inputs",
		Help:    "Inputs decided in one transaction.",
		Buckets: prometheus.ExponentialBuckets(1, 2, 10),
	})
)

// count records what a committed batch answered and ended.
func count(records []schemas.Record) {
	for _, r := range records {
		switch r := r.(type) {
		case *schemas.CommandSucceeded:
			commandsTotal.WithLabelValues(r.CommandName, "succeeded").Inc()
		case *schemas.CommandFailed:
			commandsTotal.WithLabelValues(r.CommandName, "failed").Inc()
		case *schemas.TransferCompletedEvent:
			transfersTotal.WithLabelValues("completed").Inc()
		case *schemas.TransferFailedEvent:
			transfersTotal.WithLabelValues("failed").Inc()
		}
	}
}
