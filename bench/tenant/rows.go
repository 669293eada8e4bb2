package tenant

// Reading rows back: a whole table, or the changes since an LSN as change tracking tells them.

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

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
		v, err := decodeValue(c.Column, r.raw[i])
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
