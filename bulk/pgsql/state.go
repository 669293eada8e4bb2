package pgsql

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// The state table's logic is statetable's; this file gives it PostgreSQL's statements and the
// mirror's schema lock (an advisory lock of the transaction).

// stateDB is the mirror as statetable.Table reaches it.
type stateDB struct{ m *Mirror }

func (d stateDB) Update(ctx context.Context, fn func(statetable.Tx) error) error {
	return d.m.inSchemaTx(ctx, nil, func(tx pgx.Tx) error { return fn(stateTx{d.m, tx}) })
}

// stateTx runs the state table's statements in a transaction that holds the schema lock.
type stateTx struct {
	m  *Mirror
	tx pgx.Tx
}

func (s stateTx) Listed(ctx context.Context, tables []string) (map[string]string, error) {
	return s.m.mirrored(ctx, s.tx, tables)
}

// Empty truncates the tables that hold rows. TRUNCATE gives each table and index new files,
// milliseconds a table even when it is empty, as every table created in a cycle is when the
// Task wipes it (the demo tenant's 31 new tables: 78 ms of TRUNCATE and 7 ms of commit). Under
// the lock TRUNCATE takes, every row of a table is committed, so a table found empty then is
// left as it is.
func (s stateTx) Empty(ctx context.Context, tables []string) error {
	rels := s.m.rels(tables)
	if _, err := s.tx.Exec(ctx, lockTablesSQL(rels)); err != nil {
		return err
	}
	rows, _ := s.tx.Query(ctx, nonEmptySQL(rels))
	held, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return fmt.Errorf("find the tables that hold rows: %w", err)
	}
	if len(held) == 0 {
		return nil
	}
	if len(held) == len(rels) {
		_, err = s.tx.Exec(ctx, truncateSQL(rels))
		return err
	}
	full := make([]rel, len(held))
	for i, n := range held {
		full[i] = rels[n-1]
	}
	// PostgreSQL refuses to truncate a table another one references by a foreign key unless
	// that one is truncated too, empty or not ("cannot truncate a table referenced in a foreign
	// key constraint", 0A000). mirrord makes no foreign keys, but a partner may add one between
	// two mirrored tables: then every table is truncated, as before the empty ones were skipped.
	sp, err := s.tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, truncateSQL(full)); err != nil {
		if !isCode(err, "0A000") {
			return err
		}
		if err := sp.Rollback(ctx); err != nil {
			return err
		}
		_, err = s.tx.Exec(ctx, truncateSQL(rels))
		return err
	}
	return sp.Commit(ctx)
}

func (s stateTx) DropTables(ctx context.Context, tables []string) error {
	stmts := make([]string, len(tables))
	for i, t := range tables {
		stmts[i] = dropTableSQL(s.m.rel(t))
	}
	return execAll(ctx, s.tx, stmts)
}

func (s stateTx) Forget(ctx context.Context, tables []string) error {
	_, err := s.tx.Exec(ctx, stateDeleteSQL(s.m.state), tables)
	return err
}

func (s stateTx) SetWiped(ctx context.Context, tables []string) error {
	_, err := s.tx.Exec(ctx, stateWipedSQL(s.m.state), tables)
	return err
}

func (s stateTx) SetInvalid(ctx context.Context, tables []string) error {
	_, err := s.tx.Exec(ctx, stateInvalidateSQL(s.m.state), tables)
	return err
}

func (s stateTx) SetInvalidAll(ctx context.Context) error {
	_, err := s.tx.Exec(ctx, stateInvalidateAllSQL(s.m.state))
	return err
}

func (s stateTx) BeginCycle(ctx context.Context) error {
	return execAll(ctx, s.tx, []string{beginCycleSQL(s.m.state), resetCountsSQL(s.m.state)})
}

func (s stateTx) NameCycle(ctx context.Context) (int64, bool, error) {
	var cycle int64
	err := s.tx.QueryRow(ctx, nameCycleSQL(s.m.state)).Scan(&cycle)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return cycle, err == nil, err
}

func (s stateTx) NameTables(ctx context.Context, cycle int64, tables []string) error {
	_, err := s.tx.Exec(ctx, nameTablesSQL(s.m.state), tables, cycle)
	return err
}

func (s stateTx) LockCycle(ctx context.Context) (int64, string, bool, error) {
	var cycle int64
	var stage string
	err := s.tx.QueryRow(ctx, cycleLockSQL(s.m.state)).Scan(&cycle, &stage)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", false, nil
	}
	return cycle, stage, err == nil, err
}

func (s stateTx) Unnamed(ctx context.Context, cycle int64) ([]string, error) {
	rows, err := s.tx.Query(ctx, unnamedSQL(s.m.state), cycle)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (s stateTx) EndCycle(ctx context.Context) error {
	_, err := s.tx.Exec(ctx, endCycleSQL(s.m.state))
	return err
}

// mirrored reads which of the tables the state table lists, locking their state rows until the
// transaction ends; it returns their stored hashes by name.
func (m *Mirror) mirrored(ctx context.Context, tx pgx.Tx, tables []string) (map[string]string, error) {
	rows, err := tx.Query(ctx, stateLockSQL(m.state), tables)
	if err != nil {
		return nil, err
	}
	listed := map[string]string{}
	return listed, scanListed(rows, listed)
}

// scanListed reads stateLockSQL's rows into listed: each table's stored schema hash by name.
func scanListed(rows pgx.Rows, listed map[string]string) error {
	var name, hash string
	_, err := pgx.ForEachRow(rows, []any{&name, &hash}, func() error {
		listed[name] = hash
		return nil
	})
	return err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// readStateRows reads every table's row of the state table.
func (m *Mirror) readStateRows(ctx context.Context, q querier) ([]statetable.Row, error) {
	rows, err := q.Query(ctx, stateSelectSQL(m.state))
	if err != nil {
		return nil, fmt.Errorf("read state table %s: %w", m.state.name, err)
	}
	var out []statetable.Row
	var r statetable.Row
	var changed *time.Time
	if _, err := pgx.ForEachRow(rows, []any{&r.Name, &r.Hash, &r.LSN, &changed, &r.Defaults, &r.Cycle.Inserted, &r.Cycle.Updated, &r.Cycle.Deleted, &r.Rewind}, func() error {
		row := r
		if changed != nil {
			row.Changed = *changed
		}
		out = append(out, row)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read state table %s: %w", m.state.name, err)
	}
	return out, nil
}

// States reads the state table alone.
func (m *Mirror) States(ctx context.Context) (map[string]bulk.TableState, error) {
	rows, err := m.readStateRows(ctx, m.pool)
	if err == nil {
		var states map[string]bulk.TableState
		if states, err = statetable.States(rows); err == nil {
			return states, nil
		}
	}
	return nil, fmt.Errorf("tenant %s: %w", m.tenant, err)
}

// Tables reads back every mirrored table from the catalog, with its stored hash, LSN and
// defaults. A table that the state table lists but the database lacks (dropped by hand) is left
// out, so that the next schema call creates it.
func (m *Mirror) Tables(ctx context.Context) (map[string]bulk.TableState, error) {
	out, err := m.tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", m.tenant, err)
	}
	return out, nil
}

func (m *Mirror) tables(ctx context.Context) (map[string]bulk.TableState, error) {
	// One read transaction, so that the state and the catalog are of one moment.
	tx, err := m.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	defer rollback(ctx, tx)
	states, err := m.readStateRows(ctx, tx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, catalogSQL(m.state))
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	catalog := map[string]schema.Table{}
	var table, column, physical, comment string
	var notNull, primaryKey bool
	if _, err := pgx.ForEachRow(rows, []any{&table, &column, &physical, &notNull, &primaryKey, &comment}, func() error {
		t := catalog[table]
		t.Columns = append(t.Columns, columnFromCatalog(column, physical, comment, notNull, primaryKey))
		catalog[table] = t
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	return statetable.Tables(states, catalog, columnDefault)
}
