package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// Mirror is one tenant's file. Writes go through a single connection, reads through a small
// pool of read-only ones; with the file in WAL mode the readers never wait for the writer.
type Mirror struct {
	statetable.Ops // Wipe, Drop, Invalidate and the cycle: the state table's alone
	tenant         string
	path           string
	state          string // the state table <tenant>_mirroring
	w              *sql.DB
	r              *sql.DB
	withoutRowID   func(schema.Table) bool // whether a keyed table is stored WITHOUT ROWID
	rowsPerWrite   int
	// forget removes the mirror from its target's cache.
	forget func()
}

var (
	_ bulk.Mirror        = (*Mirror)(nil)
	_ bulk.WriterLimiter = (*Mirror)(nil)
)

// MaxWriters is 1: a SQLite file takes one write transaction at a time, so Applies take turns
// on the writer connection (see Apply).
func (m *Mirror) MaxWriters() int { return 1 }

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
	return m.read(ctx, true)
}

// States reads the state table alone.
func (m *Mirror) States(ctx context.Context) (map[string]bulk.TableState, error) {
	return m.read(ctx, false)
}

func (m *Mirror) read(ctx context.Context, catalog bool) (map[string]bulk.TableState, error) {
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
	if !catalog {
		out, err := statetable.States(states)
		if err != nil {
			return nil, m.errorf("%w", err)
		}
		return out, nil
	}
	tables := make(map[string]schema.Table, len(states))
	for _, st := range states {
		table, found, err := readCatalog(ctx, tx, st.Name)
		if err != nil {
			return nil, m.errorf("%w", err)
		}
		if found {
			tables[st.Name] = table
		}
	}
	out, err := statetable.Tables(states, tables, columnDefault)
	if err != nil {
		return nil, m.errorf("%w", err)
	}
	return out, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
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

// Migrate carries out a plan in one transaction and records the desired table's hash. The
// write transaction holds the file's write lock from its start, so migrations of one mirror are
// serialized across processes, and the state the plan was made from is checked under it.
func (m *Mirror) Migrate(ctx context.Context, mig bulk.Migration) error {
	plan := mig.Plan
	desired, err := plan.Desired.Validate()
	if err != nil {
		return m.errorf("migrate: %w", err)
	}
	name := desired.Name
	hash, defaults := desired.Hash(), bulk.EncodeDefaults(desired)
	return m.writeTx(ctx, func(tx *sql.Tx) error {
		var stored string
		err := tx.QueryRowContext(ctx, stateHashSQL(m.state), name).Scan(&stored)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return m.errorf("table %s: read %s: %w", name, m.state, err)
		}
		if err := statetable.CheckFrom(stored, mig.From); err != nil {
			return m.errorf("table %s: %w", name, err)
		}
		switch plan.Action {
		case schema.None:
			if err := m.mustBeListed(ctx, tx, name, "record the schema of"); err != nil {
				return err
			}
			return m.setHash(ctx, tx, name, hash, defaults)
		case schema.Create:
			return m.create(ctx, tx, desired, hash, defaults)
		case schema.Recreate:
			if err := m.mustBeListed(ctx, tx, name, "recreate"); err != nil {
				return err
			}
			if err := execAll(ctx, tx, dropTableSQL(name), createTableSQL(name, desired, m.withoutRowID(desired))); err != nil {
				return m.errorf("recreate table %s: %w", name, err)
			}
			return m.setState(ctx, tx, name, hash, defaults, bulk.NoLSN)
		case schema.Alter:
			if err := m.mustBeListed(ctx, tx, name, "alter"); err != nil {
				return err
			}
			if err := m.alter(ctx, tx, plan, desired); err != nil {
				return err
			}
			return m.setHash(ctx, tx, name, hash, defaults)
		}
		return m.errorf("table %s: unknown plan action %v", name, plan.Action)
	})
}

func (m *Mirror) create(ctx context.Context, tx *sql.Tx, desired schema.Table, hash, defaults string) error {
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
			// Another process created it since the plan's catalog was read: plan again.
			return m.errorf("table %s already exists and is mirrored, but the plan was made to create it: %w", name, bulk.ErrSchemaChanged)
		}
		return m.errorf("a %s named %s that mirrord does not manage already exists; refusing to create the mirrored table over it", kind, name)
	case !errors.Is(err, sql.ErrNoRows):
		return m.errorf("table %s: look up existing objects: %w", name, err)
	}
	if strings.HasPrefix(strings.ToLower(name), "sqlite_") {
		return m.errorf("table %s cannot be mirrored into SQLite, which keeps names starting with sqlite_ for itself", name)
	}
	if err := execAll(ctx, tx, createTableSQL(name, desired, m.withoutRowID(desired))); err != nil {
		return m.errorf("create table %s: %w", name, err)
	}
	return m.setState(ctx, tx, name, hash, defaults, bulk.NoLSN)
}

// alter adds and drops columns in place; a widened column changes its declared type, which
// SQLite can only do by rebuilding the table.
func (m *Mirror) alter(ctx context.Context, tx *sql.Tx, plan schema.Plan, desired schema.Table) error {
	name := desired.Name
	// SQLite changes a declared type or a default only by rebuilding the table, and gives the
	// rows already there a new column's default (SQL Server leaves them NULL).
	rebuild := len(plan.Widen) > 0 || len(plan.Defaults) > 0
	for _, c := range plan.Add {
		rebuild = rebuild || hasDefault(c)
	}
	if rebuild {
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
		createTableSQL(tmp, desired, m.withoutRowID(desired)),
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

func (m *Mirror) setState(ctx context.Context, q queryer, table, hash, defaults string, lsn int64) error {
	if _, err := q.ExecContext(ctx, stateSetSQL(m.state), table, hash, lsn, defaults); err != nil {
		return m.errorf("table %s: write %s: %w", table, m.state, err)
	}
	return nil
}

func (m *Mirror) setHash(ctx context.Context, q queryer, table, hash, defaults string) error {
	if _, err := q.ExecContext(ctx, stateSetHashSQL(m.state), hash, defaults, table); err != nil {
		return m.errorf("table %s: write %s: %w", table, m.state, err)
	}
	return nil
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
