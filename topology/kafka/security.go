package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/xdg-go/scram"
)

// SASL mechanisms the clients speak. SCRAM never sends the password, so it
// is safe on a plaintext listener; PLAIN is not offered.
const (
	SCRAMSHA512 = sarama.SASLTypeSCRAMSHA512
	SCRAMSHA256 = sarama.SASLTypeSCRAMSHA256
)

// Security is how a process authenticates to Kafka and to the Schema
// Registry: the one value every client of the process is built with.
//
// A process sets it once at start (SetSecurity, from its flags) before it
// builds any client; NewConfig — and so ProducerConfig, ConsumerConfig,
// TransactionalConfig and every client built from them — applies it, and
// RegistryClient does the same for the registry. A service therefore
// cannot forget it: there is no other way to get a sarama configuration in
// this code base (a test, TestNoClientConfigBypassesSecurity, checks that
// nothing outside this package calls sarama.NewConfig). It is one value per
// process because a process is one principal; a test that needs another
// principal applies it to a configuration explicitly (Security.Apply).
type Security struct {
	// User and Password authenticate to Kafka with SASL/SCRAM; an empty
	// User connects without SASL.
	User     string
	Password string
	// Mechanism is SCRAMSHA512 (the default when empty) or SCRAMSHA256.
	Mechanism string
	// TLS connects to Kafka over TLS, trusting the system's roots and, if
	// set, the PEM certificates in CAFile (which implies TLS).
	TLS    bool
	CAFile string
	// Registry is how to reach the Schema Registry.
	Registry RegistrySecurity
}

// RegistrySecurity authenticates to the Schema Registry with HTTP basic
// auth (when User is set) and trusts the CAs in CAFile for an https URL.
type RegistrySecurity struct {
	User     string
	Password string
	CAFile   string
}

// String never shows a password: Security may end up in a log line.
func (s Security) String() string {
	out := "no SASL"
	if s.User != "" {
		out = "SASL " + s.mechanism() + " as " + s.User
	}
	if s.TLS || s.CAFile != "" {
		out += ", TLS"
	}
	if s.Registry.User != "" {
		out += ", registry as " + s.Registry.User
	}
	return out
}

// LogValue keeps passwords out of structured logs too.
func (s Security) LogValue() slog.Value { return slog.StringValue(s.String()) }

func (s Security) mechanism() string {
	if s.Mechanism == "" {
		return SCRAMSHA512
	}
	return s.Mechanism
}

// Validate reports a setting that cannot work.
func (s Security) Validate() error {
	switch {
	case s.User == "" && s.Password != "":
		return errors.New("a Kafka SASL password without a user (--kafka-sasl-user)")
	case s.User != "" && s.Password == "":
		return fmt.Errorf("Kafka SASL user %q without a password (--kafka-sasl-password or --kafka-sasl-password-file)", s.User)
	case s.Registry.User == "" && s.Registry.Password != "":
		return errors.New("a Schema Registry password without a user (--schema-registry-user)")
	case s.Registry.User != "" && s.Registry.Password == "":
		return fmt.Errorf("Schema Registry user %q without a password (--schema-registry-password or --schema-registry-password-file)", s.Registry.User)
	}
	switch s.mechanism() {
	case SCRAMSHA512, SCRAMSHA256:
	default:
		return fmt.Errorf("SASL mechanism %q: want %s or %s", s.Mechanism, SCRAMSHA512, SCRAMSHA256)
	}
	return nil
}

// loaded is a Security with its CA files read.
type loaded struct {
	sec         Security
	kafkaTLS    *tls.Config // nil: plaintext
	registryTLS *tls.Config // nil: the default transport
}

var current atomic.Pointer[loaded]

func init() { current.Store(&loaded{}) }

// SetSecurity makes s the security of every client built from now on. It
// reads the CA files once, so a missing one fails here, at start.
func SetSecurity(s Security) error {
	l, err := load(s)
	if err != nil {
		return err
	}
	current.Store(l)
	return nil
}

// CurrentSecurity returns what SetSecurity set last (the zero value, no
// authentication, before).
func CurrentSecurity() Security { return current.Load().sec }

func load(s Security) (*loaded, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	l := &loaded{sec: s}
	if s.TLS || s.CAFile != "" {
		cfg, err := tlsConfig(s.CAFile)
		if err != nil {
			return nil, fmt.Errorf("Kafka TLS: %w", err)
		}
		l.kafkaTLS = cfg
	}
	if s.Registry.CAFile != "" {
		cfg, err := tlsConfig(s.Registry.CAFile)
		if err != nil {
			return nil, fmt.Errorf("Schema Registry TLS: %w", err)
		}
		l.registryTLS = cfg
	}
	return l, nil
}

// tlsConfig trusts the system's roots and the PEM certificates in caFile.
func tlsConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Apply sets s on cfg, replacing whatever security cfg had: for a client
// that must speak as another principal than the process (tests).
func (s Security) Apply(cfg *sarama.Config) error {
	l, err := load(s)
	if err != nil {
		return err
	}
	l.apply(cfg)
	return nil
}

func (l *loaded) apply(cfg *sarama.Config) {
	s := l.sec
	cfg.Net.SASL = sarama.NewConfig().Net.SASL // off, with sarama's defaults
	if s.User != "" {
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Handshake = true
		cfg.Net.SASL.Mechanism = sarama.SASLMechanism(s.mechanism())
		cfg.Net.SASL.User = s.User
		cfg.Net.SASL.Password = s.Password
		cfg.Net.SASL.SCRAMClientGeneratorFunc = scramClients(s.mechanism(), s.User, s.Password)
	}
	cfg.Net.TLS.Enable = l.kafkaTLS != nil
	cfg.Net.TLS.Config = nil
	if l.kafkaTLS != nil {
		cfg.Net.TLS.Config = l.kafkaTLS.Clone()
	}
}

// scramClients returns sarama's SCRAM client generator for one principal.
// Every conversation shares one xdg-go/scram client, which caches the
// salted password per salt and iteration count: the PBKDF2 work (4096
// rounds of HMAC) is done once per broker's salt, not once per connection.
func scramClients(mechanism, user, password string) func() sarama.SCRAMClient {
	key := mechanism + "\x00" + user + "\x00" + password
	scramMu.Lock()
	defer scramMu.Unlock()
	if f, ok := scramCache[key]; ok {
		return f
	}
	hash := scram.SHA512
	if mechanism == SCRAMSHA256 {
		hash = scram.SHA256
	}
	var (
		once   sync.Once
		client *scram.Client
		err    error
	)
	f := func() sarama.SCRAMClient {
		once.Do(func() { client, err = hash.NewClient(user, password, "") })
		return &scramConversation{client: client, err: err}
	}
	scramCache[key] = f
	return f
}

var (
	scramMu    sync.Mutex
	scramCache = map[string]func() sarama.SCRAMClient{}
)

// scramConversation is one SCRAM exchange, as sarama drives it.
type scramConversation struct {
	client *scram.Client
	err    error // from preparing the user name or password (SASLprep)
	conv   *scram.ClientConversation
}

func (c *scramConversation) Begin(_, _, _ string) error {
	if c.err != nil {
		return fmt.Errorf("SCRAM: %w", c.err)
	}
	c.conv = c.client.NewConversation()
	return nil
}

func (c *scramConversation) Step(challenge string) (string, error) {
	return c.conv.Step(challenge)
}

func (c *scramConversation) Done() bool { return c.conv.Done() }

// RegistryClient returns a Schema Registry client for url with the
// process's registry security: basic auth when a user is set, and the CA
// file's certificates trusted for https.
func RegistryClient(url string, opts ...sr.ClientOpt) (*sr.Client, error) {
	l := current.Load()
	all := []sr.ClientOpt{sr.URLs(url)}
	if u := l.sec.Registry; u.User != "" {
		all = append(all, sr.BasicAuth(u.User, u.Password))
	}
	if l.registryTLS != nil {
		all = append(all, sr.DialTLSConfig(l.registryTLS.Clone()))
	}
	c, err := sr.NewClient(append(all, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("schema registry client for %s: %w", url, err)
	}
	return c, nil
}
