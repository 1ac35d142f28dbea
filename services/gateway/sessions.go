package gateway

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/IBM/sarama"
	"github.com/gorilla/websocket"

	"github.com/openbank/bank/eventlog"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// SessionConsumer names the gateway's reading of session_events on dead
// letters.
const SessionConsumer = "gateway-sessions"

// revocationReader follows session_events from the oldest revocation (the
// topic keeps them longer than any session lives), so this gateway honours
// every log-out and password change, whichever gateway took it.
type revocationReader struct {
	client  sarama.Client // its own connection: see followRevocations
	lookups sarama.Client
	events  *eventlog.Log
	stop    context.CancelFunc
	done    chan struct{}
}

// followRevocations starts reading revocations and returns once every one
// committed before the start is applied: a gateway that serves sooner
// could take a session that was revoked.
func (g *Gateway) followRevocations(ctx context.Context, codec *topology.Codec) (*revocationReader, error) {
	lookups, err := kafka.Connect(ctx, g.cfg.Brokers, kafka.NewConfig(g.cfg.ClientID+"-session-lookups"), g.cfg.Log)
	if err != nil {
		return nil, err
	}
	// A connection of its own: a broker answers one connection's requests
	// in order, so sharing the live feed's would hold each live fetch
	// behind this reader's waiting one (it waits while no one logs out).
	client, err := kafka.Connect(ctx, g.cfg.Brokers, kafka.ConsumerConfig(g.cfg.ClientID+"-sessions"), g.cfg.Log)
	if err != nil {
		lookups.Close()
		return nil, err
	}
	events, err := eventlog.Open(ctx, client, lookups, []string{topology.SessionEvents}, "revoked sessions", g.cfg.Log)
	if err != nil {
		client.Close()
		lookups.Close()
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	r := &revocationReader{client: client, lookups: lookups, events: events, stop: stop, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			select {
			case <-runCtx.Done():
				return
			case m := <-events.Messages():
				g.revoke(runCtx, codec, m)
				events.Applied(m)
			}
		}
	}()
	ends, err := events.Ends()
	if err == nil {
		err = events.WaitCaughtUp(ctx, ends)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("read the revoked sessions: %w", err)
	}
	return r, nil
}

// revoke applies one revocation; what it cannot read is parked.
func (g *Gateway) revoke(ctx context.Context, codec *topology.Codec, m *sarama.ConsumerMessage) {
	rec, err := codec.Decode(ctx, m.Topic, m.Value)
	if err != nil {
		g.bus.Park(m, SessionConsumer, fmt.Errorf("undecodable %s record: %w", m.Topic, err))
		return
	}
	e, ok := rec.(*schemas.SessionsRevokedEvent)
	if !ok {
		g.bus.Park(m, SessionConsumer, fmt.Errorf("%s is not a record of %s", rec.AvroName(), m.Topic))
		return
	}
	g.revocations.Revoke(e.Username, e.RevokedAt)
}

// Close stops reading revocations.
func (r *revocationReader) Close() {
	r.stop()
	<-r.done
	r.events.Close()
	r.client.Close()
	r.lookups.Close()
}

// liveSessions keeps the websocket connections opened with a user's
// session, to close them with 4401 when the session is revoked or expires:
// a connection outliving its session would go on streaming.
type liveSessions struct {
	mu    sync.Mutex
	conns map[string]map[*wsHolder]session.Subject // by username
}

func newLiveSessions(r *session.Revocations) *liveSessions {
	l := &liveSessions{conns: map[string]map[*wsHolder]session.Subject{}}
	r.Listen(l.revoked)
	return l
}

// add tracks a connection's session until it ends, and closes it when the
// session expires.
func (l *liveSessions) add(h *wsHolder, s session.Subject) {
	c := h.held()
	if s.Employee || c == nil {
		return
	}
	l.mu.Lock()
	if l.conns[s.Username] == nil {
		l.conns[s.Username] = map[*wsHolder]session.Subject{}
	}
	l.conns[s.Username][h] = s
	l.mu.Unlock()
	c.expireAt(s.Expires)
	c.whenClosed(func() {
		l.mu.Lock()
		delete(l.conns[s.Username], h)
		if len(l.conns[s.Username]) == 0 {
			delete(l.conns, s.Username)
		}
		l.mu.Unlock()
	})
}

// revoked closes username's connections whose session was issued at or
// before at.
func (l *liveSessions) revoked(username string, at int64) {
	l.mu.Lock()
	var closing []*wsHolder
	for h, s := range l.conns[username] {
		if s.IssuedAt <= at {
			closing = append(closing, h)
		}
	}
	l.mu.Unlock()
	for _, h := range closing {
		h.close("session revoked")
	}
}

// wsHolder carries a websocket connection from the upgrade to the
// connection's init (where its session is known), through the request's
// context.
type wsHolder struct {
	mu   sync.Mutex
	conn *wsConn
}

type wsHolderKey struct{}

// holdWebsockets gives each websocket upgrade request a holder.
func holdWebsockets(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			r = r.WithContext(context.WithValue(r.Context(), wsHolderKey{}, &wsHolder{}))
		}
		next.ServeHTTP(w, r)
	})
}

func holderOf(ctx context.Context) *wsHolder {
	h, _ := ctx.Value(wsHolderKey{}).(*wsHolder)
	return h
}

func (h *wsHolder) set(c *wsConn) {
	h.mu.Lock()
	h.conn = c
	h.mu.Unlock()
}

// held returns the held connection (nil: none yet).
func (h *wsHolder) held() *wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.conn
}

// close ends the connection with 4401, on which graphql-ws clients stop
// retrying with the same session.
func (h *wsHolder) close(reason string) {
	h.mu.Lock()
	c := h.conn
	h.mu.Unlock()
	if c == nil {
		return
	}
	c.closeWith(closeUnauthorized, reason)
}
