package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/openbank/bank/bus"
	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

func runProjector(ctx context.Context, args []string, getenv func(string) string, _, stderr io.Writer) error {
	return runService(ctx, "projector", args, getenv, stderr, func(f *flags) service { return f.projectorFlags().run })
}

type projectorFlags struct{ instanceID *string }

func (f *flags) projectorFlags() projectorFlags {
	return projectorFlags{
		instanceID: f.string("projector-id", "PROJECTOR_ID", hostname(), "name of this projector instance: unique among running ones, the same across its restarts"),
	}
}

// run runs a projector instance.
func (pf projectorFlags) run(ctx context.Context, brokers []string, registryURL string, log *slog.Logger, ready func()) error {
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		return err
	}
	return projector.Run(ctx, projector.Config{Brokers: brokers, Registry: reg, InstanceID: *pf.instanceID, Log: log, OnReady: ready})
}

const queryUsage = `Usage: bank query [flags] KIND [ARGS]

Asks the projector (audit: the reports service) over Kafka and prints its
JSON answer.

  account IBAN               an account: balance and owners
  accounts USERNAME          the accounts of a user
  user USERNAME              a user and the IBANs they own
  transaction ID             one transaction by its global id
  transactions IBAN [N]      the newest N (default 20) transactions of an account
  last                       the last transaction of every account
  transfer UUID              a transfer's progress
  as-of IBAN TRANSACTION_ID  an account as it stood after that transaction
  as-of-time IBAN RFC3339    an account as it stood at that time
  audit [N] [CURSOR]         the first N (default 20, at most 500) events of
                             the audit log, after CURSOR (a page's "next")
`

func runQuery(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("query", getenv, stderr)
	f.Usage = func() { fmt.Fprint(stderr, queryUsage); f.PrintDefaults() }
	brokers, registry := f.cluster()
	timeout := f.String("timeout", "10s", "how long to wait for the answer")
	if err := f.Parse(args); err != nil {
		return err
	}
	log, err := f.logger()
	if err != nil {
		return err
	}
	if err := f.applySecurity(); err != nil {
		return err
	}
	q, err := parseQuery(f.Args())
	if err != nil {
		fmt.Fprint(stderr, queryUsage)
		return err
	}
	d, err := time.ParseDuration(*timeout)
	if err != nil {
		return fmt.Errorf("--timeout: %w", err)
	}
	reg, err := kafka.RegistryClient(*registry)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	b, err := bus.New(ctx, splitList(*brokers), topology.NewCodec(reg), "openbank-query-cli", log)
	if err != nil {
		return err
	}
	defer b.Close()
	answer, err := b.Send(ctx, q)
	if err != nil {
		return err
	}
	ok, result := bus.Result(answer)
	if !ok {
		return fmt.Errorf("%s", result)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(result), "", "  ") == nil {
		result = pretty.String()
	}
	fmt.Fprintln(stdout, result)
	return nil
}

// parseQuery turns the query command's arguments into a query record.
func parseQuery(args []string) (schemas.Record, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("what to ask is missing")
	}
	id := schemas.NewID()
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	need := func(n int) error {
		if len(args) < n+1 {
			return fmt.Errorf("%s needs %d argument(s)", args[0], n)
		}
		return nil
	}
	switch args[0] {
	case "account":
		return &schemas.FindBankAccountQuery{ID: id, IBAN: arg(1)}, need(1)
	case "accounts":
		return &schemas.FindBankAccountsForUserQuery{ID: id, Username: arg(1)}, need(1)
	case "user":
		return &schemas.FindUserQuery{ID: id, Username: arg(1)}, need(1)
	case "last":
		return &schemas.AllLastTransactionsQuery{ID: id}, nil
	case "transaction":
		n, err := strconv.ParseInt(arg(1), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("transaction id %q: %w", arg(1), err)
		}
		return &schemas.TransactionByIdQuery{ID: id, TransactionID: n}, nil
	case "transactions":
		max := int64(20)
		if arg(2) != "" {
			var err error
			if max, err = strconv.ParseInt(arg(2), 10, 32); err != nil {
				return nil, fmt.Errorf("count %q: %w", arg(2), err)
			}
		}
		return &schemas.TransactionsByIbanQuery{ID: id, IBAN: arg(1), MaxItems: int32(max)}, need(1)
	case "transfer":
		tid, err := schemas.ParseID(arg(1))
		if err != nil {
			return nil, err
		}
		return &schemas.TransferByIdQuery{ID: id, TransferID: tid}, nil
	case "as-of":
		n, err := strconv.ParseInt(arg(2), 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("transaction id %q: want a number from 1", arg(2))
		}
		return &schemas.AccountAsOfQuery{ID: id, IBAN: arg(1), AsOfTransactionID: n, MaxItems: 20}, nil
	case "audit":
		first := int64(20)
		if arg(1) != "" {
			var err error
			if first, err = strconv.ParseInt(arg(1), 10, 32); err != nil {
				return nil, fmt.Errorf("count %q: %w", arg(1), err)
			}
		}
		return &schemas.AuditLogQuery{ID: id, First: int32(first), After: arg(2)}, nil
	case "as-of-time":
		at, err := time.Parse(time.RFC3339, arg(2))
		if err != nil {
			return nil, fmt.Errorf("time %q: %w", arg(2), err)
		}
		return &schemas.AccountAsOfQuery{ID: id, IBAN: arg(1), AsOfMillis: at.UnixMilli(), MaxItems: 20}, nil
	}
	return nil, fmt.Errorf("unknown query %q", args[0])
}
