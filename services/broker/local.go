package broker

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// localListener is the broker's listener: it accepts the TCP connections of
// outside clients (kcat, a second process) and the in-process connections
// of the services the one-command bank runs beside it (Broker.DialLocal).
// Both speak the same Kafka protocol, SASL included. An in-process one
// skips the kernel: on loopback TCP every request and answer cost a write
// and a read system call and a wake-up through the network poller (17 % of
// the bank's CPU at 100 transfers/s was in write alone; docs/benchmarks.md).
// A pipe has no buffer: a write returns once the other side has read it,
// which the broker (one request at a time per connection, read ahead) and
// sarama (one request in flight per connection here) both do at once.
type localListener struct {
	tcp     net.Listener
	local   chan net.Conn
	tcpConn chan acceptResult
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when acceptTCP has returned
	once    sync.Once

	accepted struct{ tcp, local atomic.Int64 } // openbank_broker_connections_total
}

type acceptResult struct {
	conn net.Conn
	err  error
}

// dialTimeout bounds an in-memory dial, as Net.DialTimeout bounds a TCP
// one: a broker too busy to accept is an error, not a hang.
const dialTimeout = 5 * time.Second

func newLocalListener(tcp net.Listener) *localListener {
	l := &localListener{tcp: tcp, local: make(chan net.Conn), tcpConn: make(chan acceptResult),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go l.acceptTCP() // owned by l: Close waits for it
	return l
}

// acceptTCP hands Accept the TCP connections until Close closes tcp.
func (l *localListener) acceptTCP() {
	defer close(l.stopped)
	for {
		c, err := l.tcp.Accept()
		select {
		case l.tcpConn <- acceptResult{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// Accept returns the next connection, from either side.
func (l *localListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.local:
		l.accepted.local.Add(1)
		return c, nil
	case r := <-l.tcpConn:
		if r.err != nil {
			return nil, r.err
		}
		l.accepted.tcp.Add(1)
		return r.conn, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// dial hands the broker one end of an in-memory connection and returns the
// other.
func (l *localListener) dial() (_ net.Conn, err error) {
	server, client := net.Pipe()
	t := time.NewTimer(dialTimeout)
	defer t.Stop()
	select {
	case l.local <- pipeConn{server, l.tcp.Addr()}:
		return pipeConn{client, l.tcp.Addr()}, nil
	case <-l.done:
		err = fmt.Errorf("the embedded broker: %w", net.ErrClosed)
	case <-t.C:
		err = fmt.Errorf("the embedded broker did not accept an in-memory connection within %s", dialTimeout)
	}
	server.Close()
	client.Close()
	return nil, err
}

// Close stops accepting, on both sides.
func (l *localListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.tcp.Close()
		<-l.stopped
	})
	return err
}

func (l *localListener) Addr() net.Addr { return l.tcp.Addr() }

// pipeConn is one end of an in-memory connection that gives the broker's
// address for both ends, as a loopback connection would give the
// loopback's: what the broker logs, and matches ACL hosts against, is
// 127.0.0.1, not "pipe".
type pipeConn struct {
	net.Conn
	addr net.Addr
}

func (c pipeConn) LocalAddr() net.Addr  { return c.addr }
func (c pipeConn) RemoteAddr() net.Addr { return c.addr }
