package main

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/openbank/bank/services/gateway/session"
	"github.com/openbank/bank/topology/kafka"
)

// The embedded bank's data — events with tokens and password hashes, the
// session key, the employee password, the broker's credentials — is readable by its user only, also
// in a data dir an older version made.
func TestTheDataDirIsPrivate(t *testing.T) {
	skipOnRealKafka(t)
	for _, older := range []bool{false, true} {
		dir := filepath.Join(t.TempDir(), "data")
		if older {
			for _, sub := range dataSubdirs {
				if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
		port, registry, sync := 0, "127.0.0.1:0", false
		b, err := startBackbone(backboneFlags{dataDir: &dir, kafkaPort: &port, registryAddr: &registry, syncWrites: &sync}, kafka.Security{}, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := employeePassword(dir); err != nil {
			t.Fatal(err)
		}
		if _, _, err := session.Key("", sessionKeyFile(dir)); err != nil {
			t.Fatal(err)
		}
		b.Close(context.Background())
		want := map[string]fs.FileMode{
			".": 0o700, "kafka": 0o700, "kafka/.lock": 0o600, "schema-registry": 0o700, "schema-registry/schemas.jsonl": 0o600,
			"gateway": 0o700, "gateway/employee.password": 0o600, "gateway/session.key": 0o600,
			"credentials": 0o700, "credentials/kafka.properties": 0o600, "credentials/schema-registry.userinfo": 0o600,
		}
		if older {
			want["."] = 0o755 &^ umask(t) // the user's own directory: warned about, left
		}
		for name, mode := range want {
			st, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("older %v: %v", older, err)
				continue
			}
			if st.Mode().Perm() != mode {
				t.Errorf("older %v: %s is %s, want %s", older, name, st.Mode().Perm(), mode)
			}
		}
	}
}

// umask returns the process's umask.
func umask(t *testing.T) fs.FileMode {
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(p, 0o777); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ st.Mode().Perm()
}
