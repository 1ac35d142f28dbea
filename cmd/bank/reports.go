package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/openbank/bank/services/reports"
	"github.com/openbank/bank/services/reports/pgserver"
	"github.com/openbank/bank/topology/kafka"
)

// The reports service (`bank reports`, and `bank` unless --no-reports)
// keeps the bank's history in PostgreSQL. `bank reports` needs a server
// (--reports-db); `bank` runs one of its own in <data-dir>/postgres from
// the system's PostgreSQL binaries, in the background: the bank serves
// GraphQL before the SQL store is up, and /readyz lists the store under
// "optional" without waiting for it.

type reportsFlags struct {
	db         *string
	instanceID *string
	rebuild    *bool
}

func (f *flags) reportsFlags(rebuild bool) reportsFlags {
	rf := reportsFlags{
		db:         f.string("reports-db", "REPORTS_DB", "", "PostgreSQL connection string of the SQL reports store (postgres://user:password@host:port/db)"),
		instanceID: f.string("reports-id", "REPORTS_ID", hostname(), "name of this reports instance: unique among running ones, the same across its restarts"),
	}
	if rebuild {
		rf.rebuild = f.bool("rebuild", "REPORTS_REBUILD", "build the SQL tables anew from the start of the event log into new tables, "+
			"and swap them in once caught up, while queries go on on the old ones")
	}
	return rf
}

func runReports(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	return runService(ctx, "reports", args, getenv, stderr, func(f *flags) service { return f.reportsFlags(true).run })
}

// run runs a reports instance on --reports-db.
func (rf reportsFlags) run(ctx context.Context, brokers []string, registryURL string, log *slog.Logger, ready func()) error {
	return rf.runOn(ctx, *rf.db, brokers, registryURL, log, ready)
}

// runOn runs a reports instance on the database db.
func (rf reportsFlags) runOn(ctx context.Context, db string, brokers []string, registryURL string, log *slog.Logger, ready func()) error {
	if db == "" {
		return errors.New("--reports-db (REPORTS_DB) is needed: the PostgreSQL server to keep the reports in")
	}
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	rebuild := rf.rebuild != nil && *rf.rebuild
	return reports.Run(ctx, reports.Config{Brokers: brokers, Registry: reg, DB: db, InstanceID: *rf.instanceID,
		Rebuild: rebuild, Log: log, OnReady: ready})
}

// embeddedReportsFlags are the flags of the SQL store in `bank`.
type embeddedReportsFlags struct {
	reportsFlags
	off    *bool
	port   *int
	runAs  *string
	pgBins *string
}

func (f *flags) embeddedReports() embeddedReportsFlags {
	return embeddedReportsFlags{
		reportsFlags: f.reportsFlags(false),
		off:          f.bool("no-reports", "NO_REPORTS", "run without the SQL reports store (no PostgreSQL)"),
		port:         f.int("postgres-port", "POSTGRES_PORT", 5433, "port of the embedded PostgreSQL on 127.0.0.1 (0 picks a free one); unused with --reports-db"),
		runAs:        f.string("postgres-user", "POSTGRES_RUN_AS", "postgres", "system user the embedded PostgreSQL runs as when the bank runs as root (PostgreSQL refuses root)"),
		pgBins:       f.string("postgres-bin", "POSTGRES_BIN", "", "directory of PostgreSQL's initdb and postgres (default: the newest /usr/lib/postgresql/*/bin, else postgres on PATH)"),
	}
}

// sqlStore is the SQL reports store of `bank`: off, a server given, or
// one of its own.
type sqlStore struct {
	url    string           // empty: off
	why    string           // why off, if it is
	server *pgserver.Config // nil: a server given by --reports-db
	flags  embeddedReportsFlags
	mu     sync.Mutex
	state  string // for /readyz: starting, ready, or why it failed
}

// prepare decides, before the start line, where the store is. What keeps
// an embedded server from running (no binaries, the server's user unable
// to reach the data dir) turns the store off with the reason, rather than
// stop the bank.
func (ef embeddedReportsFlags) prepare(dataDir string, log *slog.Logger) (*sqlStore, error) {
	s := &sqlStore{flags: ef, state: "starting"}
	switch {
	case *ef.off:
		s.why = "--no-reports"
		return s, nil
	case *ef.db != "":
		s.url = *ef.db
		return s, nil
	}
	cfg := &pgserver.Config{Dir: filepath.Join(dataDir, "postgres"), Port: *ef.port, RunAs: *ef.runAs, Bin: *ef.pgBins, Log: log}
	if err := pgserver.Check(cfg, dataDir); err != nil {
		s.why = err.Error()
		log.Warn("the SQL reports store is off", "reason", s.why)
		return s, nil
	}
	pw, err := postgresPassword(dataDir)
	if err != nil {
		return nil, err
	}
	cfg.Password = pw
	if cfg.Port == 0 {
		if cfg.Port, err = pgserver.FreePort(); err != nil {
			return nil, err
		}
	}
	s.server, s.url = cfg, pgserver.URL(*cfg)
	return s, nil
}

// postgresPassword is the embedded server's password, kept in the data
// dir (0600), generated on first use.
func postgresPassword(dataDir string) (string, error) {
	file := filepath.Join(dataDir, "postgres.password")
	if b, err := os.ReadFile(file); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	pw := pgserver.Password()
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("postgres password: %w", err)
	}
	return pw, nil
}

// line is the start line's words about the store.
func (s *sqlStore) line() string {
	if s.url == "" {
		return "SQL reports off (" + s.why + ")"
	}
	return "SQL reports at " + s.url
}

// check is the store's entry in /readyz's optional list.
func (s *sqlStore) check(context.Context) error {
	if s.url == "" {
		return errors.New("off: " + s.why)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != "ready" {
		return errors.New(s.state)
	}
	return nil
}

func (s *sqlStore) set(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = state
}

// run runs the store — the embedded server, then the reports service —
// until ctx ends. When either fails it logs why and starts both again
// five seconds later: the rest of the bank does not depend on it.
func (s *sqlStore) run(ctx context.Context, brokers []string, registryURL string, log *slog.Logger) {
	if s.url == "" {
		return
	}
	log = log.With("part", "sql reports")
	for {
		err := s.runOnce(ctx, brokers, registryURL, log)
		if ctx.Err() != nil {
			return
		}
		s.set("failed, starting again: " + err.Error())
		log.Error("the SQL reports store stopped; starting it again in 5 s", "err", err)
		if !kafka.Sleep(ctx, 5*time.Second) {
			return
		}
	}
}

func (s *sqlStore) runOnce(ctx context.Context, brokers []string, registryURL string, log *slog.Logger) error {
	s.set("starting")
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if s.server != nil {
		srv, err := pgserver.Start(ctx, *s.server)
		if err != nil {
			return err
		}
		defer srv.Stop()
		stopped := make(chan struct{})
		defer func() { cancel(nil); <-stopped }()
		go func() {
			defer close(stopped)
			select {
			case <-srv.Done():
				cancel(srv.Err())
			case <-ctx.Done():
			}
		}()
	}
	err := s.flags.runOn(ctx, s.url, brokers, registryURL, log, func() { s.set("ready") })
	if cause := context.Cause(ctx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	if err == nil && ctx.Err() == nil {
		err = errors.New("the reports service ended")
	}
	return err
}
