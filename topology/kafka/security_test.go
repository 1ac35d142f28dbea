package kafka_test

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/openbank/bank/topology/kafka"
)

// Every sarama configuration comes from NewConfig (ProducerConfig and the
// others build on it), and every registry client from RegistryClient,
// which apply the process's Security: no code may build one by itself and
// so connect without it.
func TestNoClientConfigBypassesSecurity(t *testing.T) {
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "third_party", "node_modules", ".cache", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || filepath.Dir(path) == "." {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		if filepath.Dir(rel) == filepath.Join("topology", "kafka") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), "sarama.NewConfig()") {
			t.Errorf("%s builds a sarama configuration itself: use kafka.NewConfig (or ProducerConfig, ConsumerConfig, TransactionalConfig), which carries the security", rel)
		}
		if !strings.HasSuffix(path, "_test.go") && strings.Contains(string(b), "sr.NewClient(") {
			t.Errorf("%s builds a Schema Registry client itself: use kafka.RegistryClient, which carries the registry's credentials", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSecurityIsAppliedToEveryConfig(t *testing.T) {
	defer func(old kafka.Security) { _ = kafka.SetSecurity(old) }(kafka.CurrentSecurity())
	if err := kafka.SetSecurity(kafka.Security{User: "u", Password: "p"}); err != nil {
		t.Fatal(err)
	}
	for name, cfg := range map[string]*sarama.Config{
		"NewConfig": kafka.NewConfig("c"), "ProducerConfig": kafka.ProducerConfig("c"),
		"ConsumerConfig": kafka.ConsumerConfig("c"), "TransactionalConfig": kafka.TransactionalConfig("c", "t"),
	} {
		if !cfg.Net.SASL.Enable || cfg.Net.SASL.User != "u" || cfg.Net.SASL.Mechanism != sarama.SASLTypeSCRAMSHA512 || cfg.Net.SASL.SCRAMClientGeneratorFunc == nil {
			t.Errorf("%s: SASL %+v", name, cfg.Net.SASL)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := kafka.SetSecurity(kafka.Security{}); err != nil {
		t.Fatal(err)
	}
	if kafka.NewConfig("c").Net.SASL.Enable {
		t.Error("SASL stays on after SetSecurity without a user")
	}
}

func TestSecurityFlagsAndValidation(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("from-file\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want kafka.Security
		err  string
	}{
		{name: "nothing", want: kafka.Security{Mechanism: kafka.SCRAMSHA512}},
		{name: "env", env: map[string]string{"KAFKA_SASL_USER": "gateway", "KAFKA_SASL_PASSWORD": "pw", "SCHEMA_REGISTRY_USER": "r", "SCHEMA_REGISTRY_PASSWORD": "rp"},
			want: kafka.Security{User: "gateway", Password: "pw", Mechanism: kafka.SCRAMSHA512, Registry: kafka.RegistrySecurity{User: "r", Password: "rp"}}},
		{name: "flags win", env: map[string]string{"KAFKA_SASL_USER": "gateway", "KAFKA_SASL_PASSWORD": "pw"}, args: []string{"--kafka-sasl-user", "alerts", "--kafka-sasl-password", "x"},
			want: kafka.Security{User: "alerts", Password: "x", Mechanism: kafka.SCRAMSHA512}},
		{name: "password file", env: map[string]string{"KAFKA_SASL_USER": "gateway", "KAFKA_SASL_PASSWORD_FILE": pwFile},
			want: kafka.Security{User: "gateway", Password: "from-file", Mechanism: kafka.SCRAMSHA512}},
		{name: "both", env: map[string]string{"KAFKA_SASL_USER": "gateway", "KAFKA_SASL_PASSWORD": "pw", "KAFKA_SASL_PASSWORD_FILE": pwFile}, err: "both set"},
		{name: "no password", env: map[string]string{"KAFKA_SASL_USER": "gateway"}, err: "without a password"},
		{name: "missing file", env: map[string]string{"KAFKA_SASL_USER": "gateway", "KAFKA_SASL_PASSWORD_FILE": filepath.Join(dir, "none")}, err: "no such file"},
		{name: "mechanism", args: []string{"--kafka-sasl-user", "u", "--kafka-sasl-password", "p", "--kafka-sasl-mechanism", "PLAIN"}, err: "SASL mechanism"},
		{name: "tls", env: map[string]string{"KAFKA_TLS": "on"}, want: kafka.Security{Mechanism: kafka.SCRAMSHA512, TLS: true}},
		{name: "bad tls", env: map[string]string{"KAFKA_TLS": "maybe"}, err: "not a boolean"},
	} {
		fs := flagSet()
		read := kafka.SecurityFlags(fs, func(k string) string { return c.env[k] })
		if err := fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		got, err := read()
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.name, got, err, c.want)
		}
	}
	// The help never shows a password taken from the environment.
	fs := flagSet()
	var help strings.Builder
	fs.SetOutput(&help)
	kafka.SecurityFlags(fs, func(k string) string { return map[string]string{"KAFKA_SASL_PASSWORD": "hunter2"}[k] })
	fs.PrintDefaults()
	if strings.Contains(help.String(), "hunter2") {
		t.Error("-h shows the password")
	}
	if s := (kafka.Security{User: "u", Password: "hunter2", Registry: kafka.RegistrySecurity{User: "r", Password: "hunter3"}}).String(); strings.Contains(s, "hunter") {
		t.Errorf("Security.String shows a password: %s", s)
	}
}

func flagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }
