package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// noCredentials clears the test credentials start gives every process:
// the bank then uses those of its data dir.
var noCredentials = []string{"KAFKA_SASL_USER=", "KAFKA_SASL_PASSWORD=", "SCHEMA_REGISTRY_USER=", "SCHEMA_REGISTRY_PASSWORD="}

// The one-command bank's broker and registry are not open to every local
// process: it generates credentials into its data dir (0600, the same
// after a restart), says how to connect a tool with them, and refuses a
// client without them or with a wrong password. No log shows them.
func TestTheEmbeddedBrokerRefusesStrangers(t *testing.T) {
	skipOnRealKafka(t)
	dir := t.TempDir()
	args := []string{"--data-dir", dir, "--kafka-port", "0", "--registry-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
	hint := regexp.MustCompile(`^Kafka clients authenticate with SASL/SCRAM-SHA-512 as bank, password in (\S+): kcat -F (\S+) -b (\S+) -L; the Schema Registry with basic auth: curl -u "\$\(cat (\S+)\)" (\S+)/subjects$`)
	kafkaFile := filepath.Join(dir, "credentials", "kafka.properties")
	registryFile := filepath.Join(dir, "credentials", "schema-registry.userinfo")

	var first map[string]string
	for run := range 2 {
		p := start(t, noCredentials, args...)
		m := p.line(t, running)
		brokers, registry := []string{m[3]}, m[4]
		h := p.line(t, hint)
		if h[1] != kafkaFile || h[2] != kafkaFile || h[3] != brokers[0] || h[4] != registryFile || h[5] != registry {
			t.Errorf("the hint names %v", h[1:])
		}
		files := map[string]string{}
		for _, f := range []string{kafkaFile, registryFile} {
			st, err := os.Stat(f)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s is %s, want 0600", f, st.Mode().Perm())
			}
			b, _ := os.ReadFile(f)
			files[f] = string(b)
		}
		if run == 0 {
			first = files
		} else if files[kafkaFile] != first[kafkaFile] || files[registryFile] != first[registryFile] {
			t.Error("a restart made new credentials")
		}
		sec := fileCredentials(t, files[kafkaFile], files[registryFile])

		refused := func(what string, s kafka.Security) {
			t.Helper()
			cfg := kafka.NewConfig("stranger")
			if err := s.Apply(cfg); err != nil {
				t.Fatal(err)
			}
			cfg.Metadata.Retry.Max = 0
			if c, err := sarama.NewClient(brokers, cfg); err == nil {
				c.Close()
				t.Errorf("a client with %s connected", what)
			}
		}
		refused("no credentials", kafka.Security{})
		refused("a wrong password", kafka.Security{User: "bank", Password: sec.Password + "x"})
		cfg := kafka.NewConfig("tool")
		if err := sec.Apply(cfg); err != nil {
			t.Fatal(err)
		}
		admin, err := sarama.NewClusterAdmin(brokers, cfg)
		if err != nil {
			t.Fatalf("with the data dir's credentials: %v", err)
		}
		if topics, err := admin.ListTopics(); err != nil || len(topics) == 0 {
			t.Errorf("with the data dir's credentials: %d topics, %v", len(topics), err)
		}
		admin.Close()

		for _, c := range []struct {
			user, pass string
			want       int
		}{{"", "", http.StatusUnauthorized}, {"bank", "wrong", http.StatusUnauthorized}, {sec.Registry.User, sec.Registry.Password, http.StatusOK}} {
			req, _ := http.NewRequest(http.MethodGet, registry+"/subjects", nil)
			if c.user != "" {
				req.SetBasicAuth(c.user, c.pass)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != c.want {
				t.Errorf("the registry as %q: %d, want %d", c.user, res.StatusCode, c.want)
			}
		}
		p.stop(t)
		if logs := p.logs(); strings.Contains(logs, sec.Password) || strings.Contains(logs, sec.Registry.Password) {
			t.Error("the log shows a password")
		}
	}
}

// fileCredentials reads the credentials files as a tool would.
func fileCredentials(t *testing.T, props, userinfo string) kafka.Security {
	t.Helper()
	var sec kafka.Security
	for _, l := range strings.Split(props, "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "security.protocol":
			if v != "SASL_PLAINTEXT" {
				t.Errorf("security.protocol=%s", v)
			}
		case "sasl.mechanisms":
			if v != "SCRAM-SHA-512" {
				t.Errorf("sasl.mechanisms=%s", v)
			}
		case "sasl.username":
			sec.User = v
		case "sasl.password":
			sec.Password = v
		}
	}
	var ok bool
	sec.Registry.User, sec.Registry.Password, ok = strings.Cut(strings.TrimSpace(userinfo), ":")
	if sec.User != "bank" || sec.Password == "" || !ok || sec.Registry.Password == "" {
		t.Fatalf("credentials files:\n%s\n%s", props, userinfo)
	}
	return sec
}
