package kafka

import (
	"context"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/contract"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

// QueryReply is the answer to the query rec, read from m, for its feedback
// topic: QuerySucceeded with result, or QueryFailed with reason when it
// failed. Every service that answers queries replies through it, so the
// gateway's bus reads one shape.
func QueryReply(ctx context.Context, codec *topology.Codec, m *sarama.ConsumerMessage, rec schemas.Record, result string, reason contract.Reason) (*sarama.ProducerMessage, error) {
	name := topology.ShortName(rec.AvroName())
	var reply schemas.Record = &schemas.QuerySucceeded{ID: rec.RecordID(), QueryName: name, QueryResult: result}
	if reason.Failed() {
		reply = &schemas.QueryFailed{ID: rec.RecordID(), QueryName: name, Reason: reason.Text, Code: string(reason.Code)}
	}
	topic, err := topology.FeedbackTopic(m.Topic)
	if err != nil {
		return nil, err
	}
	return Message(ctx, codec, topic, reply)
}
