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
	onceColumns        = []string{"kind", "id"}
)

// rows are what a batch writes, copied out of the cache: new rows for
// COPY, changed ones as arrays for one UPDATE per table.
type rows struct {
	events, transactions, once [][]any
	userNames                  []string
	userCreated                []*time.Time
	newAccounts                [][]any
	balanceIBANs               []string
	balances                   []int64
	owners                     map[string][]string // stored accounts whose owners changed
	newTransfers               [][]any
	endedIDs                   [][16]byte
	endedStatuses              []string
	endedReasons               []*string
	endedAt                    []time.Time
}

// materialize copies w's rows out of the cache, and marks them stored:
// they are, once the batch is written, and a failed batch drops the cache.
func (c *cache) materialize(w *writes) *rows {
	r := &rows{events: w.events, transactions: w.transactions, once: w.once, owners: map[string][]string{}}
	for _, u := range w.users {
		r.userNames = append(r.userNames, u.name)
		var at *time.Time
		if !u.createdAt.IsZero() {
			created := u.createdAt
			at = &created
		}
		r.userCreated = append(r.userCreated, at)
		u.stored = true
	}
	for iban, a := range w.accounts {
		switch {
		case !a.stored:
			r.newAccounts = append(r.newAccounts, []any{a.iban, a.owners, a.balance, a.openedAt})
		case w.owners[iban]:
			r.owners[iban] = a.owners // never changed in place (apply clones)
			fallthrough
		default:
			r.balanceIBANs, r.balances = append(r.balanceIBANs, iban), append(r.balances, a.balance)
		}
		a.stored = true
	}
	for _, t := range w.transfers {
		var reason *string
		if t.reason != "" {
			why := t.reason
			reason = &why
		}
		if !t.stored {
			var endedAt *time.Time
			if !t.endedAt.IsZero() {
				ended := t.endedAt
				endedAt = &ended
			}
			r.newTransfers = append(r.newTransfers, []any{[16]byte(t.id), t.from, t.to, t.amount, t.desc, t.status, reason, t.startedAt, endedAt})
		} else {
			r.endedIDs, r.endedStatuses = append(r.endedIDs, [16]byte(t.id)), append(r.endedStatuses, t.status)
			r.endedReasons, r.endedAt = append(r.endedReasons, reason), append(r.endedAt, t.endedAt)
		}
		t.stored = t.stored || t.known
		t.seq = w.seq
	}
	return r
}

// flush writes a batch's rows: new rows with COPY, changed ones with one
// UPDATE per table over arrays, so a batch costs a few round trips
// whatever its size.
func (s *Store) flush(ctx context.Context, tx pgx.Tx, r *rows) error {
	for _, c := range []struct {
		table   string
		columns []string
		rows    [][]any
	}{
		{"events", eventColumns, r.events},
		{"transactions", transactionColumns, r.transactions},
		{"applied_once", onceColumns, r.once},
		{"accounts", accountColumns, r.newAccounts},
		{"transfers", transferColumns, r.newTransfers},
	} {
		if err := s.copy(ctx, tx, c.table, c.columns, c.rows); err != nil {
			return err
		}
	}
	if err := s.flushUsers(ctx, tx, r); err != nil {
		return err
	}
	if err := s.flushAccounts(ctx, tx, r); err != nil {
		return err
	}
	return s.flushTransfers(ctx, tx, r)
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

func (s *Store) flushUsers(ctx context.Context, tx pgx.Tx, r *rows) error {
	if len(r.userNames) == 0 {
		return nil
	}
	// A user the store had may have been created now: the creation's time
	// replaces the NULL of an owner seen first.
	_, err := tx.Exec(ctx, "INSERT INTO "+s.q+".users (username, created_at) SELECT * FROM unnest($1::text[], $2::timestamptz[]) "+
		"ON CONFLICT (username) DO UPDATE SET created_at = excluded.created_at", r.userNames, r.userCreated)
	if err != nil {
		return fmt.Errorf("apply: write users: %w", err)
	}
	return nil
}

func (s *Store) flushAccounts(ctx context.Context, tx pgx.Tx, r *rows) error {
	if len(r.balanceIBANs) > 0 {
		if _, err := tx.Exec(ctx, "UPDATE "+s.q+".accounts a SET balance = u.balance FROM unnest($1::text[], $2::bigint[]) AS u(iban, balance) "+
			"WHERE a.iban = u.iban", r.balanceIBANs, r.balances); err != nil {
			return fmt.Errorf("apply: write balances: %w", err)
		}
	}
	// Owners change rarely: a statement each.
	for iban, owners := range r.owners {
		if _, err := tx.Exec(ctx, "UPDATE "+s.q+".accounts SET owners = $2 WHERE iban = $1", iban, owners); err != nil {
			return fmt.Errorf("apply: write owners: %w", err)
		}
	}
	return nil
}

func (s *Store) flushTransfers(ctx context.Context, tx pgx.Tx, r *rows) error {
	if len(r.endedIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, "UPDATE "+s.q+".transfers t SET status = u.status, reason = u.reason, ended_at = u.ended_at "+
		"FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) AS u(id, status, reason, ended_at) WHERE t.id = u.id",
		r.endedIDs, r.endedStatuses, r.endedReasons, r.endedAt)
	if err != nil {
		return fmt.Errorf("apply: write transfers: %w", err)
	}
	return nil
}
