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
	dial map[string]*route
}

type route struct{ dial func() (net.Conn, error) }

// RouteLocal makes the clients of every configuration built from now on
// (NewConfig) reach the broker at addr by dial, until remove is called;
// after that, they dial addr over TCP. Other addresses are dialled over
// TCP as always. remove takes out this route only, not one set for addr
// since (tests run several banks in one process, and ports are reused).
func RouteLocal(addr string, dial func() (net.Conn, error)) (remove func()) {
	routes.Lock()
	defer routes.Unlock()
	if routes.dial == nil {
		routes.dial = map[string]*route{}
	}
	r := &route{dial}
	routes.dial[addr] = r
	return func() {
		routes.Lock()
		defer routes.Unlock()
		if routes.dial[addr] == r {
			delete(routes.dial, addr)
		}
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
	r := routes.dial[addr]
	routes.Unlock()
	if r != nil {
		return r.dial()
	}
	return d.tcp.Dial(network, addr)
}
