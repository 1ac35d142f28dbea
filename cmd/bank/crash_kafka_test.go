package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology/kafka/kafkatest"
)

// The crash test's shorter variant on a real Apache Kafka broker (the
// second test tier): the services run as processes, command handlers and
// the projector are killed with SIGKILL, and so is the broker, which
// scripts/kafka/kafka.sh starts again on its data. The balances, every
// history's running balances and the outcomes must still agree. (The
// ledger of the event log is checked in the embedded tier, where the
// topics hold this test's events only.)
func TestServicesAndTheRealBrokerSurviveSIGKILL(t *testing.T) {
	if !kafkatest.Real() {
		t.Skip("the embedded tier runs TestTheWholeBankSurvivesSIGKILL")
	}
	brokerAddr := strings.Split(os.Getenv(kafkatest.BrokersEnv), ",")[0]
	_, port, err := net.SplitHostPort(brokerAddr)
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../../scripts/kafka/kafka.sh")
	kenv := kafkatest.Synced(t)
	env := []string{"KAFKA_BROKERS=" + brokerAddr, "SCHEMA_REGISTRY_URL=" + kenv.RegistryURL, "BANK_HTTP_ADDR=127.0.0.1:0"}
	sfx := schemas.NewID().String()[:6]
	type victim struct {
		name, cmd string
		args      []string
		mu        sync.Mutex
		p         *proc
	}
	victims := []*victim{
		{name: "commands a", cmd: "commands", args: []string{"INSTANCE_ID=crash-a-" + sfx}},
		{name: "commands b", cmd: "commands", args: []string{"INSTANCE_ID=crash-b-" + sfx}},
		{name: "projector", cmd: "projector", args: []string{"PROJECTOR_ID=crash-p-" + sfx}},
	}
	launch := func(v *victim) {
		p := start(t, append(append([]string{}, env...), v.args...), v.cmd)
		v.mu.Lock()
		v.p = p
		v.mu.Unlock()
	}
	for _, v := range victims {
		launch(v)
		waitReady(t, "http://"+httpAddrOf(t, v.p)+"/readyz", v.p)
	}
	const staff = "crash test staff"
	gw := start(t, append(env, "REQUEST_TIMEOUT=3s", "LOAD_TEST=1", "BCRYPT_COST=4", "EMPLOYEE_PASSWORD="+staff), "gateway")
	base := "http://" + httpAddrOf(t, gw)
	waitReady(t, base+"/readyz", gw)
	api := &chaosClient{url: base + "/graphql"}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()

	type customer struct{ user, iban, token string }
	var people []customer
	want := map[string]int64{}
	for i := range 4 {
		user := fmt.Sprintf("crash-%s-%d", sfx, i)
		acct, err := api.getAccount(ctx, user)
		if err != nil {
			t.Fatalf("sign up %s: %v", user, err)
		}
		people = append(people, customer{user, acct.IBAN, acct.Token})
		if out, err := settleThroughCrashes(ctx, api, schemas.NewID().String(), user, acct.Token, 1_000_000, "cash", acct.IBAN, "first"); err != nil || !out.Success {
			t.Fatalf("first deposit of %s: %+v %v", user, out, err)
		}
		want[acct.IBAN] = 1_000_000
	}

	stop := make(chan struct{})
	killerDone := make(chan struct{})
	kills := 0
	go func() {
		defer close(killerDone)
		for round := 0; ; round++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(2000+rand.IntN(2000)) * time.Millisecond):
			}
			if round == 2 { // the broker, once: a real broker takes seconds to come back
				out, err := exec.CommandContext(ctx, script, "crash", port).CombinedOutput()
				if err != nil {
					t.Errorf("crash the broker: %v\n%s", err, out)
					return
				}
				kills++
				t.Log("killed the broker")
				continue
			}
			v := victims[rand.IntN(len(victims))]
			v.mu.Lock()
			p := v.p
			v.mu.Unlock()
			p.cmd.Process.Kill()
			p.wait(t)
			kills++
			t.Logf("killed %s", v.name)
			launch(v)
		}
	}()
	var (
		mu   sync.Mutex
		sent int
	)
	stopSending := time.Now().Add(25 * time.Second)
	var workers sync.WaitGroup
	for w := range 4 {
		workers.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for time.Now().Before(stopSending) && ctx.Err() == nil {
				from, to := people[rnd.IntN(len(people))], people[rnd.IntN(len(people))]
				fromIBAN, toIBAN := from.iban, to.iban
				if to == from {
					fromIBAN = "cash"
				}
				amount := int64(1 + rnd.IntN(5_000))
				out, err := settleThroughCrashes(ctx, api, schemas.NewID().String(), from.user, from.token, amount, fromIBAN, toIBAN, "crash")
				if err != nil {
					t.Errorf("transfer: %v", err)
					return
				}
				mu.Lock()
				sent++
				if out.Success {
					if fromIBAN != "cash" {
						want[fromIBAN] -= amount
					}
					want[toIBAN] += amount
				}
				mu.Unlock()
			}
		})
	}
	workers.Wait()
	close(stop)
	<-killerDone
	t.Logf("%d transfers through %d kills, the broker's among them", sent, kills)
	var ibans []string
	for _, p := range people {
		ibans = append(ibans, p.iban)
	}
	pw := filepath.Join(t.TempDir(), "employee.password")
	if err := os.WriteFile(pw, []byte(staff), 0o600); err != nil {
		t.Fatal(err)
	}
	api.employeePasswordFile = pw
	// Other tests' transactions share the broker: ids are not ours alone.
	checkHistories(t, api, ibans, want, false)
	for _, v := range victims {
		v.p.stop(t)
	}
	gw.stop(t)
}
