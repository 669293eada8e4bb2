package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// A spool holds one Apply's rows, encoded, in a scratch SQLite file beside the tenant's file
// (on disk, not in memory or a tmpfs /tmp, so that memory stays bounded however many rows wait),
// until the writer is free. The file is removed when the Apply ends.

func (m *Mirror) applySpooled(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (counts bulk.Counts, err error) {
	fail := func(err error) (bulk.Counts, error) {
		return bulk.Counts{}, m.errorf("table %s: spool rows while another table writes: %w", table.Name, err)
	}
	f, err := os.CreateTemp(filepath.Dir(m.path), ".mirrord-spool-*.db")
	if err != nil {
		return fail(err)
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=locking_mode(EXCLUSIVE)")
	if err != nil {
		return fail(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("the sqlite driver connection %T lacks context methods", dc)
		}
		sp := &spool{m: m, ctx: ctx, conn: c, table: table}
		defer sp.close()
		if err := sp.fill(rows); err != nil {
			return err
		}
		replay, err := sp.replay()
		if err != nil {
			return m.errorf("table %s: read spooled rows: %w", table.Name, err)
		}
		defer replay.rows.Close()
		counts, err = m.applyRows(ctx, table, replay, opts, true)
		return err
	})
	if err != nil {
		return bulk.Counts{}, err
	}
	return counts, nil
}

type spool struct {
	m     *Mirror
	ctx   context.Context
	conn  driverConn
	table schema.Table

	inserts map[int]driverStmt // by number of values
	args    []driver.NamedValue
	rowNum  int64
}

type spoolSegment struct {
	cols     []int
	text     string // cols as stored: "0,3,1"
	encoders []encoder
	keyPos   []int
}

func (s *spool) close() {
	for _, st := range s.inserts {
		st.Close()
	}
}

func (s *spool) rowErrorf(op bulk.Op, format string, args ...any) error {
	return s.m.errorf("table %s, row %d (%s): "+format, append([]any{s.table.Name, s.rowNum, op}, args...)...)
}

// fill reads every row, checks and encodes it as the writer would, and stores it in order.
func (s *spool) fill(rows bulk.Rows) error {
	bg := context.Background()
	width := len(s.table.Columns)
	if _, err := s.conn.ExecContext(bg, createSpoolSQL(width), nil); err != nil {
		return err
	}
	s.inserts = make(map[int]driverStmt)
	s.args = make([]driver.NamedValue, width+2)
	for i := range s.args {
		s.args[i].Ordinal = i + 1
	}
	segments := make(map[string]*spoolSegment)
	var cur *spoolSegment
	keyed := len(s.table.Key()) > 0
	for rows.Next() {
		s.rowNum++
		if s.rowNum%ctxCheckEvery == 0 {
			if err := s.ctx.Err(); err != nil {
				return s.m.errorf("table %s: apply stopped at row %d: %w", s.table.Name, s.rowNum, err)
			}
		}
		op := rows.Op()
		if op != bulk.Insert && op != bulk.Update && op != bulk.Delete {
			return s.rowErrorf(op, "unknown op")
		}
		if !keyed && op != bulk.Insert {
			return fmt.Errorf("tenant %s: table %s, row %d (%s): %w", s.m.tenant, s.table.Name, s.rowNum, op, bulk.ErrNoKey)
		}
		cols, vals := rows.Columns(), rows.Values()
		if cur == nil || !slices.Equal(cur.cols, cols) {
			id := fmt.Sprint(cols)
			if cur = segments[id]; cur == nil {
				keyPos, err := bulk.CheckColumns(s.table, cols)
				if err != nil {
					return s.rowErrorf(op, "%w", err)
				}
				cur = &spoolSegment{cols: slices.Clone(cols), text: joinInts(cols), keyPos: keyPos}
				for _, ci := range cols {
					cur.encoders = append(cur.encoders, newEncoder(s.table.Columns[ci]))
				}
				segments[id] = cur
			}
		}
		if len(vals) != len(cur.cols) {
			return s.rowErrorf(op, "%d values for %d columns", len(vals), len(cur.cols))
		}
		args := s.args[:len(vals)+2]
		args[0].Value, args[1].Value = int64(op), cur.text
		for i, v := range vals {
			if op == bulk.Delete && !slices.Contains(cur.keyPos, i) {
				args[2+i].Value = nil // a delete needs only its key
				continue
			}
			enc, err := cur.encoders[i](v)
			if err != nil {
				return s.rowErrorf(op, "%w", err)
			}
			args[2+i].Value = enc
		}
		st, err := s.insert(len(vals))
		if err != nil {
			return err
		}
		_, err = st.ExecContext(bg, args)
		for i := range args {
			args[i].Value = nil
		}
		if err != nil {
			return s.rowErrorf(op, "spool: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return s.m.errorf("table %s: read rows after row %d: %w", s.table.Name, s.rowNum, err)
	}
	return nil
}

func (s *spool) insert(values int) (driverStmt, error) {
	if st, ok := s.inserts[values]; ok {
		return st, nil
	}
	st, err := s.conn.PrepareContext(context.Background(), insertSpoolSQL(values))
	if err != nil {
		return nil, err
	}
	ds, ok := st.(driverStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("the sqlite driver statement %T lacks ExecContext", st)
	}
	s.inserts[values] = ds
	return ds, nil
}

func (s *spool) replay() (*spoolRows, error) {
	width := len(s.table.Columns)
	r, err := s.conn.QueryContext(context.Background(), selectSpoolSQL(width), nil)
	if err != nil {
		return nil, err
	}
	return &spoolRows{rows: r, dest: make([]driver.Value, width+2)}, nil
}

// spoolRows replays spooled rows, in their order, as bulk.Rows of stored values.
type spoolRows struct {
	rows     driver.Rows
	dest     []driver.Value
	op       bulk.Op
	colsText string
	cols     []int
	vals     []any
	err      error
}

func (r *spoolRows) Next() bool {
	if r.err != nil {
		return false
	}
	if err := r.rows.Next(r.dest); err != nil {
		if err != io.EOF {
			r.err = err
		}
		return false
	}
	op, ok1 := r.dest[0].(int64)
	text, ok2 := r.dest[1].(string)
	if !ok1 || !ok2 {
		r.err = fmt.Errorf("spooled row has op %v and columns %v", r.dest[0], r.dest[1])
		return false
	}
	r.op = bulk.Op(op)
	if text != r.colsText {
		cols, err := splitInts(text)
		if err != nil {
			r.err = err
			return false
		}
		r.colsText, r.cols = text, cols
	}
	r.vals = r.vals[:0]
	for _, v := range r.dest[2 : 2+len(r.cols)] {
		r.vals = append(r.vals, v)
	}
	return true
}

func (r *spoolRows) Op() bulk.Op    { return r.op }
func (r *spoolRows) Columns() []int { return r.cols }
func (r *spoolRows) Values() []any  { return r.vals }
func (r *spoolRows) Err() error     { return r.err }

func joinInts(a []int) string {
	parts := make([]string, len(a))
	for i, n := range a {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ",")
}

func splitInts(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("spooled column list %q: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}
