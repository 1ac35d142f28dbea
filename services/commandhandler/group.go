package commandhandler

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// groupHandler feeds the engine from the consumer group.
type groupHandler struct {
	e   *engine
	log *slog.Logger
	cur *session
}

// Setup opens a session: it checks the partitions are co-partitioned and
// queues the session's barrier ahead of its inputs.
func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	claims := sess.Claims()
	want := slices.Sorted(slices.Values(claims[inputs[0]]))
	for _, t := range inputs[1:] {
		if got := slices.Sorted(slices.Values(claims[t])); !slices.Equal(got, want) {
			h.log.Error("input topics are not co-partitioned: one aggregate's commands may be decided by two instances",
				"topic", t, "partitions", got, inputs[0], want)
		}
	}
	barrier, positions, err := h.barrier(sess)
	if err != nil {
		return err
	}
	s := &session{ConsumerGroupSession: sess, barrier: barrier, positions: positions, abort: make(chan struct{})}
	h.cur = s
	h.log.Info("partitions assigned", "generation", sess.GenerationID(), "partitions", len(want), "waits_for", barrier)
	select {
	case h.e.work <- item{sess: s}:
		return nil
	case <-sess.Context().Done():
		return sess.Context().Err()
	}
}

// barrier reads the metadata of the offsets committed for our partitions:
// the newest events their previous owners' decisions depended on; and the
// offsets themselves, a partition never committed having its oldest.
func (h *groupHandler) barrier(sess sarama.ConsumerGroupSession) (map[string]int64, positions, error) {
	client := h.e.client
	req := sarama.NewOffsetFetchRequest(client.Config().Version, Group, sess.Claims())
	// Wait out transactions still committing offsets for these partitions.
	req.RequireStable = true
	for attempt := 0; ; attempt++ {
		if err := sess.Context().Err(); err != nil {
			return nil, nil, err
		}
		coord, err := client.Coordinator(Group)
		if err != nil {
			return nil, nil, fmt.Errorf("group coordinator: %w", err)
		}
		resp, err := coord.FetchOffset(req)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch committed offsets: %w", err)
		}
		out := map[string]int64{}
		pos := positions{}
		unstable := false
		for topic, parts := range resp.Blocks {
			for p, b := range parts {
				switch {
				case errors.Is(b.Err, sarama.ErrUnstableOffsetCommit):
					unstable = true
				case b.Err != sarama.ErrNoError:
					return nil, nil, fmt.Errorf("committed offset of %s/%d: %w", topic, p, b.Err)
				}
				if b.Offset >= 0 {
					pos.set(topic, p, b.Offset)
				} else if oldest, err := client.GetOffset(topic, p, sarama.OffsetOldest); err == nil {
					pos.set(topic, p, oldest) // nothing consumed yet
				}
				for t, off := range decodeBarrier(b.Metadata) {
					// -1: no event of that topic was depended on.
					if cur, ok := out[t]; off >= 0 && (!ok || off > cur) {
						out[t] = off
					}
				}
			}
		}
		if errors.Is(resp.Err, sarama.ErrUnstableOffsetCommit) {
			unstable = true
		} else if resp.Err != sarama.ErrNoError {
			return nil, nil, fmt.Errorf("fetch committed offsets: %w", resp.Err)
		}
		if !unstable {
			return out, pos, nil
		}
		if attempt > 300 {
			return nil, nil, errors.New("offsets of the group stayed unstable for a minute")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Cleanup waits for the session's transaction in flight, if any, and stops
// the engine from starting another for it.
func (h *groupHandler) Cleanup(sarama.ConsumerGroupSession) error {
	if s := h.cur; s != nil {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
	}
	return nil
}

// ConsumeClaim passes one partition's inputs to the engine, which commits
// their offsets in its transactions (never here).
func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	s := h.cur
	for {
		select {
		case <-sess.Context().Done():
			return nil
		case <-s.abort:
			return nil // ends the session: the group re-delivers uncommitted inputs
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			kafka.ObserveLag(Group, claim, m)
			select {
			case h.e.work <- item{sess: s, msg: m}:
			case <-sess.Context().Done():
				return nil
			case <-s.abort:
				return nil
			}
		}
	}
}
