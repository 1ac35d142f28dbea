package kafka

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

// SecurityFlags adds the flags that set a process's Security to fs, each
// with an environment variable as its default, and returns a function
// that, once fs is parsed, reads them (and the password files) into a
// Security:
//
//	--kafka-sasl-user (KAFKA_SASL_USER), --kafka-sasl-password
//	(KAFKA_SASL_PASSWORD), --kafka-sasl-password-file
//	(KAFKA_SASL_PASSWORD_FILE), --kafka-sasl-mechanism
//	(KAFKA_SASL_MECHANISM), --kafka-tls (KAFKA_TLS), --kafka-tls-ca
//	(KAFKA_TLS_CA), --schema-registry-user (SCHEMA_REGISTRY_USER),
//	--schema-registry-password (SCHEMA_REGISTRY_PASSWORD),
//	--schema-registry-password-file (SCHEMA_REGISTRY_PASSWORD_FILE),
//	--schema-registry-tls-ca (SCHEMA_REGISTRY_TLS_CA).
//
// Passwords taken from the environment are not shown as flag defaults in
// -h: the help would print them.
func SecurityFlags(fs *flag.FlagSet, getenv func(string) string) func() (Security, error) {
	str := func(name, env, def, help string) *string {
		if v := getenv(env); v != "" {
			def = v
		}
		return fs.String(name, def, help+" (env "+env+")")
	}
	secret := func(name, env, help string) func() string {
		v := fs.String(name, "", help+" (env "+env+"; prefer the file: a flag shows in the process list)")
		return func() string {
			if *v != "" {
				return *v
			}
			return getenv(env)
		}
	}
	user := str("kafka-sasl-user", "KAFKA_SASL_USER", "", "SASL/SCRAM user to authenticate to Kafka as (empty: no SASL)")
	password := secret("kafka-sasl-password", "KAFKA_SASL_PASSWORD", "the SASL user's password")
	passwordFile := str("kafka-sasl-password-file", "KAFKA_SASL_PASSWORD_FILE", "", "file holding the SASL user's password (its first line)")
	mechanism := str("kafka-sasl-mechanism", "KAFKA_SASL_MECHANISM", SCRAMSHA512, "SASL mechanism: SCRAM-SHA-512 or SCRAM-SHA-256")
	tlsEnv := strings.ToLower(getenv("KAFKA_TLS"))
	useTLS := fs.Bool("kafka-tls", tlsEnv == "1" || tlsEnv == "true" || tlsEnv == "yes" || tlsEnv == "on",
		"connect to Kafka over TLS (env KAFKA_TLS)")
	ca := str("kafka-tls-ca", "KAFKA_TLS_CA", "", "PEM file of CA certificates to trust for Kafka, besides the system's (implies --kafka-tls)")
	regUser := str("schema-registry-user", "SCHEMA_REGISTRY_USER", "", "user for the Schema Registry's HTTP basic auth (empty: none)")
	regPassword := secret("schema-registry-password", "SCHEMA_REGISTRY_PASSWORD", "the Schema Registry user's password")
	regPasswordFile := str("schema-registry-password-file", "SCHEMA_REGISTRY_PASSWORD_FILE", "", "file holding the Schema Registry user's password (its first line)")
	regCA := str("schema-registry-tls-ca", "SCHEMA_REGISTRY_TLS_CA", "", "PEM file of CA certificates to trust for an https Schema Registry, besides the system's")
	return func() (Security, error) {
		switch tlsEnv {
		case "", "0", "false", "no", "off", "1", "true", "yes", "on":
		default:
			return Security{}, fmt.Errorf("KAFKA_TLS=%q: not a boolean", getenv("KAFKA_TLS"))
		}
		sec := Security{User: *user, Mechanism: *mechanism, TLS: *useTLS, CAFile: *ca,
			Registry: RegistrySecurity{User: *regUser, CAFile: *regCA}}
		var err error
		if sec.Password, err = passwordOf(password(), *passwordFile, "--kafka-sasl-password"); err != nil {
			return Security{}, err
		}
		if sec.Registry.Password, err = passwordOf(regPassword(), *regPasswordFile, "--schema-registry-password"); err != nil {
			return Security{}, err
		}
		if err := sec.Validate(); err != nil {
			return Security{}, err
		}
		return sec, nil
	}
}

// passwordOf returns the password given, or the first line of file.
func passwordOf(given, file, flag string) (string, error) {
	if file == "" {
		return given, nil
	}
	if given != "" {
		return "", fmt.Errorf("%s and %s-file are both set: give one", flag, flag)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s-file: %w", flag, err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimRight(pw, "\r")
	if pw == "" {
		return "", fmt.Errorf("%s-file %s is empty", flag, file)
	}
	return pw, nil
}
