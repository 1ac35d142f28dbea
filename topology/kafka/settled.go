package kafka

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"
)

// When has a read_committed consumer read a partition to its end? Not when
// its last offset reaches the high water mark: the last offsets are often
// transaction markers or aborted records, which it never delivers, so it
// would wait for the next write; nor after a quiet moment, which never
// comes under steady traffic. The rule here: take the partition's last
// stable offset (every offset below it is decided, committed or aborted),
// and the consumer is caught up with it once it has delivered every record
// below it that it ever will — once its next offset reaches it, or once
// nothing deliverable lies between the two. The second is asked of the
// broker directly, with a read_committed fetch that sees the control
// batches and the aborted transactions a consumer silently skips.

// LastStable returns the partition's last stable offset: every record
// below it is decided, so a read_committed consumer will deliver nothing
// below it that it cannot deliver now.
func LastStable(client sarama.Client, topic string, partition int32) (int64, error) {
	broker, err := client.Leader(topic, partition)
	if err != nil {
		return 0, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
	}
	req := sarama.NewOffsetRequest(client.Config().Version)
	req.IsolationLevel = sarama.ReadCommitted
	req.AddBlock(topic, partition, sarama.OffsetNewest, 1)
	res, err := broker.GetAvailableOffsets(req)
	if err != nil {
		return 0, fmt.Errorf("last stable offset of %s/%d: %w", topic, partition, err)
	}
	block := res.GetBlock(topic, partition)
	switch {
	case block == nil:
		return 0, fmt.Errorf("last stable offset of %s/%d: %w", topic, partition, sarama.ErrIncompleteResponse)
	case !errors.Is(block.Err, sarama.ErrNoError):
		return 0, fmt.Errorf("last stable offset of %s/%d: %w", topic, partition, block.Err)
	case len(block.Offsets) != 1:
		return 0, fmt.Errorf("last stable offset of %s/%d: %d offsets answered", topic, partition, len(block.Offsets))
	}
	return block.Offsets[0], nil
}

// CaughtUp reports whether a read_committed consumer whose next offset is
// next has delivered every record below end that it ever will: end must be
// at most the partition's last stable offset (LastStable) when it was
// taken.
func CaughtUp(ctx context.Context, client sarama.Client, topic string, partition int32, next, end int64) (bool, error) {
	if next >= end {
		return true, nil
	}
	last, err := LastDeliverable(ctx, client, topic, partition, next, end)
	return last < 0, err
}

// fetchBytes bounds one fetch of Deliverable: enough for many batches of
// markers, and one large record is returned whole by the broker anyway.
const fetchBytes = 256 << 10

// maxFetchBytes bounds the fetch size grown for one batch larger than
// fetchBytes: past the largest batch a producer writes
// (Producer.MaxMessageBytes).
const maxFetchBytes = 16 << 20

// LastDeliverable asks whether the partition holds, in [from, to), a
// record a read_committed consumer delivers (one that is neither a
// transaction marker nor part of an aborted transaction), and says how far
// it saw: the offset of the last such record of the first fetch answer that
// holds one, or -1 if there is none. A reader whose next offset is at most
// that has something left to deliver, with no need to ask again.
func LastDeliverable(ctx context.Context, client sarama.Client, topic string, partition int32, from, to int64) (int64, error) {
	f, err := Deliverable(ctx, client, topic, partition, from, to)
	if err != nil || len(f.Msgs) == 0 {
		return -1, err
	}
	return f.Msgs[len(f.Msgs)-1].Offset, nil
}

// Fetched is what Deliverable found.
type Fetched struct {
	// Msgs are the records a read_committed consumer delivers, as it
	// hands them over.
	Msgs []*sarama.ConsumerMessage
	// Seen is how far it looked: every record below Seen that such a
	// consumer would deliver from [from, to) is in Msgs.
	Seen int64
	// Stable is the partition's last stable offset as the broker
	// answered: from Seen on, there was nothing more to fetch then.
	Stable int64
}

// Deliverable fetches at once the records of [from, to) a read_committed
// consumer delivers: those of the first fetch answer that holds any. A
// reader whose position is from may take them as its next messages, and go
// on from Seen.
func Deliverable(ctx context.Context, client sarama.Client, topic string, partition int32, from, to int64) (Fetched, error) {
	f := Fetched{Seen: from}
	size := int32(fetchBytes)
	for f.Seen < to {
		if err := ctx.Err(); err != nil {
			return f, err
		}
		broker, err := client.Leader(topic, partition)
		if err != nil {
			return f, fmt.Errorf("leader of %s/%d: %w", topic, partition, err)
		}
		// Version 4 is the first with the isolation level, the aborted
		// transactions and the last stable offset; every broker we speak
		// to (Kafka 4, kfake) has it.
		req := &sarama.FetchRequest{Version: 4, MaxWaitTime: 0, MinBytes: 0, MaxBytes: size, Isolation: sarama.ReadCommitted}
		req.AddBlock(topic, partition, f.Seen, size, -1)
		res, err := broker.Fetch(req)
		if err != nil {
			return f, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, f.Seen, err)
		}
		block := res.GetBlock(topic, partition)
		if block == nil {
			return f, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, f.Seen, sarama.ErrIncompleteResponse)
		}
		if !errors.Is(block.Err, sarama.ErrNoError) {
			return f, fmt.Errorf("fetch %s/%d at %d: %w", topic, partition, f.Seen, block.Err)
		}
		msgs, next := deliverableIn(block, topic, partition, f.Seen, to)
		f.Stable = block.LastStableOffset
		if next <= f.Seen && len(block.RecordsSet) > 0 && size < maxFetchBytes {
			// The first batch was cut off: a broker may answer with part
			// of one larger than the fetch size (Kafka returns it whole).
			size *= 4
			continue
		}
		if len(msgs) > 0 || next <= f.Seen {
			// Records to hand over, or nothing came back: past the records
			// the broker gives a read_committed consumer now (its last
			// stable offset).
			f.Msgs, f.Seen = msgs, min(next, to)
			return f, nil
		}
		f.Seen = next
	}
	f.Seen = min(f.Seen, to)
	return f, nil
}

// deliverableIn walks one fetch answer as a read_committed consumer does
// (sarama's partitionConsumer.parseResponse and parseRecords): it returns
// the records in [from, to) that would be delivered, as sarama hands them
// over, and the offset after the last batch seen.
func deliverableIn(block *sarama.FetchResponseBlock, topic string, partition int32, from, to int64) ([]*sarama.ConsumerMessage, int64) {
	var found []*sarama.ConsumerMessage
	aborted := map[int64]bool{} // producers whose open transaction is aborted
	pendingAborts := slices.SortedFunc(slices.Values(block.AbortedTransactions), func(a, b *sarama.AbortedTransaction) int {
		return cmp.Compare(a.FirstOffset, b.FirstOffset)
	})
	next := from
	for _, records := range block.RecordsSet {
		b := records.RecordBatch
		if b == nil { // a legacy message set: never written here
			continue
		}
		if b.PartialTrailingRecord {
			break // cut off by the fetch size: read again from next
		}
		last := b.FirstOffset + int64(b.LastOffsetDelta)
		for len(pendingAborts) > 0 && pendingAborts[0].FirstOffset <= last {
			aborted[pendingAborts[0].ProducerID] = true
			pendingAborts = pendingAborts[1:]
		}
		switch {
		case b.Control:
			if isAbortMarker(b) {
				delete(aborted, b.ProducerID)
			}
		case b.IsTransactional && aborted[b.ProducerID]:
		default:
			for _, r := range b.Records {
				off := b.FirstOffset + r.OffsetDelta
				if off < from || off >= to {
					continue
				}
				ts := b.FirstTimestamp.Add(r.TimestampDelta)
				if b.LogAppendTime {
					ts = b.MaxTimestamp
				}
				found = append(found, &sarama.ConsumerMessage{Topic: topic, Partition: partition,
					Key: r.Key, Value: r.Value, Headers: r.Headers, Offset: off, Timestamp: ts})
			}
		}
		next = max(next, last+1)
		if next >= to {
			break
		}
	}
	return found, next
}

// isAbortMarker reports whether a control batch is an ABORT marker: its
// record's key is a version and a type, 0 for abort.
func isAbortMarker(b *sarama.RecordBatch) bool {
	return len(b.Records) > 0 && len(b.Records[0].Key) >= 4 && binary.BigEndian.Uint16(b.Records[0].Key[2:4]) == 0
}
