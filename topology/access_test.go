package topology_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/openbank/bank/services/alerts"
	"github.com/openbank/bank/services/commandhandler"
	"github.com/openbank/bank/services/projector"
	"github.com/openbank/bank/services/reports"
	"github.com/openbank/bank/topology"
)

// The principals table names the services' own consumer groups and
// transactional-id prefixes: renaming one in a service without the table
// would lock the service out of a secured cluster.
func TestPrincipalsUseTheServicesNames(t *testing.T) {
	for principal, want := range map[string]struct{ groups, txns []string }{
		topology.PrincipalCommands:  {[]string{commandhandler.Group}, []string{commandhandler.Group + "-"}},
		topology.PrincipalProjector: {[]string{projector.EmitGroup, projector.QueryGroup}, []string{projector.EmitGroup + "-"}},
		topology.PrincipalAlerts:    {[]string{alerts.RaiseGroup, alerts.DeliverGroup}, []string{alerts.RaiseGroup + "-"}},
		topology.PrincipalGateway:   {},
		topology.PrincipalReports:   {[]string{reports.QueryGroup}, nil},
	} {
		p, ok := topology.LookupPrincipal(principal)
		if !ok {
			t.Errorf("no principal %s", principal)
			continue
		}
		if !slices.Equal(p.Groups, want.groups) || !slices.Equal(p.TransactionalIDs, want.txns) {
			t.Errorf("%s: groups %v and transactional ids %v, the service uses %v and %v", principal, p.Groups, p.TransactionalIDs, want.groups, want.txns)
		}
	}
}

// Every topic of the topology is used by some principal, and every topic
// a principal names exists: a new topic (reports_queries, say) fails here
// until the table says who reads and writes it.
func TestEveryTopicHasItsPrincipals(t *testing.T) {
	read, written := map[string]bool{}, map[string]bool{}
	seen := map[string]bool{}
	for _, p := range topology.Principals {
		if seen[p.Name] {
			t.Errorf("principal %s twice", p.Name)
		}
		seen[p.Name] = true
		if p.Super && (len(p.Read)+len(p.Write)+len(p.Groups)+len(p.TransactionalIDs)+len(p.Extra) > 0) {
			t.Errorf("%s is a super user with grants", p.Name)
		}
		for _, topic := range append(slices.Clone(p.Read), p.Write...) {
			if _, ok := topology.Lookup(topic); !ok {
				t.Errorf("%s names %s, which is not in the topology", p.Name, topic)
			}
		}
		for _, topic := range p.Read {
			read[topic] = true
		}
		for _, topic := range p.Write {
			written[topic] = true
		}
	}
	for _, topic := range topology.Topics {
		if topic.Name == topology.DeadLetters {
			// Read by operators (admin) only: it holds what no consumer
			// could handle.
			if !written[topic.Name] {
				t.Errorf("no principal writes %s", topic.Name)
			}
			continue
		}
		if !read[topic.Name] || !written[topic.Name] {
			t.Errorf("%s: read by a principal %v, written by one %v: add it to topology.Principals", topic.Name, read[topic.Name], written[topic.Name])
		}
	}
	if len(topology.SuperUsers()) != 1 || topology.SuperUsers()[0] != topology.PrincipalAdmin {
		t.Errorf("super users %v, want admin alone", topology.SuperUsers())
	}
}

// The gateway never reads the topics that carry password hashes and
// tokens.
func TestTheGatewayReadsNoSecrets(t *testing.T) {
	gw, _ := topology.LookupPrincipal(topology.PrincipalGateway)
	for _, topic := range []string{topology.UserEvents, topology.BankEvents} {
		if slices.Contains(gw.Read, topic) || slices.Contains(gw.Write, topic) {
			t.Errorf("the gateway may touch %s", topic)
		}
	}
}

// The README shows the table as it is.
func TestTheREADMEShowsThePrincipals(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := topology.PrincipalsMarkdown(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md does not hold the principals table as topology.PrincipalsMarkdown renders it; put this there:\n\n%s", want)
	}
}
