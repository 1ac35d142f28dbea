package kafka

import (
	"strconv"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics every service shares, on the default Prometheus registry.
var (
	consumerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "openbank_consumer_lag",
		Help: "Messages between the last one a consumer group handled and the end of the partition.",
	}, []string{"group", "topic", "partition"})

	// EventsReplayed counts the events a service applied while rebuilding
	// its state at start, by service.
	EventsReplayed = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_events_replayed_total",
		Help: "Events applied while rebuilding state at start, by service.",
	}, []string{"service"})

	transformTxns = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_transform_transactions_total",
		Help: "Transactions committed by a consumer's transactional loop (Transform), by group.",
	}, []string{"group"})
	transformMessages = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_transform_messages_total",
		Help: "Messages consumed in the transactions of a transactional loop (Transform), by group.",
	}, []string{"group"})

	// DuplicateEvents counts events a service found in the log a second
	// time (the same money step of a transfer, say) and did not apply. A
	// sound log has none: any is worth an alert.
	DuplicateEvents = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "openbank_duplicate_events_total",
		Help: "Events read a second time and not applied again, by service.",
	}, []string{"service"})
)

// ObserveLag records how far behind the end of its partition a group is
// after handling m.
func ObserveLag(group string, claim sarama.ConsumerGroupClaim, m *sarama.ConsumerMessage) {
	consumerLag.WithLabelValues(group, m.Topic, strconv.Itoa(int(m.Partition))).
		Set(float64(max(claim.HighWaterMarkOffset()-m.Offset-1, 0)))
}
