// Package broker runs the embedded Kafka broker: franz-go's kfake, a Kafka
// wire-protocol broker in Go (maintained in third_party/kfake), keeping
// topics, messages, committed offsets and transactions under a data
// directory. By default a write is acknowledged only once it is fsynced, and
// a start after a crash or a power cut finishes or aborts every transaction
// left open, so a restart loses nothing acknowledged.
package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/openbank/bank/durable"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openbank/bank/topology"
)

// Config configures the embedded broker.
type Config struct {
	// Port to listen on, on 127.0.0.1; 0 picks a free one.
	Port int
	// DataDir keeps the broker's state; empty keeps it in memory only.
	DataDir string
	// SyncWrites, true when nil, answers a produce, an EndTxn or an
	// offset commit only once what it wrote is fsynced (group commit:
	// writes arriving during an fsync share the next one). False answers
	// once the bytes reach the OS: a crash of the process loses nothing,
	// a power cut can lose acknowledged writes. Unsafe for money; for
	// tests and benchmarks.
	SyncWrites *bool
	// RetentionInterval is how often expired messages are deleted
	// (retention.ms, retention.bytes); kfake only does so when asked.
	// Zero means every minute.
	RetentionInterval time.Duration
	// Users are the principals the broker accepts, over SASL/SCRAM
	// (SHA-512 or SHA-256);
	// a client that does not authenticate as one is refused. None: no
	// authentication, any process that reaches the port may do anything.
	Users []User
	// ACLs enforces the users' Grants: a user that is not Super may do
	// only what they allow (Kafka's rules: Read and Write imply Describe,
	// Write on a topic lets a producer be idempotent).
	ACLs bool
	Log  *slog.Logger
}

// User is a SASL/SCRAM principal of the broker.
type User struct {
	Name, Password string
	// Super may do anything, whatever the ACLs.
	Super bool
	// Grants are what the user may do when ACLs are on.
	Grants []topology.Grant
}

// Broker is a running embedded broker.
type Broker struct {
	cluster  *kfake.Cluster
	listener *localListener
	lock     *os.File
	addr     string
	stop     chan struct{}
	stopped  chan struct{}
}

// Start starts the broker. It refuses a data directory that another running
// broker holds, since two writers would corrupt it.
func Start(cfg Config) (*Broker, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.Ports(cfg.Port),
		kfake.ClusterID("openbank-embedded"),
		kfake.WithLogger(logger{cfg.Log}),
	}
	sasl, err := saslOptions(cfg)
	if err != nil {
		return nil, err
	}
	opts = append(opts, sasl...)
	b := &Broker{}
	opts = append(opts, kfake.ListenFn(func(network, addr string) (net.Listener, error) {
		if b.listener != nil { // one listener per broker: the bank runs one
			return nil, errors.New("the embedded broker runs one node")
		}
		tcp, err := net.Listen(network, addr)
		if err != nil {
			return nil, err
		}
		b.listener = newLocalListener(tcp)
		return b.listener, nil
	}))
	if cfg.DataDir != "" {
		dir := filepath.Join(cfg.DataDir, "kafka")
		if err := os.MkdirAll(dir, 0o700); err != nil { // the bank's events: this user's only
			return nil, fmt.Errorf("broker data dir: %w", err)
		}
		// The directory entry itself must survive a power cut.
		if err := durable.SyncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("broker data dir: %w", err)
		}
		lock, err := lockDir(dir)
		if err != nil {
			return nil, err
		}
		b.lock = lock
		opts = append(opts, kfake.DataDir(dir))
		if cfg.SyncWrites != nil && !*cfg.SyncWrites {
			opts = append(opts, kfake.AsyncWrites())
		}
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		b.unlock()
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("start broker: port %d is in use (is another bank or Kafka running?): %w", cfg.Port, err)
		}
		return nil, fmt.Errorf("start broker: %w", err)
	}
	b.cluster = cluster
	b.addr = cluster.ListenAddrs()[0]
	b.stop, b.stopped = make(chan struct{}), make(chan struct{})
	interval := cfg.RetentionInterval
	if interval <= 0 {
		interval = time.Minute
	}
	go b.applyRetention(interval)
	return b, nil
}

// applyRetention deletes expired messages now and then, as Kafka's
// log.retention.check.interval.ms does, so the data dir does not grow
// without bound.
func (b *Broker) applyRetention(every time.Duration) {
	defer close(b.stopped)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.cluster.ApplyRetention()
		}
	}
}

// SyncStats returns how many rounds of fsyncs the broker has run and how
// many files and directories they synced: writes arriving during a round
// share the next one, so rounds stay bounded whatever the request rate.
func (b *Broker) SyncStats() (rounds, fsyncs int64) { return b.cluster.SyncStats() }

// Connections counts the connections the broker accepted over TCP and in
// memory.
func (b *Broker) Connections() (tcp, memory int64) {
	return b.listener.accepted.tcp.Load(), b.listener.accepted.local.Load()
}

// DialLocal connects to the broker in memory, for clients in its process
// (kafka.RouteLocal).
func (b *Broker) DialLocal() (net.Conn, error) { return b.listener.dial() }

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// Close stops the broker, writing its state to disk first.
func (b *Broker) Close() {
	close(b.stop)
	<-b.stopped
	b.cluster.Close()
	b.unlock()
}

func (b *Broker) unlock() {
	if b.lock != nil {
		_ = syscall.Flock(int(b.lock.Fd()), syscall.LOCK_UN)
		b.lock.Close()
		b.lock = nil
	}
}

// lockDir takes an exclusive lock on dir, held until the process exits or
// the lock file is closed; the kernel releases it even after a SIGKILL.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock broker data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("broker data dir %s is in use by another running broker", dir)
	}
	return f, nil
}

// logger passes kfake's warnings and errors to slog; its info level logs
// every request, which would drown everything else.
type logger struct{ log *slog.Logger }

func (l logger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error("broker: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.log.Warn("broker: " + fmt.Sprintf(format, args...))
	}
}
