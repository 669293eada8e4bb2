package mssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// The state table's logic is statetable's; this file gives it T-SQL statements (state_sql.go)
// run on a pinned session, and the mirror's schema lock (an application lock of the
// transaction, schemaLockSQL).

// stateDB is the mirror as statetable.Table reaches it.
type stateDB struct{ m *Mirror }

func (d stateDB) Update(ctx context.Context, fn func(statetable.Tx) error) error {
	return d.m.inSchemaTx(ctx, func(c *sql.Conn) error { return fn(stateTx{d.m, c}) })
}

// stateTx runs the state table's statements in a transaction that holds the schema lock.
type stateTx struct {
	m *Mirror
	c *sql.Conn
}

func (s stateTx) Listed(ctx context.Context, tables []string) (map[string]string, error) {
	return s.m.mirrored(ctx, s.c, tables)
}

// Empty tries TRUNCATE first under a savepoint; where SQL Server refuses it (a foreign key from a
// partner's table, an indexed view, no ALTER permission) the rows are deleted instead.
func (s stateTx) Empty(ctx context.Context, tables []string) error {
	c := s.c
	for _, t := range tables {
		if _, err := c.ExecContext(ctx, saveSQL("wipe")); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, truncateSQL(t)); err != nil {
			if _, rerr := c.ExecContext(ctx, rollbackToSQL("wipe")); rerr != nil {
				return fmt.Errorf("truncate %s: %w; then rolling back: %v", t, err, rerr)
			}
			if _, err := c.ExecContext(ctx, deleteAllSQL(t)); err != nil {
				return fmt.Errorf("delete the rows of %s: %w", t, err)
			}
		}
	}
	return nil
}

func (s stateTx) DropTables(ctx context.Context, tables []string) error {
	stmts := make([]string, len(tables))
	for i, t := range tables {
		stmts[i] = dropTableSQL(t)
	}
	return execAll(ctx, s.c, stmts)
}

func (s stateTx) Forget(ctx context.Context, tables []string) error {
	_, err := s.c.ExecContext(ctx, stateDeleteSQL(s.m.state, len(tables)), tableArgs(tables)...)
	return err
}

func (s stateTx) SetWiped(ctx context.Context, tables []string) error {
	_, err := s.c.ExecContext(ctx, stateWipedSQL(s.m.state, len(tables)), tableArgs(tables)...)
	return err
}

func (s stateTx) SetInvalid(ctx context.Context, tables []string) error {
	_, err := s.c.ExecContext(ctx, stateInvalidateSQL(s.m.state, len(tables)), tableArgs(tables)...)
	return err
}

// SetInvalidAll runs the same UPDATE as before it moved into the state transaction, now after
// LockCycle's UPDLOCK read of the cycle row in that transaction (Ops.Invalidate), so that no
// cycle can begin between the check and the write; it takes no lock of its own beyond the rows
// it updates.
func (s stateTx) SetInvalidAll(ctx context.Context) error {
	_, err := s.c.ExecContext(ctx, stateInvalidateAllSQL(s.m.state))
	return err
}

func (s stateTx) BeginCycle(ctx context.Context) error {
	_, err := s.c.ExecContext(ctx, beginCycleSQL(s.m.state))
	return err
}

func (s stateTx) NameCycle(ctx context.Context) (int64, bool, error) {
	var cycle int64
	err := s.c.QueryRowContext(ctx, nameCycleSQL(s.m.state)).Scan(&cycle)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return cycle, err == nil, err
}

func (s stateTx) NameTables(ctx context.Context, cycle int64, tables []string) error {
	_, err := s.c.ExecContext(ctx, nameTablesSQL(s.m.state, len(tables)), append([]any{cycle}, tableArgs(tables)...)...)
	return err
}

func (s stateTx) LockCycle(ctx context.Context) (int64, string, bool, error) {
	var cycle int64
	var stage string
	err := s.c.QueryRowContext(ctx, cycleLockSQL(s.m.state)).Scan(&cycle, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return cycle, stage, err == nil, err
}

func (s stateTx) Unnamed(ctx context.Context, cycle int64) ([]string, error) {
	return bulk.ScanStrings(s.c.QueryContext(ctx, unnamedSQL(s.m.state), cycle))
}

func (s stateTx) EndCycle(ctx context.Context) error {
	_, err := s.c.ExecContext(ctx, endCycleSQL(s.m.state))
	return err
}

// tableArgs passes table names as query arguments.
func tableArgs(tables []string, extra ...any) []any {
	args := make([]any, 0, len(tables)+len(extra))
	for _, t := range tables {
		args = append(args, t)
	}
	return append(args, extra...)
}

// mirrored reads which of the tables the state table lists, locking their rows until the
// transaction ends; it returns their stored hashes by name.
func (m *Mirror) mirrored(ctx context.Context, c *sql.Conn, tables []string) (map[string]string, error) {
	rows, err := c.QueryContext(ctx, stateLockSQL(m.state, len(tables)), tableArgs(tables)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	listed := map[string]string{}
	for rows.Next() {
		var name, hash string
		if err := rows.Scan(&name, &hash); err != nil {
			return nil, err
		}
		listed[name] = hash
	}
	return listed, rows.Err()
}

// readStates reads every table's row of the state table.
func (m *Mirror) readStates(ctx context.Context, c *sql.Conn) ([]statetable.Row, error) {
	rows, err := c.QueryContext(ctx, stateSelectSQL(m.state))
	if err != nil {
		return nil, fmt.Errorf("read state table %s: %w", m.state, err)
	}
	defer rows.Close()
	var out []statetable.Row
	for rows.Next() {
		var r statetable.Row
		var changed sql.NullTime
		if err := rows.Scan(&r.Name, &r.Hash, &r.LSN, &changed, &r.Defaults, &r.Cycle.Inserted, &r.Cycle.Updated, &r.Cycle.Deleted, &r.Rewind); err != nil {
			return nil, fmt.Errorf("read state table %s: %w", m.state, err)
		}
		if changed.Valid {
			r.Changed = changed.Time
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read state table %s: %w", m.state, err)
	}
	return out, nil
}

// States reads the state table alone.
func (m *Mirror) States(ctx context.Context) (map[string]bulk.TableState, error) {
	var states map[string]bulk.TableState
	err := m.withConn(ctx, func(c *sql.Conn) error {
		rows, err := m.readStates(ctx, c)
		if err != nil {
			return err
		}
		states, err = statetable.States(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", m.tenant, err)
	}
	return states, nil
}

// Tables reads back every mirrored table from the catalog, with its stored hash, LSN and
// defaults. A table the state table lists but the database lacks (dropped by hand) is left out,
// so that the next schema call creates it.
func (m *Mirror) Tables(ctx context.Context) (map[string]bulk.TableState, error) {
	var out map[string]bulk.TableState
	err := m.withConn(ctx, func(c *sql.Conn) error {
		states, err := m.readStates(ctx, c)
		if err != nil {
			return err
		}
		rows, err := c.QueryContext(ctx, catalogSQL(m.state))
		if err != nil {
			return fmt.Errorf("read catalog: %w", err)
		}
		defer rows.Close()
		catalog := map[string]schema.Table{}
		for rows.Next() {
			var table string
			var r catalogColumn
			var maxLength int16
			var precision, scale uint8
			if err := rows.Scan(&table, &r.Name, &r.TypeName, &maxLength, &precision, &scale, &r.Nullable, &r.PrimaryKey, &r.Collation); err != nil {
				return fmt.Errorf("read catalog: %w", err)
			}
			r.MaxLength, r.Precision, r.Scale = int(maxLength), int(precision), int(scale)
			t := catalog[table]
			t.Columns = append(t.Columns, columnFromCatalog(r))
			catalog[table] = t
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// SQL Server expresses every default it sent: none is kept aside.
		out, err = statetable.Tables(states, catalog, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", m.tenant, err)
	}
	return out, nil
}

// RowCount counts the rows of a mirrored table.
func (m *Mirror) RowCount(ctx context.Context, table string) (int64, error) {
	if err := checkIdentifier("table", table); err != nil {
		return 0, err
	}
	var n int64
	err := m.withConn(ctx, func(c *sql.Conn) error {
		var listed int
		if err := c.QueryRowContext(ctx, stateListedSQL(m.state), table).Scan(&listed); err != nil {
			return err
		}
		if listed == 0 {
			return m.ledger.RequireListed(nil, []string{table})
		}
		return c.QueryRowContext(ctx, rowCountSQL(table)).Scan(&n)
	})
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}
