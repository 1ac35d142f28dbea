package kfake

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The power-loss simulation: transactional producers (commits, aborts,
// transactional offset commits) and an idempotent producer write to a
// broker whose filesystem loses power after a random number of bytes,
// several hundred times. After each cut the broker restarts on what a real
// disk would hold: what was fsynced, directory entries included, plus a
// torn prefix of what was not. Sometimes the power goes again during the
// restart's recovery. Then:
//   - the broker starts (a power cut never leaves damage before valid data);
//   - every acknowledged produce and every acknowledged commit (records
//     and group offsets) is there exactly once;
//   - no aborted or never-ended transaction is visible to read_committed;
//   - a commit that was not acknowledged is all there or not at all, its
//     group offset with it;
//   - the idempotent producer's unacknowledged batch, sent again, lands
//     exactly once.

const (
	plTxnProducers = 3
	plTxnsEach     = 8
	plIdemBatches  = 12
	plGroupTopic   = "in"
	plOutTopic     = "out"
	plIdemTopic    = "idem"
)

type plTxn struct {
	producer string
	n        int
	values   map[string]int32 // value -> partition
	commit   bool
	ended    bool // EndTxn sent
	acked    bool // EndTxn answered without error
}

type plRun struct {
	mu   sync.Mutex
	txns []*plTxn

	idemPID   int64
	idemEpoch int16
	idemAcked []string
	idemLast  *struct {
		value string
		seq   int32
	} // sent, not answered
}

func (r *plRun) add(t *plTxn) {
	r.mu.Lock()
	r.txns = append(r.txns, t)
	r.mu.Unlock()
}

func plValue(producer string, n, i int) string { return fmt.Sprintf("%s/%d/%d", producer, n, i) }

// plTxnWorker runs transactions until one request fails.
func plTxnWorker(ctx context.Context, cl *kgo.Client, producer string, rng *rand.Rand, r *plRun) {
	p := newTxnProducer(cl, producer)
	if p.init(ctx) != nil {
		return
	}
	for n := range plTxnsEach {
		t := &plTxn{producer: producer, n: n, values: make(map[string]int32), commit: rng.Intn(4) != 0}
		r.add(t)
		for i := range 1 + rng.Intn(3) {
			part := int32(rng.Intn(2))
			v := plValue(producer, n, i)
			t.values[v] = part
			if p.produce(ctx, plOutTopic, part, v) != nil {
				return
			}
		}
		if p.commitOffset(ctx, "g-"+producer, plGroupTopic, 0, int64(n+1)) != nil {
			return
		}
		t.ended = true
		if p.end(ctx, t.commit) != nil {
			return
		}
		t.acked = true
	}
}

func plIdemWorker(ctx context.Context, cl *kgo.Client, r *plRun) {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.ProducerID, req.ProducerEpoch = -1, -1
	resp, err := request[*kmsg.InitProducerIDResponse](ctx, cl, req)
	if err != nil || resp.ErrorCode != 0 {
		return
	}
	r.mu.Lock()
	r.idemPID, r.idemEpoch = resp.ProducerID, resp.ProducerEpoch
	r.mu.Unlock()
	for i := range plIdemBatches {
		v := "idem/" + strconv.Itoa(i)
		r.mu.Lock()
		r.idemLast = &struct {
			value string
			seq   int32
		}{v, int32(i)}
		r.mu.Unlock()
		presp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq(plIdemTopic, 0, recordBatch(resp.ProducerID, resp.ProducerEpoch, int32(i), false, v)))
		if err != nil || produceErr(presp) != nil {
			return
		}
		r.mu.Lock()
		r.idemAcked = append(r.idemAcked, v)
		r.idemLast = nil
		r.mu.Unlock()
	}
}

func plStart(cfs *crashFS) (*Cluster, error) {
	return startOn(cfs, SeedTopics(2, plOutTopic), SeedTopics(1, plGroupTopic), SeedTopics(1, plIdemTopic),
		// Small segments, so that cuts also land around segment rolls.
		BrokerConfigs(map[string]string{"log.segment.bytes": "1500"}))
}

// plWorkload runs the producers on c until they finish or the power goes.
func plWorkload(t *testing.T, c *Cluster, seed int64) *plRun {
	r := new(plRun)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range plTxnProducers {
		cl := rawClient(t, c)
		rng := rand.New(rand.NewSource(seed + int64(i)))
		wg.Go(func() { plTxnWorker(ctx, cl, fmt.Sprint("p", i), rng, r) })
	}
	cl := rawClient(t, c)
	wg.Go(func() { plIdemWorker(ctx, cl, r) })
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatalf("seed %d: the workload hung", seed)
	}

	return r
}

func TestPowerLossSimulation(t *testing.T) {
	cuts := 300
	if testing.Short() {
		cuts = 40
	}
	if s := os.Getenv("KFAKE_POWER_CUTS"); s != "" {
		cuts, _ = strconv.Atoi(s)
	}

	// One run with no cut measures how many bytes the workload writes.
	cfs := newCrashFS(crashDir)
	c, err := plStart(cfs)
	if err != nil {
		t.Fatal(err)
	}
	start, startSyncs := cfs.bytesWritten(), cfs.syncCount()
	full := plWorkload(t, c, 0)
	total, totalSyncs := cfs.bytesWritten()-start, cfs.syncCount()-startSyncs
	c.Close()
	var fullAcked int
	for _, tx := range full.txns {
		if tx.acked {
			fullAcked++
		}
	}
	if fullAcked != plTxnProducers*plTxnsEach || len(full.idemAcked) != plIdemBatches {
		t.Fatalf("without a cut only %d transactions and %d batches were acknowledged", fullAcked, len(full.idemAcked))
	}

	var stats struct {
		sync.Mutex
		acked, unackedVisible, unackedGone, doubleCuts int
	}
	t.Run("cuts", func(t *testing.T) {
		for i := range cuts {
			seed := int64(1000 + i)
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
				t.Parallel()
				acked, visible, gone, double := plCut(t, seed, total, totalSyncs)
				stats.Lock()
				defer stats.Unlock()
				stats.acked += acked
				stats.unackedVisible += visible
				stats.unackedGone += gone
				if double {
					stats.doubleCuts++
				}
			})
		}
	})
	t.Logf("%d power cuts (%d during recovery), workload %d bytes and %d fsyncs: %d acknowledged commits checked; unacknowledged commits: %d kept, %d rolled back",
		cuts, stats.doubleCuts, total, totalSyncs, stats.acked, stats.unackedVisible, stats.unackedGone)
}

// plCut runs the workload with the power going after a random number of
// bytes, restarts on what is left and checks it.
func plCut(t *testing.T, seed, total, totalSyncs int64) (acked, unackedVisible, unackedGone int, double bool) {
	rng := rand.New(rand.NewSource(seed))
	cfs := newCrashFS(crashDir)
	c, err := plStart(cfs)
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	// The power goes in the middle of a write, or of a round of fsyncs.
	if rng.Intn(2) == 0 {
		cfs.powerCutAfter(rng.Int63n(total * 11 / 10))
	} else {
		cfs.powerCutAtSync(rng.Int63n(totalSyncs * 11 / 10))
	}
	r := plWorkload(t, c, seed)
	after := cfs.afterPowerLoss(rng)
	crash(c)

	if rng.Intn(4) == 0 {
		// The power goes again while the restart recovers.
		after.powerCutAfter(rng.Int63n(4096))
		if c, err = plStart(after); err == nil {
			crash(c)
		}
		if after.isDead() {
			double = true
			after = after.afterPowerLoss(rng)
		} else {
			after.powerCutAfter(-1)
		}
	}

	c, err = plStart(after)
	if err != nil {
		t.Fatalf("seed %d: the broker does not start after a power cut: %v", seed, err)
	}
	defer c.Close()
	cl := rawClient(t, c)
	fail := func(format string, args ...any) {
		t.Errorf("seed %d: "+format, append([]any{seed}, args...)...)
	}

	// The idempotent producer sends its unanswered batch again.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	retried := ""
	if last := r.idemLast; last != nil {
		resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq(plIdemTopic, 0, recordBatch(r.idemPID, r.idemEpoch, last.seq, false, last.value)))
		if err != nil {
			fail("retrying the idempotent batch: %v", err)
		} else if err := produceErr(resp); err != nil {
			fail("retrying the idempotent batch %s: %v", last.value, err)
		} else {
			retried = last.value
		}
	}
	idem := make(map[string]int)
	for _, v := range readCommitted(t, cl, plIdemTopic, 0) {
		idem[v]++
	}
	for _, v := range r.idemAcked {
		if idem[v] != 1 {
			fail("acknowledged idempotent batch %s is there %d times", v, idem[v])
		}
	}
	if retried != "" && idem[retried] != 1 {
		fail("the idempotent batch %s, sent again after the restart, is there %d times", retried, idem[retried])
	}

	seen := make(map[string]int)
	where := make(map[string]int32)
	for part := range int32(2) {
		for _, v := range readCommitted(t, cl, plOutTopic, part) {
			seen[v]++
			where[v] = part
		}
	}
	known := make(map[string]bool)
	latest := make(map[string]int) // producer -> n of its last visible commit
	for _, tx := range r.txns {
		n := 0
		for v, part := range tx.values {
			known[v] = true
			if seen[v] > 1 {
				fail("%s is there %d times", v, seen[v])
			}
			if seen[v] > 0 {
				n++
				if where[v] != part {
					fail("%s is in partition %d, was written to %d", v, where[v], part)
				}
			}
		}
		switch {
		case n != 0 && n != len(tx.values):
			fail("half of transaction %s/%d is visible: %d of %d records", tx.producer, tx.n, n, len(tx.values))
		case n > 0 && !tx.commit:
			fail("aborted transaction %s/%d is visible", tx.producer, tx.n)
		case n > 0 && !tx.ended:
			fail("transaction %s/%d, never ended, is visible", tx.producer, tx.n)
		case tx.commit && tx.acked && n == 0:
			fail("acknowledged commit %s/%d is gone", tx.producer, tx.n)
		case tx.commit && tx.acked:
			acked++
		case tx.commit && tx.ended && n > 0:
			unackedVisible++
		case tx.commit && tx.ended:
			unackedGone++
		}
		if n > 0 {
			latest[tx.producer] = max(latest[tx.producer], tx.n+1)
		}
	}
	for v := range seen {
		if !known[v] {
			fail("unknown record %q is visible", v)
		}
	}
	for i := range plTxnProducers {
		producer := fmt.Sprint("p", i)
		off, ok := committedOffset(c, "g-"+producer, plGroupTopic, 0)
		switch want := latest[producer]; {
		case want == 0 && ok:
			fail("group g-%s has offset %d but no commit of %s is visible", producer, off, producer)
		case want > 0 && (!ok || off != int64(want)):
			fail("group g-%s has offset %d (committed: %v), want %d from %s's last visible commit", producer, off, ok, want, producer)
		}
	}

	// The broker recovered into a state that takes new transactions.
	if rng.Intn(5) == 0 {
		p := newTxnProducer(cl, "p0")
		if err := errors.Join(p.init(ctx), p.produce(ctx, plOutTopic, 0, "after"), p.end(ctx, true)); err != nil {
			fail("a transaction after the restart: %v", err)
		} else if got := readCommitted(t, cl, plOutTopic, 0); !slices.Contains(got, "after") {
			fail("a transaction committed after the restart is not visible: %s", strings.Join(got, ","))
		}
	}
	return acked, unackedVisible, unackedGone, double
}
