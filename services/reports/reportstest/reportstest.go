// Package reportstest gives tests a real PostgreSQL server: one per test
// package, started on first use from the system's binaries (pgserver) on
// a free port with its data in a temporary directory, and a fresh
// database per test. A package using it calls Main from its TestMain, so
// the server stops when the package's tests end.
//
// REPORTS_TEST_DB (a connection string to an existing server's
// maintenance database, whose user may create databases) uses that
// server instead.
package reportstest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/reports/pgserver"
)

// DBEnv names the environment variable of an existing server.
const DBEnv = "REPORTS_TEST_DB"

var (
	mu     sync.Mutex
	server *pgserver.Server
	dir    string
	admin  string // connection string of the maintenance database
)

// Main runs the package's tests and stops the server if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if server != nil {
		server.Stop()
		os.RemoveAll(dir)
	}
	return code
}

// start starts the package's server once.
func start(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if admin != "" {
		return admin
	}
	if env := os.Getenv(DBEnv); env != "" {
		admin = env
		return admin
	}
	var err error
	// The server may run as another user (when tests run as root): its
	// directory's parent lets it through, nothing more.
	if dir, err = os.MkdirTemp("", "openbank-pg-"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := pgserver.Config{Dir: dir + "/cluster", Password: pgserver.Password(), Database: "postgres", Ephemeral: true}
	if server, err = pgserver.Start(ctx, cfg); err != nil {
		t.Fatalf("start PostgreSQL for the tests: %v", err)
	}
	admin = server.URL()
	return admin
}

// DB creates a fresh database for the test, dropped when it ends, and
// returns its connection string.
func DB(t testing.TB) string {
	t.Helper()
	adminURL := start(t)
	name := "test_" + strings.ReplaceAll(schemas.NewID().String(), "-", "")[:16]
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			t.Logf("drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(adminURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// Pool connects to a fresh database (DB), closed when the test ends.
func Pool(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	url := DB(t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, url
}

// Rows returns every row of a query as text, in the query's order: for
// comparing tables whole.
func Rows(t testing.TB, pool *pgxpool.Pool, query string, args ...any) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}
