// Command bank runs Open Bank. With no arguments it starts the whole bank in
// one process: an embedded Kafka broker and Schema Registry keeping their
// data on disk, the synchronizer, the services, and HTTP on :8888. Its
// subcommands run each part as a separate process against any Kafka and
// Schema Registry.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/openbank/bank/topology/kafka"
)

const usage = `Usage: bank [command] [flags]

Commands:
  run       (default) the whole bank in one process: embedded broker and
            schema registry, synchronizer, services, HTTP
  broker    only the embedded Kafka broker and schema registry
  sync      make a Kafka cluster and schema registry match the topology
  acls      make a secured Kafka cluster's ACLs match the principals table
  commands  a command handler instance (run several: they share the work)
  projector the projector: read models, transaction events, queries
  alerts    the alerts service: raises alerts when transactions set off
            their accounts' rules, and posts them to the rules' webhooks
  reports   the reports service: the bank's history in PostgreSQL
            (--reports-db), and the audit log over Kafka
  gateway   the GraphQL gateway (HTTP, websockets, GraphiQL) on :8888
  query     ask the projector (or, for audit, the reports service)
            something and print the answer
  health    exit 0 if a service's /readyz (default http://127.0.0.1:8888/readyz)
            answers 200: a container health check

Run 'bank <command> -h' for the flags of a command. Every flag can also be
set by the environment variable named in its help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bank:", err)
		}
		os.Exit(1)
	}
}

// run is main without the process: arguments, environment and output come
// in, so tests can drive it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runEmbedded(ctx, args, getenv, stdout, stderr)
	case "broker":
		return runBroker(ctx, args, getenv, stdout, stderr)
	case "sync":
		return runSync(ctx, args, getenv, stdout, stderr)
	case "acls":
		return runACLs(ctx, args, getenv, stdout, stderr)
	case "commands":
		return runCommands(ctx, args, getenv, stdout, stderr)
	case "projector":
		return runProjector(ctx, args, getenv, stdout, stderr)
	case "alerts":
		return runAlerts(ctx, args, getenv, stdout, stderr)
	case "reports":
		return runReports(ctx, args, getenv, stdout, stderr)
	case "gateway":
		return runGateway(ctx, args, getenv, stdout, stderr)
	case "health":
		return runHealth(ctx, args, getenv, stdout, stderr)
	case "query":
		return runQuery(ctx, args, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

// flags is a flag set whose defaults come from the environment.
type flags struct {
	*flag.FlagSet
	getenv func(string) string
	errs   []error
	logger func() (*slog.Logger, error)
	// profiles is the --pprof flag and timeouts the HTTP servers'
	// timeouts, set by httpAddr.
	profiles *bool
	timeouts timeoutFlags
	// allowPrivate is --webhooks-allow-private, shared by the alerts
	// service and the gateway of one command.
	allowPrivate *bool
	// security reads the Kafka and registry security flags (added by
	// cluster and backbone); sec is what they said, set by parse as the
	// process's kafka.Security.
	security func() (kafka.Security, error)
	sec      kafka.Security
}

// newFlags returns a command's flag set, with the logging flags every
// command has.
func newFlags(name string, getenv func(string) string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("bank "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	f := &flags{FlagSet: fs, getenv: getenv}
	f.logger = f.logging(stderr)
	return f
}

func (f *flags) env(key, def string) string {
	if v := f.getenv(key); v != "" {
		return v
	}
	return def
}

func (f *flags) string(name, env, def, help string) *string {
	return f.String(name, f.env(env, def), help+" (env "+env+")")
}

func (f *flags) int(name, env string, def int, help string) *int {
	v := def
	if s := f.getenv(env); s != "" {
		if _, err := fmt.Sscan(s, &v); err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a number", env, s))
		}
	}
	return f.Int(name, v, help+" (env "+env+")")
}

func (f *flags) duration(name, env string, def time.Duration, help string) *time.Duration {
	v := def
	if s := f.getenv(env); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			f.errs = append(f.errs, fmt.Errorf("%s=%q: not a duration (like 5s or 1m)", env, s))
		}
		v = d
	}
	return f.Duration(name, v, help+" (env "+env+")")
}

// httpAddr adds the flag of the HTTP listen address.
// It also adds --pprof, which serves Go's profiles on that server, and
// the HTTP servers' timeouts.
func (f *flags) httpAddr() *string {
	f.timeouts = f.httpTimeouts()
	f.profiles = f.bool("pprof", "BANK_PPROF", "serve Go's runtime profiles at /debug/pprof/ (on the admin address where there is one: bank, bank gateway), to profile a benchmark (off by default: they expose internals)")
	return f.string("http-addr", "BANK_HTTP_ADDR", ":8888", "listen address of the HTTP server")
}

func (f *flags) bool(name, env string, help string) *bool {
	return f.boolDefault(name, env, false, help)
}

// boolDefault is bool with a default of def.
func (f *flags) boolDefault(name, env string, def bool, help string) *bool {
	v := def
	switch strings.ToLower(f.getenv(env)) {
	case "1", "true", "yes", "on":
		v = true
	case "0", "false", "no", "off":
		v = false
	case "":
	default:
		f.errs = append(f.errs, fmt.Errorf("%s=%q: not a boolean", env, f.getenv(env)))
	}
	return f.Bool(name, v, help+" (env "+env+")")
}

// cluster adds the flags that point a command at Kafka and the Schema
// Registry, and those of how it authenticates to them.
func (f *flags) cluster() (brokers, registry *string) {
	brokers = f.string("brokers", "KAFKA_BROKERS", "127.0.0.1:9092", "Kafka bootstrap servers, comma separated")
	registry = f.string("schema-registry-url", "SCHEMA_REGISTRY_URL", "http://127.0.0.1:8081", "Schema Registry URL")
	f.securityFlags()
	return brokers, registry
}

// securityFlags adds the Kafka and registry security flags (SASL, TLS,
// basic auth; see kafka.SecurityFlags), once.
func (f *flags) securityFlags() {
	if f.security == nil {
		f.security = kafka.SecurityFlags(f.FlagSet, f.getenv)
	}
}

// applySecurity makes the security flags the process's kafka.Security,
// which every Kafka and registry client it builds then uses.
func (f *flags) applySecurity() error {
	if f.security == nil {
		return nil
	}
	sec, err := f.security()
	if err != nil {
		return err
	}
	if err := kafka.SetSecurity(sec); err != nil {
		return err
	}
	f.sec = sec
	return nil
}

// logging adds the logging flags and returns a function building the logger
// once flags are parsed.
func (f *flags) logging(stderr io.Writer) func() (*slog.Logger, error) {
	format := f.string("log-format", "LOG_FORMAT", "text", "log format: text or json")
	level := f.string("log-level", "LOG_LEVEL", "info", "log level: debug, info, warn or error")
	return func() (*slog.Logger, error) {
		var lv slog.Level
		if err := lv.UnmarshalText([]byte(*level)); err != nil {
			return nil, fmt.Errorf("--log-level %q: %w", *level, err)
		}
		opts := &slog.HandlerOptions{Level: lv}
		var log *slog.Logger
		switch *format {
		case "text":
			log = slog.New(slog.NewTextHandler(stderr, opts))
		case "json":
			log = slog.New(slog.NewJSONHandler(stderr, opts))
		default:
			return nil, fmt.Errorf("--log-format %q: want text or json", *format)
		}
		if lv <= slog.LevelDebug {
			kafka.LogSarama(log)
		}
		return log, nil
	}
}

// parse parses the arguments and returns the logger they ask for.
func (f *flags) parse(args []string) (*slog.Logger, error) {
	if err := f.Parse(args); err != nil {
		return nil, err
	}
	if f.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", f.Args())
	}
	if err := errors.Join(f.errs...); err != nil {
		return nil, err
	}
	if err := f.applySecurity(); err != nil {
		return nil, err
	}
	if f.timeouts.read != nil {
		if _, err := f.timeouts.values(); err != nil {
			return nil, err
		}
	}
	return f.logger()
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
