package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/openbank/bank/graph"
	"github.com/openbank/bank/services/gateway"
	"github.com/openbank/bank/site"
)

// serveTest serves h with site.Serve and the timeouts t on a free port until
// the test ends; it returns the address.
func serveTest(t *testing.T, h http.Handler, timeouts site.Timeouts) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- site.Serve(ctx, ln, h, timeouts, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// closedBy waits until the server closes conn, reading (and dropping)
// whatever it answers first; it fails the test if the connection is still
// open after a generous deadline.
func closedBy(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the server kept the connection open", what)
	}
}

func TestSlowAndIdleClientsAreCut(t *testing.T) {
	long, short := time.Hour, 200*time.Millisecond
	readBody := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		}
		io.WriteString(w, "ok")
	})
	dial := func(addr string) net.Conn {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}

	t.Run("headers sent slowly", func(t *testing.T) {
		conn := dial(serveTest(t, readBody, site.Timeouts{Read: long, ReadHeader: short, Idle: long}))
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: bank\r\n") // and never the blank line
		closedBy(t, conn, "headers never finished")
	})
	t.Run("a body sent slowly", func(t *testing.T) {
		conn := dial(serveTest(t, readBody, site.Timeouts{Read: short, ReadHeader: long, Idle: long}))
		io.WriteString(conn, "POST / HTTP/1.1\r\nHost: bank\r\nContent-Length: 1000\r\n\r\nabc") // 997 bytes short
		closedBy(t, conn, "a body that never ends")
	})
	t.Run("an idle kept-alive connection", func(t *testing.T) {
		conn := dial(serveTest(t, readBody, site.Timeouts{Read: long, ReadHeader: long, Idle: short}))
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: bank\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil || res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("first request: %v %v", res, err)
		}
		res.Body.Close()
		closedBy(t, conn, "an idle connection after one request")
	})
}

// A websocket outlives the read and idle timeouts: the connection is the
// websocket's once upgraded.
func TestWebsocketsOutliveTheReadTimeouts(t *testing.T) {
	timeouts := site.Timeouts{Read: 100 * time.Millisecond, ReadHeader: 100 * time.Millisecond, Idle: 100 * time.Millisecond}
	live := gateway.NewLiveFeed()
	srv := gateway.NewServer(&graph.Resolver{Live: live}, gateway.Config{KeepAlive: time.Hour}, nil, nil)
	addr := serveTest(t, srv, timeouts)
	conn, _, err := (&websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}}).Dial("ws://"+addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exchange := func(send, want string) {
		t.Helper()
		if err := conn.WriteMessage(websocket.TextMessage, []byte(send)); err != nil {
			t.Fatalf("send %s: %v", send, err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, msg, err := conn.ReadMessage()
		if err != nil || !strings.Contains(string(msg), want) {
			t.Fatalf("after %s: %q %v, want %s", send, msg, err, want)
		}
	}
	exchange(`{"type":"connection_init"}`, `"connection_ack"`)
	// Well past every timeout, the connection still answers.
	time.Sleep(10 * timeouts.Read)
	exchange(`{"type":"ping"}`, `"pong"`)
}

func TestTimeoutFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want site.Timeouts
		err  string
	}{
		{want: site.Timeouts{Read: 30 * time.Second, ReadHeader: 10 * time.Second, Idle: 2 * time.Minute}},
		{args: []string{"--http-read-timeout", "5s"}, env: map[string]string{"HTTP_IDLE_TIMEOUT": "1m", "HTTP_READ_HEADER_TIMEOUT": "2s"},
			want: site.Timeouts{Read: 5 * time.Second, ReadHeader: 2 * time.Second, Idle: time.Minute}},
		{args: []string{"--http-idle-timeout", "0s"}, err: "--http-idle-timeout 0s: want a positive duration"},
	} {
		f := newFlags("test", func(k string) string { return tc.env[k] }, io.Discard)
		f.httpAddr()
		_, err := f.parse(tc.args)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%v: %v, want %s", tc.args, err, tc.err)
			}
			continue
		}
		if err != nil || f.serverTimeouts() != tc.want {
			t.Errorf("%v %v: %+v %v, want %+v", tc.args, tc.env, f.serverTimeouts(), err, tc.want)
		}
	}
}
