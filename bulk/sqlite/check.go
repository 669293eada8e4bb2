package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/internal/diskspace"
)

var _ bulk.Checker = (*Target)(nil)

// minFreeSpace is the free space below which Check warns: a repopulation writes the tenant's
// whole data once more into the file and its write-ahead log.
const minFreeSpace = 1 << 30

// Check checks the folder before mirrord serves: that it is a folder mirrord can write a SQLite
// file in, the SQLite version, and the free space on its file system.
func (t *Target) Check(ctx context.Context) []bulk.Check {
	var checks []bulk.Check
	if err := t.Ping(ctx); err != nil {
		return append(checks, bulk.Check{Name: "folder", Detail: err.Error()})
	}
	probe, err := os.CreateTemp(t.dir, ".mirrord-check-*.db")
	if err != nil {
		return append(checks, bulk.Check{Name: "folder", Detail: fmt.Sprintf("cannot create a file in %s: %v", t.dir, err)})
	}
	path := probe.Name()
	probe.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}()
	db, err := sql.Open("sqlite", dsn(path, t.opts.BusyTimeout, false))
	if err == nil {
		defer db.Close()
		var version string
		if err = db.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&version); err == nil {
			_, err = db.ExecContext(ctx, "CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO probe VALUES (1, 'a'); ALTER TABLE probe ADD COLUMN w INTEGER")
		}
		if err == nil {
			checks = append(checks, bulk.Check{Name: "folder", OK: true, Detail: fmt.Sprintf("%s takes SQLite %s files", t.dir, version)})
		}
	}
	if err != nil {
		return append(checks, bulk.Check{Name: "folder", Detail: fmt.Sprintf("cannot write a SQLite file in %s: %v", filepath.Clean(t.dir), err)})
	}
	if free, _, ok := diskspace.Space(t.dir); ok {
		c := bulk.Check{Name: "free space", OK: free >= minFreeSpace, Detail: fmt.Sprintf("%d MiB free in %s", free>>20, t.dir)}
		if !c.OK {
			c.Detail += "; a repopulation writes a tenant's whole data again: free some space"
		}
		checks = append(checks, c)
	}
	return checks
}
