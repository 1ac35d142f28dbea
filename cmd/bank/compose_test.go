package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openbank/bank/services/reports/reportstest"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/openbank/bank/schemas"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// loadCompose loads ../../docker-compose.yml as docker compose would (schema
// validation, interpolation, merges, profiles).
func loadCompose(t *testing.T, env map[string]string, profiles ...string) (*types.Project, error) {
	t.Helper()
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  "../..",
		ConfigFiles: []types.ConfigFile{{Filename: "../../docker-compose.yml"}},
		Environment: env,
	}, loader.WithProfiles(profiles))
}

var bankServices = []string{"sync", "commands", "projector", "alerts", "reports", "gateway"}

// oneShot are the compose services that run once and exit.
var oneShot = []string{"acls", "sync"}

// composeEnv is what a person sets before docker compose up: the
// employees' credential and a password per principal.
func composeEnv() map[string]string {
	env := map[string]string{"EMPLOYEE_PASSWORD": "staff only", "POSTGRES_PASSWORD": "pg"}
	for _, p := range topology.Principals {
		env[topology.PasswordVariable(p.Name)] = strings.ToLower(rand.Text())
	}
	return env
}

func TestComposeFileIsValid(t *testing.T) {
	env := composeEnv()
	for _, missing := range []string{"EMPLOYEE_PASSWORD", "POSTGRES_PASSWORD", topology.PasswordVariable(topology.PrincipalAdmin), topology.PasswordVariable(topology.PrincipalGateway)} {
		without := maps.Clone(env)
		delete(without, missing)
		if _, err := loadCompose(t, without); err == nil || !strings.Contains(err.Error(), "set "+missing) {
			t.Errorf("without %s: %v", missing, err)
		}
	}
	env["KAFKA_REPLICATION"] = "3"
	for _, profile := range [][]string{nil, {"cluster"}} {
		p, err := loadCompose(t, env, profile...)
		if err != nil {
			t.Fatalf("profiles %v: %v", profile, err)
		}
		checkComposeSecurity(t, p, env)
		brokers := 0
		for name, s := range p.Services {
			if strings.HasPrefix(name, "kafka") {
				brokers++
			}
			if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || !strings.Contains(s.Image, ":") {
				t.Errorf("%s: image %q is not pinned", name, s.Image)
			}
			if s.MemLimit == 0 {
				t.Errorf("%s: no memory limit", name)
			}
			if !slices.Contains(oneShot, name) && s.HealthCheck == nil {
				t.Errorf("%s: no health check", name)
			}
			for dep, d := range s.DependsOn {
				if d.Condition == "" || d.Condition == types.ServiceConditionStarted {
					t.Errorf("%s waits for %s to start only, not to be healthy or done", name, dep)
				}
			}
			if slices.Contains(bankServices, name) && name != "sync" {
				if d, ok := s.DependsOn["sync"]; !ok || d.Condition != types.ServiceConditionCompletedSuccessfully {
					t.Errorf("%s does not wait for the synchronizer to succeed", name)
				}
			}
		}
		if want := 1 + 2*len(profile); brokers != want {
			t.Errorf("profiles %v: %d brokers, want %d", profile, brokers, want)
		}
		if r := p.Services["commands"].Deploy; r == nil || r.Replicas == nil || *r.Replicas != 2 {
			t.Errorf("commands: want 2 replicas")
		}
		// The gateway's admin address (metrics) is reachable inside the
		// compose network only; introspection is set, not left to a default.
		gw := p.Services["gateway"]
		admin := gw.Environment["ADMIN_ADDR"]
		if admin == nil || !strings.HasSuffix(*admin, ":8889") || !slices.Contains(gw.Expose, "8889") {
			t.Errorf("gateway: ADMIN_ADDR %v, expose %v; want :8889, exposed to the network", admin, gw.Expose)
		}
		for _, port := range gw.Ports {
			if port.Target == 8889 || port.Published == "8889" {
				t.Errorf("gateway: the admin port is published on the host: %+v", port)
			}
		}
		if v := gw.Environment["INTROSPECTION"]; v == nil || *v == "" {
			t.Errorf("gateway: INTROSPECTION not set")
		}
		// PostgreSQL is for the other containers only; the reports service
		// waits for it to be healthy and reaches it with the password set.
		pg := p.Services["postgres"]
		if len(pg.Ports) != 0 || !slices.Contains(pg.Expose, "5432") {
			t.Errorf("postgres: ports %v, expose %v; want 5432 exposed to the network, nothing published", pg.Ports, pg.Expose)
		}
		rp := p.Services["reports"]
		if d, ok := rp.DependsOn["postgres"]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("reports does not wait for PostgreSQL to be healthy")
		}
		if db := rp.Environment["REPORTS_DB"]; db == nil || *db != "postgres://openbank:pg@postgres:5432/openbank" {
			t.Errorf("reports: REPORTS_DB %v", db)
		}
	}
}

// checkComposeSecurity checks that compose runs a secured cluster: Kafka
// started by the secure entry point with every principal's password, each
// bank service as its own principal of the table (the synchronizer as the
// super user), the registry reachable inside the compose network only.
func checkComposeSecurity(t *testing.T, p *types.Project, env map[string]string) {
	t.Helper()
	for name, s := range p.Services {
		value := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		switch {
		case strings.HasPrefix(name, "kafka"):
			if len(s.Entrypoint) != 2 || s.Entrypoint[1] != "/openbank/kafka.sh" {
				t.Errorf("%s: entry point %v, want the secure one", name, s.Entrypoint)
			}
			if value("KAFKA_PASSWORD_ADMIN") != env["KAFKA_PASSWORD_ADMIN"] {
				t.Errorf("%s: no admin password", name)
			}
			if name == "kafka" { // the controller formats every principal's credential
				for _, pr := range topology.Principals {
					if v := topology.PasswordVariable(pr.Name); value(v) != env[v] {
						t.Errorf("kafka: %s is not given, so %s cannot log in", v, pr.Name)
					}
				}
			}
			if len(s.Ports) > 0 {
				t.Errorf("%s publishes %v on the host", name, s.Ports)
			}
		case name == "postgres":
			// Not a Kafka client: the reports service's SQL store.
		case name == "schema-registry":
			if len(s.Ports) > 0 {
				t.Errorf("the registry is published on the host: %v", s.Ports)
			}
			if jaas := value("SCHEMA_REGISTRY_KAFKASTORE_SASL_JAAS_CONFIG"); !strings.Contains(jaas, `username="registry"`) ||
				!strings.Contains(jaas, env["KAFKA_PASSWORD_REGISTRY"]) || value("SCHEMA_REGISTRY_KAFKASTORE_SECURITY_PROTOCOL") != "SASL_PLAINTEXT" {
				t.Errorf("the registry does not speak to Kafka as principal registry: %q", jaas)
			}
		default:
			user := value("KAFKA_SASL_USER")
			pr, ok := topology.LookupPrincipal(user)
			if !ok {
				t.Errorf("%s: KAFKA_SASL_USER %q is not a principal of topology.Principals", name, user)
				continue
			}
			if value("KAFKA_SASL_PASSWORD") != env[topology.PasswordVariable(user)] {
				t.Errorf("%s: not %s's password", name, user)
			}
			if pr.Super != slices.Contains(oneShot, name) {
				t.Errorf("%s runs as %s: only the one-shot acls and sync may be the super user", name, user)
			}
		}
	}
}

// TestComposeServices runs the bank's services as compose configures them —
// the same commands and environment, each its own process and principal —
// against the embedded broker and registry (`bank broker`) standing in for
// Kafka and the Schema Registry. The broker gets the principals' passwords
// as compose's Kafka does, and so enforces the principals table's ACLs as
// compose's Kafka does once `bank acls` ran. Only the addresses differ, and
// the registry's credentials (compose's is reachable on its network only).
func TestComposeServices(t *testing.T) {
	skipOnRealKafka(t)
	cenv := composeEnv()
	p, err := loadCompose(t, cenv)
	if err != nil {
		t.Fatal(err)
	}
	brokerEnv := []string{"BANK_DATA_DIR=" + t.TempDir(), "KAFKA_PORT=0", "SCHEMA_REGISTRY_ADDR=127.0.0.1:0"}
	for k, v := range p.Services["kafka"].Environment {
		if strings.HasPrefix(k, "KAFKA_PASSWORD_") && v != nil {
			brokerEnv = append(brokerEnv, k+"="+*v)
		}
	}
	b := start(t, brokerEnv, "broker")
	m := b.line(t, regexp.MustCompile(`^Kafka broker at (\S+), Schema Registry at (\S+)`))
	b.line(t, regexp.MustCompile(`^Kafka clients authenticate with SASL/SCRAM-SHA-512 as one of the principals`))
	addresses := map[string]string{"KAFKA_BROKERS": m[1], "SCHEMA_REGISTRY_URL": m[2], "BANK_HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0",
		"REPORTS_DB": reportstest.DB(t)} // PostgreSQL's container: the tests' server
	run := func(service string, replica int) *proc {
		s := p.Services[service]
		env := []string{fmt.Sprintf("INSTANCE_ID=%s-%d", service, replica), fmt.Sprintf("PROJECTOR_ID=%s-%d", service, replica),
			fmt.Sprintf("REPORTS_ID=%s-%d", service, replica)} // the host name in a container
		for k, v := range s.Environment {
			if a, ok := addresses[k]; ok {
				v = &a
			}
			if v != nil {
				env = append(env, k+"="+*v)
			}
		}
		return start(t, env, s.Command...)
	}

	for _, once := range oneShot {
		if err, logs := run(once, 1).wait(t); err != nil {
			t.Fatalf("%s: %v\n%s", once, err, logs)
		}
	}
	var services []*proc
	var urls []string
	for _, name := range []string{"commands", "commands", "projector", "gateway", "alerts", "reports"} {
		proc := run(name, len(services)+1)
		services = append(services, proc)
		urls = append(urls, "http://"+httpAddrOf(t, proc))
	}
	gatewayAdmin := "http://" + adminAddrOf(t, services[3])
	for i, u := range urls {
		waitReady(t, u+"/readyz", services[i])
	}

	// A customer through the gateway: sign up, a deposit, a transfer out.
	gw := urls[3] + "/graphql"
	var signUp struct {
		Data struct {
			A struct{ IBAN, Token string } `json:"get_account"`
		} `json:"data"`
	}
	postJSON(t, gw, "", `{"query":"mutation { get_account(username: \"compose\", password: \"pw\") { iban token } }"}`, &signUp)
	a := signUp.Data.A
	for i, q := range []string{
		`mutation { money_transfer(uuid: "%s", username: "compose", token: "%s", amount: 1000, from: "cash", to: "%s", descr: "in") { success reason } }`,
		`mutation { money_transfer(uuid: "%s", username: "compose", token: "%s", amount: 400, from: "%s", to: "NL91ABNA0417164300", descr: "out") { success reason } }`,
	} {
		var r struct {
			Data struct {
				T struct {
					Success bool
					Reason  *string
				} `json:"money_transfer"`
			} `json:"data"`
		}
		body := fmt.Sprintf(`{"query":%q}`, fmt.Sprintf(q, schemas.NewID(), a.Token, a.IBAN))
		postJSON(t, gw, "", body, &r)
		if !r.Data.T.Success {
			t.Fatalf("transfer %d: %+v", i, r)
		}
	}

	// Each service's metrics say what it did.
	metrics := func(u string) string {
		res, err := http.Get(u + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	var handled string
	for _, u := range urls[:2] {
		handled += metrics(u)
	}
	for _, want := range []string{
		`openbank_commands_total{command="MoneyTransferCommand",outcome="succeeded"}`,
		`openbank_transfers_total{outcome="completed"}`,
		`openbank_consumer_lag{group="openbank-commands"`,
		`openbank_events_replayed_total{service="commands"}`,
	} {
		if !strings.Contains(handled, want) {
			t.Errorf("command handlers' metrics lack %s", want)
		}
	}
	for u, want := range map[string]string{
		urls[2]:      `openbank_queries_total{outcome="failed",query="FindUserQuery"} 1`, // a new user
		urls[5]:      `openbank_reports_events_total`,
		gatewayAdmin: `openbank_bus_request_seconds_count{outcome="answered",request="MoneyTransferCommand"}`,
	} {
		if !strings.Contains(metrics(u), want) {
			t.Errorf("%s/metrics lacks %s", u, want)
		}
	}

	// The gateway's public address serves no metrics.
	if res, err := http.Get(urls[3] + "/metrics"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("the gateway's public /metrics: %v %v", res, err)
	} else {
		res.Body.Close()
	}

	// The gateway's principal is confined to what it needs.
	checkGatewayIsConfined(t, []string{m[1]}, kafka.Security{User: topology.PrincipalGateway,
		Password: cenv[topology.PasswordVariable(topology.PrincipalGateway)]})

	// No service was refused anything: the table grants what each needs.
	for _, proc := range services {
		if logs := proc.logs(); strings.Contains(logs, "not authorized") || strings.Contains(logs, "AUTHORIZATION_FAILED") {
			t.Errorf("bank %v was refused something:\n%s", proc.cmd.Args[1:], logs)
		}
	}

	// SIGTERM, as docker stop sends: every service ends cleanly.
	for _, proc := range services {
		if err := proc.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for i, proc := range services {
		if err, logs := proc.wait(t); err != nil {
			t.Errorf("service %d after SIGTERM: %v\n%s", i, err, logs)
		}
	}
	b.stop(t)
}

func waitReady(t *testing.T, url string, p *proc) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never ready: %v\n%s", url, err, p.logs())
		}
	}
}
