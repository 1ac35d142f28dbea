// Package pgserver runs a PostgreSQL server of its own, from the system's
// PostgreSQL binaries (Debian's postgresql package: `make tools` installs
// it), for the one-command bank and for tests: initdb on first start, then
// the postmaster as a child process listening on 127.0.0.1 only, with a
// password (scram-sha-256) and no Unix socket.
//
// PostgreSQL refuses to run as root. When this process is root, the server
// runs as an unprivileged user (RunAs, by default "postgres", which the
// Debian package creates): the cluster directory is handed to that user,
// and every directory above it must let that user through (search
// permission), which Start checks and explains.
//
// The server dies with this process: it gets SIGINT (a fast shutdown:
// open transactions roll back, a checkpoint is written) when the thread
// that started it ends, so a bank killed with SIGKILL leaves no server
// behind; one left by an older crash is stopped at the next start.
package pgserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Config configures a server.
type Config struct {
	// Dir is the cluster's directory (created and initialised if empty).
	Dir string
	// Port on 127.0.0.1; 0 picks a free one.
	Port int
	// Password of the superuser User; the bank keeps one in its data dir.
	Password string
	// User is the superuser initdb creates (default "openbank"), Database
	// the database Start creates for the bank (default "openbank").
	User, Database string
	// RunAs is the system user the server runs as when this process is
	// root (default "postgres"); otherwise it runs as this process's user.
	RunAs string
	// Bin is the directory of initdb and postgres (default: Binaries()).
	Bin string
	// Ephemeral trades durability for speed, for tests: no fsync at all.
	Ephemeral bool
	Log       *slog.Logger
}

// Server is a running PostgreSQL server.
type Server struct {
	cfg  Config
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the postmaster exits
	err  error         // its exit status, once done
	out  *tail
}

// Binaries returns the directory of the system's PostgreSQL programs: the
// newest /usr/lib/postgresql/*/bin (Debian), else the one holding
// `postgres` on PATH.
func Binaries() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return version(b) - version(a) })
	for _, d := range dirs {
		if isFile(filepath.Join(d, "postgres")) && isFile(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("postgres"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if d := filepath.Dir(p); isFile(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's programs (postgres, initdb) are not installed: `make tools` or `apt-get install postgresql` installs them")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// URL is the connection string of the bank's database on the server.
func (s *Server) URL() string { return s.url }

// URL returns the connection string of cfg's database (its port must be
// chosen), known before the server is up: for the start line.
func URL(cfg Config) string {
	cfg.defaults()
	u := url.URL{Scheme: "postgres", User: url.UserPassword(cfg.User, cfg.Password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)), Path: "/" + cfg.Database}
	return u.String()
}

func (c *Config) defaults() {
	if c.User == "" {
		c.User = "openbank"
	}
	if c.Database == "" {
		c.Database = "openbank"
	}
	if c.RunAs == "" {
		c.RunAs = "postgres"
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Start initialises the cluster if needed, starts the server and waits
// until it accepts connections and the bank's database exists.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	cfg.defaults()
	if cfg.Password == "" {
		return nil, errors.New("postgres: no password")
	}
	// initdb and postgres run in os.TempDir (see initdb): a relative
	// directory (`make run`'s ./data) would name one there.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.Dir = dir
	if cfg.Bin == "" {
		if cfg.Bin, err = Binaries(); err != nil {
			return nil, err
		}
	}
	if cfg.Port == 0 {
		if cfg.Port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	cred, err := credential(cfg.RunAs)
	if err != nil {
		return nil, err
	}
	if err := prepareDir(cfg.Dir, cred); err != nil {
		return nil, err
	}
	stopStale(ctx, cfg.Dir, cfg.Log)
	if err := initdb(ctx, cfg, cred); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, url: URL(cfg), done: make(chan struct{}), out: &tail{}}
	if err := s.start(cred); err != nil {
		return nil, err
	}
	if err := s.waitUp(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	cfg.Log.Info("PostgreSQL started", "dir", cfg.Dir, "port", cfg.Port, "bin", cfg.Bin)
	return s, nil
}

// Check tells, without starting anything, whether a server can run with
// cfg: the binaries are there (cfg.Bin is filled in) and, when this
// process is root, the server's user exists and may reach cfg.Dir. own
// is the directory holding cfg.Dir, which the caller owns: it is made
// searchable by others (o+x, not readable) so the server's user can pass.
func Check(cfg *Config, own string) error {
	cfg.defaults()
	if cfg.Bin == "" {
		bin, err := Binaries()
		if err != nil {
			return err
		}
		cfg.Bin = bin
	}
	cred, err := credential(cfg.RunAs)
	if err != nil || cred == nil {
		return err
	}
	st, err := os.Stat(own)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if st.Mode().Perm()&0o001 == 0 {
		if err := os.Chmod(own, st.Mode().Perm()|0o001); err != nil {
			return fmt.Errorf("postgres: let the server's user through %s: %w", own, err)
		}
	}
	return Reachable(filepath.Dir(cfg.Dir), cred.Uid, cred.Gid)
}

// credential is who the server runs as: nil (this process's user) unless
// this process is root, which PostgreSQL refuses.
func credential(runAs string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, fmt.Errorf("postgres: PostgreSQL refuses to run as root and runs as user %q, which does not exist (installing postgresql creates it): %w", runAs, err)
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	if uid == 0 {
		return nil, fmt.Errorf("postgres: user %q is root, which PostgreSQL refuses", runAs)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

// prepareDir creates the cluster directory, 0700 and owned by the server's
// user, and checks that user can reach it.
func prepareDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if cred == nil {
		return nil
	}
	if err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(cred.Uid), int(cred.Gid))
	}); err != nil {
		return fmt.Errorf("postgres: hand %s to the server's user: %w", dir, err)
	}
	return Reachable(filepath.Dir(dir), cred.Uid, cred.Gid)
}

// Reachable checks that the user uid (group gid) may pass through every
// directory from / to dir: the server must reach its cluster.
func Reachable(dir string, uid, gid uint32) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		ok := mode&0o001 != 0 || sys.Uid == uid && mode&0o100 != 0 || sys.Gid == gid && mode&0o010 != 0
		if !ok {
			return fmt.Errorf("postgres: PostgreSQL refuses to run as root, so it runs as an unprivileged user (uid %d), which may not enter %s (mode %s): `chmod o+x %s`, or point the bank at another server (--reports-db)", uid, p, mode, p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// stopStale stops a server a crashed bank left running on dir, if any: it
// would hold the directory and the port.
func stopStale(ctx context.Context, dir string, log *slog.Logger) {
	b, err := os.ReadFile(filepath.Join(dir, "postmaster.pid"))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 1 {
		return
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("postgres")) || !bytes.Contains(cmdline, []byte(dir)) {
		return // gone, or the pid is someone else's now: postgres sorts that out
	}
	log.Warn("a PostgreSQL server from an earlier run still holds its directory; stopping it", "pid", pid, "dir", dir)
	_ = syscall.Kill(pid, syscall.SIGINT)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(100 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGQUIT)
}

// initdb creates the cluster unless the directory holds one.
func initdb(ctx context.Context, cfg Config, cred *syscall.Credential) error {
	if isFile(filepath.Join(cfg.Dir, "PG_VERSION")) {
		return nil
	}
	pw, err := os.CreateTemp("", "openbank-pg-pw-")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer os.Remove(pw.Name())
	_, err = pw.WriteString(cfg.Password + "\n")
	if err == nil && cred != nil {
		err = pw.Chown(int(cred.Uid), int(cred.Gid))
	}
	if cerr := pw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("postgres: password file: %w", err)
	}
	args := []string{"-D", cfg.Dir, "-U", cfg.User, "--pwfile=" + pw.Name(), "--auth=scram-sha-256",
		"-E", "UTF8", "--locale=C", "--no-instructions"}
	if cfg.Ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(cfg.Bin, "initdb"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = os.TempDir() // initdb may not enter the caller's directory as another user
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("postgres: initdb %s: %w\n%s", cfg.Dir, err, out)
	}
	return nil
}

// start starts the postmaster from a goroutine that keeps its OS thread
// until the server ends: the parent-death signal fires when the thread
// that forked the child ends, not the process.
func (s *Server) start(cred *syscall.Credential) error {
	args := []string{"-D", s.cfg.Dir, "-p", strconv.Itoa(s.cfg.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "log_min_messages=warning", "-c", "max_connections=50"}
	if s.cfg.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off")
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine, after the server
		s.cmd = exec.Command(filepath.Join(s.cfg.Bin, "postgres"), args...)
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
		s.cmd.Dir = os.TempDir()
		s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
		if err := s.cmd.Start(); err != nil {
			started <- fmt.Errorf("postgres: start: %w", err)
			close(s.done)
			return
		}
		started <- nil
		s.err = s.cmd.Wait()
		close(s.done)
	}()
	return <-started
}

// waitUp waits until the server answers and creates the bank's database.
func (s *Server) waitUp(ctx context.Context) error {
	admin := URL(Config{User: s.cfg.User, Password: s.cfg.Password, Port: s.cfg.Port, Database: "postgres"})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		conn, err := pgx.Connect(ctx, admin)
		if err == nil {
			defer conn.Close(context.Background())
			return createDatabase(ctx, conn, s.cfg.Database)
		}
		select {
		case <-s.done:
			return fmt.Errorf("postgres: the server stopped at start (%v):\n%s", s.err, s.out.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres: no answer on port %d after 2 minutes: %w\n%s", s.cfg.Port, err, s.out.String())
		}
	}
}

// createDatabase creates a database unless it exists.
func createDatabase(ctx context.Context, conn *pgx.Conn, name string) error {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", name, err)
	}
	return nil
}

// Done is closed when the server has stopped (asked to, or not).
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why the server stopped, once Done is closed.
func (s *Server) Err() error {
	if s.err != nil {
		return fmt.Errorf("postgres stopped: %w\n%s", s.err, s.out.String())
	}
	return errors.New("postgres stopped")
}

// Stop shuts the server down fast (clients disconnected, open transactions
// rolled back, a checkpoint written) and waits for it, 30 s at most before
// an immediate shutdown.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
		return
	case <-time.After(30 * time.Second):
	}
	s.cfg.Log.Warn("PostgreSQL did not stop within 30 s; stopping it at once")
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	<-s.done
}

// Password returns a new random password.
func Password() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreePort returns a port free on 127.0.0.1 now.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("postgres: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tail keeps the server's last output, for errors.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8192 {
		t.buf = t.buf[len(t.buf)-8192:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
