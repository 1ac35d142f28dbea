package kfake

import (
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// crashFS is a filesystem for crash tests. It keeps, besides what a reader
// sees now, what would be left after the power went: the bytes of each file
// as of its last fsync and each directory's entries as of the directory's
// last fsync. image() is what a process crash leaves (everything written
// reached the OS); afterPowerLoss() what a power cut leaves (nothing that was
// not fsynced, and un-synced appends torn at a random byte).
type crashFS struct {
	mu sync.Mutex

	nodes map[string]*crashNode // path -> file, as seen now
	dirs  map[string]bool       // directories, as seen now

	durNodes map[string]*crashNode // path -> file, as of each parent's last fsync
	durDirs  map[string]bool

	// budget is how many more bytes may be written before the power goes;
	// negative means no limit. Once it is spent, every call fails.
	budget int64
	// syncBudget is how many more fsyncs (of files or directories) may
	// run before the power goes, in the middle of a round; negative means
	// no limit.
	syncBudget int64
	dead       bool
	cut        chan struct{}

	// onWrite, if set, is called (with mu held) after each write.
	onWrite func(path string, b []byte)

	written, syncs, dirSyncs int64
}

type crashNode struct {
	data    []byte
	synced  []byte
	modTime time.Time
}

var errPowerLost = errors.New("crashFS: the power is gone")

// newCrashFS returns an empty filesystem holding the directory root (the
// data dir), which is durable from the start.
func newCrashFS(root string) *crashFS {
	m := &crashFS{
		nodes:      make(map[string]*crashNode),
		dirs:       make(map[string]bool),
		durNodes:   make(map[string]*crashNode),
		durDirs:    make(map[string]bool),
		budget:     -1,
		syncBudget: -1,
		cut:        make(chan struct{}),
	}
	for d := root; ; d = filepath.Dir(d) {
		m.dirs[d] = true
		m.durDirs[d] = true
		if d == "/" || d == "." {
			break
		}
	}
	return m
}

// powerCutAfter makes the power go once n more bytes are written.
func (m *crashFS) powerCutAfter(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.budget = n
}

// powerCutAtSync makes the power go instead of the n+1th fsync from now.
func (m *crashFS) powerCutAtSync(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncBudget = n
}

// syncPoint counts an fsync against syncBudget, cutting the power when it
// is spent.
func (m *crashFS) syncPoint() error {
	if m.syncBudget == 0 {
		m.dead = true
		close(m.cut)
		return errPowerLost
	}
	if m.syncBudget > 0 {
		m.syncBudget--
	}
	return nil
}

func (m *crashFS) syncCount() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs + m.dirSyncs
}

func (m *crashFS) isDead() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead
}

func (m *crashFS) bytesWritten() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.written
}

// image returns what a process crash (SIGKILL) leaves now: every byte and
// every directory entry written so far, as a new filesystem.
func (m *crashFS) image() *crashFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.imageLocked()
}

func (m *crashFS) imageLocked() *crashFS {
	n := newCrashFS("/")
	for p := range m.dirs {
		n.dirs[p], n.durDirs[p] = true, true
	}
	for p, f := range m.nodes {
		c := &crashNode{data: slices.Clone(f.data), modTime: f.modTime}
		c.synced = slices.Clone(c.data)
		n.nodes[p], n.durNodes[p] = c, c
	}
	return n
}

// afterPowerLoss returns what a power cut leaves: the directory entries as
// of each directory's last fsync, and each file's bytes as of its last
// fsync plus a random prefix of what was appended since (sometimes followed
// by zeros, as when a file's size reached the disk before its data). A nil
// rng keeps nothing that was not fsynced.
func (m *crashFS) afterPowerLoss(rng *rand.Rand) *crashFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.afterPowerLossLocked(rng)
}

// afterPowerLossLocked is afterPowerLoss with m.mu held (from onWrite).
func (m *crashFS) afterPowerLossLocked(rng *rand.Rand) *crashFS {
	n := newCrashFS("/")
	durable := func(p string) bool {
		for d := filepath.Dir(p); ; d = filepath.Dir(d) {
			if !m.durDirs[d] {
				return false
			}
			if d == "/" {
				return true
			}
		}
	}
	for p := range m.durDirs {
		if durable(p) {
			n.dirs[p], n.durDirs[p] = true, true
		}
	}
	torn := make(map[*crashNode]*crashNode) // a renamed file can be under two names
	for p, f := range m.durNodes {
		if !durable(p) {
			continue
		}
		c, ok := torn[f]
		if !ok {
			c = &crashNode{data: tear(f, rng), modTime: f.modTime}
			c.synced = slices.Clone(c.data)
			torn[f] = c
		}
		n.nodes[p], n.durNodes[p] = c, c
	}
	return n
}

func tear(f *crashNode, rng *rand.Rand) []byte {
	out := slices.Clone(f.synced)
	if rng == nil {
		return out
	}
	common := 0
	for common < len(f.synced) && common < len(f.data) && f.synced[common] == f.data[common] {
		common++
	}
	if common < len(f.synced) {
		// Truncated or overwritten since the fsync: the old bytes, or
		// the new ones up to a random point.
		if rng.Intn(2) == 0 {
			return out
		}
		out = out[:common]
	}
	if extra := len(f.data) - len(out); extra > 0 {
		// None of it, all of it (the page cache was written back just
		// before the cut), or a random prefix.
		switch rng.Intn(3) {
		case 0:
			extra = 0
		case 1:
		default:
			extra = rng.Intn(extra + 1)
		}
		out = append(out, f.data[len(out):len(out)+extra]...)
		// The new size reached the disk, not all of the data.
		if rng.Intn(4) == 0 {
			out = append(out, make([]byte, rng.Intn(len(f.data)-len(out)+1))...)
		}
	}
	return out
}

func (m *crashFS) check() error {
	if m.dead {
		return errPowerLost
	}
	return nil
}

func (m *crashFS) OpenFile(name string, flag int, _ os.FileMode) (file, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	f, ok := m.nodes[name]
	if !ok {
		if flag&os.O_CREATE == 0 {
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		}
		if !m.dirs[filepath.Dir(name)] {
			return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
		}
		f = &crashNode{modTime: time.Now()}
		m.nodes[name] = f
	}
	if flag&os.O_TRUNC != 0 {
		f.data = f.data[:0:0]
	}
	h := &crashFile{fs: m, name: name, n: f, flag: flag}
	if flag&os.O_APPEND != 0 {
		h.pos = int64(len(f.data))
	}
	return h, nil
}

func (m *crashFS) Rename(oldpath, newpath string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	f, ok := m.nodes[oldpath]
	if !ok || !m.dirs[filepath.Dir(newpath)] {
		return &os.PathError{Op: "rename", Path: oldpath, Err: os.ErrNotExist}
	}
	m.nodes[newpath] = f
	delete(m.nodes, oldpath)
	return nil
}

func (m *crashFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	if _, ok := m.nodes[name]; ok {
		delete(m.nodes, name)
		return nil
	}
	if m.dirs[name] {
		for p := range m.nodes {
			if filepath.Dir(p) == name {
				return &os.PathError{Op: "remove", Path: name, Err: errors.New("directory not empty")}
			}
		}
		delete(m.dirs, name)
		return nil
	}
	return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
}

func (m *crashFS) RemoveAll(path string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	prefix := path + "/"
	for p := range m.nodes {
		if p == path || strings.HasPrefix(p, prefix) {
			delete(m.nodes, p)
		}
	}
	for p := range m.dirs {
		if p == path || strings.HasPrefix(p, prefix) {
			delete(m.dirs, p)
		}
	}
	return nil
}

func (m *crashFS) MkdirAll(path string, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	for d := path; !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	return nil
}

// SyncDir makes the directory's entries durable: files and directories
// created, renamed into or removed from it.
func (m *crashFS) SyncDir(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	if !m.dirs[dir] {
		return &os.PathError{Op: "open", Path: dir, Err: os.ErrNotExist}
	}
	if err := m.syncPoint(); err != nil {
		return err
	}
	m.dirSyncs++
	for p := range m.durNodes {
		if filepath.Dir(p) == dir {
			delete(m.durNodes, p)
		}
	}
	for p := range m.durDirs {
		if filepath.Dir(p) == dir && p != dir {
			delete(m.durDirs, p)
		}
	}
	for p, f := range m.nodes {
		if filepath.Dir(p) == dir {
			m.durNodes[p] = f
		}
	}
	for p := range m.dirs {
		if filepath.Dir(p) == dir && p != dir {
			m.durDirs[p] = true
		}
	}
	return nil
}

func (m *crashFS) ReadDir(name string) ([]os.DirEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	if !m.dirs[name] {
		return nil, &os.PathError{Op: "readdir", Path: name, Err: os.ErrNotExist}
	}
	var entries []os.DirEntry
	for p, f := range m.nodes {
		if filepath.Dir(p) == name {
			entries = append(entries, memDirEntry{name: filepath.Base(p), size: int64(len(f.data))})
		}
	}
	for p := range m.dirs {
		if p != name && filepath.Dir(p) == name {
			entries = append(entries, memDirEntry{name: filepath.Base(p), isDir: true})
		}
	}
	slices.SortFunc(entries, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

func (m *crashFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	f, ok := m.nodes[name]
	if !ok {
		return nil, &os.PathError{Op: "read", Path: name, Err: os.ErrNotExist}
	}
	return slices.Clone(f.data), nil
}

func (m *crashFS) Stat(name string) (os.FileInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return nil, err
	}
	if f, ok := m.nodes[name]; ok {
		return memFileInfo{name: filepath.Base(name), size: int64(len(f.data)), modTime: f.modTime}, nil
	}
	if m.dirs[name] {
		return memFileInfo{name: filepath.Base(name), isDir: true}, nil
	}
	return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
}

// fileBytes returns a file's current bytes, nil if it does not exist.
func (m *crashFS) fileBytes(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.nodes[name]; ok {
		return slices.Clone(f.data)
	}
	return nil
}

// syncedBytes returns a file's bytes as of its last fsync.
func (m *crashFS) syncedBytes(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.nodes[name]; ok {
		return slices.Clone(f.synced)
	}
	return nil
}

// setFileBytes replaces a file's bytes, durably: a test damaging a file.
func (m *crashFS) setFileBytes(name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.nodes[name]
	f.data, f.synced = slices.Clone(b), slices.Clone(b)
}

type crashFile struct {
	fs   *crashFS
	name string
	n    *crashNode
	pos  int64
	flag int
}

func (f *crashFile) Write(b []byte) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return 0, err
	}
	short := false
	if m.budget >= 0 && int64(len(b)) > m.budget {
		// The power goes in the middle of this write: the first bytes
		// reach the page cache, then nothing more happens.
		b = b[:m.budget]
		short = true
	}
	if f.flag&os.O_APPEND != 0 {
		f.pos = int64(len(f.n.data))
	}
	if end := f.pos + int64(len(b)); end > int64(len(f.n.data)) {
		f.n.data = append(f.n.data, make([]byte, end-int64(len(f.n.data)))...)
	}
	copy(f.n.data[f.pos:], b)
	f.pos += int64(len(b))
	f.n.modTime = time.Now()
	m.written += int64(len(b))
	if m.budget >= 0 {
		m.budget -= int64(len(b))
	}
	if short {
		m.dead = true
		close(m.cut)
		return len(b), errPowerLost
	}
	if m.onWrite != nil {
		m.onWrite(f.name, b)
	}
	return len(b), nil
}

func (f *crashFile) Read(b []byte) (int, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(b, f.n.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *crashFile) Seek(offset int64, whence int) (int64, error) {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return 0, err
	}
	switch whence {
	case io.SeekStart:
		f.pos = offset
	case io.SeekCurrent:
		f.pos += offset
	case io.SeekEnd:
		f.pos = int64(len(f.n.data)) + offset
	}
	return f.pos, nil
}

func (f *crashFile) Truncate(size int64) error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	if size < int64(len(f.n.data)) {
		f.n.data = f.n.data[:size:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	return nil
}

func (f *crashFile) Sync() error {
	m := f.fs
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(); err != nil {
		return err
	}
	if err := m.syncPoint(); err != nil {
		return err
	}
	m.syncs++
	f.n.synced = slices.Clone(f.n.data)
	return nil
}

func (*crashFile) Close() error { return nil }
