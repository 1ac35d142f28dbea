package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// FuzzWebsocketFrames sends what the fuzzer makes of its input as a
// client's messages (split at NUL bytes; one starting with 'B' goes as a
// binary message) on a connection of either protocol (the first byte),
// and checks that the gateway only ever answers the protocol's messages
// as JSON, closes (if it does) with one of the protocol's codes, and
// keeps nothing of the connection once the client is gone.
func FuzzWebsocketFrames(f *testing.F) {
	for _, seed := range []string{
		"m{\"type\":\"connection_init\"}\x00{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { stream_transactions(iban: \\\"NL66OPEN0000000000\\\") { id } }\"}}\x00{\"id\":\"1\",\"type\":\"complete\"}",
		"l{\"type\":\"connection_init\",\"payload\":{}}\x00{\"id\":\"1\",\"type\":\"start\",\"payload\":{\"query\":\"{ __typename }\"}}\x00{\"type\":\"connection_terminate\"}",
		"m{\"type\":\"ping\",\"payload\":{\"a\":[1,2]}}\x00{\"type\":\"connection_init\"}\x00{\"id\":\"x\",\"type\":\"subscribe\",\"payload\":{\"query\":\"query { a: __typename }\",\"variables\":{\"v\":1e400}}}",
		"l{\"type\":\"start\",\"id\":\"1\"}",
		"mB\x01\x02\x03",
		"m{\"type\":\"connection_init\"}\x00{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{\"query\":\"subscription { stream_transactions(iban: \\\"NL66OPEN0000000000\\\") { id } }\"}}\x00{\"id\":\"1\",\"type\":\"subscribe\",\"payload\":{}}",
		"l{\"type\":\"connection_init\"}\x00{\"id\":\"1\",\"type\":\"start\",\"payload\":{\"query\":\"subscription { stream_transactions(iban: \\\"NL66OPEN0000000000\\\") { id } }\"}}\x00{\"id\":\"1\",\"type\":\"start\",\"payload\":{\"query\":\"subscription { stream_transactions(iban: \\\"NL66OPEN0000000000\\\") { iban } }\"}}\x00{\"id\":\"1\",\"type\":\"stop\"}",
	} {
		f.Add([]byte(seed))
	}
	fx := newWSFixture(f, func(s *wsSettings) { s.ReadLimit = 1024 })
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		protocol, types, codes := "graphql-transport-ws", []string{"connection_ack", "next", "error", "complete", "ping", "pong"},
			[]int{1000, 1009, closeBadRequest, closeUnauthorized, closeSubscriberExists, closeTooManyInitRequests}
		if data[0]%2 == 0 {
			protocol, types, codes = "graphql-ws", []string{"connection_ack", "ka", "data", "error", "complete", "connection_error"},
				[]int{1000, 1002, 1003, 1009, closeUnauthorized}
		}
		d := websocket.Dialer{Subprotocols: []string{protocol}, HandshakeTimeout: 5 * time.Second}
		conn, _, err := d.Dial(fx.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		read := make(chan error, 1)
		go func() {
			for {
				_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, b, err := conn.ReadMessage()
				if err != nil {
					read <- err
					return
				}
				var m struct{ Type string }
				if err := json.Unmarshal(b, &m); err != nil || !slices.Contains(types, m.Type) {
					read <- errors.New("the gateway sent " + string(b))
					return
				}
			}
		}()
		msgs := bytes.Split(data[1:], []byte{0})
		for _, m := range msgs[:min(len(msgs), 20)] {
			kind := websocket.TextMessage
			if len(m) > 0 && m[0] == 'B' {
				kind, m = websocket.BinaryMessage, m[1:]
			}
			if conn.WriteMessage(kind, m) != nil {
				break // closed by the gateway
			}
		}
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
		err = <-read
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("the connection ended with %v", err)
		}
		if !slices.Contains(codes, ce.Code) {
			t.Fatalf("closed with %d %q", ce.Code, ce.Text)
		}
		conn.Close()
		waitUntil(t, "the connection to end", func() bool { return fx.ws.Len() == 0 })
	})
}
