package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// The state table's logic is statetable's; this file gives it SQLite's statements (one table
// at a time) and the mirror's schema lock, which is the file's write lock: a write transaction
// takes it at BEGIN (_txlock=immediate) and holds it until it ends.

// ledger is the mirror's state table as statetable keeps it. A Drop refuses a table the state
// table does not list, where the other targets skip it.
func (m *Mirror) ledger() *statetable.Table {
	return &statetable.Table{Tenant: m.tenant, Database: "file " + m.path, Name: m.state, CheckName: schema.CheckName,
		RefuseUnlisted: true, DB: stateDB{m}}
}

// stateDB is the mirror as statetable.Table reaches it.
type stateDB struct{ m *Mirror }

func (d stateDB) Update(ctx context.Context, fn func(statetable.Tx) error) error {
	return d.m.writeTx(ctx, func(tx *sql.Tx) error { return fn(stateTx{d.m.state, tx}) })
}

// stateTx runs the state table's statements in a write transaction.
type stateTx struct {
	state string
	tx    *sql.Tx
}

// each runs a statement of one table argument (with args before it) for every table.
func (s stateTx) each(ctx context.Context, query string, tables []string, args ...any) error {
	for _, t := range tables {
		if _, err := s.tx.ExecContext(ctx, query, append(args, t)...); err != nil {
			return fmt.Errorf("table %s: %w", t, err)
		}
	}
	return nil
}

func (s stateTx) Listed(ctx context.Context, tables []string) (map[string]string, error) {
	listed := map[string]string{}
	for _, t := range tables {
		var hash string
		err := s.tx.QueryRowContext(ctx, stateHashSQL(s.state), t).Scan(&hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", s.state, err)
		default:
			listed[t] = hash
		}
	}
	return listed, nil
}

func (s stateTx) Empty(ctx context.Context, tables []string) error {
	for _, t := range tables {
		if err := execAll(ctx, s.tx, deleteAllSQL(t)); err != nil {
			return err
		}
	}
	return nil
}

func (s stateTx) DropTables(ctx context.Context, tables []string) error {
	for _, t := range tables {
		if err := execAll(ctx, s.tx, dropTableSQL(t)); err != nil {
			return err
		}
	}
	return nil
}

func (s stateTx) Forget(ctx context.Context, tables []string) error {
	return s.each(ctx, stateDeleteSQL(s.state), tables)
}

func (s stateTx) SetWiped(ctx context.Context, tables []string) error {
	return s.each(ctx, stateWipedSQL(s.state), tables)
}

func (s stateTx) SetInvalid(ctx context.Context, tables []string) error {
	return s.each(ctx, stateSetLSNSQL(s.state), tables, bulk.NoLSN)
}

func (s stateTx) SetInvalidAll(ctx context.Context) error {
	_, err := s.tx.ExecContext(ctx, stateInvalidateAllSQL(s.state))
	return err
}

func (s stateTx) BeginCycle(ctx context.Context) error {
	return execAll(ctx, s.tx, beginCycleSQL(s.state), resetCountsSQL(s.state))
}

func (s stateTx) NameCycle(ctx context.Context) (int64, bool, error) {
	var cycle int64
	err := s.tx.QueryRowContext(ctx, nameCycleSQL(s.state)).Scan(&cycle)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return cycle, err == nil, err
}

func (s stateTx) NameTables(ctx context.Context, cycle int64, tables []string) error {
	return s.each(ctx, nameTableSQL(s.state), tables, cycle)
}

func (s stateTx) LockCycle(ctx context.Context) (int64, string, bool, error) {
	var cycle int64
	var stage string
	err := s.tx.QueryRowContext(ctx, cycleSQL(s.state)).Scan(&cycle, &stage)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", false, nil
	}
	return cycle, stage, err == nil, err
}

func (s stateTx) Unnamed(ctx context.Context, cycle int64) ([]string, error) {
	return bulk.ScanStrings(s.tx.QueryContext(ctx, unnamedSQL(s.state), cycle))
}

func (s stateTx) EndCycle(ctx context.Context) error {
	return execAll(ctx, s.tx, endCycleSQL(s.state))
}

// readStates reads every table's row of the state table.
func readStates(ctx context.Context, q queryer, state string) ([]statetable.Row, error) {
	rows, err := q.QueryContext(ctx, stateListSQL(state))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []statetable.Row
	for rows.Next() {
		var r statetable.Row
		var changed sql.NullString
		if err := rows.Scan(&r.Name, &r.Hash, &r.LSN, &changed, &r.Defaults, &r.Cycle.Inserted, &r.Cycle.Updated, &r.Cycle.Deleted, &r.Rewind); err != nil {
			return nil, err
		}
		if changed.Valid {
			// Written by the state statements in this form; anything else is shown as unknown.
			r.Changed, _ = time.Parse("2006-01-02T15:04:05.999Z", changed.String)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
