// Package tenant is a synthetic SuperOffice tenant in a SQLite file, with change tracking of its own: a version per row, tombstones for deletes, a current version that plays the LSN, and a retention window.
//
// Change tracking works as SQL Server's does for the Mirroring Task. Every change (one insert,
// update or delete) takes the next version, so the current version is the tenant's LSN. Each
// row keeps the version that created it and the version of its last change; a delete leaves a
// tombstone with both. The changes since an LSN are then, per key, the final state tagged by
// the first change after that LSN:
//
//   - a row created after the LSN is sent once as I (insert), in its final state, however often
//     it was updated since;
//   - a row created before and changed after is sent as U (update), once;
//   - a row created before and deleted after is sent as D (delete), with its key only;
//   - a row created and deleted after the LSN is not sent at all: the mirror never had it.
//
// Tombstones older than the retention window (a number of versions, the stand-in for SQL
// Server's 7 days) are purged after each change; a mirror whose LSN is older than
// MinValidLSN can no longer be brought up to date by changes and must be repopulated.
//
// Every table has a single-column integer primary key, as all SuperOffice tables do; keys are
// never reused after a delete.
package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	_ "modernc.org/sqlite"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Config says what tenant Create makes.
type Config struct {
	// Scale is about how many rows the tenant holds over all its tables.
	Scale int64
	// Seed makes the content: the same seed and scale give the same tenant.
	Seed uint64
	// Name is the tenant's context identifier (Cust12345); "Cust<seed>" when empty.
	Name string
	// Retention is how many versions of tombstones are kept; DefaultRetention when zero.
	Retention int64
}

// DefaultRetention keeps the last ten million changes: far more than any test or demo makes,
// like SQL Server's 7 days are for a quiet tenant.
const DefaultRetention = 10_000_000

// Tenant is an open source tenant. Its read methods may be used concurrently; changes
// (Change, Alter, SetRetention) must not overlap anything else.
type Tenant struct {
	path string
	db   *sql.DB
	gen  generator
	name string
	// defs are the current tables, in TableSchema order.
	defs []*tableDef
}

// Row is one row as the Mirroring Task sends it: its op, its LSN (the version of its last
// change) and its values in column order. A delete carries the key and NULLs.
type Row struct {
	Op     bulk.Op
	LSN    int64
	Values []any
}

// Columns of change tracking that every data table has besides its own.
const (
	createdColumn = "_ct_created"
	versionColumn = "_ct_version"
)

// Bookkeeping tables; their names start with an underscore, which no SuperOffice table does.
const ddl = `
CREATE TABLE _tenant_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE _tenant_tables (
	name TEXT PRIMARY KEY,
	ord INTEGER NOT NULL,
	definition TEXT NOT NULL,
	created_version INTEGER NOT NULL,
	next_id INTEGER NOT NULL
);
CREATE TABLE _tenant_tombstones (
	tbl TEXT NOT NULL,
	id INTEGER NOT NULL,
	created_version INTEGER NOT NULL,
	deleted_version INTEGER NOT NULL,
	PRIMARY KEY (tbl, id)
);
CREATE INDEX _tenant_tombstones_version ON _tenant_tombstones (tbl, deleted_version);
`

func openDB(path string) (*sql.DB, error) {
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", path, err)
	}
	return db, nil
}

// Create makes a new tenant file at path, which must not exist.
func Create(ctx context.Context, path string, cfg Config) (*Tenant, error) {
	if cfg.Scale < 1 {
		return nil, fmt.Errorf("tenant %s: scale %d: want at least 1 row", path, cfg.Scale)
	}
	if cfg.Name == "" {
		cfg.Name = "Cust" + strconv.FormatUint(cfg.Seed, 10)
	}
	if err := schema.CheckName("tenant", cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Retention < 0 {
		return nil, fmt.Errorf("tenant %s: retention %d versions is negative", path, cfg.Retention)
	}
	if _, err := os.Stat(path); err == nil {
		return nil, fmt.Errorf("tenant %s already exists", path)
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	t := &Tenant{path: path, db: db, name: cfg.Name}
	fail := func(err error) (*Tenant, error) {
		db.Close()
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		return nil, err
	}
	if _, err := db.ExecContext(ctx, ddl); err != nil {
		return fail(fmt.Errorf("tenant %s: %w", path, err))
	}
	defs := superOfficeTables()
	meta := map[string]string{
		"name": cfg.Name, "seed": strconv.FormatUint(cfg.Seed, 10), "scale": strconv.FormatInt(cfg.Scale, 10),
		"version": "1", "retention": strconv.FormatInt(cfg.Retention, 10), "purged": "0", "alters": "0",
	}
	for k, v := range meta {
		if _, err := db.ExecContext(ctx, `INSERT INTO _tenant_meta (key, value) VALUES (?, ?)`, k, v); err != nil {
			return fail(fmt.Errorf("tenant %s: %w", path, err))
		}
	}
	sizes := tableSizes(defs, cfg.Scale)
	t.gen = generator{seed: cfg.Seed, refSizes: sizes}
	// The initial load is version 1: every row is created by it.
	for i, d := range defs {
		if err := t.createTable(ctx, d, i, 1); err != nil {
			return fail(err)
		}
		if err := t.fill(ctx, d, sizes[d.name], 1); err != nil {
			return fail(err)
		}
	}
	t.defs = defs
	return t, nil
}

// Open opens an existing tenant file.
func Open(ctx context.Context, path string) (*Tenant, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", path, err)
	}
	db, err := openDB(path)
	if err != nil {
		return nil, err
	}
	t := &Tenant{path: path, db: db}
	if err := t.load(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return t, nil
}

// load reads the settings and table definitions.
func (t *Tenant) load(ctx context.Context) error {
	name, err := t.meta(ctx, t.db, "name")
	if err != nil {
		return err
	}
	seed, err := t.metaInt(ctx, t.db, "seed")
	if err != nil {
		return err
	}
	scale, err := t.metaInt(ctx, t.db, "scale")
	if err != nil {
		return err
	}
	t.name = name
	t.gen = generator{seed: uint64(seed), refSizes: tableSizes(superOfficeTables(), scale)}
	rows, err := t.db.QueryContext(ctx, `SELECT definition FROM _tenant_tables ORDER BY ord`)
	if err != nil {
		return fmt.Errorf("tenant %s: reading its tables: %w", t.path, err)
	}
	defer rows.Close()
	t.defs = nil
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return err
		}
		d, err := decodeDefinition(text)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", t.path, err)
		}
		t.defs = append(t.defs, d)
	}
	return rows.Err()
}

// Close closes the file.
func (t *Tenant) Close() error { return t.db.Close() }

// Path is the tenant's file.
func (t *Tenant) Path() string { return t.path }

// Name is the tenant's context identifier.
func (t *Tenant) Name() string { return t.name }

// Tables returns the tenant's tables as TableSchema sends them, in a stable order.
func (t *Tenant) Tables() []schema.Table {
	out := make([]schema.Table, len(t.defs))
	for i, d := range t.defs {
		out[i] = d.Table()
	}
	return out
}

// Table returns the named table.
func (t *Tenant) Table(name string) (schema.Table, bool) {
	d := t.def(name)
	if d == nil {
		return schema.Table{}, false
	}
	return d.Table(), true
}

func (t *Tenant) def(name string) *tableDef {
	for _, d := range t.defs {
		if d.name == name {
			return d
		}
	}
	return nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (t *Tenant) meta(ctx context.Context, q querier, key string) (string, error) {
	var v string
	if err := q.QueryRowContext(ctx, `SELECT value FROM _tenant_meta WHERE key = ?`, key).Scan(&v); err != nil {
		return "", fmt.Errorf("tenant %s: setting %s: %w", t.path, key, err)
	}
	return v, nil
}

func (t *Tenant) metaInt(ctx context.Context, q querier, key string) (int64, error) {
	v, err := t.meta(ctx, q, key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		// The seed is a uint64 and may not fit an int64: keep its bits.
		u, uerr := strconv.ParseUint(v, 10, 64)
		if uerr != nil {
			return 0, fmt.Errorf("tenant %s: setting %s = %q is not a number", t.path, key, v)
		}
		n = int64(u)
	}
	return n, nil
}

func setMeta(ctx context.Context, q querier, key string, v int64) error {
	_, err := q.ExecContext(ctx, `UPDATE _tenant_meta SET value = ? WHERE key = ?`, strconv.FormatInt(v, 10), key)
	return err
}

// CurrentLSN is the version of the last change: the LSN a mirror that has everything holds.
func (t *Tenant) CurrentLSN(ctx context.Context) (int64, error) {
	return t.metaInt(ctx, t.db, "version")
}

// Retention is the number of versions whose tombstones are kept.
func (t *Tenant) Retention(ctx context.Context) (int64, error) {
	return t.metaInt(ctx, t.db, "retention")
}

// SetRetention changes the retention window and purges what falls out of it.
func (t *Tenant) SetRetention(ctx context.Context, versions int64) error {
	if versions < 1 {
		return fmt.Errorf("tenant %s: retention %d: want at least 1 version", t.path, versions)
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := setMeta(ctx, tx, "retention", versions); err != nil {
		return err
	}
	if err := t.purge(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// MinValidLSN is the oldest LSN from which the changes of table can still be told: a mirror
// holding an older LSN must be repopulated (SQL Server's CHANGE_TRACKING_MIN_VALID_VERSION).
func (t *Tenant) MinValidLSN(ctx context.Context, table string) (int64, error) {
	var created int64
	err := t.db.QueryRowContext(ctx, `SELECT created_version FROM _tenant_tables WHERE name = ?`, table).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("tenant %s has no table %s", t.path, table)
	}
	if err != nil {
		return 0, err
	}
	purged, err := t.metaInt(ctx, t.db, "purged")
	if err != nil {
		return 0, err
	}
	return max(created, purged), nil
}

// purge drops the tombstones older than the retention window and records the new watermark.
func (t *Tenant) purge(ctx context.Context, tx *sql.Tx) error {
	version, err := t.metaInt(ctx, tx, "version")
	if err != nil {
		return err
	}
	retention, err := t.metaInt(ctx, tx, "retention")
	if err != nil {
		return err
	}
	purged, err := t.metaInt(ctx, tx, "purged")
	if err != nil {
		return err
	}
	cutoff := version - retention
	if cutoff <= purged {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM _tenant_tombstones WHERE deleted_version <= ?`, cutoff); err != nil {
		return err
	}
	return setMeta(ctx, tx, "purged", cutoff)
}

// Backup writes a consistent copy of the tenant to dst, which must not exist.
func (t *Tenant) Backup(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup %s already exists", dst)
	}
	if _, err := t.db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("tenant %s: backup to %s: %w", t.path, dst, err)
	}
	return nil
}

// Restore replaces the tenant file at path with the backup src. No Tenant may have path open.
func Restore(src, path string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer in.Close()
	tmp := path + ".restoring"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(tmp)
		return fmt.Errorf("restore %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore %s: %w", src, err)
	}
	// The write-ahead log of the replaced file belongs to it, not to the backup.
	for _, f := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("restore: %w", err)
		}
	}
	return os.Rename(tmp, path)
}
