package kfake

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Users and ACLs given as options replace what a data dir kept: a restart
// with a new password refuses the old one, and a user no longer configured
// is gone.
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
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
		return err
	}
	readACL := ACL{Resource: kmsg.ACLResourceTypeTopic, Name: "t", Pattern: kmsg.ACLResourcePatternTypeLiteral,
		Operation: kmsg.ACLOperationRead, Allow: true}

	c := start(Superuser(saslScram512, "admin", "one"), User(saslScram512, "old", "x", readACL))
	if err := ping(c, "admin", "one"); err != nil {
		t.Fatalf("first start: %v", err)
	}
	c.Close()

	c = start(Superuser(saslScram512, "admin", "two"), User(saslScram512, "new", "y"))
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
	if err := ping(c, "new", "y"); err != nil {
		t.Errorf("the new user: %v", err)
	}
	var acls int
	c.admin(func() { acls = len(c.acls.acls) })
	if acls != 0 {
		t.Errorf("%d ACLs kept from the first start; the second configured none", acls)
	}
}
