//go:build linux

package bench

// The database's own upsert, BenchmarkWholePath's second baseline for the incremental loads: the
// same changes, in the order mirrord receives them, as plain single-row statements (an INSERT …
// ON CONFLICT DO UPDATE for an insert or an update, a DELETE for a delete), one transaction per
// group of as many rows as one of mirrord's RowData calls carries, against a copy of the same
// base. Random-key changes to a large table cost the database far more than appending to an
// empty one, so this, not the bulk load into an empty table, is what says whether mirrord's
// path adds to what the database must do anyway.

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/internal/pgupsert"
	"github.com/mirrord/mirrord/schema"
)

// upsertLoad is one iteration's upsert baseline.
type upsertLoad struct {
	table schema.Table
	// base is the rows 1..base the table holds before the changes, as engineLoad leaves them.
	base    int64
	changes []change
	// groups are the rows of each transaction in order: the rows of each RowData call.
	groups []int
	// script is the sqlite3 shell's input, written before the clock (SQLite only).
	script string
}

// callGroups are the rows of each RowData call of a cycle whose calls are all in one lane, in
// the order they are sent.
func callGroups(cy *wholeCycle) ([]int, error) {
	if len(cy.lanes) != 1 {
		return nil, fmt.Errorf("the cycle's calls are in %d lanes; the upsert baseline replays one", len(cy.lanes))
	}
	var groups []int
	for _, r := range cy.lanes[0] {
		n := 0
		for _, p := range r.parts {
			n += int(p.rows)
		}
		groups = append(groups, n)
	}
	return groups, nil
}

// keyValues are the key columns' values of a change.
func keyValues(t schema.Table, c change) []any {
	var out []any
	for _, k := range t.Key() {
		out = append(out, c.vals[k])
	}
	return out
}

// pgUpsert sends the changes as one pgx.Batch per group, each in a transaction of its own, and
// checks that every statement touched one row.
func pgUpsert(ctx context.Context, conn *pgx.Conn, u *upsertLoad) error {
	upsert, del := pgupsert.SQL(u.table)
	at := 0
	for _, n := range u.groups {
		group := u.changes[at : at+n]
		batch := &pgx.Batch{}
		for _, c := range group {
			if c.op == bulk.Delete {
				batch.Queue(del, keyValues(u.table, c)...)
			} else {
				batch.Queue(upsert, c.vals...)
			}
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			res := tx.SendBatch(ctx, batch)
			for i := range group {
				tag, err := res.Exec()
				if err == nil && tag.RowsAffected() != 1 {
					err = fmt.Errorf("%s touched %d rows, not 1", tag, tag.RowsAffected())
				}
				if err != nil {
					res.Close()
					return fmt.Errorf("change %d: %w", at+i+1, err)
				}
			}
			return res.Close()
		})
		if err != nil {
			return fmt.Errorf("upsert into %s: %w", u.table.Name, err)
		}
		at += n
	}
	return nil
}

// appendSQLValue appends a value as a SQL literal that SQLite stores as what mirrord's SQLite
// target stores: the CSV writer's numbers, NULL as NULL, binary as a BLOB literal, and every
// other value as the text the CSV writer writes, quoted.
func appendSQLValue(dst []byte, c schema.Column, v any) ([]byte, error) {
	if v == nil {
		return append(dst, "NULL"...), nil
	}
	switch c.Type.Family() {
	case schema.FamilyBool, schema.FamilyInteger:
		return appendCSVField(dst, c, v)
	case schema.FamilyFloat:
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			// Stored as the text NaN, which SQL must quote.
			return append(dst, "'NaN'"...), nil
		}
		return appendCSVField(dst, c, v)
	case schema.FamilyBinary:
		b, ok := v.([]byte)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		dst = append(dst, "X'"...)
		dst = append(dst, strings.ToUpper(hex.EncodeToString(b))...)
		return append(dst, '\''), nil
	case schema.FamilyString:
		s, ok := v.(string)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		return appendSQLText(dst, s)
	}
	s, err := bulk.FormatValue(c, v)
	if err != nil {
		return dst, err
	}
	return appendSQLText(dst, s)
}

func appendSQLText(dst []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return dst, errors.New("the text holds a zero byte, where the sqlite3 shell would cut the statement")
	}
	dst = append(dst, '\'')
	dst = append(dst, strings.ReplaceAll(s, "'", "''")...)
	return append(dst, '\''), nil
}

// writeUpsertScript writes the sqlite3 shell's input for u to path: mirrord's connection
// pragmas, then each group of changes between BEGIN and COMMIT, one statement per change.
func writeUpsertScript(path string, u *upsertLoad) error {
	t := u.table
	var cols, set, key []string
	for _, c := range t.Columns {
		q := quoteIdent(c.Name)
		cols = append(cols, q)
		if !c.PrimaryKey {
			set = append(set, q+"=excluded."+q)
		}
	}
	for _, k := range t.Key() {
		key = append(key, quoteIdent(t.Columns[k].Name))
	}
	insert := "INSERT INTO " + quoteIdent(t.Name) + "(" + strings.Join(cols, ",") + ") VALUES("
	conflict := ") ON CONFLICT(" + strings.Join(key, ",") + ") DO UPDATE SET " + strings.Join(set, ",") + ";\n"
	del := "DELETE FROM " + quoteIdent(t.Name) + " WHERE "

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(".bail on\n" + sqliteImportPragmas)
	var line []byte
	at := 0
	for _, n := range u.groups {
		w.WriteString("BEGIN;\n")
		for i, c := range u.changes[at : at+n] {
			line = line[:0]
			if c.op == bulk.Delete {
				line = append(line, del...)
				for j, k := range t.Key() {
					if j > 0 {
						line = append(line, " AND "...)
					}
					line = append(line, key[j]...)
					line = append(line, '=')
					if line, err = appendSQLValue(line, t.Columns[k], c.vals[k]); err != nil {
						break
					}
				}
				line = append(line, ";\n"...)
			} else {
				line = append(line, insert...)
				for j, col := range t.Columns {
					if j > 0 {
						line = append(line, ',')
					}
					if line, err = appendSQLValue(line, col, c.vals[j]); err != nil {
						break
					}
				}
				line = append(line, conflict...)
			}
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: change %d: %w", path, at+i+1, err)
			}
			w.Write(line)
		}
		w.WriteString("COMMIT;\n")
		at += n
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// checkGroups checks that u's groups cover its changes exactly.
func (u *upsertLoad) checkGroups() error {
	n := 0
	for _, g := range u.groups {
		n += g
	}
	if n != len(u.changes) {
		return fmt.Errorf("the groups carry %d rows, the changes are %d", n, len(u.changes))
	}
	return nil
}

// loadBase loads the upsert baseline's base rows into tenant through an engine of its own over
// target, which it closes (and target with it).
func loadBase(ctx context.Context, target bulk.Target, tenant string, base int64) error {
	e := engine.New(target, engine.Options{})
	err := engineLoad(ctx, e, tenant, base)
	if cerr := e.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("base load of tenant %s: %w", tenant, err)
	}
	return nil
}

func (p *pgSide) prepareUpsert(ctx context.Context, tenant string, u *upsertLoad) error {
	if err := u.checkGroups(); err != nil {
		return err
	}
	target, err := pgsql.Open(ctx, p.dsn, pgsql.Options{NameTemplate: p.prefix + "{ctx}"})
	if err != nil {
		return err
	}
	if err := loadBase(ctx, target, tenant, u.base); err != nil {
		return err
	}
	if err := p.afterBase(ctx, tenant); err != nil {
		return err
	}
	conn, err := p.connect(ctx, tenant)
	if err != nil {
		return err
	}
	p.conns[tenant] = conn
	return nil
}

func (p *pgSide) upsertLoad(ctx context.Context, tenant string, u *upsertLoad) (time.Duration, error) {
	start := time.Now()
	err := pgUpsert(ctx, p.conns[tenant], u)
	return time.Since(start), err
}

func (p *pgSide) compareUpsert(ctx context.Context, upsertTenant, mirrorTenant string, tables []schema.Table) (string, error) {
	return p.compareWith(ctx, "the upsert baseline", upsertTenant, mirrorTenant, tables)
}

func (s *sqliteSide) prepareUpsert(ctx context.Context, tenant string, u *upsertLoad) error {
	if err := u.checkGroups(); err != nil {
		return err
	}
	target, err := sqlite.Open(s.rawDir, sqlite.Options{})
	if err != nil {
		return err
	}
	path, err := target.Path(tenant)
	if err != nil {
		target.Close()
		return err
	}
	if path != s.rawPath(tenant) {
		target.Close()
		return fmt.Errorf("the upsert baseline's file is %s, not %s", path, s.rawPath(tenant))
	}
	if err := loadBase(ctx, target, tenant, u.base); err != nil {
		return err
	}
	u.script = filepath.Join(s.csvDir, tenant+"-upsert.sql")
	return writeUpsertScript(u.script, u)
}

func (s *sqliteSide) upsertLoad(ctx context.Context, tenant string, u *upsertLoad) (time.Duration, error) {
	f, err := os.Open(u.script)
	if err != nil {
		return 0, err
	}
	defer os.Remove(u.script)
	defer f.Close()
	return runSQLiteScript(ctx, s.shell, s.rawPath(tenant), f)
}

func (s *sqliteSide) compareUpsert(ctx context.Context, upsertTenant, mirrorTenant string, tables []schema.Table) (string, error) {
	mirror, err := s.mirrorPath(mirrorTenant)
	if err != nil {
		return "", err
	}
	var nulls int64
	for _, t := range tables {
		n, err := compareSQLite(ctx, s.rawPath(upsertTenant), mirror, t, true)
		if err != nil {
			return "", fmt.Errorf("the upsert baseline against mirrord: %w", err)
		}
		nulls += n
	}
	return fmt.Sprintf("upsert baseline: every value of %d tables equal to mirrord's, its %d NULLs included", len(tables), nulls), nil
}
