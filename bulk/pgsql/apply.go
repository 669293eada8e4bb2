package pgsql

import (
	"bytes"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Strategy knobs, fixed to the faster choice that BenchmarkApply measured (figures in
// apply_benchmark_test.go: MERGE 0.80 s, DELETE+UPDATE+INSERT 1.16 s, MERGE after ANALYZE 0.84 s,
// MERGE over row_number() 0.99 s, for 100k mixed rows over 300k); the benchmark flips them.
var (
	// useMerge writes a staging table with one MERGE rather than DELETE + UPDATE + INSERT.
	useMerge = true
	// analyzeStage runs ANALYZE on each staging table before it is merged.
	analyzeStage = false
	// lastStateByWindow picks each key's last row with row_number() rather than DISTINCT ON.
	lastStateByWindow = false
)

// Apply writes the rows into the table in one transaction on one connection, with the new LSN
// when opts.LSN reports one. Rows go in segments of consecutive rows with the same columns. A keyless
// table takes inserts by COPY straight into it. A fresh table (opts.Fresh: created or wiped this cycle, inserts only since) takes COPY
// straight into it too, in chunks under savepoints, until a delete arrives or a chunk hits a
// duplicate key; from then on (the failed chunk included) rows go through staging: COPY into a
// temp table, then one MERGE of the last state of each key.
func (m *Mirror) Apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	counts, err := m.apply(ctx, table, rows, opts)
	if err != nil {
		return bulk.Counts{}, fmt.Errorf("table %s: %w", table.Name, err)
	}
	return counts, nil
}

func (m *Mirror) apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	if err := checkTableNames(table); err != nil {
		return bulk.Counts{}, err
	}
	tx, err := m.pool.Begin(ctx)
	if err != nil {
		return bulk.Counts{}, err
	}
	a := &applier{
		tx:        tx,
		table:     table,
		keyed:     len(table.Key()) > 0,
		direct:    opts.Fresh,
		chunkRows: m.chunkRows,
		cur:       cursor{rows: rows},
		segments:  map[string]*segment{},
	}
	if err := a.run(ctx); err != nil {
		rollback(ctx, tx)
		return bulk.Counts{}, err
	}
	if opts.LSN != nil {
		if lsn, ok := opts.LSN(); ok {
			tag, err := tx.Exec(ctx, stateSetLSNSQL(m.state), table.Name, lsn)
			if err == nil && tag.RowsAffected() != 1 {
				err = fmt.Errorf("the state table %s does not list it", m.state)
			}
			if err != nil {
				rollback(ctx, tx)
				return bulk.Counts{}, fmt.Errorf("store LSN %d: %w", lsn, err)
			}
		}
	}
	if err := tx.Commit(ctx); err != nil {
		rollback(ctx, tx)
		return bulk.Counts{}, fmt.Errorf("commit: %w", err)
	}
	return a.counts, nil
}

// cursor reads rows one ahead, so that a segment can end at a row without consuming it.
type cursor struct {
	rows   bulk.Rows
	loaded bool  // the current row is read and not yet taken
	done   bool  // Next has returned false
	n      int64 // the number of the current row in the apply, from 1
}

func (c *cursor) peek() bool {
	if !c.loaded && !c.done {
		if c.rows.Next() {
			c.loaded = true
			c.n++
		} else {
			c.done = true
		}
	}
	return c.loaded
}

func (c *cursor) take() { c.loaded = false }

// segment is the column set of consecutive rows.
type segment struct {
	cols  []int       // table column indexes
	names []string    // their names, for COPY
	convs []converter // their converters
	stage string      // the segment's staging table, once created
}

type applier struct {
	tx        pgx.Tx
	table     schema.Table
	keyed     bool
	direct    bool // rows may still be copied straight into the table
	chunkRows int
	cur       cursor
	counts    bulk.Counts
	stages    int
	segments  map[string]*segment // by column list, so that alternating batches build each once
	slab      []any               // reused storage of the rows a direct chunk keeps for replay
}

func (a *applier) run(ctx context.Context) error {
	for a.cur.peek() {
		if err := ctx.Err(); err != nil {
			return err
		}
		seg, err := a.segment(a.cur.rows.Columns())
		if err != nil {
			return err
		}
		switch {
		case !a.keyed:
			err = a.copyKeyless(ctx, seg)
		case a.direct:
			err = a.copyDirect(ctx, seg)
		default:
			err = a.stage(ctx, seg, nil)
		}
		if err != nil {
			return err
		}
	}
	if err := a.cur.rows.Err(); err != nil {
		return fmt.Errorf("reading rows (after row %d): %w", a.cur.n, err)
	}
	return ctx.Err()
}

// segment returns the segment of a column list, checking it: columns of the table, none twice,
// and every key column present.
func (a *applier) segment(cols []int) (*segment, error) {
	key := string(intsKey(cols))
	if s, ok := a.segments[key]; ok {
		return s, nil
	}
	s := &segment{cols: append([]int(nil), cols...)}
	seen := make([]bool, len(a.table.Columns))
	for _, ci := range cols {
		if ci < 0 || ci >= len(a.table.Columns) {
			return nil, fmt.Errorf("row %d names column index %d; the table has %d columns", a.cur.n, ci, len(a.table.Columns))
		}
		c := a.table.Columns[ci]
		if seen[ci] {
			return nil, fmt.Errorf("row %d carries column %s twice", a.cur.n, c.Name)
		}
		seen[ci] = true
		conv, err := converterFor(c)
		if err != nil {
			return nil, err
		}
		s.names = append(s.names, c.Name)
		s.convs = append(s.convs, conv)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("row %d carries no columns", a.cur.n)
	}
	for _, ki := range a.table.Key() {
		if !seen[ki] {
			return nil, fmt.Errorf("row %d lacks key column %s", a.cur.n, a.table.Columns[ki].Name)
		}
	}
	a.segments[key] = s
	return s, nil
}

func intsKey(cols []int) []byte {
	b := make([]byte, 0, 2*len(cols))
	for _, c := range cols {
		b = append(b, byte(c), byte(c>>8))
	}
	return b
}

func sameColumns(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// convert checks the current row (op, value count) and converts its values into dst, which is
// one value per segment column. A delete keeps only its key values.
func (a *applier) convert(seg *segment, dst []any) (bulk.Op, error) {
	op := a.cur.rows.Op()
	switch op {
	case bulk.Insert, bulk.Update, bulk.Delete:
	default:
		return op, fmt.Errorf("row %d has op %v; only I, U and D are known", a.cur.n, op)
	}
	vals := a.cur.rows.Values()
	if len(vals) != len(seg.cols) {
		return op, fmt.Errorf("row %d has %d values for %d columns", a.cur.n, len(vals), len(seg.cols))
	}
	for i, v := range vals {
		c := &a.table.Columns[seg.cols[i]]
		switch {
		case v == nil:
			if c.PrimaryKey || (op != bulk.Delete && !c.Nullable) {
				return op, fmt.Errorf("column %s, row %d: NULL in a NOT NULL column", c.Name, a.cur.n)
			}
			dst[i] = nil
		case op == bulk.Delete && !c.PrimaryKey:
			dst[i] = nil
		default:
			cv, err := seg.convs[i](v)
			if err != nil {
				return op, fmt.Errorf("column %s, row %d: %w", c.Name, a.cur.n, err)
			}
			dst[i] = cv
		}
	}
	return op, nil
}

// copyKeyless copies a segment of inserts straight into a keyless table.
func (a *applier) copyKeyless(ctx context.Context, seg *segment) error {
	src := &directSource{a: a, seg: seg, row: make([]any, len(seg.cols))}
	_, err := a.tx.CopyFrom(ctx, pgx.Identifier{a.table.Name}, seg.names, src)
	if src.err != nil {
		return src.err
	}
	return err
}

// copyDirect copies rows of a segment straight into the empty table, a chunk at a time under a
// savepoint. On a duplicate key the chunk is rolled back and goes, with every row after it,
// through staging; a delete also ends the direct path, since it may remove a row copied before.
func (a *applier) copyDirect(ctx context.Context, seg *segment) error {
	for a.direct && a.cur.peek() && sameColumns(a.cur.rows.Columns(), seg.cols) {
		savepoint, err := a.tx.Begin(ctx)
		if err != nil {
			return err
		}
		width := len(seg.cols) + 2
		if cap(a.slab) < a.chunkRows*width {
			a.slab = make([]any, 0, a.chunkRows*width)
		}
		src := &directSource{a: a, seg: seg, limit: a.chunkRows, keep: true, slab: a.slab[:0], row: make([]any, len(seg.cols))}
		_, err = savepoint.CopyFrom(ctx, pgx.Identifier{a.table.Name}, seg.names, src)
		if src.err != nil {
			return src.err
		}
		if err != nil {
			if !isCode(err, "23505") {
				return err
			}
			if err := savepoint.Rollback(ctx); err != nil {
				return err
			}
			a.direct = false
			return a.stage(ctx, seg, src.kept)
		}
		if err := savepoint.Commit(ctx); err != nil {
			return err
		}
		if src.sawDelete {
			a.direct = false
		}
	}
	return nil
}

// directSource feeds COPY into the table itself from the cursor, up to limit rows (0: no limit)
// of the segment. With keep it also keeps each converted row, in staging layout (sequence number,
// delete flag, values), to replay through staging.
type directSource struct {
	a         *applier
	seg       *segment
	limit     int
	n         int
	keep      bool
	slab      []any
	kept      [][]any
	row       []any
	sawDelete bool
	err       error
}

func (s *directSource) Next() bool {
	a := s.a
	if s.limit > 0 && s.n >= s.limit || !a.cur.peek() || !sameColumns(a.cur.rows.Columns(), s.seg.cols) {
		return false
	}
	op := a.cur.rows.Op()
	if !a.keyed && op != bulk.Insert {
		s.err = fmt.Errorf("row %d is an %s: %w", a.cur.n, opName(op), bulk.ErrNoKey)
		return false
	}
	if op == bulk.Delete {
		s.sawDelete = true
		return false
	}
	if _, err := a.convert(s.seg, s.row); err != nil {
		s.err = err
		return false
	}
	if s.keep {
		start := len(s.slab)
		s.slab = append(s.slab, a.cur.n, false)
		for _, v := range s.row {
			if b, ok := v.([]byte); ok {
				v = bytes.Clone(b) // the decoder may reuse its buffer after Next
			}
			s.slab = append(s.slab, v)
		}
		s.kept = append(s.kept, s.slab[start:len(s.slab):len(s.slab)])
	}
	a.counts.Count(op)
	a.cur.take()
	s.n++
	return true
}

func (s *directSource) Values() ([]any, error) { return s.row, nil }
func (s *directSource) Err() error             { return s.err }

func opName(op bulk.Op) string {
	switch op {
	case bulk.Update:
		return "update"
	case bulk.Delete:
		return "delete"
	}
	return "insert"
}

// stage loads the rest of a segment (after the replayed rows) into a new temp table and merges
// the last state of each key into the table.
func (a *applier) stage(ctx context.Context, seg *segment, replay [][]any) error {
	if seg.stage == "" {
		a.stages++
		name := stageName(a.stages)
		create, err := createStageSQL(name, a.table, seg.cols)
		if err != nil {
			return err
		}
		if _, err := a.tx.Exec(ctx, create); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		seg.stage = name
	}
	name := seg.stage
	cols := append([]string{"#seq", "#del"}, seg.names...)
	src := &stageSource{a: a, seg: seg, replay: replay, own: make([]any, len(cols))}
	if _, err := a.tx.CopyFrom(ctx, pgx.Identifier{name}, cols, src); src.err != nil || err != nil {
		if src.err != nil {
			return src.err
		}
		return fmt.Errorf("copy into staging: %w", err)
	}
	var stmts []string
	if analyzeStage {
		stmts = append(stmts, analyzeSQL(name))
	}
	if useMerge {
		stmts = append(stmts, mergeSQL(a.table, name, seg.cols))
	} else {
		stmts = append(stmts, threeStatementSQL(a.table, name, seg.cols)...)
	}
	// Each column set has one staging table per transaction, emptied after each merge, so that
	// rows whose columns alternate do not pile up tables (and their locks) until commit.
	stmts = append(stmts, truncateSQL([]string{name}))
	if err := execAll(ctx, a.tx, stmts); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// stageSource feeds COPY into a staging table: first the replayed rows, then the segment's rows
// from the cursor.
type stageSource struct {
	a      *applier
	seg    *segment
	replay [][]any
	row    []any // the row Values returns
	own    []any // the storage of rows read from the cursor
	err    error
}

func (s *stageSource) Next() bool {
	if len(s.replay) > 0 {
		s.row, s.replay = s.replay[0], s.replay[1:]
		return true
	}
	a := s.a
	if !a.cur.peek() || !sameColumns(a.cur.rows.Columns(), s.seg.cols) {
		return false
	}
	s.row = s.own
	op, err := a.convert(s.seg, s.row[2:])
	if err != nil {
		s.err = err
		return false
	}
	s.row[0], s.row[1] = a.cur.n, op == bulk.Delete
	a.counts.Count(op)
	a.cur.take()
	return true
}

func (s *stageSource) Values() ([]any, error) { return s.row, nil }
func (s *stageSource) Err() error             { return s.err }
