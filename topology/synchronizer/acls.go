package synchronizer

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// ACLAdmin is the part of sarama.ClusterAdmin that syncs ACLs.
type ACLAdmin interface {
	ListAcls(filter sarama.AclFilter) ([]sarama.ResourceAcls, error)
	CreateACLs([]*sarama.ResourceAcls) error
	DeleteACL(filter sarama.AclFilter, validateOnly bool) ([]sarama.MatchingAcl, error)
}

// ACL is one rule, as Kafka stores it. The table's rules allow, from any
// host.
type ACL struct {
	Principal  string // "User:commands"
	Resource   sarama.Resource
	Operation  sarama.AclOperation
	Host       string
	Permission sarama.AclPermissionType
}

func (a ACL) String() string {
	name := a.Resource.ResourceName
	if a.Resource.ResourcePatternType == sarama.AclPatternPrefixed {
		name += "*"
	}
	s := fmt.Sprintf("%s: %s %s %s", a.Principal, a.Operation.String(), a.Resource.ResourceType.String(), name)
	if a.Permission != sarama.AclPermissionAllow {
		s += " (" + a.Permission.String() + ")"
	}
	if a.Host != "*" {
		s += " from " + a.Host
	}
	return s
}

// WantedACLs returns the allow rules of the principals table (any host).
func WantedACLs(principals []topology.Principal) ([]ACL, error) {
	var out []ACL
	for _, p := range principals {
		for _, g := range p.Grants() {
			a, err := toACL(p.Name, g)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	return out, nil
}

func toACL(principal string, g topology.Grant) (ACL, error) {
	a := ACL{Principal: "User:" + principal, Host: "*", Permission: sarama.AclPermissionAllow,
		Resource: sarama.Resource{ResourceName: g.Name, ResourcePatternType: sarama.AclPatternLiteral}}
	if g.Prefixed {
		a.Resource.ResourcePatternType = sarama.AclPatternPrefixed
	}
	switch g.Resource {
	case topology.ResourceTopic:
		a.Resource.ResourceType = sarama.AclResourceTopic
	case topology.ResourceGroup:
		a.Resource.ResourceType = sarama.AclResourceGroup
	case topology.ResourceTransactionalID:
		a.Resource.ResourceType = sarama.AclResourceTransactionalID
	case topology.ResourceCluster:
		a.Resource.ResourceType = sarama.AclResourceCluster
		a.Resource.ResourceName = "kafka-cluster"
	default:
		return a, fmt.Errorf("principal %s: unknown resource type %q", principal, g.Resource)
	}
	switch g.Op {
	case topology.OpRead:
		a.Operation = sarama.AclOperationRead
	case topology.OpWrite:
		a.Operation = sarama.AclOperationWrite
	case topology.OpDescribe:
		a.Operation = sarama.AclOperationDescribe
	case topology.OpAll:
		a.Operation = sarama.AclOperationAll
	default:
		return a, fmt.Errorf("principal %s: unknown operation %q", principal, g.Op)
	}
	return a, nil
}

// syncACLs makes the cluster's ACLs of the table's principals match the
// table: it creates the missing allow rules and deletes any other rule of
// those principals (a grant taken out of the table is revoked). Rules of
// other principals are left alone.
func syncACLs(ctx context.Context, admin ACLAdmin, rep *Report) error {
	want, err := WantedACLs(topology.Principals)
	if err != nil {
		return &PermanentError{err}
	}
	have, err := existingACLs(admin)
	if err != nil {
		return err
	}
	ours := map[string]bool{}
	for _, p := range topology.Principals {
		ours["User:"+p.Name] = true
	}
	var create []*sarama.ResourceAcls
	for _, a := range want {
		if !slices.Contains(have, a) {
			create = append(create, &sarama.ResourceAcls{Resource: a.Resource, Acls: []*sarama.Acl{{
				Principal: a.Principal, Host: a.Host, Operation: a.Operation, PermissionType: a.Permission}}})
			rep.ACLsCreated = append(rep.ACLsCreated, a.String())
		}
	}
	if len(create) > 0 {
		if err := admin.CreateACLs(create); err != nil {
			return fmt.Errorf("create ACLs: %w", err)
		}
	}
	for _, a := range have {
		if !ours[a.Principal] || slices.Contains(want, a) {
			continue
		}
		name, principal, host := a.Resource.ResourceName, a.Principal, a.Host
		if _, err := admin.DeleteACL(sarama.AclFilter{Version: 1, ResourceType: a.Resource.ResourceType, ResourceName: &name,
			ResourcePatternTypeFilter: a.Resource.ResourcePatternType, Principal: &principal, Host: &host,
			Operation: a.Operation, PermissionType: a.Permission}, false); err != nil {
			return fmt.Errorf("delete ACL %s: %w", a, err)
		}
		rep.ACLsDeleted = append(rep.ACLsDeleted, a.String())
	}
	if len(create) == 0 {
		return nil
	}
	// sarama does not look at the broker's answer to each creation: check
	// that they are there. A KRaft broker learns them from the metadata
	// log, a moment after the controller took them.
	var missing ACL
	for range 50 {
		if have, err = existingACLs(admin); err != nil {
			return err
		}
		i := slices.IndexFunc(want, func(a ACL) bool { return !slices.Contains(have, a) })
		if i < 0 {
			return nil
		}
		missing = want[i]
		if !kafka.Sleep(ctx, 200*time.Millisecond) {
			return fmt.Errorf("ACL %s not seen yet: %w", missing, context.Cause(ctx))
		}
	}
	return fmt.Errorf("ACL %s was not created (is the cluster's authorizer on, and are we its super user?)", missing)
}

// existingACLs lists every rule on the cluster.
func existingACLs(admin ACLAdmin) ([]ACL, error) {
	rs, err := admin.ListAcls(sarama.AclFilter{Version: 1, ResourceType: sarama.AclResourceAny,
		ResourcePatternTypeFilter: sarama.AclPatternAny, Operation: sarama.AclOperationAny, PermissionType: sarama.AclPermissionAny})
	if err != nil {
		return nil, fmt.Errorf("list ACLs: %w", err)
	}
	var out []ACL
	for _, r := range rs {
		for _, a := range r.Acls {
			out = append(out, ACL{Principal: a.Principal, Resource: r.Resource, Operation: a.Operation,
				Host: a.Host, Permission: a.PermissionType})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
