// Package synchronizer makes a Kafka cluster and a Schema Registry match the
// topology: it creates missing topics, sets topic configs, registers every
// record schema, reports what it cannot fix, and deletes topics the topology
// does not know only when asked. Running it twice changes nothing the second
// time.
package synchronizer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
)

// Admin is the part of sarama.ClusterAdmin the synchronizer uses.
type Admin interface {
	DescribeCluster() ([]*sarama.Broker, int32, error)
	ListTopics() (map[string]sarama.TopicDetail, error)
	CreateTopic(topic string, detail *sarama.TopicDetail, validateOnly bool) error
	DeleteTopic(topic string) error
	DescribeConfig(resource sarama.ConfigResource) ([]sarama.ConfigEntry, error)
	IncrementalAlterConfig(resourceType sarama.ConfigResourceType, name string,
		entries map[string]sarama.IncrementalAlterConfigsEntry, validateOnly bool) error
}

// Registry is the part of a schema registry client the synchronizer uses;
// *sr.Client implements it.
type Registry interface {
	LookupSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error)
	CheckCompatibility(ctx context.Context, subject string, version int, s sr.Schema) (sr.CheckCompatibilityResult, error)
	CreateSchema(ctx context.Context, subject string, s sr.Schema) (sr.SubjectSchema, error)
}

// Options changes what the synchronizer may do.
type Options struct {
	// DeleteUnknown deletes topics the topology does not name (internal
	// topics, whose names start with an underscore, are always kept).
	DeleteUnknown bool
	// AllowPartitionDrift reports a topic whose partition count differs
	// from the topology without failing. Partitions cannot be changed
	// without moving keys to other partitions, so by default it fails.
	AllowPartitionDrift bool
	// MaxPartitions, when positive, creates topics with at most this
	// many partitions, and takes a topic that has the topology's count or
	// this one as it is. The one-command bank sets it: one instance of
	// each service on one broker gains nothing from 24 partitions, and
	// every fetch names each partition it reads.
	MaxPartitions int32
	// ACLs makes the cluster's ACLs of the principals in
	// topology.Principals match the table (see syncACLs). The cluster
	// needs an authorizer, and the synchronizer must be its super user.
	ACLs bool
	Log  *slog.Logger
}

// Report says what a run found and did.
type Report struct {
	Brokers      int
	Created      []string            // topics created
	ConfigsFixed map[string][]string // topic -> configs set
	Drift        []string            // differences left as they are
	// PartitionDrift lists topics whose partition count differs: fatal
	// unless AllowPartitionDrift, since keys would move partitions.
	PartitionDrift []string
	Unknown        []string // topics not in the topology
	Deleted        []string // unknown topics deleted
	Registered     []string // subjects given a new schema version
	UpToDate       int      // subjects whose schema was already registered
	ACLsCreated    []string // allow rules created (with ACLs)
	ACLsDeleted    []string // rules of the table's principals that it does not grant, deleted
}

// Changed reports whether the run changed anything.
func (r Report) Changed() bool {
	return len(r.Created)+len(r.ConfigsFixed)+len(r.Deleted)+len(r.Registered)+len(r.ACLsCreated)+len(r.ACLsDeleted) > 0
}

// PermanentError is a failure that retrying will not fix: an incompatible
// schema, or partition counts that differ from the topology.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Sync makes the cluster and registry match the topology.
func Sync(ctx context.Context, admin Admin, reg Registry, opts Options) (Report, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	rep := Report{ConfigsFixed: map[string][]string{}}
	if err := topology.Validate(); err != nil {
		return rep, &PermanentError{fmt.Errorf("topology: %w", err)}
	}
	brokers, _, err := admin.DescribeCluster()
	if err != nil {
		return rep, fmt.Errorf("describe cluster: %w", err)
	}
	rep.Brokers = len(brokers)
	if err := syncTopics(ctx, admin, opts, &rep); err != nil {
		return rep, err
	}
	if err := syncSchemas(ctx, reg, opts, &rep); err != nil {
		return rep, err
	}
	if opts.ACLs {
		acls, ok := admin.(ACLAdmin)
		if !ok {
			return rep, &PermanentError{fmt.Errorf("ACLs: %T cannot manage ACLs", admin)}
		}
		if err := syncACLs(ctx, acls, &rep); err != nil {
			return rep, err
		}
	}
	if len(rep.PartitionDrift) > 0 && !opts.AllowPartitionDrift {
		return rep, &PermanentError{fmt.Errorf("topics differ from the topology in ways Kafka cannot fix in place: %s",
			strings.Join(rep.PartitionDrift, "; "))}
	}
	return rep, nil
}

func syncTopics(ctx context.Context, admin Admin, opts Options, rep *Report) error {
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	for _, want := range topology.Topics {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := want.Effective(rep.Brokers)
		if opts.MaxPartitions > 0 && t.Partitions > opts.MaxPartitions {
			t.Partitions = opts.MaxPartitions
		}
		have, ok := existing[t.Name]
		if !ok {
			err := createTopic(admin, t)
			switch {
			case err == nil:
				rep.Created = append(rep.Created, t.Name)
				opts.Log.Info("created topic", "topic", t.Name, "partitions", t.Partitions, "replication", t.Replication)
				continue
			case errors.Is(err, sarama.ErrTopicAlreadyExists):
				// Another synchronizer created it meanwhile; check it
				// on the next run.
				continue
			default:
				return fmt.Errorf("create topic %s: %w", t.Name, err)
			}
		}
		if have.NumPartitions != t.Partitions && have.NumPartitions != want.Partitions {
			d := fmt.Sprintf("%s has %d partitions, the topology wants %d", t.Name, have.NumPartitions, t.Partitions)
			rep.Drift = append(rep.Drift, d)
			rep.PartitionDrift = append(rep.PartitionDrift, d)
		}
		if have.ReplicationFactor != t.Replication {
			rep.Drift = append(rep.Drift, fmt.Sprintf("%s has replication %d, the topology wants %d (reassign partitions to change it)", t.Name, have.ReplicationFactor, t.Replication))
		}
		fixed, err := fixConfigs(admin, t)
		if err != nil {
			return err
		}
		if len(fixed) > 0 {
			rep.ConfigsFixed[t.Name] = fixed
			opts.Log.Info("set topic configs", "topic", t.Name, "configs", fixed)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(existing)) {
		if _, ok := topology.Lookup(name); ok || strings.HasPrefix(name, "_") {
			continue
		}
		rep.Unknown = append(rep.Unknown, name)
		if !opts.DeleteUnknown {
			opts.Log.Warn("topic not in the topology (kept; pass --delete-unknown to delete)", "topic", name)
			continue
		}
		if err := admin.DeleteTopic(name); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			return fmt.Errorf("delete topic %s: %w", name, err)
		}
		rep.Deleted = append(rep.Deleted, name)
		opts.Log.Info("deleted topic not in the topology", "topic", name)
	}
	return nil
}

func createTopic(admin Admin, t topology.Topic) error {
	entries := make(map[string]*string, len(t.Configs))
	for k, v := range t.Configs {
		entries[k] = &v
	}
	return admin.CreateTopic(t.Name, &sarama.TopicDetail{
		NumPartitions: t.Partitions, ReplicationFactor: t.Replication, ConfigEntries: entries,
	}, false)
}

// fixConfigs sets the topic configs that differ from the topology and
// returns them as key=value.
func fixConfigs(admin Admin, t topology.Topic) ([]string, error) {
	entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: t.Name})
	if err != nil {
		return nil, fmt.Errorf("describe configs of %s: %w", t.Name, err)
	}
	have := make(map[string]string, len(entries))
	for _, e := range entries {
		have[e.Name] = e.Value
	}
	set := map[string]sarama.IncrementalAlterConfigsEntry{}
	var fixed []string
	for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
		v := t.Configs[k]
		if have[k] == v {
			continue
		}
		set[k] = sarama.IncrementalAlterConfigsEntry{Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v}
		fixed = append(fixed, k+"="+v)
	}
	if len(set) == 0 {
		return nil, nil
	}
	if err := admin.IncrementalAlterConfig(sarama.TopicResource, t.Name, set, false); err != nil {
		return nil, fmt.Errorf("set configs %v of %s: %w", fixed, t.Name, err)
	}
	return fixed, nil
}

func syncSchemas(ctx context.Context, reg Registry, opts Options, rep *Report) error {
	for _, t := range topology.Topics {
		for _, rec := range t.Records {
			subject := topology.Subject(t.Name, rec)
			text, err := schemas.Compose(rec)
			if err != nil {
				return &PermanentError{err}
			}
			s := sr.Schema{Schema: text, Type: sr.TypeAvro}
			if _, err := reg.LookupSchema(ctx, subject, s); err == nil {
				rep.UpToDate++
				continue
			} else if !isNotFound(err) {
				return fmt.Errorf("look up subject %s: %w", subject, err)
			}
			if res, err := reg.CheckCompatibility(ctx, subject, -1, s); err == nil && !res.Is {
				return &PermanentError{fmt.Errorf("schema of %s is not backward compatible with the version registered under %s: %s",
					rec, subject, strings.Join(res.Messages, "; "))}
			} else if err != nil && !isNotFound(err) {
				return fmt.Errorf("check compatibility of %s: %w", subject, err)
			}
			ss, err := reg.CreateSchema(ctx, subject, s)
			if err != nil {
				var re *sr.ResponseError
				if errors.As(err, &re) && re.StatusCode == http.StatusConflict {
					return &PermanentError{fmt.Errorf("registry rejected the schema of %s under %s as incompatible: %s", rec, subject, re.Message)}
				}
				return fmt.Errorf("register %s: %w", subject, err)
			}
			rep.Registered = append(rep.Registered, subject)
			opts.Log.Info("registered schema", "subject", subject, "id", ss.ID, "version", ss.Version)
		}
	}
	return nil
}

func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusNotFound
}
