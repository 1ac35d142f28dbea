package pgserver_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openbank/bank/services/reports/pgserver"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// A server started on an empty directory initialises it, serves the
// bank's database with the password, and keeps its data across a stop
// and a start; a wrong password is refused.
func TestAServerKeepsItsDataAcrossRestarts(t *testing.T) {
	cfg := pgserver.Config{Dir: filepath.Join(reachableTempDir(t), "pg"), Password: pgserver.Password(), Ephemeral: true, Log: kafkatest.Log(t)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, s.URL(), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
	s.Stop()
	select {
	case <-s.Done():
	default:
		t.Fatal("not stopped")
	}
	cfg.Port = 0
	s, err = pgserver.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT n FROM kept").Scan(&n); err != nil || n != 42 {
		t.Fatalf("after a restart: %d, %v", n, err)
	}
	wrong := cfg
	wrong.Port = portOf(t, s.URL())
	wrong.Password = "wrong"
	if c, err := pgx.Connect(ctx, pgserver.URL(wrong)); err == nil {
		c.Close(ctx)
		t.Fatal("a wrong password was accepted")
	}
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func portOf(t *testing.T, url string) int {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return int(cfg.Port)
}

// reachableTempDir is a temporary directory the server's user (another
// one when the tests run as root) may pass through.
func reachableTempDir(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	if err := os.Chmod(parent, 0o711); err != nil {
		t.Fatal(err)
	}
	for p := filepath.Dir(parent); p != "/"; p = filepath.Dir(p) {
		_ = os.Chmod(p, 0o711) // the test's own temporary directories
		if p == os.TempDir() {
			break
		}
	}
	return parent
}

// A relative directory is the caller's, as `make run`'s ./data is: initdb
// and the server run elsewhere (os.TempDir), and were given "data/postgres"
// as it was, so initdb tried to create /tmp/data.
func TestARelativeDirectoryIsTheCallers(t *testing.T) {
	parent := reachableTempDir(t)
	if err := os.Mkdir(filepath.Join(parent, "data"), 0o711); err != nil { // as pgserver.Check leaves the bank's
		t.Fatal(err)
	}
	t.Chdir(parent)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := pgserver.Start(ctx, pgserver.Config{Dir: "data/postgres", Password: pgserver.Password(), Ephemeral: true, Log: kafkatest.Log(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if _, err := os.Stat(filepath.Join(parent, "data", "postgres", "PG_VERSION")); err != nil {
		t.Fatalf("the cluster is not in the caller's directory: %v", err)
	}
	exec(t, s.URL(), "SELECT 1")
}
