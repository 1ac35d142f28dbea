package broker

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// localListener is the broker's listener: it accepts the TCP connections of
// outside clients (kcat, a second process) and the in-process connections
// of the services the one-command bank runs beside it (Broker.DialLocal).
// Both speak the same Kafka protocol, SASL included; an in-process one
// only skips the kernel: on loopback TCP every request and answer cost a
// write and a read system call and a wake-up through the network poller,
// a fifth of the bank's CPU per transfer (docs/benchmarks.md).
type localListener struct {
	tcp     net.Listener
	local   chan net.Conn
	done    chan struct{}
	once    sync.Once
	tcpConn chan acceptResult

	accepted struct{ tcp, local atomic.Int64 } // for tests
}

type acceptResult struct {
	conn net.Conn
	err  error
}

func newLocalListener(tcp net.Listener) *localListener {
	l := &localListener{tcp: tcp, local: make(chan net.Conn), done: make(chan struct{}), tcpConn: make(chan acceptResult)}
	go l.acceptTCP() // stops when Close closes tcp
	return l
}

func (l *localListener) acceptTCP() {
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
		if r.err == nil {
			l.accepted.tcp.Add(1)
		}
		return r.conn, r.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// dial hands the broker one end of an in-memory connection and returns the
// other.
func (l *localListener) dial() (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.local <- server:
		return client, nil
	case <-l.done:
		server.Close()
		client.Close()
		return nil, errors.New("the embedded broker is closed")
	}
}

func (l *localListener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.tcp.Close()
	})
	return err
}

func (l *localListener) Addr() net.Addr { return l.tcp.Addr() }
