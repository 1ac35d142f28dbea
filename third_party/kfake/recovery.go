package kfake

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Loading and crash recovery (fork, see NOTICE.md).
//
// Every start replays the partition logs: the transaction state of each
// partition (open transactions, the aborted-transaction index) is rebuilt
// from the batches and markers on disk, never trusted from a snapshot, and
// a marker ends a producer's open transaction only if its epoch is at least
// the transaction's. Then recovery, as Kafka's transaction coordinator does
// when it loads __transaction_state, finishes every transaction whose end
// was logged in pids.log (a prepare record with no endtx after it) and
// aborts every other transaction left open, writing real markers to the
// partitions, before the broker answers anything.

type (
	// openTxn is a transaction the replay found open in a partition.
	openTxn struct {
		epoch int16
		first int64
		metas []metaPos
	}
	metaPos struct{ seg, idx int }

	// seqRec is an idempotent batch, to rebuild the producer windows.
	seqRec struct {
		pid      int64
		epoch    int16
		firstSeq int32
		numRecs  int32
		offset   int64
	}

	// partReplay rebuilds a partition's transaction state, batch by
	// batch, in offset order.
	partReplay struct {
		open    map[int64]*openTxn
		aborted []abortedTxnEntry
		orphans []orphanTxn
		seqs    []seqRec
	}
	orphanTxn struct {
		pid int64
		*openTxn
	}
)

// loadFromDisk loads persisted state into the cluster and recovers from a
// crash. Returns true if persisted state was found, false if the data dir
// holds none.
func (c *Cluster) loadFromDisk() (bool, error) {
	fsys := c.fs
	dir := c.cfg.dataDir

	metaPath := filepath.Join(dir, "meta.json")
	metaBytes, err := fsys.ReadFile(metaPath)
	if err != nil {
		if os.IsNotExist(err) {
			return false, nil
		}
		return false, fmt.Errorf("reading %s: %w", metaPath, err)
	}
	var meta persistMeta
	if err := json.Unmarshal(metaBytes, &meta); err != nil {
		return false, fmt.Errorf("parsing %s: %w", metaPath, err)
	}
	if meta.Version > currentPersistVersion {
		return false, fmt.Errorf("%s version %d is newer than supported %d", metaPath, meta.Version, currentPersistVersion)
	}
	c.cfg.clusterID = meta.ClusterID

	cleanupTmpFiles(fsys, dir)

	// Broker configs first (segment configs are needed by topics), then
	// topics (needed by partitions), then the partitions' logs.
	if err := errors.Join(c.loadBrokerConfigs(fsys, dir), c.loadTopics(fsys, dir)); err != nil {
		return false, err
	}
	if err := c.loadPartitions(fsys, dir); err != nil {
		return false, err
	}
	tl, err := c.loadPIDsLog(fsys, dir)
	if err != nil {
		return false, err
	}
	offsetSeqs, err := c.loadGroupsLog(fsys, dir)
	if err != nil {
		return false, err
	}
	if err := errors.Join(
		c.loadACLs(fsys, dir),
		c.loadSASL(fsys, dir),
		c.loadQuotas(fsys, dir),
		c.loadSeqWindows(fsys, dir),
	); err != nil {
		return false, err
	}
	c.rebuildProducerWindows()

	keep := c.sessionInProgressPIDs()
	c.recoverTxns(tl, offsetSeqs, keep)
	if err := c.loadSessionState(); err != nil {
		c.cfg.logger.Logf(LogLevelWarn, "load session state: %v", err)
	}
	c.data.tps.each(func(_ string, _ int32, pd *partData) {
		pd.loadOpen = nil
		pd.loadSeqs = nil
	})

	// What recovery wrote must be durable before anything is answered.
	if err := c.flushNow(); err != nil {
		return false, fmt.Errorf("fsync after recovery: %w", err)
	}
	return true, nil
}

func (c *Cluster) loadPartitions(fsys fs, dir string) error {
	return c.forEachPartition(func(topic string, part int32, pd *partData) error {
		return c.loadPartition(fsys, dir, topic, part, pd)
	})
}

// segScan is what loading found in one segment file.
type segScan struct {
	base        int64
	path        string
	valid, size int64
}

func (c *Cluster) loadPartition(fsys fs, dir, topic string, part int32, pd *partData) error {
	pdir := partDir(dir, topic, part)

	// The snapshot, written at a clean shutdown, is only trusted for
	// what the log cannot tell: the log start offset (DeleteRecords,
	// retention), the leader, the creation time.
	var snap *persistPartSnapshot
	snapPath := filepath.Join(pdir, "snapshot.json")
	if raw, err := fsys.ReadFile(snapPath); err == nil {
		var s persistPartSnapshot
		if err := json.Unmarshal(raw, &s); err == nil && s.Version <= currentPersistVersion {
			snap = &s
		} else {
			c.cfg.logger.Logf(LogLevelWarn, "%s: unreadable, ignored: %v", snapPath, err)
		}
	} else if !os.IsNotExist(err) {
		return fmt.Errorf("reading %s: %w", snapPath, err)
	}

	entries, err := fsys.ReadDir(pdir)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("listing %s: %w", pdir, err)
	}
	var segFiles []int64
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".dat"); ok {
			if base, err := strconv.ParseInt(name, 10, 64); err == nil {
				segFiles = append(segFiles, base)
			}
		}
	}
	slices.Sort(segFiles)

	r := partReplay{open: make(map[int64]*openTxn)}
	scans := make([]segScan, 0, len(segFiles))
	for _, base := range segFiles {
		pd.segments = append(pd.segments, segmentInfo{base: base})
		sc, err := c.loadSegment(pd, fsys, pdir, len(pd.segments)-1, &r)
		if err != nil {
			return err
		}
		scans = append(scans, sc)
	}
	for i, sc := range scans {
		if sc.valid == sc.size {
			continue
		}
		for _, later := range scans[i+1:] {
			if later.valid > 0 {
				return fmt.Errorf("segment file %s is damaged at byte %d (of %d) and the later segment file %s holds valid data: "+
					"refusing to start, since a crash in the middle of an append leaves damage only at the end of the log; "+
					"restore the partition's files", sc.path, sc.valid, sc.size, later.path)
			}
		}
		c.cfg.logger.Logf(LogLevelWarn, "%s: truncating a torn tail of %d bytes at byte %d (an append cut short by a crash)", sc.path, sc.size-sc.valid, sc.valid)
		if err := truncateFile(fsys, sc.path, sc.valid); err != nil {
			return err
		}
	}

	// Transactions still open at the end of the log stay pending until
	// recovery ends them; a transaction fenced by a newer epoch of its
	// producer with no marker (only an older kfake wrote such logs)
	// cannot get one now, so its batches are hidden from read_committed
	// fetches instead.
	for pid, o := range r.open {
		for _, mp := range o.metas {
			pd.segments[mp.seg].index[mp.idx].inTx = true
		}
		if pd.uncommittedPIDs == nil {
			pd.uncommittedPIDs = make(map[int64]int64)
		}
		pd.uncommittedPIDs[pid] = o.first
	}
	for _, o := range r.orphans {
		for _, mp := range o.metas {
			pd.segments[mp.seg].index[mp.idx].orphan = true
		}
		c.cfg.logger.Logf(LogLevelWarn, "partition %s-%d: the transaction of producer %d epoch %d starting at offset %d was never ended (a later epoch of the producer followed with no marker); "+
			"its %d batch(es) are hidden from read_committed consumers", topic, part, o.pid, o.epoch, o.first, len(o.metas))
	}
	pd.loadOpen = r.open
	pd.loadSeqs = r.seqs
	pd.abortedTxns = r.aborted
	slices.SortFunc(pd.abortedTxns, func(a, b abortedTxnEntry) int { return cmp.Compare(a.lastOffset, b.lastOffset) })

	if err := c.rebuildIndexes(pd, fsys, pdir); err != nil {
		return err
	}
	for i := len(pd.segments) - 1; i >= 0; i-- {
		if len(pd.segments[i].index) == 0 {
			// Nothing survived in this file: drop it rather than
			// append to a file that is not the last one.
			c.fs.Remove(filepath.Join(pdir, segmentFileName(pd.segments[i].base)))
			c.fs.Remove(filepath.Join(pdir, indexFileName(pd.segments[i].base)))
		}
	}
	pd.pruneEmptySegments()

	if snap != nil {
		pd.epoch = snap.Epoch
		if snap.LeaderNode >= 0 && int(snap.LeaderNode) < len(c.bs) {
			pd.leader = c.bs[snap.LeaderNode]
		}
		pd.createdAt = snap.CreatedAt
	}
	if pd.hasBatches() {
		first := &pd.segments[0].index[0]
		lastSeg := &pd.segments[len(pd.segments)-1]
		last := &lastSeg.index[len(lastSeg.index)-1]
		pd.highWatermark = last.firstOffset + int64(last.lastOffsetDelta) + 1
		pd.logStartOffset = first.firstOffset
		if snap != nil && snap.LogStartOffset > pd.logStartOffset {
			pd.logStartOffset = min(snap.LogStartOffset, pd.highWatermark)
		}
		pd.epoch = max(pd.epoch, last.epoch)
		if snap == nil {
			pd.createdAt = time.UnixMilli(first.firstTimestamp)
		}
	} else if snap != nil {
		pd.highWatermark = snap.LogStartOffset
		pd.logStartOffset = snap.LogStartOffset
	}
	pd.rolledAt = pd.createdAt
	pd.recalculateLSO()
	pd.eachBatchMeta(func(_, _ int, m *batchMeta) bool {
		if m.firstOffset+int64(m.lastOffsetDelta) >= pd.logStartOffset {
			pd.nbytes += int64(m.nbytes)
		}
		return true
	})
	pd.rebuildMaxTimestampMeta()
	return nil
}

// loadSegment reads a segment file, indexing each whole batch and feeding
// it to the replay. It returns how many of the file's bytes hold whole
// batches; the caller cuts a torn tail. A damaged batch followed by a
// valid one is an error: that is not what a crash leaves.
func (c *Cluster) loadSegment(pd *partData, fsys fs, pdir string, segIdx int, r *partReplay) (segScan, error) {
	seg := &pd.segments[segIdx]
	path := filepath.Join(pdir, segmentFileName(seg.base))
	raw, err := fsys.ReadFile(path)
	if err != nil {
		return segScan{}, fmt.Errorf("reading segment %s: %w", path, err)
	}
	if info, err := fsys.Stat(path); err == nil {
		seg.lastModified = info.ModTime().UnixMilli()
	}
	pos := 0
	for {
		n := batchAt(raw, pos)
		if n == 0 {
			break
		}
		rb, err := decodeBatchRaw(raw[pos : pos+n])
		if err != nil {
			break
		}
		b := &partBatch{RecordBatch: *rb, nbytes: n, epoch: rb.PartitionLeaderEpoch}
		meta := b.meta(int64(pos))
		seg.index = append(seg.index, meta)
		seg.updateEpochRange(b.epoch)
		seg.updateMaxBatch(meta, pos == 0)
		r.add(rb, metaPos{segIdx, len(seg.index) - 1})
		pos += n
	}
	if pos < len(raw) {
		if q := findBatch(raw, pos+1); q >= 0 {
			return segScan{}, fmt.Errorf("segment file %s is damaged at byte %d (of %d) and holds a valid batch after it, at byte %d: "+
				"refusing to start, since a crash in the middle of an append leaves damage only at the end; "+
				"restore the file, or cut it at byte %d by hand to drop what follows the damage", path, pos, len(raw), q, pos)
		}
	}
	seg.size = int64(pos)
	return segScan{base: seg.base, path: path, valid: int64(pos), size: int64(len(raw))}, nil
}

// batchAt returns the size of the whole record batch with a valid CRC
// starting at pos, or 0.
func batchAt(raw []byte, pos int) int {
	const minBatch = 61 // a v2 batch header with no records
	if pos+minBatch > len(raw) {
		return 0
	}
	length := int(int32(binary.BigEndian.Uint32(raw[pos+8:])))
	if length < minBatch-12 || length > len(raw)-pos-12 || raw[pos+16] != 2 {
		return 0
	}
	end := pos + 12 + length
	if binary.BigEndian.Uint32(raw[pos+17:]) != crc32.Checksum(raw[pos+21:end], crc32c) {
		return 0
	}
	return 12 + length
}

// findBatch returns the position of the first valid batch at or after
// from, or -1.
func findBatch(raw []byte, from int) int {
	for q := from; q+61 <= len(raw); q++ {
		if raw[q+16] == 2 && batchAt(raw, q) > 0 {
			return q
		}
	}
	return -1
}

// add folds one batch into the replay. Markers end a producer's open
// transaction only if their epoch is at least the transaction's: a marker
// matches by producer id and epoch, never by producer id alone.
func (r *partReplay) add(b *kmsg.RecordBatch, mp metaPos) {
	pid := b.ProducerID
	control := b.Attributes&0x20 != 0
	if pid >= 0 && !control && b.FirstSequence >= 0 {
		r.seqs = append(r.seqs, seqRec{pid, b.ProducerEpoch, b.FirstSequence, b.NumRecords, b.FirstOffset})
	}
	if control {
		o := r.open[pid]
		if o == nil || o.epoch > b.ProducerEpoch {
			return // nothing of this producer open here (a retried or recovery marker)
		}
		if isAbortMarker(b) {
			r.aborted = append(r.aborted, abortedTxnEntry{producerID: pid, firstOffset: o.first, lastOffset: b.FirstOffset})
		}
		delete(r.open, pid)
		return
	}
	if b.Attributes&0x10 == 0 {
		return
	}
	o := r.open[pid]
	if o != nil && o.epoch < b.ProducerEpoch {
		r.orphans = append(r.orphans, orphanTxn{pid, o})
		o = nil
	}
	if o == nil {
		o = &openTxn{epoch: b.ProducerEpoch, first: b.FirstOffset}
		r.open[pid] = o
	}
	o.metas = append(o.metas, mp)
}

// isAbortMarker decodes a control batch's key: version (2 bytes), type (2
// bytes, 0 ABORT, 1 COMMIT). An unreadable one counts as an abort.
func isAbortMarker(b *kmsg.RecordBatch) bool {
	var rec kmsg.Record
	if err := rec.ReadFrom(b.Records); err != nil || len(rec.Key) < 4 {
		return true
	}
	return binary.BigEndian.Uint16(rec.Key[2:4]) == 0
}

// rebuildIndexes rewrites each segment's .idx file if it does not have one
// entry per batch. The index is derived data: everything in it is in the
// batch headers too, and loading reads those.
func (c *Cluster) rebuildIndexes(pd *partData, fsys fs, pdir string) error {
	for i := range pd.segments {
		seg := &pd.segments[i]
		if len(seg.index) == 0 {
			continue
		}
		path := filepath.Join(pdir, indexFileName(seg.base))
		want := int64(len(seg.index) * indexEntrySize)
		var have int64 = -1
		if info, err := fsys.Stat(path); err == nil {
			have = info.Size()
		}
		if have == want {
			continue
		}
		if have >= 0 {
			c.cfg.logger.Logf(LogLevelWarn, "%s: %d bytes for %d batches, rebuilt from the segment", path, have, len(seg.index))
		}
		buf := make([]byte, 0, want)
		for _, m := range seg.index {
			e := encodeIndexEntry(m.epoch, m.maxTimestamp, m.inTx)
			buf = append(buf, e[:]...)
		}
		f, err := fsys.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return fmt.Errorf("rebuilding %s: %w", path, err)
		}
		_, err = f.Write(buf)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("rebuilding %s: %w", path, err)
		}
	}
	return nil
}

// txnLog is what recovery needs from pids.log.
type txnLog struct {
	prepares []pidLogEntry          // every prepare record, in log order
	pending  map[int64]pidLogEntry  // a producer's last prepare, if no endtx followed it
	last     map[int64]*pidLogEntry // each producer's last prepare
}

// loadPIDsLog replays the transaction log: producer ids and epochs, and the
// prepare records of the transactions whose end it logged.
func (c *Cluster) loadPIDsLog(fsys fs, dir string) (txnLog, error) {
	tl := txnLog{pending: make(map[int64]pidLogEntry), last: make(map[int64]*pidLogEntry)}
	path := filepath.Join(dir, "pids.log")
	entries, size, err := c.readLogFile(fsys, path)
	if err != nil {
		return tl, err
	}
	c.pidsLogSize = size
	for _, e := range entries {
		var entry pidLogEntry
		if err := json.Unmarshal(e.data, &entry); err != nil {
			c.cfg.logger.Logf(LogLevelWarn, "%s: skipping an unreadable entry: %v", path, err)
			continue
		}
		c.logSeq = max(c.logSeq, entry.Seq)
		switch entry.Type {
		case "init":
			pidinf := &pidinfo{
				pids:       &c.pids,
				id:         entry.PID,
				epoch:      entry.Epoch,
				txid:       entry.TxID,
				txTimeout:  entry.Timeout,
				lastActive: time.Now(),
			}
			if entry.Commit != nil {
				pidinf.lastWasCommit = *entry.Commit
			}
			c.pids.ids[entry.PID] = pidinf
			if entry.TxID != "" {
				c.pids.byTxid[entry.TxID] = pidinf
			}
		case "prepare":
			tl.prepares = append(tl.prepares, entry)
			tl.pending[entry.PID] = entry
		case "endtx", "timeout":
			delete(tl.pending, entry.PID)
			if pidinf, ok := c.pids.ids[entry.PID]; ok {
				pidinf.epoch = entry.Epoch
				pidinf.inTx = false
				if entry.Commit != nil {
					pidinf.lastWasCommit = *entry.Commit
				}
			}
		}
	}
	for i := range tl.prepares {
		tl.last[tl.prepares[i].PID] = &tl.prepares[i]
	}
	return tl, nil
}

// loadGroupsLog replays groups.log. It returns the Seq of the last entry of
// each committed offset.
func (c *Cluster) loadGroupsLog(fsys fs, dir string) (map[glCommitKey]int64, error) {
	path := filepath.Join(dir, "groups.log")
	entries, size, err := c.readLogFile(fsys, path)
	if err != nil {
		return nil, err
	}
	c.groupsLogSize = size
	r := replayGroupsLog(entries)
	c.logSeq = max(c.logSeq, r.maxSeq)

	for name, data := range r.metas {
		var meta groupLogEntry
		json.Unmarshal(data, &meta)
		g := c.groups.newGroup(name)
		switch meta.Type {
		case "meta848":
			g.typ = "consumer"
			g.assignorName = meta.Assignor
			g.groupEpoch = meta.GroupEpoch
			g.consumerMembers = make(map[string]*consumerMember)
			g.partitionEpochs = make(map[uuid]map[int32]partitionOwner)
		default:
			g.typ = meta.GroupType
			g.protocolType = meta.ProtoType
			g.protocol = meta.Protocol
			g.generation = meta.Generation
		}
		c.groups.gs[name] = g
	}
	for ck, data := range r.commits {
		var entry groupLogEntry
		json.Unmarshal(data, &entry)
		g, ok := c.groups.gs[ck.group]
		if !ok {
			g = c.groups.newGroup(ck.group)
			c.groups.gs[ck.group] = g
		}
		oc := offsetCommit{
			offset:      entry.Offset,
			leaderEpoch: entry.Epoch,
			metadata:    entry.Metadata,
		}
		if entry.LastCommit != nil {
			oc.lastCommit = time.UnixMilli(*entry.LastCommit)
		}
		g.commits.set(ck.topic, ck.part, oc)
	}
	for sk, data := range r.statics {
		var entry groupLogEntry
		json.Unmarshal(data, &entry)
		g, ok := c.groups.gs[sk.group]
		if !ok {
			continue
		}
		if g.staticMembers == nil {
			g.staticMembers = make(map[string]string)
		}
		g.staticMembers[sk.instance] = entry.MemberID
	}
	return r.seqs, nil
}

// rebuildProducerWindows sets each idempotent producer's sequence window on
// each partition from the batches in the log, which seq_windows.json (only
// written at a clean shutdown) may predate: a producer retrying a batch
// written just before a crash must get a duplicate, not a second copy or an
// out-of-order error.
func (c *Cluster) rebuildProducerWindows() {
	c.data.tps.each(func(t string, p int32, pd *partData) {
		seen := make(map[int64]bool)
		for _, r := range pd.loadSeqs {
			pidinf := c.pids.ids[r.pid]
			if pidinf == nil {
				pidinf = &pidinfo{pids: &c.pids, id: r.pid, epoch: r.epoch, lastActive: time.Now()}
				c.pids.ids[r.pid] = pidinf
			}
			if pidinf.txid == "" && r.epoch > pidinf.epoch {
				pidinf.epoch = r.epoch
			}
			w := pidinf.windows.mkpDefault(t, p)
			if !seen[r.pid] {
				seen[r.pid] = true
				*w = pidwindow{}
			}
			if ok, _, _ := w.pushAndValidate(r.epoch, r.firstSeq, r.numRecs, r.offset); !ok {
				// A gap (compaction removed batches): restart here.
				*w = pidwindow{}
				w.pushAndValidate(r.epoch, r.firstSeq, r.numRecs, r.offset)
			}
		}
	})
}

// sessionInProgressPIDs returns the producers whose transactions a clean
// shutdown saved as in progress: loadSessionState keeps them open.
func (c *Cluster) sessionInProgressPIDs() map[int64]bool {
	data, err := c.fs.ReadFile(filepath.Join(c.cfg.dataDir, "session_state.json"))
	if err != nil {
		return nil
	}
	var ss struct {
		InProgressTxns []struct {
			PID int64 `json:"pid"`
		} `json:"inProgressTxns"`
	}
	if json.Unmarshal(data, &ss) != nil {
		return nil
	}
	keep := make(map[int64]bool)
	for _, t := range ss.InProgressTxns {
		if _, ok := c.pids.ids[t.PID]; ok {
			keep[t.PID] = true
		}
	}
	return keep
}

// recoverTxns ends every transaction a crash left unfinished, writing
// real markers. A transaction open in a partition whose end was logged
// (a prepare record naming the partition and the transaction's first
// offset there) is ended as decided. A commit's group offsets that did not
// reach groups.log (nothing there for the offset is newer than the commit's
// record) are applied. Every other open transaction is aborted, and its
// producer's epoch bumped, fencing the producer as a transaction timeout
// does.
//
// None of this trusts an endtx record: a round of fsyncs can make an endtx
// written after it started durable while a marker or an offset written
// just before it is not.
func (c *Cluster) recoverTxns(tl txnLog, offsetSeqs map[glCommitKey]int64, keep map[int64]bool) {
	type decKey struct {
		pid   int64
		t     string
		p     int32
		first int64
	}
	decided := make(map[decKey]*pidLogEntry)
	for i := range tl.prepares {
		e := &tl.prepares[i]
		for _, tp := range e.Parts {
			if tp.First >= 0 {
				decided[decKey{e.PID, tp.Topic, tp.Part, tp.First}] = e
			}
		}
	}

	finished := make(map[*pidLogEntry]int)
	undecided := make(map[int64][]*partData)
	var undecidedPIDs []int64
	c.data.tps.each(func(t string, p int32, pd *partData) {
		for pid, o := range pd.loadOpen {
			if keep[pid] {
				continue
			}
			if e := decided[decKey{pid, t, p, o.first}]; e != nil && o.epoch <= e.Epoch {
				delete(pd.loadOpen, pid)
				if c.writeTxnMarker(pd, pid, e.Epoch, *e.Commit, 0) >= 0 {
					finished[e]++
				}
				continue
			}
			if undecided[pid] == nil {
				undecidedPIDs = append(undecidedPIDs, pid)
			}
			undecided[pid] = append(undecided[pid], pd)
		}
	})

	offsets := make(map[*pidLogEntry]int)
	for i := range tl.prepares {
		e := &tl.prepares[i]
		if e.Commit == nil || !*e.Commit {
			continue
		}
		for _, o := range e.Offsets {
			k := glCommitKey{o.Group, o.Topic, o.Part}
			if offsetSeqs[k] > e.Seq {
				continue // written, or superseded, after the commit
			}
			g := c.groups.gs[o.Group]
			if g == nil {
				g = c.groups.newGroup(o.Group)
				c.groups.gs[o.Group] = g
			}
			g.commitAndPersist(o.Topic, o.Part, offsetCommit{offset: o.Offset, leaderEpoch: o.LeaderEpoch, metadata: o.Metadata})
			// A later decided commit of the same offset still applies:
			// it is newer than this one, not than recovery's rewrite.
			offsetSeqs[k] = e.Seq
			offsets[e]++
		}
	}

	for i := range tl.prepares {
		e := &tl.prepares[i]
		if finished[e] > 0 || offsets[e] > 0 {
			what := "abort"
			if *e.Commit {
				what = "commit"
			}
			c.cfg.logger.Logf(LogLevelWarn, "recovery: finished the %s of transaction %q (producer %d, epoch %d) logged before the crash: %d marker(s) and %d group offset(s) written",
				what, e.TxID, e.PID, e.Epoch, finished[e], offsets[e])
		}
	}
	for pid, e := range tl.pending {
		c.persistPIDEntry(pidLogEntry{Type: "endtx", PID: pid, Epoch: e.Epoch, Commit: e.Commit})
	}
	for pid, e := range tl.last {
		pidinf := c.pids.ids[pid]
		if pidinf == nil {
			continue
		}
		if _, ok := tl.pending[pid]; ok {
			pidinf.epoch = max(pidinf.epoch, e.Epoch)
			pidinf.lastWasCommit = *e.Commit
		}
		// The bump of an EndTxn v5+ may not have reached the log.
		if e.Bump && pidinf.epoch == e.Epoch {
			pidinf = c.pids.bumpEpoch(pidinf)
			c.persistPIDEntry(pidLogEntry{Type: "init", PID: pidinf.id, Epoch: pidinf.epoch, TxID: pidinf.txid, Timeout: pidinf.txTimeout})
		}
	}

	slices.Sort(undecidedPIDs)
	for _, pid := range undecidedPIDs {
		pds := undecided[pid]
		var epoch int16
		for _, pd := range pds {
			epoch = max(epoch, pd.loadOpen[pid].epoch)
		}
		txid := ""
		if pidinf := c.pids.ids[pid]; pidinf != nil {
			pidinf.epoch = max(pidinf.epoch, epoch)
			pidinf = c.pids.bumpEpoch(pidinf)
			pidinf.lastWasCommit = false
			txid = pidinf.txid
			if pidinf.id == pid {
				epoch = pidinf.epoch
			} else {
				// The epochs ran out: the producer has a new id.
				c.persistPIDEntry(pidLogEntry{Type: "init", PID: pidinf.id, Epoch: pidinf.epoch, TxID: pidinf.txid, Timeout: pidinf.txTimeout})
			}
		}
		abort := false
		prep := pidLogEntry{Type: "prepare", PID: pid, Epoch: epoch, TxID: txid, Commit: &abort}
		for _, pd := range pds {
			prep.Parts = append(prep.Parts, persistTxnPart{Topic: pd.t, Part: pd.p, First: pd.loadOpen[pid].first})
		}
		c.persistPIDEntry(prep)
		for _, pd := range pds {
			delete(pd.loadOpen, pid)
			c.writeTxnMarker(pd, pid, epoch, false, 0)
		}
		c.persistPIDEntry(pidLogEntry{Type: "endtx", PID: pid, Epoch: epoch, Commit: &abort})
		c.cfg.logger.Logf(LogLevelWarn, "recovery: aborted the transaction %q of producer %d left open by the crash: ABORT markers written to %d partition(s), producer epoch now %d",
			txid, pid, len(pds), epoch)
	}
}
