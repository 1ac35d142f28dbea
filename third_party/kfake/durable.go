package kfake

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Durable acknowledgements (fork, see NOTICE.md).
//
// With a DataDir, unless AsyncWrites is given, a request is answered only
// once what it wrote is fsynced. Every file opened for writing through
// c.fs is tracked: a write marks the file dirty, a create, rename or remove
// marks the directory dirty. The run loop never fsyncs (except on the rare
// compaction and at start and shutdown): it hands the response to the
// syncer, a goroutine that fsyncs everything dirty in rounds and sends the
// responses whose writes a round covered. Writes made while a round runs
// are batched into the next one (group commit), so the number of fsyncs a
// second stays bounded whatever the request rate.
//
// A round fsyncs everything dirty at its start, files and directories, in
// no particular order: nothing relies on an order within a round.
// Recovery (recovery.go) does not trust one, and a partition's segment is
// fsynced when it rolls (persistBatchToSegment), so a later segment is
// never durable before the tail of the earlier one. Index files (.idx) are
// not fsynced: loading reads every batch header from the segment anyway,
// and rewrites an index whose size does not match its segment.

// syncer fsyncs dirty files and directories in rounds on its own
// goroutine.
type syncer struct {
	c  *Cluster
	fs fs // the untracked filesystem

	mu       sync.Mutex
	wake     chan struct{}
	dirty    map[*trackedFile]struct{}
	dirs     map[string]struct{}
	inflight map[*trackedFile]struct{}
	gen      uint64 // bumped by every write, create, rename and remove
	waiters  []func(error)
	err      error // sticky: after a failed fsync nothing is acknowledged
	done     chan struct{}

	rounds, fsyncs atomic.Int64 // for SyncStats

	loopMu sync.Mutex
	loopQ  []func()
	loopCh chan struct{}
}

func newSyncer(c *Cluster, fsys fs) *syncer {
	return &syncer{
		c:        c,
		fs:       fsys,
		wake:     make(chan struct{}, 1),
		dirty:    make(map[*trackedFile]struct{}),
		dirs:     make(map[string]struct{}),
		inflight: make(map[*trackedFile]struct{}),
		done:     make(chan struct{}),
		loopCh:   make(chan struct{}, 1),
	}
}

func (s *syncer) dirtied(f *trackedFile) {
	s.mu.Lock()
	s.dirty[f] = struct{}{}
	s.gen++
	s.mu.Unlock()
}

func (s *syncer) dirChanged(dir string) {
	s.mu.Lock()
	s.dirs[dir] = struct{}{}
	s.gen++
	s.mu.Unlock()
}

// generation is compared before and after handling a request to learn
// whether it wrote anything.
func (s *syncer) generation() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gen
}

// after calls fn, on the syncer goroutine, once everything written so far
// is durable, or with the error that stopped it from being so. fn must not
// block on the run loop (see onLoop).
func (s *syncer) after(fn func(error)) {
	s.mu.Lock()
	s.waiters = append(s.waiters, fn)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// flush blocks until everything written so far is durable. It must not be
// called on the syncer goroutine.
func (s *syncer) flush() error {
	done := make(chan error, 1)
	s.after(func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-s.done:
		return errors.New("syncer stopped")
	}
}

// onLoop queues fn to run on the cluster's run loop. It never blocks, so
// the syncer can call it while the run loop waits in flush.
func (s *syncer) onLoop(fn func()) {
	s.loopMu.Lock()
	s.loopQ = append(s.loopQ, fn)
	s.loopMu.Unlock()
	select {
	case s.loopCh <- struct{}{}:
	default:
	}
}

// runLoopWork runs what onLoop queued; called by the run loop.
func (s *syncer) runLoopWork() {
	s.loopMu.Lock()
	q := s.loopQ
	s.loopQ = nil
	s.loopMu.Unlock()
	for _, fn := range q {
		fn()
	}
}

// Under load a round first waits a little for more writers (group commit
// delay, as PostgreSQL's commit_delay): at 500 acknowledged transfers a
// second, rounds ran back to back with one or two answers each, and their
// fsyncs were a quarter of the bank's CPU. "Under load" is more than
// busyWaiters answers waited for in the last busyWindow; below that (100
// transfers a second is about 350 answers a second) no round waits.
const (
	roundDelay  = 500 * time.Microsecond
	busyWindow  = 10 * time.Millisecond
	busyWaiters = 6
)

// pace remembers the answers recent rounds served, to tell load.
type pace struct {
	at      []time.Time
	waiters []int
}

// busy reports whether more than busyWaiters answers were waited for in the
// busyWindow before now.
func (p *pace) busy(now time.Time) bool {
	n, drop := 0, 0
	for i, t := range p.at {
		if now.Sub(t) > busyWindow {
			drop = i + 1
			continue
		}
		n += p.waiters[i]
	}
	p.at, p.waiters = p.at[drop:], p.waiters[drop:]
	return n > busyWaiters
}

func (p *pace) served(now time.Time, waiters int) {
	p.at = append(p.at, now)
	p.waiters = append(p.waiters, waiters)
}

func (s *syncer) run() {
	defer close(s.done)
	var p pace
	for {
		select {
		case <-s.wake:
		case <-s.c.die:
			return
		}
		if p.busy(time.Now()) {
			select {
			case <-time.After(roundDelay):
			case <-s.c.die:
				return
			}
		}
		s.mu.Lock()
		ws := s.waiters
		s.waiters = nil
		p.served(time.Now(), len(ws))
		files := make([]*trackedFile, 0, len(s.dirty))
		for f := range s.dirty {
			files = append(files, f)
			s.inflight[f] = struct{}{}
		}
		clear(s.dirty)
		dirs := make([]string, 0, len(s.dirs))
		for d := range s.dirs {
			dirs = append(dirs, d)
		}
		clear(s.dirs)
		err := s.err
		s.mu.Unlock()

		if err == nil {
			err = s.syncAll(files, dirs)
			s.rounds.Add(1)
			s.fsyncs.Add(int64(len(files) + len(dirs)))
		}

		s.mu.Lock()
		if err != nil && s.err == nil {
			s.err = err
			s.c.cfg.logger.Logf(LogLevelError, "fsync failed, nothing written from now on will be acknowledged: %v", err)
		}
		for f := range s.inflight {
			delete(s.inflight, f)
			if _, again := s.dirty[f]; f.closing && !again && !f.closed {
				f.closed = true
				f.file.Close()
			}
		}
		s.mu.Unlock()
		for _, w := range ws {
			w(err)
		}
	}
}

// syncAll fsyncs files and directories one after another. In parallel
// (one goroutine each) looked faster in a loop of writes and fsyncs, but in
// the whole bank it cost more CPU for no latency (docs/benchmarks.md,
// "Issue 20, sixth session"), probably because on ext4 the first fsync
// commits the journal with the other files' data, leaving the rest little
// to do, while every parallel fsync blocks a thread of its own.
func (s *syncer) syncAll(files []*trackedFile, dirs []string) error {
	var errs []error
	for _, f := range files {
		if err := f.file.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("fsync %s: %w", f.name, err))
		}
	}
	for _, d := range dirs {
		if err := s.fs.SyncDir(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("fsync directory %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// release closes f now, or once the syncer has synced it.
func (s *syncer) release(f *trackedFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.closed || f.closing {
		return nil
	}
	_, dirty := s.dirty[f]
	_, inflight := s.inflight[f]
	if dirty || inflight {
		f.closing = true
		return nil
	}
	f.closed = true
	return f.file.Close()
}

// synced records that f was fsynced by its writer.
func (s *syncer) synced(f *trackedFile) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.dirty, f)
}

// trackingFS wraps the cluster's filesystem so that every change is known
// to the syncer.
type trackingFS struct {
	fs
	s    *syncer
	root string // directories above it are not ours to sync
}

// trackedFile is a file opened for writing through trackingFS.
type trackedFile struct {
	file
	s       *syncer
	name    string
	closing bool // closed by its user while dirty: the syncer closes it
	closed  bool
}

func (t trackingFS) OpenFile(name string, flag int, perm os.FileMode) (file, error) {
	f, err := t.fs.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if flag&os.O_CREATE != 0 {
		t.s.dirChanged(filepath.Dir(name))
	}
	if flag&(os.O_WRONLY|os.O_RDWR) == 0 || strings.HasSuffix(name, ".idx") {
		return f, nil
	}
	tf := &trackedFile{file: f, s: t.s, name: name}
	if flag&os.O_TRUNC != 0 {
		t.s.dirtied(tf)
	}
	return tf, nil
}

func (t trackingFS) Rename(oldpath, newpath string) error {
	err := t.fs.Rename(oldpath, newpath)
	t.s.dirChanged(filepath.Dir(oldpath))
	t.s.dirChanged(filepath.Dir(newpath))
	return err
}

func (t trackingFS) Remove(name string) error {
	err := t.fs.Remove(name)
	t.s.dirChanged(filepath.Dir(name))
	return err
}

func (t trackingFS) RemoveAll(path string) error {
	err := t.fs.RemoveAll(path)
	t.s.dirChanged(filepath.Dir(path))
	return err
}

// MkdirAll marks the parent of every directory from path up to the root
// dirty: which of them were created is not known, and syncing one that was
// not costs little.
func (t trackingFS) MkdirAll(path string, perm os.FileMode) error {
	err := t.fs.MkdirAll(path, perm)
	for d := filepath.Clean(path); len(d) > len(t.root) && d != filepath.Dir(d); d = filepath.Dir(d) {
		t.s.dirChanged(filepath.Dir(d))
	}
	return err
}

func (f *trackedFile) Write(b []byte) (int, error) {
	n, err := f.file.Write(b)
	f.s.dirtied(f)
	return n, err
}

func (f *trackedFile) Truncate(size int64) error {
	err := f.file.Truncate(size)
	f.s.dirtied(f)
	return err
}

func (f *trackedFile) Sync() error {
	if err := f.file.Sync(); err != nil {
		return err
	}
	f.s.synced(f)
	return nil
}

func (f *trackedFile) Close() error { return f.s.release(f) }

// SyncStats returns how many rounds of fsyncs the cluster has run and how
// many files and directories they synced (zero without durable writes).
// Each round serves every request that wrote while the previous one ran.
func (c *Cluster) SyncStats() (rounds, fsyncs int64) {
	if c.syncer == nil {
		return 0, 0
	}
	return c.syncer.rounds.Load(), c.syncer.fsyncs.Load()
}

// durable reports whether acknowledgements wait for fsync.
func (c *Cluster) durable() bool { return c.syncer != nil }

// flushNow makes everything written so far durable before returning. The
// run loop calls it only where waiting is rare: start, shutdown, log
// compaction.
func (c *Cluster) flushNow() error {
	if c.syncer == nil {
		return nil
	}
	return c.syncer.flush()
}

func (c *Cluster) writeGen() uint64 {
	if c.syncer == nil {
		return 0
	}
	return c.syncer.generation()
}

func (c *Cluster) loopWorkCh() <-chan struct{} {
	if c.syncer == nil {
		return nil
	}
	return c.syncer.loopCh
}

func (c *Cluster) runLoopWork() {
	if c.syncer != nil {
		c.syncer.runLoopWork()
	}
}

// needsBarrier reports whether a request's answer confirms state that an
// earlier request may have written and not yet made durable: a produce
// answered as a duplicate of a batch still being fsynced, or an EndTxn
// retry answered as already done.
func needsBarrier(kreq kmsg.Request) bool {
	switch req := kreq.(type) {
	case *kmsg.ProduceRequest:
		return req.Acks != 0
	case *kmsg.EndTxnRequest:
		return true
	}
	return false
}

// replyWhenDurable sends kresp once everything written so far is fsynced.
// If fsync failed, the connection is closed instead: the client must not
// take the request as done.
func (c *Cluster) replyWhenDurable(creq *clientReq, kresp kmsg.Response) {
	c.syncer.after(func(err error) {
		if err != nil {
			creq.fail(err)
			return
		}
		creq.reply(kresp)
	})
}

// fail closes the request's connection without an answer.
func (creq *clientReq) fail(err error) {
	select {
	case creq.cc.respCh <- clientResp{corr: creq.corr, err: err}:
	case <-creq.cc.done:
	case <-creq.cc.c.die:
	}
}

// syncDir fsyncs a directory, so that entries created, renamed or removed
// in it survive a power cut.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
