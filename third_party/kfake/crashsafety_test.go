package kfake

// Crash-safety tests of the fork (NOTICE.md): one per root cause found in
// upstream kfake's DataDir persistence, each failing on the unmodified
// module, and a power-loss simulation. They drive the broker with raw
// requests so that a test knows exactly which requests were answered.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

const crashDir = "/data"

// startOn starts a one-broker cluster keeping its data in cfs.
func startOn(cfs *crashFS, opts ...Opt) (*Cluster, error) {
	return NewCluster(append([]Opt{NumBrokers(1), DataDir(crashDir), withFS(cfs)}, opts...)...)
}

func mustStartOn(t *testing.T, cfs *crashFS, opts ...Opt) *Cluster {
	t.Helper()
	c, err := startOn(cfs, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// crash stops c as SIGKILL would: nothing more is written, nothing is saved.
func crash(c *Cluster) {
	if c.dead.Swap(true) {
		return
	}
	for _, b := range c.bs {
		b.ln.Close()
	}
	done := make(chan struct{})
	c.adminCh <- func() {
		close(c.die)
		close(done)
	}
	<-done
}

// rawClient is a client that sends requests as sarama does (Kafka 3.0
// protocol: EndTxn v3, AddPartitionsToTxn v3, named topics) and does not
// retry them.
func rawClient(t *testing.T, c *Cluster) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxVersions(kversion.V3_0_0()),
		kgo.RequestRetries(0), kgo.RetryTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// request sends req to the only broker, once.
func request[R kmsg.Response](ctx context.Context, cl *kgo.Client, req kmsg.Request) (R, error) {
	var zero R
	resp, err := cl.Broker(0).Request(ctx, req)
	if err != nil {
		return zero, err
	}
	return resp.(R), nil
}

// txnProducer is a transactional producer made of raw requests.
type txnProducer struct {
	cl    *kgo.Client
	txid  string
	pid   int64
	epoch int16
	seq   map[tp]int32
	added map[tp]bool
	group bool
}

func newTxnProducer(cl *kgo.Client, txid string) *txnProducer {
	return &txnProducer{cl: cl, txid: txid, seq: make(map[tp]int32), added: make(map[tp]bool)}
}

func codeErr(code int16) error {
	if code == 0 {
		return nil
	}
	return kerr.ErrorForCode(code)
}

func (p *txnProducer) init(ctx context.Context) error {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionalID = kmsg.StringPtr(p.txid)
	req.TransactionTimeoutMillis = 60000
	req.ProducerID, req.ProducerEpoch = -1, -1
	resp, err := request[*kmsg.InitProducerIDResponse](ctx, p.cl, req)
	if err != nil {
		return err
	}
	if err := codeErr(resp.ErrorCode); err != nil {
		return err
	}
	p.pid, p.epoch = resp.ProducerID, resp.ProducerEpoch
	clear(p.seq)
	clear(p.added)
	p.group = false
	return nil
}

// recordBatch encodes values as one batch; transactional if txn.
func recordBatch(pid int64, epoch int16, seq int32, txn bool, values ...string) []byte {
	var recs []byte
	for i, v := range values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	var attrs int16
	if txn {
		attrs = 0x10
	}
	now := time.Now().UnixMilli()
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		Attributes:           attrs,
		LastOffsetDelta:      int32(len(values) - 1),
		FirstTimestamp:       now,
		MaxTimestamp:         now,
		ProducerID:           pid,
		ProducerEpoch:        epoch,
		FirstSequence:        seq,
		NumRecords:           int32(len(values)),
		Records:              recs,
	}
	return sealBatch(b.AppendTo(nil))
}

func produceReq(topic string, part int32, batch []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = part
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func produceErr(resp *kmsg.ProduceResponse) error {
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := codeErr(p.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

// produce adds the partition to the transaction if needed and appends values
// to it as one batch.
func (p *txnProducer) produce(ctx context.Context, topic string, part int32, values ...string) error {
	k := tp{topic, part}
	if !p.added[k] {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID = p.txid
		req.ProducerID, req.ProducerEpoch = p.pid, p.epoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic = topic
		rt.Partitions = []int32{part}
		req.Topics = append(req.Topics, rt)
		resp, err := request[*kmsg.AddPartitionsToTxnResponse](ctx, p.cl, req)
		if err != nil {
			return err
		}
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				if err := codeErr(rp.ErrorCode); err != nil {
					return err
				}
			}
		}
		p.added[k] = true
	}
	resp, err := request[*kmsg.ProduceResponse](ctx, p.cl, produceReq(topic, part, recordBatch(p.pid, p.epoch, p.seq[k], true, values...)))
	if err != nil {
		return err
	}
	if err := produceErr(resp); err != nil {
		return err
	}
	p.seq[k] += int32(len(values))
	return nil
}

// commitOffset stages a group offset in the transaction.
func (p *txnProducer) commitOffset(ctx context.Context, group, topic string, part int32, offset int64) error {
	if !p.group {
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.TransactionalID = p.txid
		req.ProducerID, req.ProducerEpoch = p.pid, p.epoch
		req.Group = group
		resp, err := request[*kmsg.AddOffsetsToTxnResponse](ctx, p.cl, req)
		if err != nil {
			return err
		}
		if err := codeErr(resp.ErrorCode); err != nil {
			return err
		}
		p.group = true
	}
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.TransactionalID = p.txid
	req.Group = group
	req.ProducerID, req.ProducerEpoch = p.pid, p.epoch
	req.Generation = -1
	rt := kmsg.NewTxnOffsetCommitRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition = part
	rp.Offset = offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := request[*kmsg.TxnOffsetCommitResponse](ctx, p.cl, req)
	if err != nil {
		return err
	}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			if err := codeErr(rp.ErrorCode); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *txnProducer) end(ctx context.Context, commit bool) error {
	req := kmsg.NewPtrEndTxnRequest()
	req.TransactionalID = p.txid
	req.ProducerID, req.ProducerEpoch = p.pid, p.epoch
	req.Commit = commit
	resp, err := request[*kmsg.EndTxnResponse](ctx, p.cl, req)
	if err != nil {
		return err
	}
	if err := codeErr(resp.ErrorCode); err != nil {
		return err
	}
	clear(p.added)
	p.group = false
	return nil
}

// readCommitted returns the values a read_committed consumer sees in a
// partition, read from the start with raw fetches and filtered by kgo's
// client-side logic (aborted transactions are dropped by the consumer,
// using the broker's aborted-transaction index and the ABORT markers).
func readCommitted(t *testing.T, cl *kgo.Client, topic string, part int32) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var values []string
	offset := int64(0)
	for {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID = -1
		req.MaxWaitMillis = 0
		req.MaxBytes = 1 << 20
		req.IsolationLevel = 1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = part
		rp.FetchOffset = offset
		rp.PartitionMaxBytes = 1 << 20
		rp.CurrentLeaderEpoch = -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := request[*kmsg.FetchResponse](ctx, cl, req)
		if err != nil {
			t.Fatalf("fetch %s-%d at %d: %v", topic, part, offset, err)
		}
		fp := &resp.Topics[0].Partitions[0]
		if err := codeErr(fp.ErrorCode); err != nil {
			t.Fatalf("fetch %s-%d at %d: %v", topic, part, offset, err)
		}
		if offset >= fp.LastStableOffset {
			return values
		}
		next := nextOffset(fp.RecordBatches, offset)
		got, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{
			Offset: offset, IsolationLevel: kgo.ReadCommitted(), Topic: topic, Partition: part,
		}, fp, kgo.DefaultDecompressor(), nil)
		if got.Err != nil {
			t.Fatalf("fetch %s-%d at %d: %v", topic, part, offset, got.Err)
		}
		for _, r := range got.Records {
			values = append(values, string(r.Value))
		}
		if next <= offset {
			t.Fatalf("fetch %s-%d at %d: no progress (LSO %d)", topic, part, offset, fp.LastStableOffset)
		}
		offset = next
	}
}

// nextOffset is the offset after the last whole batch in raw.
func nextOffset(raw []byte, offset int64) int64 {
	for len(raw) >= 61 {
		n := 12 + int(binary.BigEndian.Uint32(raw[8:12]))
		if n > len(raw) {
			break
		}
		first := int64(binary.BigEndian.Uint64(raw[0:8]))
		lastDelta := int64(binary.BigEndian.Uint32(raw[23:27]))
		offset = max(offset, first+lastDelta+1)
		raw = raw[n:]
	}
	return offset
}

func committedOffset(c *Cluster, group, topic string, part int32) (int64, bool) {
	gc, ok := groupCommits(c, group)[topic][part]
	return gc.Offset, ok
}

// logCapture keeps a cluster's warnings and errors.
type logCapture struct {
	mu    sync.Mutex
	lines []string
}

func (l *logCapture) Logf(level LogLevel, format string, args ...any) {
	if level > LogLevelWarn {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logCapture) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range l.lines {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func ctx10s(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Root cause 1: a transaction open at a crash was aborted in memory only, no
// ABORT marker was written; the producer id came back at a higher epoch and
// the replay matched markers by producer id alone, so after the next crash
// the later transaction's COMMIT marker committed the orphaned batch too.
func TestCrashAbortedTxnStaysAbortedAfterTheNextCrash(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	p := newTxnProducer(rawClient(t, c), "rc1")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.produce(ctx, "t", 0, "orphan"); err != nil {
		t.Fatal(err)
	}
	crash(c)

	cfs = cfs.image()
	c = mustStartOn(t, cfs)
	p = newTxnProducer(rawClient(t, c), "rc1")
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.produce(ctx, "t", 0, "good"); err != nil {
		t.Fatal(err)
	}
	if err := p.end(ctx, true); err != nil {
		t.Fatal(err)
	}
	crash(c)

	c = mustStartOn(t, cfs.image())
	if got := readCommitted(t, rawClient(t, c), "t", 0); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("read_committed sees %q, want only the committed transaction's [good]", got)
	}
}

// Root cause 2: the in-memory abort of root cause 1 left an aborted
// transaction in the partition's index with no ABORT marker behind it; a
// clean shutdown saved it in snapshot.json, and a read_committed consumer
// then skipped every later batch of that producer id, committed ones too.
func TestCrashDanglingAbortedTxnDoesNotHideCommittedData(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	p := newTxnProducer(rawClient(t, c), "rc2")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.produce(ctx, "t", 0, "orphan"); err != nil {
		t.Fatal(err)
	}
	crash(c)

	cfs = cfs.image()
	c = mustStartOn(t, cfs)
	c.Close() // a clean restart: the partition snapshot is written

	c = mustStartOn(t, cfs)
	cl := rawClient(t, c)
	p = newTxnProducer(cl, "rc2")
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.produce(ctx, "t", 0, "good"); err != nil {
		t.Fatal(err)
	}
	if err := p.end(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := readCommitted(t, cl, "t", 0); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("read_committed sees %q, want the committed [good]", got)
	}
}

// isControlBatchWrite reports whether b, written to a segment file, is a
// transaction marker.
func isControlBatchWrite(path string, b []byte) bool {
	return strings.HasSuffix(path, ".dat") && len(b) >= 23 && binary.BigEndian.Uint16(b[21:23])&0x20 != 0
}

// Root cause 3: a commit was not atomic. The markers were written partition
// by partition, then the group offsets, with nothing recording the decision
// first; a crash after the first marker left one partition committed, the
// other aborted by the restart, and the offsets not committed.
func TestCrashMidCommitIsAtomic(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	var (
		once    sync.Once
		atCrash *crashFS
	)
	c := mustStartOn(t, cfs, SeedTopics(2, "out"), SeedTopics(1, "in"))
	cl := rawClient(t, c)
	p := newTxnProducer(cl, "rc3")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	for part := range int32(2) {
		if err := p.produce(ctx, "out", part, fmt.Sprintf("x%d", part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.commitOffset(ctx, "g", "in", 0, 42); err != nil {
		t.Fatal(err)
	}
	// The process dies right after the first marker reaches the OS.
	cfs.mu.Lock()
	cfs.onWrite = func(path string, b []byte) {
		if isControlBatchWrite(path, b) {
			once.Do(func() { atCrash = cfs.imageLocked() })
		}
	}
	cfs.mu.Unlock()
	_ = p.end(ctx, true) // answered or not: the process is dead either way
	crash(c)
	if atCrash == nil {
		t.Fatal("no transaction marker was written")
	}

	c = mustStartOn(t, atCrash)
	cl = rawClient(t, c)
	out0, out1 := readCommitted(t, cl, "out", 0), readCommitted(t, cl, "out", 1)
	off, committed := committedOffset(c, "g", "in", 0)
	all := slices.Equal(out0, []string{"x0"}) && slices.Equal(out1, []string{"x1"}) && committed && off == 42
	none := len(out0) == 0 && len(out1) == 0 && !committed
	if !all && !none {
		t.Fatalf("half a transaction after the crash: out-0 %q, out-1 %q, group offset committed %v (%d)", out0, out1, committed, off)
	}
	// The commit decision was made before the first marker: it must stand.
	if !all {
		t.Fatalf("a commit whose first marker was written was rolled back: out-0 %q, out-1 %q", out0, out1)
	}
}

// Root cause 4: nothing was fsynced by default, directories never were, so
// an acknowledged produce did not survive a power cut.
func TestPowerLossKeepsAcknowledgedProduce(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, recordBatch(-1, -1, -1, false, "acked")))
	if err != nil {
		t.Fatal(err)
	}
	if err := produceErr(resp); err != nil {
		t.Fatal(err)
	}
	// The power goes now: only what was fsynced is left.
	after := cfs.afterPowerLoss(nil)
	crash(c)

	c, err = startOn(after)
	if err != nil {
		t.Fatalf("restart after the power cut: %v", err)
	}
	defer c.Close()
	if got := readCommitted(t, rawClient(t, c), "t", 0); !slices.Equal(got, []string{"acked"}) {
		t.Fatalf("after the power cut the partition holds %q, want the acknowledged [acked]", got)
	}
}

// Root cause 4, continued: a bad batch in the middle of a segment was taken
// for a torn tail, and everything after it was truncated with only a
// warning. Damage followed by valid data is not a torn write: refuse.
func TestDamageBeforeValidDataRefusesStart(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	for i := range 3 {
		resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, recordBatch(-1, -1, -1, false, fmt.Sprint("v", i))))
		if err != nil {
			t.Fatal(err)
		}
		if err := produceErr(resp); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	seg := filepath.Join(partDir(crashDir, "t", 0), segmentFileName(0))
	data := cfs.fileBytes(seg)
	damaged := slices.Clone(data)
	damaged[len(damaged)/6] ^= 0xff // inside the first of three batches
	cfs.setFileBytes(seg, damaged)

	_, err := startOn(cfs)
	if err == nil {
		t.Fatal("the broker started on a segment damaged before valid data")
	}
	if !strings.Contains(err.Error(), seg) {
		t.Fatalf("the error does not name the damaged file %s: %v", seg, err)
	}
	if !bytes.Equal(cfs.fileBytes(seg), damaged) {
		t.Fatal("the damaged segment was modified")
	}
}

// A torn tail is what a crash in the middle of an append leaves: it is cut
// off with a warning naming the file and the byte count, and what came
// before it is kept.
func TestTornTailIsTruncatedWithAWarning(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	for i := range 2 {
		resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, recordBatch(-1, -1, -1, false, fmt.Sprint("v", i))))
		if err != nil {
			t.Fatal(err)
		}
		if err := produceErr(resp); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()

	seg := filepath.Join(partDir(crashDir, "t", 0), segmentFileName(0))
	data := cfs.fileBytes(seg)
	cfs.setFileBytes(seg, data[:len(data)-7])
	logs := new(logCapture)
	c = mustStartOn(t, cfs, WithLogger(logs))
	if got := readCommitted(t, rawClient(t, c), "t", 0); !slices.Equal(got, []string{"v0"}) {
		t.Fatalf("after the torn tail the partition holds %q, want [v0]", got)
	}
	torn := int64(len(data)-7) - nextOffsetBytes(data)
	if !logs.has(seg, fmt.Sprint(torn, " bytes")) {
		t.Fatalf("no warning naming %s and %d bytes: %q", seg, torn, logs.lines)
	}
}

// nextOffsetBytes is the size of the first batch in raw.
func nextOffsetBytes(raw []byte) int64 {
	return 12 + int64(binary.BigEndian.Uint32(raw[8:12]))
}

// A segment rolls only once the old one is fsynced: otherwise one round of
// fsyncs could make the new segment durable and not the old one's tail,
// and a power cut would leave damage followed by valid data, which stops
// the start.
func TestSegmentRollFsyncsTheOldSegment(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"), BrokerConfigs(map[string]string{"log.segment.bytes": "1"}))
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	old := filepath.Join(partDir(crashDir, "t", 0), segmentFileName(0))
	var unsynced []string
	cfs.mu.Lock()
	cfs.onWrite = func(path string, _ []byte) {
		if path == filepath.Join(partDir(crashDir, "t", 0), segmentFileName(1)) {
			if n := cfs.nodes[old]; !bytes.Equal(n.synced, n.data) {
				unsynced = append(unsynced, path)
			}
		}
	}
	cfs.mu.Unlock()
	// acks=0 is never waited for, so nothing fsyncs the first batch but
	// the roll the second one causes.
	noAcks, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.MaxVersions(kversion.V3_0_0()),
		kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer noAcks.Close()
	if _, err := noAcks.Broker(0).Request(ctx, produceReq("t", 0, recordBatch(-1, -1, -1, false, "first"))); err != nil {
		t.Fatal(err)
	}
	for c.PartitionInfo("t", 0).HighWatermark == 0 {
		if ctx.Err() != nil {
			t.Fatal("the acks=0 batch never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, recordBatch(-1, -1, -1, false, "second")))
	if err != nil {
		t.Fatal(err)
	}
	if err := produceErr(resp); err != nil {
		t.Fatal(err)
	}
	if got := readCommitted(t, cl, "t", 0); !slices.Equal(got, []string{"first", "second"}) {
		t.Fatalf("partition holds %q", got)
	}
	if len(unsynced) > 0 {
		t.Fatalf("the new segment was written while the old one, %s, was not fsynced", old)
	}
}

// An older kfake could leave a transaction with no marker and its producer
// then writing at a newer epoch: no marker can be placed behind the old
// batches any more. A marker ends a transaction only of its own epoch or
// older, so the newer epoch's COMMIT does not commit them; they are hidden
// from read_committed fetches, with a warning.
func TestLegacyOrphanFencedByANewerEpochIsHidden(t *testing.T) {
	t.Parallel()
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "t"))
	c.Close()

	at := func(offset int64, raw []byte) []byte {
		binary.BigEndian.PutUint64(raw[0:8], uint64(offset)) // not covered by the CRC
		return raw
	}
	const pid = 7
	commit, _ := txnMarkerBatch(pid, 1, true, 0)
	commit.FirstOffset = 2
	var seg []byte
	seg = append(seg, at(0, recordBatch(pid, 0, 0, true, "orphan"))...)
	seg = append(seg, at(1, recordBatch(pid, 1, 0, true, "good"))...)
	seg = append(seg, commit.AppendTo(nil)...)
	pdir := partDir(crashDir, "t", 0)
	cfs.mu.Lock()
	cfs.nodes[filepath.Join(pdir, segmentFileName(0))] = &crashNode{data: seg, synced: seg, modTime: time.Now()}
	delete(cfs.nodes, filepath.Join(pdir, "snapshot.json"))
	cfs.mu.Unlock()

	logs := new(logCapture)
	c = mustStartOn(t, cfs, WithLogger(logs))
	if got := readCommitted(t, rawClient(t, c), "t", 0); !slices.Equal(got, []string{"good"}) {
		t.Fatalf("read_committed sees %q, want only the newer epoch's committed [good]", got)
	}
	if !logs.has("producer 7 epoch 0", "hidden") {
		t.Fatalf("no warning about the hidden transaction: %q", logs.lines)
	}
}

// A batch the disk refused is not written, so its retry must be written,
// not answered as a duplicate of it (which would acknowledge a record that
// is nowhere).
func TestAFailedWriteIsNotADuplicateOnRetry(t *testing.T) {
	t.Parallel()
	mfs := newMemFS()
	c, err := NewCluster(NumBrokers(1), DataDir("/d"), withFS(mfs), SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	init := kmsg.NewPtrInitProducerIDRequest()
	init.ProducerID, init.ProducerEpoch = -1, -1
	iresp, err := request[*kmsg.InitProducerIDResponse](ctx, cl, init)
	if err != nil || iresp.ErrorCode != 0 {
		t.Fatalf("InitProducerID: %v %v", err, codeErr(iresp.ErrorCode))
	}
	batch := recordBatch(iresp.ProducerID, iresp.ProducerEpoch, 0, false, "v")
	mfs.mu.Lock()
	mfs.failNextWrite = errors.New("no space left on device")
	mfs.mu.Unlock()
	resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, batch))
	if err != nil {
		t.Fatal(err)
	}
	if produceErr(resp) == nil {
		t.Fatal("a produce whose write failed was acknowledged")
	}
	if resp, err = request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, batch)); err != nil {
		t.Fatal(err)
	}
	if err := produceErr(resp); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if got := readCommitted(t, cl, "t", 0); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("after the retry the partition holds %q, want [v]", got)
	}
}

// An fsync that fails while the machine runs on (EIO, a full disk) must
// not be taken for a durable write: the produce its round covered is not
// acknowledged, and neither is anything written after it, since the
// kernel may have dropped the dirty pages that fsync was to write.
func TestAFailedFsyncIsNeverAcknowledged(t *testing.T) {
	t.Parallel()
	mfs := newMemFS()
	c, err := NewCluster(NumBrokers(1), DataDir("/d"), withFS(mfs), SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := rawClient(t, c)
	ctx := ctx10s(t)
	produce := func(v string) error {
		resp, err := request[*kmsg.ProduceResponse](ctx, cl, produceReq("t", 0, recordBatch(-1, -1, -1, false, v)))
		if err != nil {
			return err
		}
		return produceErr(resp)
	}
	if err := produce("before"); err != nil {
		t.Fatalf("a produce before the failure: %v", err)
	}
	mfs.mu.Lock()
	mfs.failNextSync = errors.New("input/output error")
	mfs.mu.Unlock()
	if err := produce("failed"); err == nil {
		t.Fatal("a produce whose fsync failed was acknowledged")
	}
	for i := range 3 {
		if err := produce(fmt.Sprint("after ", i)); err == nil {
			t.Fatalf("produce %d after a failed fsync was acknowledged", i)
		}
	}
}

// An EndTxn is answered once its decision is durable, before its markers
// are (Kafka's coordinator answers once PrepareCommit is logged). A power
// cut right after the answer loses the markers and the group offset it
// wrote: the restart must write them again from the decision, so the
// acknowledged commit stands whole.
func TestPowerLossAfterAnAcknowledgedCommitKeepsIt(t *testing.T) {
	t.Parallel()
	if err := ackedCommitThenPowerCut(t, nil); err != nil {
		t.Fatal(err)
	}
}

// The power goes as the first marker of a commit is written, when its
// prepare record is what made pids.log big enough to compact: compaction
// must keep the record. It ran inside the record's append, before the
// transaction was known to be ending, and dropped it, so the restart
// aborted a commit whose answer was on its way (found by a review).
func TestPowerLossAtTheMarkersOfACommitWhosePrepareCompactsTheLog(t *testing.T) {
	t.Parallel()
	pids := filepath.Join(crashDir, "pids.log")
	var before []byte
	if err := ackedCommitThenPowerCut(t, func(cfs *crashFS) { before = cfs.fileBytes(pids) }); err != nil {
		t.Fatal(err)
	}
	// Only the prepare's append reaches this size.
	threshold := strconv.Itoa(len(before) + 1)

	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(2, "out"), SeedTopics(1, "in"), BrokerConfigs(map[string]string{"state.log.compact.bytes": threshold}))
	p := newTxnProducer(rawClient(t, c), "acked-commit")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	for part := range int32(2) {
		if err := p.produce(ctx, "out", part, fmt.Sprintf("x%d", part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.commitOffset(ctx, "g", "in", 0, 42); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cfs.fileBytes(pids), before) {
		t.Fatal("pids.log differs from the measuring run's: the threshold would not fall on the prepare")
	}
	var (
		once    sync.Once
		atCut   *crashFS
		written *crashFS // what was written, durable or not
	)
	cfs.mu.Lock()
	cfs.onWrite = func(path string, b []byte) {
		if isControlBatchWrite(path, b) {
			once.Do(func() { atCut, written = cfs.afterPowerLossLocked(nil), cfs.imageLocked() })
		}
	}
	cfs.mu.Unlock()
	if err := p.end(ctx, true); err != nil {
		t.Fatal(err)
	}
	crash(c)
	if atCut == nil {
		t.Fatal("no marker was written")
	}
	if bytes.HasPrefix(written.fileBytes(pids), before) {
		t.Fatal("pids.log was not compacted: the test missed its case")
	}

	c, err := startOn(atCut)
	if err != nil {
		t.Fatalf("restart after the power cut: %v", err)
	}
	defer c.Close()
	cl := rawClient(t, c)
	out0, out1 := readCommitted(t, cl, "out", 0), readCommitted(t, cl, "out", 1)
	off, committed := committedOffset(c, "g", "in", 0)
	if !slices.Equal(out0, []string{"x0"}) || !slices.Equal(out1, []string{"x1"}) || !committed || off != 42 {
		t.Fatalf("a decided commit after the power cut: out-0 %q, out-1 %q, group offset committed %v (%d)", out0, out1, committed, off)
	}
}

// ackedCommitThenPowerCut commits a transaction over two partitions with a
// group offset, cuts the power as soon as the commit is answered, restarts
// and checks the commit is whole. beforeEnd, if set, sees the filesystem
// just before the EndTxn.
func ackedCommitThenPowerCut(t *testing.T, beforeEnd func(*crashFS), opts ...Opt) error {
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, append([]Opt{SeedTopics(2, "out"), SeedTopics(1, "in")}, opts...)...)
	cl := rawClient(t, c)
	p := newTxnProducer(cl, "acked-commit")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		return err
	}
	for part := range int32(2) {
		if err := p.produce(ctx, "out", part, fmt.Sprintf("x%d", part)); err != nil {
			return err
		}
	}
	if err := p.commitOffset(ctx, "g", "in", 0, 42); err != nil {
		return err
	}
	if beforeEnd != nil {
		beforeEnd(cfs)
	}
	if err := p.end(ctx, true); err != nil {
		return err
	}
	// The power goes now: only what was fsynced is left (nothing else
	// wrote since, so no round carried the markers yet).
	after := cfs.afterPowerLoss(nil)
	crash(c)

	c, err := startOn(after)
	if err != nil {
		return fmt.Errorf("restart after the power cut: %w", err)
	}
	defer c.Close()
	cl = rawClient(t, c)
	out0, out1 := readCommitted(t, cl, "out", 0), readCommitted(t, cl, "out", 1)
	off, committed := committedOffset(c, "g", "in", 0)
	if !slices.Equal(out0, []string{"x0"}) || !slices.Equal(out1, []string{"x1"}) || !committed || off != 42 {
		return fmt.Errorf("an acknowledged commit after the power cut: out-0 %q, out-1 %q, group offset committed %v (%d)", out0, out1, committed, off)
	}
	return nil
}

// Two commits of the same group offset, both decided in pids.log, while
// the power cut kept neither offset's groups.log write. The first commit's
// offset is written after its EndTxn's prepare is durable and not waited
// for; the second transaction commits only an offset, so nothing of it
// waits for a round before its prepare, and the round that makes that
// prepare durable fsyncs groups.log beside it, in no set order (and the
// kernel may write either back first): the power can keep the prepare and
// lose the first offset. Recovery applies both in order, so the later
// offset stands: it skipped the second once it had rewritten the first,
// and the group read its input again (found by a review).
func TestPowerLossBeforeTwoCommitsOffsetsKeepsTheLaterOffset(t *testing.T) {
	t.Parallel()
	groups := filepath.Join(crashDir, "groups.log")
	cfs := newCrashFS(crashDir)
	c := mustStartOn(t, cfs, SeedTopics(1, "out"), SeedTopics(1, "in"))
	p := newTxnProducer(rawClient(t, c), "two-commits")
	ctx := ctx10s(t)
	if err := p.init(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.produce(ctx, "out", 0, "x0"); err != nil {
		t.Fatal(err)
	}
	if err := p.commitOffset(ctx, "g", "in", 0, 42); err != nil {
		t.Fatal(err)
	}
	before := cfs.fileBytes(groups)
	if err := p.end(ctx, true); err != nil {
		t.Fatal(err)
	}
	// The second commits its offset alone.
	if err := p.commitOffset(ctx, "g", "in", 0, 43); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cfs.syncedBytes(groups), before) {
		// The first offset is on disk before the second prepare is
		// written: the state below is not one a power cut leaves.
		t.Fatal("groups.log was fsynced between the commits: the test misses its case")
	}
	if err := p.end(ctx, true); err != nil {
		t.Fatal(err)
	}
	if off, committed := committedOffset(c, "g", "in", 0); !committed || off != 43 {
		t.Fatalf("before the power cut: group offset committed %v (%d), want 43", committed, off)
	}
	img := cfs.image()
	crash(c)
	if bytes.Equal(img.fileBytes(groups), before) {
		t.Fatal("the commits wrote nothing to groups.log: the test misses its case")
	}
	img.setFileBytes(groups, before) // neither commit's offset reached the disk

	c, err := startOn(img)
	if err != nil {
		t.Fatalf("restart after the power cut: %v", err)
	}
	defer c.Close()
	out := readCommitted(t, rawClient(t, c), "out", 0)
	off, committed := committedOffset(c, "g", "in", 0)
	if !slices.Equal(out, []string{"x0"}) || !committed || off != 43 {
		t.Fatalf("after the power cut: out %q, group offset committed %v (%d), want x0 and 43", out, committed, off)
	}
}
