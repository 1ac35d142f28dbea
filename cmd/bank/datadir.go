package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// dataSubdirs are the embedded bank's directories in its data dir: the
// broker's log (every event, tokens and password hashes included), the
// registry's schemas, the gateway's session key and employee password,
// and the broker's and registry's credentials.
var dataSubdirs = []string{"kafka", "schema-registry", "gateway", "credentials"}

// prepareDataDir creates the data dir readable by this user only (0700),
// and closes subdirectories a former version created more open (their
// owners create them 0700). The data dir itself, which may be any
// directory the user named, is only warned about.
func prepareDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// Search permission alone (x) lets no one list or read anything: the
	// bank adds it for others when its PostgreSQL runs as another user.
	if st, err := os.Stat(dir); err == nil && st.Mode().Perm()&0o066 != 0 {
		log.Warn("the data dir is open to other users; its subdirectories are not, but consider chmod 700", "data_dir", dir, "mode", st.Mode().Perm().String())
	}
	for _, sub := range dataSubdirs {
		p := filepath.Join(dir, sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() && st.Mode().Perm() != 0o700 {
			if err := os.Chmod(p, 0o700); err != nil {
				return fmt.Errorf("data dir: %w", err)
			}
		}
	}
	return nil
}
