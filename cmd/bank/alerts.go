package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/services/alerts"
)

func runAlerts(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	f := newFlags("alerts", getenv, stderr)
	brokers, registry := f.cluster()
	af := f.alertsFlags()
	httpAddr := f.httpAddr()
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	bs := splitList(*brokers)
	return serveService(ctx, *httpAddr, *f.profiles, bs, log, func(ctx context.Context, ready func()) error {
		return runAlertsService(ctx, bs, *registry, af, log, ready)
	})
}

type alertsFlags struct{ instanceID *string }

func (f *flags) alertsFlags() alertsFlags {
	return alertsFlags{
		instanceID: f.string("alerts-id", "ALERTS_ID", hostname(), "name of this alerts instance: unique among running ones, the same across its restarts"),
	}
}

func runAlertsService(ctx context.Context, brokers []string, registryURL string, af alertsFlags, log *slog.Logger, ready func()) error {
	reg, err := sr.NewClient(sr.URLs(registryURL))
	if err != nil {
		return fmt.Errorf("schema registry client: %w", err)
	}
	return alerts.Run(ctx, alerts.Config{Brokers: brokers, Registry: reg, InstanceID: *af.instanceID, Log: log, OnReady: ready})
}
