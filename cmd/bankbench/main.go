// Command bankbench drives a running bank through its public GraphQL API
// only (HTTP and websockets): it opens accounts, funds them from cash, runs
// transfers at a fixed rate (open loop: requests leave on schedule whether
// or not earlier ones were answered, so back-pressure cannot hide latency)
// while websocket subscribers listen, and reports throughput, latencies,
// errors and the services' CPU and memory (from the gateway's /metrics on
// its admin address). `bankbench fill` writes a long history of events for
// the replay scenario. See docs/benchmarks.md.
//
// bankbench is one client address with the load of many: run the bank
// under test with --load-test (LOAD_TEST=1), which lifts the gateway's
// limits per client address, or its sign-ups and websockets are refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "bankbench:", err)
		}
		os.Exit(1)
	}
}

// config is one benchmark run.
type config struct {
	url         string
	accounts    int
	rate        float64
	duration    time.Duration
	subscribers int
	maxInFlight int
	out         string
	metrics     map[string]string // name → /metrics URL of a service to sample
	timeout     time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bankbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{}
	fs.StringVar(&c.url, "url", "http://localhost:8888", "the bank's gateway")
	fs.IntVar(&c.accounts, "accounts", 100, "accounts to open and transfer between")
	fs.Float64Var(&c.rate, "rate", 100, "transfers per second to start (open loop)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to send transfers")
	fs.IntVar(&c.subscribers, "subscribers", 10, "websocket subscribers, each following one account")
	fs.IntVar(&c.maxInFlight, "max-in-flight", 20_000, "transfers waiting for an answer at most; beyond, a scheduled transfer is counted as not sent")
	fs.StringVar(&c.out, "out", "", "write the results as JSON to this file")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "HTTP timeout of one request")
	admin := fs.String("admin-url", "http://127.0.0.1:8889", "the gateway's admin address (bank's --admin-addr), where its /metrics is")
	metrics := fs.String("metrics", "", "services to sample CPU and memory of, as name=URL of its /metrics, comma separated (default: gateway=<admin-url>/metrics)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	c.url = strings.TrimRight(c.url, "/")
	c.metrics = map[string]string{}
	if *metrics == "" {
		*metrics = "gateway=" + strings.TrimRight(*admin, "/") + "/metrics"
	}
	for _, kv := range strings.Split(*metrics, ",") {
		name, u, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return c, fmt.Errorf("--metrics %q: want name=URL", kv)
		}
		c.metrics[name] = u
	}
	switch {
	case c.accounts < 2:
		return c, errors.New("--accounts: at least 2")
	case c.rate <= 0:
		return c, errors.New("--rate: must be positive")
	case c.subscribers < 0 || c.subscribers > 100_000:
		return c, errors.New("--subscribers: 0 to 100000")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "fill" {
		return fill(ctx, args[1:], stdout, stderr)
	}
	cfg, err := parse(args, stderr)
	if err != nil {
		return err
	}
	b := newBench(cfg, stderr)
	res, err := b.run(ctx)
	if err != nil {
		return err
	}
	res.print(stdout)
	if cfg.out != "" {
		if err := res.write(cfg.out); err != nil {
			return err
		}
	}
	return nil
}
