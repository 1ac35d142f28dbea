package commandhandler

import (
	"context"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// Local steps. A transfer is a saga: the MoneyTransferCommand starts it,
// a DebitMoneyCommand and a CreditMoneyCommand (keyed by the IBANs they
// change) move the money, and their answers on transfer_command_feedback
// (keyed by the transfer) end it. Each step is decided by the instance that
// owns its partition. When that is this instance — always, with one
// instance — the step is decided at once, in the same transaction as the
// input that made it, instead of being written and read back: a local
// transfer is one Kafka transaction, with the same events in the same
// order as the saga writes them one transaction a step.
//
// Why it is safe: this instance owns the step's partition in this
// generation, so no one else decides its aggregate now, and the state
// holds every event of it (the session waited for its barrier). The
// transaction commits the consumed offsets under the group's generation,
// so a rebalance fences it whole: either the input's offset and all its
// steps commit, or none does and the input is delivered again. And the
// transaction also commits the offset of each step's partition (unchanged,
// with the barrier as metadata), so the partition's next owner waits for
// the events decided here before it decides on the same aggregate.

// positions are, per input topic and partition of a session, the offset
// committed for it: found at the session's start or committed since.
type positions map[string]map[int32]int64

func (p positions) set(topic string, partition int32, offset int64) {
	if p[topic] == nil {
		p[topic] = map[int32]int64{}
	}
	p[topic][partition] = offset
}

// local reports whether rec, a command or feedback this instance decided,
// is a step it owns now, and where the step would have been written.
func (e *engine) local(s *session, rec schemas.Record) (topic string, partition int32, ok bool) {
	if e.cfg.NoLocalSteps {
		return "", 0, false
	}
	topic, err := topicOf(rec)
	if err != nil || !slices.Contains(inputs, topic) {
		return "", 0, false
	}
	n := e.partitions[topic]
	if n <= 0 {
		return "", 0, false
	}
	partition, err = kafka.KeyPartition(rec.Key(), n)
	if err != nil || !slices.Contains(s.Claims()[topic], partition) {
		return "", 0, false
	}
	if _, known := s.positions[topic][partition]; !known {
		return "", 0, false // its offset cannot be committed with the barrier
	}
	return topic, partition, true
}

// decideSteps decides rec, an input, and at once every next step of it this
// instance owns, depth first, so the events come in the saga's order. It
// returns the messages to write (events, and the steps owned elsewhere, and
// the answers for callers) and adds each step's partition to touched.
func (e *engine) decideSteps(ctx context.Context, s *session, m *sarama.ConsumerMessage, rec schemas.Record,
	touched map[string]map[int32]int64) ([]*sarama.ProducerMessage, []schemas.Record, error) {
	var out []*sarama.ProducerMessage
	var decided []schemas.Record
	work := []schemas.Record{rec}
	for first := true; len(work) > 0; first = false {
		r := work[0]
		work = work[1:]
		d, parked, err := e.decideOne(m, r)
		if err != nil {
			return nil, nil, err
		}
		if parked != nil {
			if first {
				return []*sarama.ProducerMessage{parked}, nil, nil
			}
			// A local step that cannot be decided here is written
			// instead, as the saga would: its owner parks it.
			msg, err := e.message(ctx, r)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, msg)
			continue
		}
		var next []schemas.Record
		write := slices.Clone(d.Events)
		for _, c := range slices.Concat(d.Commands, d.Feedback) {
			if topic, p, ok := e.local(s, c); ok {
				next = append(next, c)
				if touched[topic] == nil {
					touched[topic] = map[int32]int64{}
				}
				touched[topic][p] = s.positions[topic][p]
				localSteps.Inc()
				continue
			}
			write = append(write, c)
		}
		for _, w := range write {
			msg, err := e.message(ctx, w)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, msg)
		}
		decided = append(decided, slices.Concat(d.Events, d.Commands, d.Feedback)...)
		work = append(next, work...)
	}
	return out, decided, nil
}

// topicOf is the topic a record is written to: the one topic of its type,
// or for feedback the topic answering the command it names.
func topicOf(rec schemas.Record) (string, error) {
	name := rec.AvroName()
	switch fb := rec.(type) {
	case *schemas.CommandSucceeded:
		name = schemas.Namespace + "." + fb.CommandName
	case *schemas.CommandFailed:
		name = schemas.Namespace + "." + fb.CommandName
	}
	topic, err := topology.TopicOf(name)
	if err != nil {
		return "", err
	}
	if name != rec.AvroName() {
		return topology.FeedbackTopic(topic)
	}
	return topic, nil
}

// message encodes a record for its topic.
func (e *engine) message(ctx context.Context, rec schemas.Record) (*sarama.ProducerMessage, error) {
	topic, err := topicOf(rec)
	if err != nil {
		return nil, err
	}
	return kafka.Message(ctx, e.codec, topic, rec)
}

// partitionCounts returns how many partitions each input topic has.
func partitionCounts(client sarama.Client) (map[string]int32, error) {
	out := map[string]int32{}
	for _, t := range inputs {
		parts, err := client.Partitions(t)
		if err != nil {
			return nil, fmt.Errorf("partitions of %s: %w", t, err)
		}
		out[t] = int32(len(parts))
	}
	return out, nil
}
