// Package durable holds what makes a write to disk survive a power cut,
// for the parts that keep data (the embedded broker and registry): a file
// or directory entry exists after a crash only once its directory is
// fsynced.
package durable

import (
	"fmt"
	"os"
)

// SyncDir fsyncs a directory, so the entries created or renamed in it
// (files, subdirectories) survive a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}
