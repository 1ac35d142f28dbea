package kafka_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/openbank/bank/services/schemaregistry"
	"github.com/openbank/bank/topology/kafka"
)

// selfSigned returns a certificate for 127.0.0.1 and its PEM file.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "openbank test"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, file
}

// With --kafka-tls-ca a client speaks TLS to the broker and trusts that
// CA (and SCRAM inside it); without the CA it refuses the broker. The
// registry's CA file works the same for an https registry.
func TestTLSTrustsTheCAFile(t *testing.T) {
	cert, caFile := selfSigned(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "u", "p"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	connect := func(sec kafka.Security) error {
		cfg := kafka.NewConfig("tls-test")
		if err := sec.Apply(cfg); err != nil {
			return err
		}
		cfg.Metadata.Retry.Max = 0
		cl, err := sarama.NewClient(c.ListenAddrs(), cfg)
		if err == nil {
			cl.Close()
		}
		return err
	}
	if err := connect(kafka.Security{User: "u", Password: "p", CAFile: caFile}); err != nil {
		t.Errorf("TLS with the CA file: %v", err)
	}
	if err := connect(kafka.Security{User: "u", Password: "p", TLS: true}); err == nil {
		t.Error("TLS without the CA file trusted a self-signed broker")
	}
	if err := connect(kafka.Security{User: "u", Password: "p"}); err == nil {
		t.Error("plaintext to a TLS listener connected")
	}
	if err := kafka.SetSecurity(kafka.Security{CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil || !strings.Contains(err.Error(), "CA file") {
		t.Errorf("a missing CA file: %v", err)
	}

	reg, err := schemaregistry.Open("")
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	srv := httptest.NewUnstartedServer(reg.Handler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	defer srv.Close()
	defer func(old kafka.Security) { _ = kafka.SetSecurity(old) }(kafka.CurrentSecurity())
	for _, trust := range []bool{true, false} {
		sec := kafka.Security{}
		if trust {
			sec.Registry.CAFile = caFile
		}
		if err := kafka.SetSecurity(sec); err != nil {
			t.Fatal(err)
		}
		cl, err := kafka.RegistryClient(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cl.Subjects(t.Context()); (err == nil) != trust {
			t.Errorf("registry over https, CA file given %v: %v", trust, err)
		}
	}
}
