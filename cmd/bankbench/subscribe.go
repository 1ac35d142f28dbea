package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const streamQuery = `subscription($iban: String) { stream_transactions(iban: $iban) { id descr } }`

// subscribe opens the subscribers (graphql-transport-ws), each following
// one account, and returns once all are subscribed. They stop with ctx.
func (b *bench) subscribe(ctx context.Context) (int, error) {
	if b.cfg.subscribers == 0 {
		return 0, nil
	}
	wsURL := "ws" + strings.TrimPrefix(b.cfg.url, "http") + "/graphql"
	dialer := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second}
	sem := make(chan struct{}, 64)
	errs := make(chan error, b.cfg.subscribers)
	var wg sync.WaitGroup
	for i := range b.cfg.subscribers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			conn, _, err := dialer.DialContext(ctx, wsURL, http.Header{})
			if err != nil {
				errs <- fmt.Errorf("subscriber %d: %w", i, err)
				return
			}
			acc := b.accounts[i%len(b.accounts)]
			if err := handshake(conn, acc.iban, acc.session); err != nil {
				conn.Close()
				errs <- fmt.Errorf("subscriber %d: %w", i, err)
				return
			}
			b.listeners.Go(func() { b.listen(ctx, conn) })
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	// The gateway registers a subscription just after reading it.
	time.Sleep(500 * time.Millisecond)
	return b.cfg.subscribers, nil
}

// handshake starts a subscription to the account's transactions, with its
// owner's session (an account's stream is for its owners).
func handshake(conn *websocket.Conn, iban, session string) error {
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	payload := map[string]any{}
	if session != "" { // none from a bank before sessions
		payload["Authorization"] = "Bearer " + session
	}
	if err := conn.WriteJSON(map[string]any{"type": "connection_init", "payload": payload}); err != nil {
		return err
	}
	var ack struct{ Type string }
	if err := conn.ReadJSON(&ack); err != nil || ack.Type != "connection_ack" {
		return fmt.Errorf("no connection_ack (%v, %q)", err, ack.Type)
	}
	conn.SetReadDeadline(time.Time{})
	return conn.WriteJSON(map[string]any{"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": streamQuery, "variables": map[string]any{"iban": iban}}})
}

// listen reads one subscriber's messages until ctx ends, answering pings.
func (b *bench) listen(ctx context.Context, conn *websocket.Conn) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	var msg struct {
		Type    string `json:"type"`
		Payload struct {
			Data struct {
				Tx struct {
					Descr string `json:"descr"`
				} `json:"stream_transactions"`
			} `json:"data"`
		} `json:"payload"`
	}
	for {
		msg.Type, msg.Payload.Data.Tx.Descr = "", ""
		if err := conn.ReadJSON(&msg); err != nil {
			if ctx.Err() == nil {
				b.subErrors.Add(1)
			}
			return
		}
		switch msg.Type {
		case "next":
			b.seen(msg.Payload.Data.Tx.Descr)
		case "ping":
			conn.WriteJSON(map[string]string{"type": "pong"}) // only this goroutine writes after the handshake
		case "error", "complete":
			b.subErrors.Add(1)
			return
		}
	}
}
