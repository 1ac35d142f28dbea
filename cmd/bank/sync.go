package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/openbank/bank/topology/synchronizer"
)

func runSync(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("sync", getenv, stderr)
	brokers, registry := f.cluster()
	timeout := f.String("timeout", f.env("SYNC_TIMEOUT", "2m"), "give up when Kafka or the registry is still not reachable after this long (env SYNC_TIMEOUT)")
	deleteUnknown := f.bool("delete-unknown", "SYNC_DELETE_UNKNOWN", "delete topics the topology does not name (never internal ones starting with _)")
	allowDrift := f.bool("allow-partition-drift", "SYNC_ALLOW_PARTITION_DRIFT", "report topics with other partition counts than the topology instead of failing")
	acls := f.bool("acls", "SYNC_ACLS", "make the ACLs of the principals in topology.Principals match the table (a cluster with an authorizer; run as its super user)")
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(*timeout)
	if err != nil {
		return fmt.Errorf("--timeout: %w", err)
	}
	rep, err := syncTopology(ctx, splitList(*brokers), *registry, d, synchronizer.Options{
		DeleteUnknown: *deleteUnknown, AllowPartitionDrift: *allowDrift, ACLs: *acls, Log: log,
	})
	if err != nil {
		return err
	}
	printReport(stdout, rep)
	return nil
}

func syncTopology(ctx context.Context, brokers []string, registry string, timeout time.Duration, opts synchronizer.Options) (synchronizer.Report, error) {
	if len(brokers) == 0 {
		return synchronizer.Report{}, fmt.Errorf("no Kafka brokers given")
	}
	ctx, cancel := context.WithTimeoutCause(ctx, timeout, fmt.Errorf("still failing after %s", timeout))
	defer cancel()
	start := time.Now()
	rep, err := synchronizer.Run(ctx, brokers, registry, opts)
	if err != nil {
		return rep, err
	}
	opts.Log.Info("topology in sync", "brokers", rep.Brokers, "topics_created", len(rep.Created),
		"configs_fixed", len(rep.ConfigsFixed), "schemas_registered", len(rep.Registered),
		"schemas_up_to_date", rep.UpToDate, "acls_created", len(rep.ACLsCreated), "acls_deleted", len(rep.ACLsDeleted),
		"took", time.Since(start).Round(time.Millisecond))
	for _, d := range rep.Drift {
		opts.Log.Warn("drift", "detail", d)
	}
	return rep, nil
}

func printReport(w io.Writer, rep synchronizer.Report) {
	fmt.Fprintf(w, "brokers: %d\n", rep.Brokers)
	fmt.Fprintf(w, "topics created: %s\n", orNone(rep.Created))
	var fixed []string
	for t, cs := range rep.ConfigsFixed {
		fixed = append(fixed, t+" ("+strings.Join(cs, ", ")+")")
	}
	fmt.Fprintf(w, "configs set: %s\n", orNone(fixed))
	fmt.Fprintf(w, "schemas registered: %s\n", orNone(rep.Registered))
	fmt.Fprintf(w, "schemas already registered: %d\n", rep.UpToDate)
	fmt.Fprintf(w, "topics not in the topology: %s\n", orNone(rep.Unknown))
	fmt.Fprintf(w, "topics deleted: %s\n", orNone(rep.Deleted))
	fmt.Fprintf(w, "drift left as is: %s\n", orNone(rep.Drift))
	if len(rep.ACLsCreated)+len(rep.ACLsDeleted) > 0 {
		fmt.Fprintf(w, "ACLs created: %s\n", orNone(rep.ACLsCreated))
		fmt.Fprintf(w, "ACLs deleted: %s\n", orNone(rep.ACLsDeleted))
	}
	if !rep.Changed() {
		fmt.Fprintln(w, "nothing to change: the cluster matches the topology")
	}
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// runACLs is `bank acls`: the ACLs of topology.Principals, and nothing
// else, as the cluster's super user. A deployment runs it before what
// needs its grants (compose: before the Schema Registry, which keeps its
// schemas in Kafka and so must be allowed its topic first).
func runACLs(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f := newFlags("acls", getenv, stderr)
	brokers, _ := f.cluster()
	timeout := f.duration("timeout", "SYNC_TIMEOUT", 2*time.Minute, "give up when Kafka is still not reachable after this long")
	log, err := f.parse(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, *timeout, fmt.Errorf("still failing after %s", *timeout))
	defer cancel()
	rep, err := synchronizer.RunACLs(ctx, splitList(*brokers), log)
	if err != nil {
		return err
	}
	log.Info("ACLs in sync", "created", len(rep.ACLsCreated), "deleted", len(rep.ACLsDeleted))
	fmt.Fprintf(stdout, "ACLs created: %s\n", orNone(rep.ACLsCreated))
	fmt.Fprintf(stdout, "ACLs deleted: %s\n", orNone(rep.ACLsDeleted))
	return nil
}
