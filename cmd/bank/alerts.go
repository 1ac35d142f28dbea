package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/topology/kafka"
)

func runAlerts(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	return runService(ctx, "alerts", args, getenv, stderr, func(f *flags) service { return f.alertsFlags().run })
}

type alertsFlags struct {
	instanceID   *string
	allowPrivate *bool
}

func (f *flags) alertsFlags() alertsFlags {
	return alertsFlags{
		instanceID:   f.string("alerts-id", "ALERTS_ID", hostname(), "name of this alerts instance: unique among running ones, the same across its restarts"),
		allowPrivate: f.webhooksAllowPrivate(),
	}
}

// run runs an alerts instance.
func (af alertsFlags) run(ctx context.Context, brokers []string, registryURL string, log *slog.Logger, ready func()) error {
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		return err
	}
	return alerts.Run(ctx, alerts.Config{Brokers: brokers, Registry: reg, InstanceID: *af.instanceID, Log: log, OnReady: ready,
		AllowPrivateWebhooks: *af.allowPrivate})
}
