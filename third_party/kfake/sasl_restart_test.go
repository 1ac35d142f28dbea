package kfake

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Users given as options replace those a data dir kept, and their ACLs
// replace the ones kept for them: a restart with a new password refuses
// the old one, a user no longer configured is gone, a grant taken out is
// gone. ACLs of other principals (created through the admin API) stay.
func TestConfiguredUsersReplacePersistedOnes(t *testing.T) {
	dir := t.TempDir()
	start := func(opts ...Opt) *Cluster {
		c, err := NewCluster(append([]Opt{DataDir(dir), EnableSASL(), EnableACLs()}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ping := func(c *Cluster, user, pass string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...),
			kgo.SASL(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second) // a refused client retries until then
		defer cancel()
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		return err
	}
	grant := func(op kmsg.ACLOperation) ACL {
		return ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "t", Pattern: kmsg.ACLResourcePatternTypeLiteral, Operation: op, Allow: true}
	}
	ops := func(c *Cluster) map[string][]kmsg.ACLOperation {
		out := map[string][]kmsg.ACLOperation{}
		c.admin(func() {
			for _, a := range c.acls.acls {
				out[a.principal] = append(out[a.principal], a.operation)
			}
		})
		return out
	}

	c := start(Superuser(saslScram512, "admin", "one"), User(saslScram512, "old", "x", grant(kmsg.ACLOperationRead)),
		User(saslScram512, "svc", "s", grant(kmsg.ACLOperationRead), grant(kmsg.ACLOperationWrite)))
	if err := ping(c, "admin", "one"); err != nil {
		t.Fatalf("first start: %v", err)
	}
	c.Close()

	c = start(Superuser(saslScram512, "admin", "two"), User(saslScram512, "svc", "s", grant(kmsg.ACLOperationRead)))
	defer c.Close()
	if err := ping(c, "admin", "one"); err == nil {
		t.Error("the old password still works after a restart with a new one")
	}
	if err := ping(c, "old", "x"); err == nil {
		t.Error("a user no longer configured still works")
	}
	if err := ping(c, "admin", "two"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	got := ops(c)
	if len(got["User:svc"]) != 1 || got["User:svc"][0] != kmsg.ACLOperationRead {
		t.Errorf("svc's ACLs after the restart: %v, want Read only", got["User:svc"])
	}
	if len(got["User:old"]) != 1 {
		t.Errorf("the ACLs of a principal not configured now: %v, want them kept", got["User:old"])
	}
}
