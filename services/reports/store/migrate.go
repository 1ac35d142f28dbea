package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schemas the store lives in: Live is what readers query; a rebuild
// builds Next and swaps it in.
const (
	Live = "reports"
	Next = "reports_next"
	old  = "reports_old"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered file of migrations/.
type migration struct {
	version int
	name    string
	sql     string
}

var migrationName = regexp.MustCompile(`^(\d{4})_[a-z0-9_]+\.sql$`)

// migrations returns the embedded migrations in order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migrations: %s is not named NNNN_what.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("migrations: %w", err)
		}
		v, _ := strconv.Atoi(m[1])
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations: %s: versions must run 1, 2, 3… without gaps", m.name)
		}
	}
	return out, nil
}

// Migrate brings schema up to the newest migration: each one not yet in
// its schema_migrations table runs, in order, in a transaction of its own
// that also records it. Running it again changes nothing; several
// processes may run it at once (an advisory lock orders them).
func Migrate(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	q := pgx.Identifier{schema}.Sanitize()
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(schema)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+q+"; CREATE TABLE IF NOT EXISTS "+q+
				".schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM "+q+".schema_migrations WHERE version = $1)", m.version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+q); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO "+q+".schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s to %s: %w", schema, m.name, err)
		}
	}
	return nil
}

// lockKey is the advisory lock of a schema's migrations.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("openbank-reports-migrate-" + schema))
	return int64(h.Sum64())
}

// Reset drops schema and migrates it anew: an empty store, for a rebuild.
func Reset(ctx context.Context, pool *pgxpool.Pool, schema string) error {
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop %s: %w", schema, err)
	}
	return Migrate(ctx, pool, schema)
}

// Swap makes the schema next the live one, in one transaction: readers
// see the old tables or the new ones, never a mix, and a query running on
// the old ones finishes on them. The old tables are dropped afterwards,
// once the queries on them have ended.
func Swap(ctx context.Context, pool *pgxpool.Pool, next, live string) error {
	if next == live {
		return errors.New("swap: a schema with itself")
	}
	retired := pgx.Identifier{old}.Sanitize()
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+retired+" CASCADE"); err != nil {
		return fmt.Errorf("swap: drop %s: %w", old, err)
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", live).Scan(&exists); err != nil {
			return err
		}
		if exists {
			if _, err := tx.Exec(ctx, "ALTER SCHEMA "+pgx.Identifier{live}.Sanitize()+" RENAME TO "+retired); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "ALTER SCHEMA "+pgx.Identifier{next}.Sanitize()+" RENAME TO "+pgx.Identifier{live}.Sanitize())
		return err
	})
	if err != nil {
		return fmt.Errorf("swap %s in as %s: %w", next, live, err)
	}
	if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+retired+" CASCADE"); err != nil {
		return fmt.Errorf("swap: drop the old tables: %w", err)
	}
	return nil
}
