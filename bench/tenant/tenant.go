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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

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

// quote quotes a checked identifier for SQLite.
func quote(name string) string { return `"` + name + `"` }

// storedColumn is how a column definition is kept in _tenant_tables, with what the generator
// needs. Kind is the kind constant's number.
type storedColumn struct {
	schema.Column
	Kind  int    `json:"kind"`
	Ref   string `json:"ref,omitempty"`
	Chars int    `json:"chars,omitempty"`
}

type storedTable struct {
	Name    string         `json:"name"`
	Number  int            `json:"number"`
	Columns []storedColumn `json:"columns"`
}

func encodeDefinition(d *tableDef) (string, error) {
	st := storedTable{Name: d.name, Number: d.number}
	for _, c := range d.cols {
		st.Columns = append(st.Columns, storedColumn{Column: c.Column, Kind: int(c.kind), Ref: c.ref, Chars: c.chars})
	}
	b, err := json.Marshal(st)
	return string(b), err
}

func decodeDefinition(text string) (*tableDef, error) {
	var st storedTable
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return nil, fmt.Errorf("a table definition does not parse: %w", err)
	}
	d := &tableDef{name: st.Name, number: st.Number}
	for _, c := range st.Columns {
		d.cols = append(d.cols, columnDef{Column: c.Column, kind: kind(c.Kind), ref: c.Ref, chars: c.Chars})
	}
	if _, err := d.Table().Validate(); err != nil {
		return nil, err
	}
	if k := d.Table().Key(); len(k) != 1 || !isInteger(d.cols[k[0]].Type) {
		return nil, fmt.Errorf("table %s: want a single integer primary key column", d.name)
	}
	return d, nil
}

func isInteger(t schema.Type) bool {
	return t == schema.TinyInt || t == schema.SmallInt || t == schema.Int || t == schema.BigInt
}

// createTable creates d's data table and records its definition. Data columns have no declared
// type, so SQLite stores each value exactly as bound (no affinity conversions).
func (t *Tenant) createTable(ctx context.Context, d *tableDef, ord int, version int64) error {
	if err := schema.CheckName("table", d.name); err != nil {
		return err
	}
	var cols []string
	for _, c := range d.cols {
		if err := schema.CheckName("column", c.Name); err != nil {
			return fmt.Errorf("table %s: %w", d.name, err)
		}
		cols = append(cols, quote(c.Name))
	}
	key := d.cols[d.Table().Key()[0]].Name
	stmt := fmt.Sprintf(`CREATE TABLE %s (%s, %s INTEGER NOT NULL, %s INTEGER NOT NULL, PRIMARY KEY (%s));
CREATE INDEX %s ON %s (%s);`,
		quote(d.name), strings.Join(cols, ", "), createdColumn, versionColumn, quote(key),
		quote(d.name+"__ct_version"), quote(d.name), versionColumn)
	if _, err := t.db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("tenant %s: creating table %s: %w", t.path, d.name, err)
	}
	def, err := encodeDefinition(d)
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, `INSERT INTO _tenant_tables (name, ord, definition, created_version, next_id) VALUES (?, ?, ?, ?, 1)`,
		d.name, ord, def, version)
	if err != nil {
		return fmt.Errorf("tenant %s: recording table %s: %w", t.path, d.name, err)
	}
	return nil
}

// fill inserts rows 1..n of a new table, all created by version, a few thousand per
// transaction so that the journal stays small.
func (t *Tenant) fill(ctx context.Context, d *tableDef, n int64, version int64) error {
	const perTx = 5000
	for from := int64(1); from <= n; from += perTx {
		tx, err := t.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, insertSQL(d))
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("tenant %s: table %s: %w", t.path, d.name, err)
		}
		args := make([]any, len(d.cols)+2)
		for id := from; id < from+perTx && id <= n; id++ {
			if err := encodeRow(d, t.gen.row(d, id, 0), args); err != nil {
				tx.Rollback()
				return err
			}
			args[len(d.cols)], args[len(d.cols)+1] = version, version
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				tx.Rollback()
				return fmt.Errorf("tenant %s: table %s, row %d: %w", t.path, d.name, id, err)
			}
		}
		ins.Close()
		if _, err := tx.ExecContext(ctx, `UPDATE _tenant_tables SET next_id = ? WHERE name = ?`, min(from+perTx, n+1), d.name); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func insertSQL(d *tableDef) string {
	cols := make([]string, 0, len(d.cols)+2)
	marks := make([]string, 0, len(d.cols)+2)
	for _, c := range d.cols {
		cols = append(cols, quote(c.Name))
		marks = append(marks, "?")
	}
	cols = append(cols, createdColumn, versionColumn)
	marks = append(marks, "?", "?")
	return fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, quote(d.name), strings.Join(cols, ", "), strings.Join(marks, ", "))
}

func selectSQL(d *tableDef) string {
	cols := make([]string, 0, len(d.cols)+2)
	for _, c := range d.cols {
		cols = append(cols, quote(c.Name))
	}
	cols = append(cols, createdColumn, versionColumn)
	return fmt.Sprintf(`SELECT %s FROM %s`, strings.Join(cols, ", "), quote(d.name))
}

// encodeRow turns a row's bulk values into what the file stores: integers, floats, strings and
// bytes as themselves, a bit as 0 or 1, anything else as its canonical text (bulk.FormatValue).
func encodeRow(d *tableDef, vals []any, into []any) error {
	for i, c := range d.cols {
		v, err := encodeValue(c.Column, vals[i])
		if err != nil {
			return fmt.Errorf("table %s, column %s: %w", d.name, c.Name, err)
		}
		into[i] = v
	}
	return nil
}

func encodeValue(c schema.Column, v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, string:
		return v, nil
	case []byte:
		if x == nil {
			return []byte{}, nil
		}
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return bulk.FormatValue(c, v)
}

// DecodeSQLite turns a value read from a SQLite file back into the bulk Go value of column c. It
// reads this package's files and mirrord's SQLite target alike: both store integers, floats,
// strings and bytes natively and every other type as its canonical text.
func DecodeSQLite(c schema.Column, raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	switch c.Type {
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		if i, ok := raw.(int64); ok {
			return i, nil
		}
	case schema.Bit:
		if i, ok := raw.(int64); ok {
			return i != 0, nil
		}
	case schema.Float, schema.Real:
		switch x := raw.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return bulk.ParseValue(c, x)
		}
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		switch x := raw.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			// A column whose type changed from an integer keeps the integer's text.
			return strconv.FormatInt(x, 10), nil
		}
	case schema.Binary, schema.VarBinary, schema.Image:
		if b, ok := raw.([]byte); ok {
			if b == nil {
				return []byte{}, nil
			}
			return slices.Clone(b), nil
		}
	default:
		switch x := raw.(type) {
		case string:
			return bulk.ParseValue(c, x)
		case []byte:
			return bulk.ParseValue(c, string(x))
		}
	}
	return nil, fmt.Errorf("a %T value does not hold a %s", raw, c.TypeString())
}

// Rows iterates over rows of one table; Close it when done.
type Rows struct {
	def   *tableDef
	tx    *sql.Tx
	cur   *sql.Rows
	next  func() (*sql.Rows, error) // the tombstone query, after the live rows
	since int64
	all   bool
	// deletes is set once the live rows are done and the tombstones are read.
	deletes bool
	row     Row
	err     error
	raw     []any
	ptrs    []any
	closed  bool
}

// AllRows iterates over every row of table in key order, each as an insert carrying its version.
func (t *Tenant) AllRows(ctx context.Context, table string) (*Rows, error) {
	return t.rows(ctx, table, -1, true)
}

// ChangesSince iterates over the changes of table after lsn, one row per key in its final state,
// tagged by its first change (see the package comment). Live rows come in version order, then
// deletes.
func (t *Tenant) ChangesSince(ctx context.Context, table string, lsn int64) (*Rows, error) {
	return t.rows(ctx, table, lsn, false)
}

func (t *Tenant) rows(ctx context.Context, table string, lsn int64, all bool) (*Rows, error) {
	d := t.def(table)
	if d == nil {
		return nil, fmt.Errorf("tenant %s has no table %s", t.path, table)
	}
	// One read transaction, so that the rows and the tombstones are one snapshot.
	tx, err := t.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	q := selectSQL(d)
	var cur *sql.Rows
	if all {
		cur, err = tx.QueryContext(ctx, q+" ORDER BY "+quote(d.cols[d.Table().Key()[0]].Name))
	} else {
		cur, err = tx.QueryContext(ctx, q+" WHERE "+versionColumn+" > ? ORDER BY "+versionColumn, lsn)
	}
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("tenant %s: reading table %s: %w", t.path, table, err)
	}
	r := &Rows{def: d, tx: tx, cur: cur, since: lsn, all: all}
	r.raw = make([]any, len(d.cols)+2)
	r.ptrs = make([]any, len(r.raw))
	for i := range r.raw {
		r.ptrs[i] = &r.raw[i]
	}
	if !all {
		r.next = func() (*sql.Rows, error) {
			return tx.QueryContext(ctx, `SELECT id, deleted_version FROM _tenant_tombstones
				WHERE tbl = ? AND deleted_version > ? AND created_version <= ? ORDER BY deleted_version`, table, lsn, lsn)
		}
	}
	return r, nil
}

// Table is the table the rows belong to.
func (r *Rows) Table() schema.Table { return r.def.Table() }

// Next advances to the next row.
func (r *Rows) Next() bool {
	if r.err != nil || r.closed {
		return false
	}
	for {
		if r.cur.Next() {
			if r.deletes {
				return r.scanTombstone()
			}
			return r.scanLive()
		}
		if r.err = r.cur.Err(); r.err != nil {
			return false
		}
		r.cur.Close()
		if r.next == nil {
			return false
		}
		r.cur, r.err = r.next()
		r.next, r.deletes = nil, true
		if r.err != nil {
			return false
		}
	}
}

func (r *Rows) scanLive() bool {
	if r.err = r.cur.Scan(r.ptrs...); r.err != nil {
		return false
	}
	n := len(r.def.cols)
	vals := make([]any, n)
	for i, c := range r.def.cols {
		v, err := DecodeSQLite(c.Column, r.raw[i])
		if err != nil {
			r.err = fmt.Errorf("table %s, column %s: %w", r.def.name, c.Name, err)
			return false
		}
		vals[i] = v
	}
	created, _ := r.raw[n].(int64)
	version, _ := r.raw[n+1].(int64)
	op := bulk.Update
	if r.all || created > r.since {
		op = bulk.Insert
	}
	r.row = Row{Op: op, LSN: version, Values: vals}
	return true
}

func (r *Rows) scanTombstone() bool {
	var id, version int64
	if r.err = r.cur.Scan(&id, &version); r.err != nil {
		return false
	}
	vals := make([]any, len(r.def.cols))
	vals[r.def.Table().Key()[0]] = id
	r.row = Row{Op: bulk.Delete, LSN: version, Values: vals}
	return true
}

// Row is the current row. Its Values are the caller's to keep.
func (r *Rows) Row() Row { return r.row }

// Err is the error that ended the iteration, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the iteration and its read transaction.
func (r *Rows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cur != nil {
		r.cur.Close()
	}
	return r.tx.Rollback()
}

// RowCount counts the rows of table.
func (t *Tenant) RowCount(ctx context.Context, table string) (int64, error) {
	d := t.def(table)
	if d == nil {
		return 0, fmt.Errorf("tenant %s has no table %s", t.path, table)
	}
	var n int64
	err := t.db.QueryRowContext(ctx, `SELECT count(*) FROM `+quote(d.name)).Scan(&n)
	return n, err
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
