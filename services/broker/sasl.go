package broker

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/openbank/bank/topology"
)

// The mechanisms of the embedded broker's users: each has both.
var scramMechanisms = []string{"SCRAM-SHA-512", "SCRAM-SHA-256"}

// saslOptions turns the configured users into kfake's options. The users
// replace whatever users and ACLs the data dir kept (the kfake fork makes
// options authoritative), so a changed password takes effect at restart.
func saslOptions(cfg Config) ([]kfake.Opt, error) {
	if len(cfg.Users) == 0 {
		if cfg.ACLs {
			return nil, errors.New("broker: ACLs need users")
		}
		return nil, nil
	}
	opts := []kfake.Opt{kfake.EnableSASL()}
	if cfg.ACLs {
		opts = append(opts, kfake.EnableACLs())
	}
	seen := map[string]bool{}
	for _, u := range cfg.Users {
		switch {
		case u.Name == "" || u.Password == "":
			return nil, fmt.Errorf("broker: user %q needs a name and a password", u.Name)
		case seen[u.Name]:
			return nil, fmt.Errorf("broker: user %q given twice", u.Name)
		}
		seen[u.Name] = true
		var acls []kfake.ACL
		for _, g := range u.Grants {
			a, err := kfakeACL(g)
			if err != nil {
				return nil, fmt.Errorf("broker: user %s: %w", u.Name, err)
			}
			acls = append(acls, a)
		}
		for _, m := range scramMechanisms {
			if u.Super {
				opts = append(opts, kfake.Superuser(m, u.Name, u.Password))
			} else {
				opts = append(opts, kfake.User(m, u.Name, u.Password, acls...))
			}
		}
	}
	return opts, nil
}

func kfakeACL(g topology.Grant) (kfake.ACL, error) {
	a := kfake.ACL{Name: g.Name, Pattern: kmsg.ACLResourcePatternTypeLiteral, Allow: true}
	if g.Prefixed {
		a.Pattern = kmsg.ACLResourcePatternTypePrefixed
	}
	switch g.Resource {
	case topology.ResourceTopic:
		a.Resource = kmsg.ACLResourceTypeTopic
	case topology.ResourceGroup:
		a.Resource = kmsg.ACLResourceTypeGroup
	case topology.ResourceTransactionalID:
		a.Resource = kmsg.ACLResourceTypeTransactionalId
	case topology.ResourceCluster:
		a.Resource, a.Name = kmsg.ACLResourceTypeCluster, "kafka-cluster"
	default:
		return a, fmt.Errorf("unknown resource type %q", g.Resource)
	}
	switch g.Op {
	case topology.OpRead:
		a.Operation = kmsg.ACLOperationRead
	case topology.OpWrite:
		a.Operation = kmsg.ACLOperationWrite
	case topology.OpDescribe:
		a.Operation = kmsg.ACLOperationDescribe
	case topology.OpAll:
		a.Operation = kmsg.ACLOperationAll
	default:
		return a, fmt.Errorf("unknown operation %q", g.Op)
	}
	return a, nil
}

// PrincipalUsers returns the broker users of the principals table, with
// the passwords given by name: the super users as such, the others with
// their grants. A principal without a password is left out (it cannot
// log in).
func PrincipalUsers(passwords map[string]string) []User {
	var out []User
	for _, p := range topology.Principals {
		pw := passwords[p.Name]
		if pw == "" {
			continue
		}
		out = append(out, User{Name: p.Name, Password: pw, Super: p.Super, Grants: p.Grants()})
	}
	return out
}
