package synchronizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/topology/kafka"
)

// Run connects to the cluster and the registry and syncs them, retrying
// with backoff while either is not up yet or fails in passing, until ctx
// ends. Failures that retrying cannot fix end it at once.
func Run(ctx context.Context, brokers []string, registryURL string, opts Options) (Report, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	reg, err := kafka.RegistryClient(registryURL)
	if err != nil {
		return Report{}, err
	}
	var (
		rep   Report
		final error // the outcome of the last attempt
	)
	attempt := 0
	err = kafka.Retry(ctx, func() error {
		attempt++
		rep, final = once(ctx, brokers, reg, opts)
		var perm *PermanentError
		if final == nil || errors.As(final, &perm) {
			return nil
		}
		opts.Log.Info("sync not done yet, retrying", "attempt", attempt, "err", final)
		return final
	})
	if err != nil {
		return rep, fmt.Errorf("sync with Kafka %v and schema registry %s: %w", brokers, registryURL, err)
	}
	return rep, final
}

func once(ctx context.Context, brokers []string, reg *sr.Client, opts Options) (Report, error) {
	cfg := kafka.NewConfig("openbank-sync")
	admin, err := sarama.NewClusterAdmin(brokers, cfg)
	if err != nil {
		return Report{}, fmt.Errorf("connect to Kafka: %w", err)
	}
	defer admin.Close()
	return Sync(ctx, admin, reg, opts)
}

// RunACLs connects to the cluster and makes the ACLs of topology.Principals
// match the table, retrying while the cluster is not up yet, until ctx
// ends: what a deployment runs before anything that needs its grants (a
// schema registry keeping its schemas in Kafka, say) starts.
func RunACLs(ctx context.Context, brokers []string, log *slog.Logger) (Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rep Report
	var final error
	err := kafka.Retry(ctx, func() error {
		rep = Report{}
		admin, err := sarama.NewClusterAdmin(brokers, kafka.NewConfig("openbank-acls"))
		if err != nil {
			log.Info("ACLs not synced yet, retrying", "err", err)
			return fmt.Errorf("connect to Kafka: %w", err)
		}
		defer admin.Close()
		final = syncACLs(ctx, admin, &rep)
		var perm *PermanentError
		if final == nil || errors.As(final, &perm) {
			return nil
		}
		log.Info("ACLs not synced yet, retrying", "err", final)
		return final
	})
	if err != nil {
		return rep, fmt.Errorf("ACLs of Kafka %v: %w", brokers, err)
	}
	return rep, final
}
