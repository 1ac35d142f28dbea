package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/openbank/bank/services/broker"
	"github.com/openbank/bank/topology"
	"github.com/openbank/bank/topology/kafka"
)

// The embedded broker and registry are not open to every local process:
// the broker requires SASL/SCRAM and the registry HTTP basic auth. Their
// credentials are the --kafka-sasl-* and --schema-registry-* flags when
// given (the tests give them), else those kept in <data-dir>/credentials/,
// generated at the first start and reused after:
//
//	kafka.properties            librdkafka properties, for kcat -F
//	schema-registry.userinfo    user:password, for curl -u
//
// Both files are 0600 in a 0700 directory.

// embeddedUser is the principal of the one-command bank: every embedded
// service speaks as it (they share one process).
const embeddedUser = "bank"

// credentials says where the embedded backbone's credentials came from.
type credentials struct {
	sec          kafka.Security
	kafkaFile    string // "" when the flags gave them
	registryFile string
}

func credentialsDir(dataDir string) string { return filepath.Join(dataDir, "credentials") }

// embeddedCredentials returns the credentials of the embedded broker and
// registry: sec's where it has them, else the data dir's.
func embeddedCredentials(dataDir string, sec kafka.Security, log *slog.Logger) (credentials, error) {
	c := credentials{sec: sec}
	if sec.TLS || sec.CAFile != "" || sec.Registry.CAFile != "" {
		return c, errors.New("--kafka-tls, --kafka-tls-ca and --schema-registry-tls-ca are for other brokers and registries: the embedded ones listen on loopback without TLS")
	}
	if sec.Mechanism == "" {
		c.sec.Mechanism = kafka.SCRAMSHA512
	}
	dir := credentialsDir(dataDir)
	if sec.User == "" {
		c.kafkaFile = filepath.Join(dir, "kafka.properties")
		user, pw, err := kafkaCredentials(c.kafkaFile, log)
		if err != nil {
			return c, err
		}
		c.sec.User, c.sec.Password, c.sec.Mechanism = user, pw, kafka.SCRAMSHA512
	}
	if sec.Registry.User == "" {
		c.registryFile = filepath.Join(dir, "schema-registry.userinfo")
		user, pw, err := registryCredentials(c.registryFile, log)
		if err != nil {
			return c, err
		}
		c.sec.Registry.User, c.sec.Registry.Password = user, pw
	}
	return c, nil
}

// kafkaCredentials reads the SCRAM user and password of file, writing a
// new pair first if there is no file.
func kafkaCredentials(file string, log *slog.Logger) (user, password string, err error) {
	content, err := readSecret(file, log)
	if errors.Is(err, os.ErrNotExist) {
		pw := rand.Text()
		content = "# The embedded Kafka broker's SASL/SCRAM credentials, as librdkafka properties:\n" +
			"#   kcat -F " + file + " -b 127.0.0.1:9092 -L\n" +
			"security.protocol=SASL_PLAINTEXT\nsasl.mechanisms=SCRAM-SHA-512\n" +
			"sasl.username=" + embeddedUser + "\nsasl.password=" + pw + "\n"
		if err := writeSecret(file, content); err != nil {
			return "", "", err
		}
		log.Info("generated the embedded broker's credentials", "file", file)
		return embeddedUser, pw, nil
	}
	if err != nil {
		return "", "", err
	}
	props := map[string]string{}
	for _, l := range strings.Split(content, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(k, "#") {
			props[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	user, password = props["sasl.username"], props["sasl.password"]
	if user == "" || password == "" {
		return "", "", fmt.Errorf("credentials file %s: no sasl.username or sasl.password (delete it to have new ones generated)", file)
	}
	return user, password, nil
}

// registryCredentials reads the user:password of file, writing a new pair
// first if there is no file.
func registryCredentials(file string, log *slog.Logger) (user, password string, err error) {
	content, err := readSecret(file, log)
	if errors.Is(err, os.ErrNotExist) {
		pw := rand.Text()
		if err := writeSecret(file, embeddedUser+":"+pw+"\n"); err != nil {
			return "", "", err
		}
		log.Info("generated the embedded schema registry's credentials", "file", file)
		return embeddedUser, pw, nil
	}
	if err != nil {
		return "", "", err
	}
	user, password, ok := strings.Cut(strings.TrimSpace(content), ":")
	if !ok || user == "" || password == "" {
		return "", "", fmt.Errorf("credentials file %s: want user:password (delete it to have new ones generated)", file)
	}
	return user, password, nil
}

// readSecret reads a credentials file, closing it to this user first if
// it is open to others.
func readSecret(file string, log *slog.Logger) (string, error) {
	st, err := os.Stat(file)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("credentials: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		log.Warn("a credentials file was open to other users: closed to 0600", "file", file, "mode", st.Mode().Perm().String())
		if err := os.Chmod(file, 0o600); err != nil {
			return "", fmt.Errorf("credentials: %w", err)
		}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	return string(b), nil
}

// writeSecret creates file, 0600, with content, fsynced with its
// directory: credentials the broker accepted must survive a power cut as
// the data does.
func writeSecret(file, content string) error {
	dir := filepath.Dir(file)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	_, err = f.WriteString(content)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(file)
		return fmt.Errorf("credentials %s: %w", file, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// principalPasswords returns the passwords the environment gives the
// principals of topology.Principals (KAFKA_PASSWORD_COMMANDS, …): how
// compose's Kafka learns them, and `bank broker` standing in for it.
func principalPasswords(getenv func(string) string) map[string]string {
	out := map[string]string{}
	for _, p := range topology.Principals {
		if pw := getenv(topology.PasswordVariable(p.Name)); pw != "" {
			out[p.Name] = pw
		}
	}
	return out
}

// brokerUsers returns the users of the embedded broker: the one principal
// of sec, a super user; or, when principals are given (bank broker), the
// table's principals with their ACLs.
func brokerUsers(sec kafka.Security, principals map[string]string) ([]broker.User, bool, error) {
	if len(principals) == 0 {
		return []broker.User{{Name: sec.User, Password: sec.Password, Super: true}}, false, nil
	}
	if principals[topology.PrincipalAdmin] == "" {
		return nil, false, fmt.Errorf("principals' passwords given but not %s's: the synchronizer needs it", topology.PasswordVariable(topology.PrincipalAdmin))
	}
	return broker.PrincipalUsers(principals), true, nil
}

// connectHint tells a person how to connect a tool to the embedded
// broker and registry, without showing a password.
func connectHint(c credentials, kafkaAddr, registryURL string, acls bool) string {
	var b strings.Builder
	if acls {
		fmt.Fprintf(&b, "Kafka clients authenticate with SASL/SCRAM-SHA-512 as one of the principals of topology.Principals (ACLs enforced)")
	} else if c.kafkaFile != "" {
		fmt.Fprintf(&b, "Kafka clients authenticate with SASL/SCRAM-SHA-512 as %s, password in %s: kcat -F %s -b %s -L",
			c.sec.User, c.kafkaFile, c.kafkaFile, kafkaAddr)
	} else {
		fmt.Fprintf(&b, "Kafka clients authenticate with SASL/SCRAM-SHA-512 as %s (the password given): kcat -b %s -X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=%s -X sasl.password=… -L",
			c.sec.User, kafkaAddr, c.sec.User)
	}
	if c.registryFile != "" {
		fmt.Fprintf(&b, "; the Schema Registry with basic auth: curl -u \"$(cat %s)\" %s/subjects", c.registryFile, registryURL)
	} else {
		fmt.Fprintf(&b, "; the Schema Registry with basic auth as %s", c.sec.Registry.User)
	}
	return b.String()
}
