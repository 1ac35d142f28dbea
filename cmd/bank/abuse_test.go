package main

import (
	"bytes"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/openbank/bank/services/gateway"
)

// gatewayConfig parses a gateway's flags as the command would (bank gateway
// serves no schema by default, bank does) and returns its configuration
// and log.
func gatewayConfig(t *testing.T, introspection bool, env map[string]string, args ...string) (gateway.Config, string) {
	t.Helper()
	f := newFlags("test", func(k string) string { return env[k] }, io.Discard)
	gf := f.gatewayFlags("", introspection, f.limits())
	if _, err := f.parse(args); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cfg, err := gf.config([]string{"kafka:9092"}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, logs.String()
}

func TestGatewayLimitFlags(t *testing.T) {
	cfg, logs := gatewayConfig(t, false, nil)
	type limits struct {
		depth, aliases, response, connsPerClient, subsPerClient, conns, subs int
		introspection, loadTest                                              bool
	}
	got := limits{cfg.MaxDepth, cfg.MaxAliases, cfg.MaxResponseBytes, cfg.MaxConnectionsPerClient, cfg.MaxSubscriptionsPerClient,
		cfg.MaxConnections, cfg.MaxSubscriptionsTotal, cfg.Introspection, cfg.LoadTest}
	if want := (limits{15, 30, 2 << 20, 20, 200, 20_000, 50_000, false, false}); got != want {
		t.Errorf("bank gateway's defaults: %+v, want %+v", got, want)
	}
	if strings.Contains(logs, "load-test") {
		t.Errorf("a warning without --load-test: %s", logs)
	}
	if cfg, _ := gatewayConfig(t, true, nil); !cfg.Introspection {
		t.Errorf("bank serves no schema by default")
	}
	if cfg, _ := gatewayConfig(t, true, map[string]string{"INTROSPECTION": "false"}); cfg.Introspection {
		t.Errorf("INTROSPECTION=false did not turn it off in bank")
	}
	if cfg, _ := gatewayConfig(t, false, nil, "--introspection"); !cfg.Introspection {
		t.Errorf("--introspection did not turn it on in bank gateway")
	}
	cfg, logs = gatewayConfig(t, false, map[string]string{"LOAD_TEST": "1", "WS_MAX_CONNECTIONS_PER_CLIENT": "5"}, "--max-aliases", "7")
	if !cfg.LoadTest || cfg.MaxConnectionsPerClient != 5 || cfg.MaxAliases != 7 {
		t.Errorf("LOAD_TEST=1 WS_MAX_CONNECTIONS_PER_CLIENT=5 --max-aliases 7: %+v", cfg)
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "--load-test") {
		t.Errorf("--load-test without a warning: %q", logs)
	}
}

// bank's one --webhooks-allow-private serves both its alerts service and
// its gateway; it is off unless set.
func TestWebhooksAllowPrivateFlag(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
	}{{nil, nil, false}, {map[string]string{"WEBHOOKS_ALLOW_PRIVATE": "1"}, nil, true}, {nil, []string{"--webhooks-allow-private"}, true}} {
		f := newFlags("run", func(k string) string { return tc.env[k] }, io.Discard)
		af := f.alertsFlags()
		gf := f.gatewayFlags("", true, f.limits())
		if _, err := f.parse(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := gf.config([]string{"kafka:9092"}, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if *af.allowPrivate != tc.want || cfg.AllowPrivateWebhooks != tc.want {
			t.Errorf("%v %v: alerts %v, gateway %v, want %v", tc.env, tc.args, *af.allowPrivate, cfg.AllowPrivateWebhooks, tc.want)
		}
	}
}
