package gateway

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"
)

// The transport the gateway had before its own (gqlgen's, over this
// gorilla adapter), kept in the tests as the reference its answers are
// compared with.

// refWebsocket accepts websocket connections with gorilla/websocket for
// gqlgen's websocket transport (which speaks both graphql-transport-ws and
// the legacy graphql-ws over any implementation).
type refWebsocket struct {
	writeTimeout time.Duration
	// writeBuffers lends write buffers to connections while they write,
	// so an idle subscriber holds none.
	writeBuffers *sync.Pool
	// perSecond is how many messages a client may send a second, twice
	// that at once; a connection sending faster is closed.
	perSecond int
}

func newRefWebsocket(writeTimeout time.Duration, perSecond int) refWebsocket {
	return refWebsocket{writeTimeout: writeTimeout, writeBuffers: &sync.Pool{}, perSecond: perSecond}
}

func (g refWebsocket) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	up := websocket.Upgrader{
		Subprotocols: opts.Subprotocols,
		CheckOrigin:  func(*http.Request) bool { return true }, // checked before: checkOrigin
		// ReadBufferSize 0 reuses the HTTP server's read buffer, which the
		// server keeps anyway while the connection lives.
		WriteBufferSize: 1024,
		WriteBufferPool: g.writeBuffers,
	}
	conn, err := up.Upgrade(w, r, opts.ResponseHeader)
	if err != nil {
		return nil, err // Upgrade has answered the client
	}
	burst := 2 * float64(g.perSecond)
	c := &refConn{conn: conn, writeTimeout: g.writeTimeout, perSecond: float64(g.perSecond), burst: burst,
		allowance: burst, last: time.Now()}
	return c, nil
}

type refConn struct {
	conn         *websocket.Conn
	writeTimeout time.Duration
	mu           sync.Mutex // gorilla allows one writer at a time

	// A token bucket of the messages the client may send; only the
	// transport's read loop uses it.
	perSecond, burst, allowance float64
	last                        time.Time
}

// errRefFlood ends a connection whose client sends messages too fast.
var errRefFlood = errors.New("websocket client sent messages too fast")

// allow takes a message from the bucket.
func (c *refConn) allow() bool {
	now := time.Now()
	c.allowance = min(c.burst, c.allowance+now.Sub(c.last).Seconds()*c.perSecond)
	c.last = now
	if c.allowance < 1 {
		return false
	}
	c.allowance--
	return true
}

var (
	_ transport.WebsocketReadLimiter   = (*refConn)(nil)
	_ transport.WebsocketReadDeadliner = (*refConn)(nil)
)

func (c *refConn) NextReader() (int, io.Reader, error) {
	mt, r, err := c.conn.NextReader()
	if err == nil && c.perSecond > 0 && !c.allow() {
		_ = c.WriteClose(websocket.ClosePolicyViolation, fmt.Sprintf("too many messages: at most %.0f a second", c.perSecond))
		// Read on until the client answers the close (for a second at
		// most): closing with its messages unread would reset the
		// connection, and the client might never see why.
		_ = c.conn.SetReadDeadline(time.Now().Add(time.Second))
		for {
			if _, _, err := c.conn.NextReader(); err != nil {
				break
			}
		}
		return mt, nil, errRefFlood
	}
	if websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived) {
		return mt, nil, transport.ErrWebsocketClosed
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		// Tell the client why before the transport drops the connection.
		_ = c.WriteClose(websocket.CloseMessageTooBig, "message too big")
	}
	return mt, r, err
}

func (c *refConn) WriteJSON(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A client that stops reading must not hold a writer forever.
	if err := c.conn.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return err
	}
	return c.conn.WriteJSON(v)
}

// WriteClose may run beside a writer: gorilla allows WriteControl
// concurrently with the other methods.
func (c *refConn) WriteClose(code int, message string) error {
	return c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, message), time.Now().Add(c.writeTimeout))
}

func (c *refConn) Subprotocol() string               { return c.conn.Subprotocol() }
func (c *refConn) Close() error                      { return c.conn.Close() }
func (c *refConn) SetReadLimit(limit int64)          { c.conn.SetReadLimit(limit) }
func (c *refConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }
