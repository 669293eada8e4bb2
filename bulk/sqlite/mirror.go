package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Mirror is one tenant's file. Writes go through a single connection, reads through a small
// pool of read-only ones; with the file in WAL mode the readers never wait for the writer.
type Mirror struct {
	tenant       string
	path         string
	state        string // the state table <tenant>_mirroring
	w            *sql.DB
	r            *sql.DB
	withoutRowID bool
	rowsPerWrite int
	// streaming holds a token while one Apply streams rows straight into the file; the
	// others spool (see Apply).
	streaming chan struct{}
	// forget removes the mirror from its target's cache.
	forget func()
}

var _ bulk.Mirror = (*Mirror)(nil)

// Path is the tenant's file.
func (m *Mirror) Path() string { return m.path }

// Close closes the file and forgets it, so that the next Open of the tenant opens it anew, as
// after the file was deleted.
func (m *Mirror) Close() error {
	if m.forget != nil {
		m.forget()
	}
	return m.close()
}

func (m *Mirror) close() error {
	return errors.Join(m.w.Close(), m.r.Close())
}

func (m *Mirror) errorf(format string, args ...any) error {
	return fmt.Errorf("tenant %s: "+format, append([]any{m.tenant}, args...)...)
}

// Tables reads the state table and each listed table's catalog in one read transaction. A state
// row whose table is missing (an operator dropped it) is left out, so the next cycle creates it.
func (m *Mirror) Tables(ctx context.Context) (map[string]bulk.TableState, error) {
	// An open file that was deleted still reads: say it is gone, so the caller can reopen it.
	if _, err := os.Stat(m.path); err != nil {
		return nil, m.errorf("the mirror file is gone: %w", err)
	}
	tx, err := m.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, m.errorf("read tables: %w", err)
	}
	defer tx.Rollback()
	states, err := readStates(ctx, tx, m.state)
	if err != nil {
		return nil, m.errorf("read %s: %w", m.state, err)
	}
	out := make(map[string]bulk.TableState, len(states))
	for _, st := range states {
		table, found, err := readCatalog(ctx, tx, st.Table.Name)
		if err != nil {
			return nil, m.errorf("%w", err)
		}
		if !found {
			continue
		}
		st.Table = table
		out[table.Name] = st
	}
	return out, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func readStates(ctx context.Context, q queryer, state string) ([]bulk.TableState, error) {
	rows, err := q.QueryContext(ctx, stateListSQL(state))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var states []bulk.TableState
	for rows.Next() {
		var st bulk.TableState
		var changed sql.NullString
		if err := rows.Scan(&st.Table.Name, &st.Hash, &st.LSN, &changed); err != nil {
			return nil, err
		}
		if changed.Valid {
			// Written by the state statements in this form; anything else is shown as unknown.
			st.Changed, _ = time.Parse("2006-01-02T15:04:05.999Z", changed.String)
		}
		if err := schema.CheckName("table", st.Table.Name); err != nil {
			return nil, fmt.Errorf("state row: %w", err)
		}
		states = append(states, st)
	}
	return states, rows.Err()
}

// readCatalog reads a table's columns back into SQL Server types from their declared type
// names. found is false when the table does not exist. Hidden (generated) columns are the
// partner's additions and are left out.
func readCatalog(ctx context.Context, q queryer, name string) (table schema.Table, found bool, err error) {
	rows, err := q.QueryContext(ctx, tableInfoSQL, name)
	if err != nil {
		return table, false, fmt.Errorf("table %s: read catalog: %w", name, err)
	}
	defer rows.Close()
	table.Name = name
	for rows.Next() {
		found = true
		var (
			colName, decl string
			notNull, pk   int
			hidden        int
		)
		if err := rows.Scan(&colName, &decl, &notNull, &pk, &hidden); err != nil {
			return table, false, fmt.Errorf("table %s: read catalog: %w", name, err)
		}
		if hidden != 0 {
			continue
		}
		c, err := parseDeclaredType(decl)
		if err != nil {
			return table, false, fmt.Errorf("table %s, column %s: %w", name, colName, err)
		}
		c.Name, c.Nullable, c.PrimaryKey = colName, notNull == 0, pk > 0
		table.Columns = append(table.Columns, c)
	}
	if err := rows.Err(); err != nil {
		return table, false, fmt.Errorf("table %s: read catalog: %w", name, err)
	}
	return table, found, nil
}

// writeTx runs fn in one write transaction on the writer connection.
func (m *Mirror) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := m.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lsnOf returns a table's LSN from the state table; listed is false when the table is not mirrored.
func lsnOf(ctx context.Context, q queryer, state, table string) (lsn int64, listed bool, err error) {
	err = q.QueryRowContext(ctx, stateLookupSQL(state), table).Scan(&lsn)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return lsn, err == nil, err
}

// mustBeListed refuses to touch a table that the state table does not list: it is the partner's.
func (m *Mirror) mustBeListed(ctx context.Context, q queryer, table, action string) error {
	if err := schema.CheckName("table", table); err != nil {
		return m.errorf("%w", err)
	}
	_, listed, err := lsnOf(ctx, q, m.state, table)
	if err != nil {
		return m.errorf("table %s: read %s: %w", table, m.state, err)
	}
	if !listed {
		return m.errorf("table %s is not listed in %s as mirrored; refusing to %s it", table, m.state, action)
	}
	return nil
}

func execAll(ctx context.Context, q queryer, stmts ...string) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

// Migrate carries out a plan in one transaction and records the desired table's hash.
func (m *Mirror) Migrate(ctx context.Context, plan schema.Plan) error {
	desired, err := plan.Desired.Validate()
	if err != nil {
		return m.errorf("migrate: %w", err)
	}
	name := desired.Name
	hash := desired.Hash()
	return m.writeTx(ctx, func(tx *sql.Tx) error {
		switch plan.Action {
		case schema.None:
			if err := m.mustBeListed(ctx, tx, name, "record the schema of"); err != nil {
				return err
			}
			return m.setHash(ctx, tx, name, hash)
		case schema.Create:
			return m.create(ctx, tx, desired, hash)
		case schema.Recreate:
			if err := m.mustBeListed(ctx, tx, name, "recreate"); err != nil {
				return err
			}
			if err := execAll(ctx, tx, dropTableSQL(name), createTableSQL(name, desired, m.withoutRowID)); err != nil {
				return m.errorf("recreate table %s: %w", name, err)
			}
			return m.setState(ctx, tx, name, hash, bulk.NoLSN)
		case schema.Alter:
			if err := m.mustBeListed(ctx, tx, name, "alter"); err != nil {
				return err
			}
			if err := m.alter(ctx, tx, plan, desired); err != nil {
				return err
			}
			return m.setHash(ctx, tx, name, hash)
		}
		return m.errorf("table %s: unknown plan action %v", name, plan.Action)
	})
}

func (m *Mirror) create(ctx context.Context, tx *sql.Tx, desired schema.Table, hash string) error {
	name := desired.Name
	var kind string
	err := tx.QueryRowContext(ctx, schemaObjectSQL, name).Scan(&kind)
	switch {
	case err == nil:
		_, listed, err := lsnOf(ctx, tx, m.state, name)
		if err != nil {
			return m.errorf("table %s: read %s: %w", name, m.state, err)
		}
		if listed {
			return m.errorf("table %s already exists and is mirrored; its plan should be alter or recreate, not create", name)
		}
		return m.errorf("a %s named %s that mirrord does not manage already exists; refusing to create the mirrored table over it", kind, name)
	case !errors.Is(err, sql.ErrNoRows):
		return m.errorf("table %s: look up existing objects: %w", name, err)
	}
	if err := execAll(ctx, tx, createTableSQL(name, desired, m.withoutRowID)); err != nil {
		return m.errorf("create table %s: %w", name, err)
	}
	return m.setState(ctx, tx, name, hash, bulk.NoLSN)
}

// alter adds and drops columns in place; a widened column changes its declared type, which
// SQLite can only do by rebuilding the table.
func (m *Mirror) alter(ctx context.Context, tx *sql.Tx, plan schema.Plan, desired schema.Table) error {
	name := desired.Name
	if len(plan.Widen) > 0 {
		return m.rebuild(ctx, tx, desired)
	}
	for _, c := range plan.Add {
		if !c.Nullable {
			return m.errorf("table %s: column %s is NOT NULL and cannot be added to existing rows", name, c.Name)
		}
		if err := checkColumnName(name, c); err != nil {
			return m.errorf("%w", err)
		}
		if err := execAll(ctx, tx, addColumnSQL(name, c)); err != nil {
			return m.errorf("table %s: add column %s: %w", name, c.Name, err)
		}
	}
	for _, col := range plan.Drop {
		if err := schema.CheckName("column", col); err != nil {
			return m.errorf("table %s: %w", name, err)
		}
		if err := execAll(ctx, tx, dropColumnSQL(name, col)); err != nil {
			return m.errorf("table %s: drop column %s (an index, trigger or view of the partner that uses it must go first): %w", name, col, err)
		}
	}
	return nil
}

func checkColumnName(table string, c schema.Column) error {
	if err := schema.CheckName("column", c.Name); err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	return nil
}

// rebuild replaces a table by a new one of the desired shape, following SQLite's documented
// procedure: create the new table, copy the rows, drop the old table, rename the new one, and
// make the partner's indexes and triggers on it again from their saved SQL. It runs inside the
// caller's transaction, so a failure anywhere leaves the old table as it was.
func (m *Mirror) rebuild(ctx context.Context, tx *sql.Tx, desired schema.Table) error {
	name := desired.Name
	current, found, err := readCatalog(ctx, tx, name)
	if err != nil {
		return m.errorf("%w", err)
	}
	if !found {
		return m.errorf("table %s is listed as mirrored but does not exist; it cannot be altered", name)
	}
	dependents, err := readDependents(ctx, tx, name)
	if err != nil {
		return m.errorf("table %s: %w", name, err)
	}
	tmp := rebuildName(name)
	if err := execAll(ctx, tx,
		createTableSQL(tmp, desired, m.withoutRowID),
		copyRowsSQL(tmp, name, current, desired),
		dropTableSQL(name),
		// With legacy renaming, SQLite renames the table alone and does not re-check the
		// partner's views that name the old table (dropped a moment ago): they bind to the
		// new table by name.
		pragmaSQL("legacy_alter_table", "ON"),
		renameTableSQL(tmp, name),
		pragmaSQL("legacy_alter_table", "OFF"),
	); err != nil {
		// A failed statement may have left the flag on for this connection.
		tx.ExecContext(ctx, pragmaSQL("legacy_alter_table", "OFF"))
		return m.errorf("rebuild table %s: %w", name, err)
	}
	for _, d := range dependents {
		if _, err := tx.ExecContext(ctx, d.sql); err != nil {
			return m.errorf("rebuild table %s: make %s %s again: %w", name, d.kind, d.name, err)
		}
	}
	return nil
}

type dependent struct{ kind, name, sql string }

func readDependents(ctx context.Context, q queryer, table string) ([]dependent, error) {
	rows, err := q.QueryContext(ctx, dependentsSQL, table)
	if err != nil {
		return nil, fmt.Errorf("read indexes and triggers: %w", err)
	}
	defer rows.Close()
	var deps []dependent
	for rows.Next() {
		var d dependent
		if err := rows.Scan(&d.kind, &d.name, &d.sql); err != nil {
			return nil, err
		}
		deps = append(deps, d)
	}
	return deps, rows.Err()
}

func (m *Mirror) setState(ctx context.Context, q queryer, table, hash string, lsn int64) error {
	if _, err := q.ExecContext(ctx, stateSetSQL(m.state), table, hash, lsn); err != nil {
		return m.errorf("table %s: write %s: %w", table, m.state, err)
	}
	return nil
}

func (m *Mirror) setHash(ctx context.Context, q queryer, table, hash string) error {
	if _, err := q.ExecContext(ctx, stateSetHashSQL(m.state), hash, table); err != nil {
		return m.errorf("table %s: write %s: %w", table, m.state, err)
	}
	return nil
}

// Wipe empties the tables and sets their LSN to NoLSN in one transaction; tables and indexes stay.
func (m *Mirror) Wipe(ctx context.Context, tables []string) error {
	return m.writeTx(ctx, func(tx *sql.Tx) error {
		for _, name := range tables {
			if err := m.mustBeListed(ctx, tx, name, "wipe"); err != nil {
				return err
			}
			if err := execAll(ctx, tx, deleteAllSQL(name)); err != nil {
				return m.errorf("wipe table %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, stateSetLSNSQL(m.state), bulk.NoLSN, name); err != nil {
				return m.errorf("wipe table %s: write %s: %w", name, m.state, err)
			}
		}
		return nil
	})
}

// Drop drops the tables and their state rows in one transaction.
func (m *Mirror) Drop(ctx context.Context, tables []string) error {
	return m.writeTx(ctx, func(tx *sql.Tx) error {
		for _, name := range tables {
			if err := m.mustBeListed(ctx, tx, name, "drop"); err != nil {
				return err
			}
			if err := execAll(ctx, tx, dropTableSQL(name)); err != nil {
				return m.errorf("drop table %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, stateDeleteSQL(m.state), name); err != nil {
				return m.errorf("drop table %s: write %s: %w", name, m.state, err)
			}
		}
		return nil
	})
}

// Invalidate sets the tables' LSN (every table's when tables is empty) to NoLSN.
func (m *Mirror) Invalidate(ctx context.Context, tables []string) error {
	return m.writeTx(ctx, func(tx *sql.Tx) error {
		if len(tables) == 0 {
			if _, err := tx.ExecContext(ctx, stateInvalidateAllSQL(m.state)); err != nil {
				return m.errorf("invalidate: write %s: %w", m.state, err)
			}
			return nil
		}
		for _, name := range tables {
			if err := m.mustBeListed(ctx, tx, name, "invalidate"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, stateSetLSNSQL(m.state), bulk.NoLSN, name); err != nil {
				return m.errorf("invalidate table %s: write %s: %w", name, m.state, err)
			}
		}
		return nil
	})
}

// RowCount counts a table's rows.
func (m *Mirror) RowCount(ctx context.Context, table string) (int64, error) {
	if err := schema.CheckName("table", table); err != nil {
		return 0, m.errorf("%w", err)
	}
	var n int64
	if err := m.r.QueryRowContext(ctx, countSQL(table)).Scan(&n); err != nil {
		return 0, m.errorf("count rows of table %s: %w", table, err)
	}
	return n, nil
}
