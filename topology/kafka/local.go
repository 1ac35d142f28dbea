package kafka

import (
	"net"
	"sync"

	"github.com/IBM/sarama"
)

// In-process routes: the one-command bank runs its services in the process
// of its embedded broker, and their clients reach it through an in-memory
// connection instead of loopback TCP (services/broker, localListener). The
// protocol, SASL included, is the same; only the kernel is skipped.
var routes struct {
	sync.Mutex
	dial map[string]func() (net.Conn, error)
}

// RouteLocal makes every client built from now on reach the broker at addr
// by dial, until remove is called. Other addresses are dialled over TCP as
// always.
func RouteLocal(addr string, dial func() (net.Conn, error)) (remove func()) {
	routes.Lock()
	defer routes.Unlock()
	if routes.dial == nil {
		routes.dial = map[string]func() (net.Conn, error){}
	}
	routes.dial[addr] = dial
	return func() {
		routes.Lock()
		defer routes.Unlock()
		delete(routes.dial, addr)
	}
}

// applyRoutes gives cfg a dialer that takes the local routes, if there
// are any.
func applyRoutes(cfg *sarama.Config) {
	routes.Lock()
	defer routes.Unlock()
	if len(routes.dial) == 0 {
		return
	}
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = routedDialer{tcp: &net.Dialer{Timeout: cfg.Net.DialTimeout, KeepAlive: cfg.Net.KeepAlive}}
}

type routedDialer struct{ tcp *net.Dialer }

func (d routedDialer) Dial(network, addr string) (net.Conn, error) {
	routes.Lock()
	dial := routes.dial[addr]
	routes.Unlock()
	if dial != nil {
		return dial()
	}
	return d.tcp.Dial(network, addr)
}
