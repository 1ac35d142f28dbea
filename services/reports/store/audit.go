package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/openbank/bank/contract"
)

// MaxAuditPage bounds the events of one audit page.
const MaxAuditPage = contract.MaxAuditPage

// AuditQuery asks for a page of the audit log.
type AuditQuery struct {
	From, To time.Time // written at or after From, at or before To; zero: unbounded
	After    string    // a cursor from an earlier page; empty: from the start
	First    int       // page size, 1 to MaxAuditPage
}

// The audit log's answers are the contract's types: the reports service
// builds them, the gateway reads them.
type (
	AuditEvent       = contract.AuditEvent
	AuditTransaction = contract.AuditTransaction
	AuditPage        = contract.AuditPage
)

// BadQuery is a query that can never be answered as asked: its Reason is
// for the asker.
type BadQuery struct{ Reason contract.Reason }

func (b BadQuery) Error() string { return b.Reason.Text }

// cursor is a position in the audit log's order.
type cursor struct {
	at        time.Time
	topic     string
	partition int32
	offset    int64
}

func (c cursor) String() string {
	return fmt.Sprintf("%d:%s:%d:%d", c.at.UnixMicro(), c.topic, c.partition, c.offset)
}

// ParseCursor reads a cursor an audit page gave.
func ParseCursor(s string) (time.Time, string, int32, int64, error) {
	parts := strings.Split(s, ":")
	if len(parts) == 4 {
		at, err1 := strconv.ParseInt(parts[0], 10, 64)
		p, err2 := strconv.ParseInt(parts[2], 10, 32)
		off, err3 := strconv.ParseInt(parts[3], 10, 64)
		if err1 == nil && err2 == nil && err3 == nil && parts[1] != "" {
			return time.UnixMicro(at).UTC(), parts[1], int32(p), off, nil
		}
	}
	return time.Time{}, "", 0, 0, fmt.Errorf("cursor %q is not one an audit page gave", s)
}

// AuditLog reads a page of the audit log of the schema from pool: events
// in log order, by time (the broker's, at append), then topic, partition
// and offset.
func AuditLog(ctx context.Context, pool *pgxpool.Pool, schema string, q AuditQuery) (AuditPage, error) {
	if q.First < 1 || q.First > MaxAuditPage {
		return AuditPage{}, BadQuery{contract.PageSizeInvalid(MaxAuditPage)}
	}
	s := pgx.Identifier{schema}.Sanitize()
	where, args := []string{"true"}, []any{}
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if !q.From.IsZero() {
		where = append(where, "e.at >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "e.at <= "+arg(q.To))
	}
	if q.After != "" {
		at, topic, p, off, err := ParseCursor(q.After)
		if err != nil {
			return AuditPage{}, BadQuery{contract.CursorInvalid}
		}
		where = append(where, fmt.Sprintf("(e.at, e.topic, e.partition, e.log_offset) > (%s, %s, %s, %s)", arg(at), arg(topic), arg(p), arg(off)))
	}
	rows, err := pool.Query(ctx, "SELECT e.topic, e.partition, e.log_offset, e.at, e.type, e.aggregate, e.actor, e.body, e.note, "+
		"t.id, t.iban, t.change, t.balance FROM "+s+".events e LEFT JOIN "+s+".transactions t ON t.id = e.transaction_id WHERE "+
		strings.Join(where, " AND ")+" ORDER BY e.at, e.topic, e.partition, e.log_offset LIMIT "+arg(q.First+1), args...)
	if err != nil {
		return AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	page := AuditPage{Events: []AuditEvent{}}
	for rows.Next() {
		var e AuditEvent
		var txID *int64
		var t AuditTransaction
		var iban *string
		var change, balance *int64
		if err := rows.Scan(&e.Topic, &e.Partition, &e.Offset, &e.At, &e.Type, &e.Aggregate, &e.Actor, &e.Body, &e.Note,
			&txID, &iban, &change, &balance); err != nil {
			rows.Close()
			return AuditPage{}, fmt.Errorf("audit log: %w", err)
		}
		e.At = e.At.UTC()
		if txID != nil {
			t = AuditTransaction{ID: *txID, IBAN: *iban, Change: *change, Balance: *balance}
			e.Transaction = &t
		}
		e.Cursor = cursor{e.At, e.Topic, e.Partition, e.Offset}.String()
		page.Events = append(page.Events, e)
	}
	if err := rows.Err(); err != nil {
		return AuditPage{}, fmt.Errorf("audit log: %w", err)
	}
	if len(page.Events) > q.First {
		page.Events, page.HasMore = page.Events[:q.First], true
	}
	if n := len(page.Events); n > 0 {
		page.Next = page.Events[n-1].Cursor
	} else {
		page.Next = q.After
	}
	return page, nil
}
