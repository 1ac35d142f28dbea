package synchronizer

import (
	"context"
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/topology"
)

// fakeAdmin is a cluster that holds exactly what the topology wants, to
// which each test adds one difference.
type fakeAdmin struct {
	brokers int
	topics  map[string]sarama.TopicDetail
	configs map[string]map[string]string
	deleted []string
	altered map[string]map[string]string
}

func newFakeAdmin(brokers int) *fakeAdmin {
	a := &fakeAdmin{brokers: brokers, topics: map[string]sarama.TopicDetail{}, configs: map[string]map[string]string{}, altered: map[string]map[string]string{}}
	for _, t := range topology.Topics {
		e := t.Effective(brokers)
		a.topics[e.Name] = sarama.TopicDetail{NumPartitions: e.Partitions, ReplicationFactor: e.Replication}
		a.configs[e.Name] = e.Configs
	}
	return a
}

func (a *fakeAdmin) DescribeCluster() ([]*sarama.Broker, int32, error) {
	return make([]*sarama.Broker, a.brokers), 0, nil
}

func (a *fakeAdmin) ListTopics() (map[string]sarama.TopicDetail, error) { return a.topics, nil }

func (a *fakeAdmin) CreateTopic(name string, d *sarama.TopicDetail, _ bool) error {
	if _, ok := a.topics[name]; ok {
		return sarama.ErrTopicAlreadyExists
	}
	a.topics[name] = *d
	a.configs[name] = map[string]string{}
	for k, v := range d.ConfigEntries {
		a.configs[name][k] = *v
	}
	return nil
}

func (a *fakeAdmin) DeleteTopic(name string) error {
	a.deleted = append(a.deleted, name)
	delete(a.topics, name)
	return nil
}

func (a *fakeAdmin) DescribeConfig(r sarama.ConfigResource) ([]sarama.ConfigEntry, error) {
	var out []sarama.ConfigEntry
	for k, v := range a.configs[r.Name] {
		out = append(out, sarama.ConfigEntry{Name: k, Value: v})
	}
	return out, nil
}

func (a *fakeAdmin) IncrementalAlterConfig(_ sarama.ConfigResourceType, name string, e map[string]sarama.IncrementalAlterConfigsEntry, _ bool) error {
	a.altered[name] = map[string]string{}
	for k, v := range e {
		a.configs[name][k] = *v.Value
		a.altered[name][k] = *v.Value
	}
	return nil
}

// upToDate is a registry that already has every schema.
type upToDate struct{}

func (upToDate) LookupSchema(context.Context, string, sr.Schema) (sr.SubjectSchema, error) {
	return sr.SubjectSchema{ID: 1}, nil
}

func (upToDate) CheckCompatibility(context.Context, string, int, sr.Schema) (sr.CheckCompatibilityResult, error) {
	return sr.CheckCompatibilityResult{Is: true}, nil
}

func (upToDate) CreateSchema(context.Context, string, sr.Schema) (sr.SubjectSchema, error) {
	return sr.SubjectSchema{}, errors.New("should not register")
}

func TestDriftRules(t *testing.T) {
	tests := []struct {
		name      string
		brokers   int
		change    func(a *fakeAdmin)
		opts      Options
		permanent bool
		check     func(t *testing.T, a *fakeAdmin, r Report)
	}{
		{name: "matching cluster changes nothing", brokers: 1,
			check: func(t *testing.T, _ *fakeAdmin, r Report) {
				if r.Changed() || len(r.Drift) > 0 {
					t.Errorf("report %+v", r)
				}
			}},
		{name: "replication capped at broker count, min.insync with it", brokers: 2,
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if rf := a.topics[topology.BankEvents].ReplicationFactor; rf != 2 {
					t.Errorf("replication %d", rf)
				}
				if v := a.configs[topology.BankEvents]["min.insync.replicas"]; v != "2" {
					t.Errorf("min.insync.replicas %s", v)
				}
			}},
		{name: "missing topic is created", brokers: 1,
			change: func(a *fakeAdmin) { delete(a.topics, topology.DeadLetters) },
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if len(r.Created) != 1 || r.Created[0] != topology.DeadLetters {
					t.Errorf("created %v", r.Created)
				}
				if a.configs[topology.DeadLetters]["retention.ms"] == "" {
					t.Error("created without configs")
				}
			}},
		{name: "differing config is set", brokers: 1,
			change: func(a *fakeAdmin) { a.configs[topology.UserEvents]["retention.ms"] = "1000" },
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if a.altered[topology.UserEvents]["retention.ms"] != "-1" || len(r.ConfigsFixed) != 1 {
					t.Errorf("altered %v, report %v", a.altered, r.ConfigsFixed)
				}
			}},
		{name: "other partition count fails", brokers: 1, permanent: true,
			change: func(a *fakeAdmin) {
				d := a.topics[topology.BankEvents]
				d.NumPartitions = 3
				a.topics[topology.BankEvents] = d
			}},
		{name: "other partition count allowed by flag is reported", brokers: 1, opts: Options{AllowPartitionDrift: true},
			change: func(a *fakeAdmin) {
				d := a.topics[topology.BankEvents]
				d.NumPartitions = 3
				a.topics[topology.BankEvents] = d
			},
			check: func(t *testing.T, _ *fakeAdmin, r Report) {
				if len(r.Drift) != 1 {
					t.Errorf("drift %v", r.Drift)
				}
			}},
		{name: "missing topic is created with at most MaxPartitions", brokers: 1, opts: Options{MaxPartitions: 1},
			change: func(a *fakeAdmin) { delete(a.topics, topology.BankCommands) },
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if n := a.topics[topology.BankCommands].NumPartitions; n != 1 || len(r.Drift) > 0 {
					t.Errorf("created with %d partitions, drift %v", n, r.Drift)
				}
			}},
		{name: "under MaxPartitions a topic with the topology's count is kept as it is", brokers: 1, opts: Options{MaxPartitions: 1},
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if n := a.topics[topology.BankCommands].NumPartitions; n <= 1 || r.Changed() || len(r.Drift) > 0 {
					t.Errorf("%d partitions, report %+v", n, r)
				}
			}},
		{name: "under MaxPartitions another partition count still fails", brokers: 1, permanent: true, opts: Options{MaxPartitions: 1},
			change: func(a *fakeAdmin) {
				d := a.topics[topology.BankCommands]
				d.NumPartitions = 3
				a.topics[topology.BankCommands] = d
			}},
		{name: "other replication is reported, not fatal", brokers: 3,
			change: func(a *fakeAdmin) {
				d := a.topics[topology.BankEvents]
				d.ReplicationFactor = 1
				a.topics[topology.BankEvents] = d
			},
			check: func(t *testing.T, _ *fakeAdmin, r Report) {
				if len(r.Drift) != 1 {
					t.Errorf("drift %v", r.Drift)
				}
			}},
		{name: "unknown topic kept by default", brokers: 1,
			change: func(a *fakeAdmin) { a.topics["stray"] = sarama.TopicDetail{NumPartitions: 1} },
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if len(a.deleted) != 0 || len(r.Unknown) != 1 {
					t.Errorf("deleted %v, unknown %v", a.deleted, r.Unknown)
				}
			}},
		{name: "unknown topic deleted on request, internal ones never", brokers: 1, opts: Options{DeleteUnknown: true},
			change: func(a *fakeAdmin) {
				a.topics["stray"] = sarama.TopicDetail{NumPartitions: 1}
				a.topics["__consumer_offsets"] = sarama.TopicDetail{NumPartitions: 50}
				a.topics["_schemas"] = sarama.TopicDetail{NumPartitions: 1}
			},
			check: func(t *testing.T, a *fakeAdmin, r Report) {
				if len(a.deleted) != 1 || a.deleted[0] != "stray" {
					t.Errorf("deleted %v", a.deleted)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newFakeAdmin(tt.brokers)
			if tt.change != nil {
				tt.change(a)
			}
			rep, err := Sync(context.Background(), a, upToDate{}, tt.opts)
			var perm *PermanentError
			if tt.permanent != errors.As(err, &perm) {
				t.Fatalf("err = %v, want permanent %v", err, tt.permanent)
			}
			if !tt.permanent && err != nil {
				t.Fatal(err)
			}
			if tt.check != nil {
				tt.check(t, a, rep)
			}
		})
	}
}
