package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// companyDeposit is the company account's initial cash: €1.000.000.000,00.
const companyDeposit = 100_000_000_000

type commandsFlags struct {
	instanceID   *string
	deposit      *int
	noLocalSteps *bool
	limits       limitsFlags
}

// commands adds the command handler's flags; limits are shared with the
// gateway in the all-in-one bank.
func (f *flags) commands(limits limitsFlags) commandsFlags {
	return commandsFlags{
		limits:     limits,
		instanceID: f.string("instance-id", "INSTANCE_ID", hostname(), "name of this command handler instance: unique among running ones, the same across its restarts"),
		deposit:    f.int("company-deposit", "COMPANY_DEPOSIT", companyDeposit, "initial cash of the company account in cents (deposited once, ever)"),
		noLocalSteps: f.bool("no-local-steps", "NO_LOCAL_STEPS",
			"write every saga step to Kafka and read it back, even the steps this instance owns (one transaction per step, as before; for comparison)"),
	}
}

func runCommands(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	return runService(ctx, "commands", args, getenv, stderr, func(f *flags) service { return f.commands(f.limits()).run })
}

// run runs a command handler instance and, once it consumes, makes sure
// the company account is open.
func (cf commandsFlags) run(ctx context.Context, brokers []string, registryURL string, log *slog.Logger, ready func()) error {
	if *cf.instanceID == "" {
		return errors.New("--instance-id is empty and the host has no name")
	}
	limits, err := cf.limits.get()
	if err != nil {
		return fmt.Errorf("limits: %w", err)
	}
	if *cf.deposit < 1 {
		return fmt.Errorf("--company-deposit %d: want a positive number of cents", *cf.deposit)
	}
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	onReady := func() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := openCompanyAccount(ctx, brokers, reg, int64(*cf.deposit), log); err != nil && ctx.Err() == nil {
				log.Error("company account", "err", err)
			}
			if ready != nil && ctx.Err() == nil {
				ready()
			}
		}()
	}
	return commandhandler.Run(ctx, commandhandler.Config{
		Brokers: brokers, Registry: reg, InstanceID: *cf.instanceID, Log: log, OnReady: onReady, Limits: limits,
		NoLocalSteps: *cf.noLocalSteps,
	})
}

// openCompanyAccount retries until the handlers answer: at first start the
// group may still be forming.
func openCompanyAccount(ctx context.Context, brokers []string, reg *sr.Client, deposit int64, log *slog.Logger) error {
	requests, err := bus.New(ctx, brokers, topology.NewCodec(reg), "openbank-bootstrap", log)
	if err != nil {
		return err
	}
	defer requests.Close()
	for {
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := commandhandler.OpenCompanyAccount(attempt, requests, deposit, log)
		cancel()
		if !errors.Is(err, bus.ErrTimeout) || ctx.Err() != nil {
			return err
		}
		log.Info("company account: no answer yet, retrying")
	}
}
