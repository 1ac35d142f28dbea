package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	transactionColumns = []string{"id", "iban", "change", "balance", "counterparty", "description", "transfer_id", "step", "at"}
	transferColumns    = []string{"id", "from_account", "to_account", "amount", "description", "status", "reason", "started_at", "ended_at"}
	accountColumns     = []string{"iban", "owners", "balance", "opened_at"}
)

// flush writes a batch's rows: new rows with COPY, changed ones with one
// UPDATE per table over arrays, so a batch costs a few round trips
// whatever its size.
func (s *Store) flush(ctx context.Context, tx pgx.Tx, w *writes) error {
	if err := s.copy(ctx, tx, "events", eventColumns, w.events); err != nil {
		return err
	}
	if err := s.copy(ctx, tx, "transactions", transactionColumns, w.transactions); err != nil {
		return err
	}
	if err := s.flushUsers(ctx, tx, w); err != nil {
		return err
	}
	if err := s.flushAccounts(ctx, tx, w); err != nil {
		return err
	}
	return s.flushTransfers(ctx, tx, w)
}

func (s *Store) copy(ctx context.Context, tx pgx.Tx, table string, columns []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{s.schema, table}, columns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("apply: write %s: %w", table, err)
	}
	return nil
}

func (s *Store) flushUsers(ctx context.Context, tx pgx.Tx, w *writes) error {
	var names []string
	var created []*time.Time
	for _, u := range w.users {
		names = append(names, u.name)
		var at *time.Time
		if !u.createdAt.IsZero() {
			at = &u.createdAt
		}
		created = append(created, at)
	}
	if len(names) == 0 {
		return nil
	}
	// A user the store had may have been created now: the creation's time
	// replaces the NULL of an owner seen first.
	_, err := tx.Exec(ctx, "INSERT INTO "+s.q+".users (username, created_at) SELECT * FROM unnest($1::text[], $2::timestamptz[]) "+
		"ON CONFLICT (username) DO UPDATE SET created_at = excluded.created_at", names, created)
	if err != nil {
		return fmt.Errorf("apply: write users: %w", err)
	}
	return nil
}

func (s *Store) flushAccounts(ctx context.Context, tx pgx.Tx, w *writes) error {
	var added [][]any
	var ibans []string
	var balances []int64
	for iban, a := range w.accounts {
		if !a.stored {
			added = append(added, []any{a.iban, a.owners, a.balance, a.openedAt})
			continue
		}
		ibans, balances = append(ibans, iban), append(balances, a.balance)
	}
	if err := s.copy(ctx, tx, "accounts", accountColumns, added); err != nil {
		return err
	}
	if len(ibans) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE "+s.q+".accounts a SET balance = u.balance FROM unnest($1::text[], $2::bigint[]) AS u(iban, balance) "+
			"WHERE a.iban = u.iban", ibans, balances); err != nil {
			return fmt.Errorf("apply: write balances: %w", err)
		}
	}
	// Owners change rarely: a statement each.
	for iban := range w.owners {
		if a := w.accounts[iban]; a.stored {
			if _, err := tx.Exec(ctx, "UPDATE "+s.q+".accounts SET owners = $2 WHERE iban = $1", iban, a.owners); err != nil {
				return fmt.Errorf("apply: write owners: %w", err)
			}
		}
	}
	return nil
}

func (s *Store) flushTransfers(ctx context.Context, tx pgx.Tx, w *writes) error {
	var added [][]any
	var ids [][16]byte
	var statuses []string
	var reasons []*string
	var ended []time.Time
	for _, t := range w.transfers {
		var reason *string
		if t.reason != "" {
			reason = &t.reason
		}
		if !t.stored {
			var endedAt *time.Time
			if !t.endedAt.IsZero() {
				endedAt = &t.endedAt
			}
			added = append(added, []any{[16]byte(t.id), t.from, t.to, t.amount, t.desc, t.status, reason, t.startedAt, endedAt})
			continue
		}
		ids, statuses, reasons, ended = append(ids, [16]byte(t.id)), append(statuses, t.status), append(reasons, reason), append(ended, t.endedAt)
	}
	if err := s.copy(ctx, tx, "transfers", transferColumns, added); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, "UPDATE "+s.q+".transfers t SET status = u.status, reason = u.reason, ended_at = u.ended_at "+
		"FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS u(id, status, reason, ended_at) WHERE t.id = u.id",
		ids, statuses, reasons, ended)
	if err != nil {
		return fmt.Errorf("apply: write transfers: %w", err)
	}
	return nil
}
