package kafkatest

import (
	"bufio"
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/openbank/bank/services/schemaregistry"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
	"github.com/openbank/bank/topology/synchronizer"
)

// SecurePortEnv names the variable with the port of the real tier's
// secured broker (default 39094; its controller listens on the next port).
const SecurePortEnv = "BANK_TEST_KAFKA_SECURE_PORT"

// Secured is the real tier's second broker: Apache Kafka with SASL/SCRAM
// listeners, the StandardAuthorizer and no access where no ACL grants it
// (scripts/kafka/kafka.sh start-secure, configured as docker-compose.yml's
// Kafka), with a SCRAM user per principal of topology.Principals and their
// ACLs, the topics, and a registry holding the schemas.
type Secured struct {
	Brokers     []string
	RegistryURL string // the test credentials' registry user (Credentials)
	Registry    *sr.Client
	// Passwords are the principals' passwords, by name.
	Passwords map[string]string
}

var (
	securedOnce sync.Once
	secured     *Secured
	securedErr  error
)

// Secure returns the secured broker, started (or found running) at the
// first call of the process and synced then as admin: topics, schemas and
// the table's ACLs. It skips the test unless the real tier runs
// (BANK_TEST_KAFKA_BROKERS). The broker outlives the process; `make
// test-kafka` stops it.
func Secure(t testing.TB) *Secured {
	t.Helper()
	if !Real() {
		t.Skip("needs the real-Kafka tier's secured broker (make test-kafka)")
	}
	securedOnce.Do(func() { secured, securedErr = startSecured() })
	if securedErr != nil {
		t.Fatal(securedErr)
	}
	return secured
}

func startSecured() (*Secured, error) {
	Credentials()
	port := os.Getenv(SecurePortEnv)
	if port == "" {
		port = "39094"
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range topology.Principals {
		names = append(names, p.Name)
	}
	cmd := exec.Command(filepath.Join(root, "scripts", "kafka", "kafka.sh"), "start-secure", port)
	cmd.Env = append(os.Environ(), "KAFKA_PRINCIPALS="+strings.Join(names, " "))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("start the secured broker: %w", err)
	}
	s := &Secured{Brokers: []string{strings.TrimSpace(string(out))}, Passwords: map[string]string{}}
	cache := os.Getenv("KAFKA_CACHE_DIR")
	if cache == "" {
		cache = filepath.Join(root, ".cache", "kafka")
	}
	if err := s.readPasswords(filepath.Join(cache, "run-"+port, "passwords.env")); err != nil {
		return nil, err
	}
	reg, err := schemaregistry.Open("")
	if err != nil {
		return nil, err
	}
	sec := Credentials()
	srv := httptest.NewServer(schemaregistry.RequireBasicAuth(reg.Handler(), sec.Registry.User, sec.Registry.Password))
	s.RegistryURL = srv.URL
	if s.Registry, err = kafka.RegistryClient(srv.URL); err != nil {
		return nil, err
	}
	cfg := s.Config(topology.PrincipalAdmin, kafka.NewConfig("test-sync"))
	admin, err := sarama.NewClusterAdmin(s.Brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("the secured broker as admin: %w", err)
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := synchronizer.Sync(ctx, admin, s.Registry, synchronizer.Options{ACLs: true}); err != nil {
		return nil, fmt.Errorf("sync the secured broker: %w", err)
	}
	return s, nil
}

func (s *Secured) readPasswords(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return fmt.Errorf("the secured broker's passwords: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if name, found := strings.CutPrefix(k, "KAFKA_PASSWORD_"); ok && found {
			s.Passwords[strings.ToLower(name)] = v
		}
	}
	if s.Passwords[topology.PrincipalAdmin] == "" {
		return fmt.Errorf("%s holds no admin password", file)
	}
	return sc.Err()
}

// As returns the security of principal on the secured broker.
func (s *Secured) As(principal string) kafka.Security {
	sec := Credentials() // the registry's user
	sec.User, sec.Password, sec.Mechanism = principal, s.Passwords[principal], kafka.SCRAMSHA512
	return sec
}

// Config makes cfg (kafka.NewConfig, ProducerConfig…) speak as principal.
func (s *Secured) Config(principal string, cfg *sarama.Config) *sarama.Config {
	if err := s.As(principal).Apply(cfg); err != nil {
		panic(err) // only CA files fail, and there are none
	}
	return cfg
}

// repoRoot finds the module's root from the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
