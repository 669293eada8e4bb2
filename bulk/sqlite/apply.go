package sqlite

import (
	"context"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// defaultRowsPerWrite is how many rows one multi-row INSERT carries. Fewer statement executions
// cut the driver's per-call work; BenchmarkApply in apply_benchmark_test.go picked the value.
const defaultRowsPerWrite = 32

// ctxCheckEvery is how often (in rows) the apply loop looks at its context. Statements run with
// a background context: the driver starts a watcher goroutine for every call made with a
// cancellable one, which would cost more than the row itself.
const ctxCheckEvery = 256

// driverConn is what Apply needs of the driver's connection.
type driverConn interface {
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
}

type driverStmt interface {
	driver.Stmt
	driver.StmtExecContext
}

// Apply writes the rows and, when opts.LSN reports one, the new LSN in one transaction on the
// writer connection. Inserts and updates are upserts of the batch's columns, deletes delete by
// key, and rows are written in order, so the last state of a key wins. opts.Fresh needs no path
// of its own here: an upsert into an empty table costs what a plain insert does.
//
// The file has one writer (MaxWriters): an Apply that starts while another writes waits for it,
// in database/sql's queue for the one writer connection, until ctx ends. A caller must not feed
// two Applies of one file from one goroutine at once (bulk.WriterLimiter says why); the engine
// lets one in at a time, and keeps the others' rows in its spool meanwhile.
func (m *Mirror) Apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (counts bulk.Counts, err error) {
	table, err = table.Validate()
	if err != nil {
		return bulk.Counts{}, m.errorf("apply: %w", err)
	}
	conn, err := m.w.Conn(ctx)
	if err != nil {
		return counts, m.errorf("table %s: apply: %w", table.Name, err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(driverConn)
		if !ok {
			return fmt.Errorf("the sqlite driver connection %T lacks context methods", dc)
		}
		a := applier{m: m, ctx: ctx, conn: c, table: table, key: keyColumns(table)}
		counts, err = a.run(rows, opts)
		return err
	})
	if err != nil {
		return bulk.Counts{}, err
	}
	return counts, nil
}

// applier is one Apply in progress on the raw writer connection.
type applier struct {
	m     *Mirror
	ctx   context.Context
	conn  driverConn
	table schema.Table
	key   []schema.Column

	segments bulk.Segments[*segment]
	current  *segment
	del      driverStmt
	delArgs  []driver.NamedValue
	stmts    []driverStmt // to close at the end
	rowNum   int64
	counts   bulk.Counts
	// fresh says the table may take plain inserts: created or wiped this cycle. A key that
	// is there already turns it off for the rest of the apply.
	fresh   bool
	keyBuf  []byte
	keySeen map[string]struct{}
}

// segment is the write path of one column set: its encoders, its statements and its argument
// slices, reused for every row.
type segment struct {
	cols     []int // table column indexes, as Rows.Columns gave them
	encoders []encoder
	keyPos   []int // position in cols of each key column
	single   driverStmt
	// update is set when the batch leaves out a NOT NULL column: SQLite checks NOT NULL before
	// it sees the conflict of an upsert, so such rows are updated by key first and inserted
	// (which then fails, as it would at the source) only when no row has the key.
	update     driverStmt
	updateArgs []driver.NamedValue
	updatePos  []int      // position in cols of each update argument, in order
	multi      driverStmt // Mirror.rowsPerWrite rows at once
	args       []driver.NamedValue
	// The counting of upserts: how many of a group's keys exist before it is written, and
	// plain inserts for a fresh table, which need no such count.
	hasRest      bool       // the batch carries columns besides the key: an upsert of an existing key updates it
	existMulti   driverStmt // existing keys among Mirror.rowsPerWrite rows
	existSingle  driverStmt
	existArgs    []driver.NamedValue
	insertMulti  driverStmt
	insertSingle driverStmt
	pending      int   // rows encoded into args, not yet written
	firstRow     int64 // the apply's number of the first pending row
}

func (a *applier) errorf(format string, args ...any) error {
	return a.m.errorf("table %s: "+format, append([]any{a.table.Name}, args...)...)
}

func (a *applier) rowErrorf(op bulk.Op, format string, args ...any) error {
	return a.m.errorf("table %s, row %d (%s): "+format, append([]any{a.table.Name, a.rowNum, op}, args...)...)
}

func (a *applier) run(rows bulk.Rows, opts bulk.ApplyOptions) (counts bulk.Counts, err error) {
	bg := context.Background()
	tx, err := a.conn.BeginTx(a.ctx, driver.TxOptions{})
	if err != nil {
		return counts, a.errorf("begin: %w", err)
	}
	committing := false
	defer func() {
		for _, s := range a.stmts {
			s.Close()
		}
		// A failed COMMIT has already rolled back (the driver sees to it).
		if err != nil && !committing {
			if rbErr := tx.Rollback(); rbErr != nil {
				// The connection's state is unknown: make database/sql discard it.
				err = errors.Join(err, fmt.Errorf("rollback: %w", rbErr), driver.ErrBadConn)
			}
		}
	}()

	// The table must be mirrored (rows never go into a partner's table) with the schema the
	// caller read. The write transaction holds the file's lock, so the check holds until commit.
	storedLSN, rewind, err := a.checkState(opts.Hash)
	if err != nil {
		return counts, err
	}
	a.fresh = opts.Fresh
	for rows.Next() {
		a.rowNum++
		if a.rowNum%ctxCheckEvery == 0 {
			if err := a.ctx.Err(); err != nil {
				return counts, a.errorf("apply stopped at row %d: %w", a.rowNum, err)
			}
		}
		op := rows.Op()
		if op != bulk.Insert && op != bulk.Update && op != bulk.Delete {
			return counts, a.rowErrorf(op, "unknown op")
		}
		if len(a.key) == 0 && op != bulk.Insert {
			return counts, fmt.Errorf("tenant %s: table %s, row %d (%s): %w", a.m.tenant, a.table.Name, a.rowNum, op, bulk.ErrNoKey)
		}
		cols, vals := rows.Columns(), rows.Values()
		if a.current == nil || !slices.Equal(a.current.cols, cols) {
			if err := a.flush(); err != nil {
				return counts, err
			}
			if a.current, err = a.segment(cols); err != nil {
				return counts, a.rowErrorf(op, "%w", err)
			}
		}
		seg := a.current
		if len(vals) != len(seg.cols) {
			return counts, a.rowErrorf(op, "%d values for %d columns", len(vals), len(seg.cols))
		}
		switch op {
		case bulk.Insert, bulk.Update:
			if seg.update != nil {
				if err := a.updateOrInsert(bg, seg, vals, op); err != nil {
					return counts, err
				}
				break
			}
			if seg.pending == 0 {
				seg.firstRow = a.rowNum
			}
			base := seg.pending * len(seg.cols)
			for i, v := range vals {
				enc, err := seg.encoders[i](v)
				if err != nil {
					return counts, a.rowErrorf(op, "%w", err)
				}
				seg.args[base+i].Value = enc
			}
			seg.pending++
			if seg.pending == a.m.rowsPerWrite {
				if err := a.flush(); err != nil {
					return counts, err
				}
			}
		case bulk.Delete:
			// Rows before this one must be written first, so that the last state wins.
			if err := a.flush(); err != nil {
				return counts, err
			}
			if err := a.deleteRow(bg, seg, vals, op); err != nil {
				return counts, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return counts, a.errorf("read rows after row %d: %w", a.rowNum, err)
	}
	if err := a.flush(); err != nil {
		return counts, err
	}
	counts = a.counts
	lsn, hasLSN := int64(0), false
	if opts.LSN != nil {
		lsn, hasLSN = opts.LSN()
	}
	if hasLSN {
		if err := bulk.CheckLSN(a.table.Name, storedLSN, lsn, rewind); err != nil {
			return counts, err
		}
	}
	if hasLSN || counts.Any() {
		if _, err := a.conn.ExecContext(bg, stateAppliedSQL(a.m.state), []driver.NamedValue{
			{Ordinal: 1, Value: hasLSN}, {Ordinal: 2, Value: lsn}, {Ordinal: 3, Value: counts.Inserted},
			{Ordinal: 4, Value: counts.Updated}, {Ordinal: 5, Value: counts.Deleted}, {Ordinal: 6, Value: a.table.Name},
		}); err != nil {
			return counts, a.errorf("write LSN %d and counts: %w", lsn, err)
		}
	}
	if err := a.ctx.Err(); err != nil {
		return counts, a.errorf("apply stopped before commit: %w", err)
	}
	committing = true
	if err := tx.Commit(); err != nil {
		return counts, a.errorf("commit: %w", err)
	}
	return counts, nil
}

// checkState reads the table's state row and returns its LSN, and whether the cycle in progress
// created or wiped it: the table must be listed, with the schema hash the caller read when it
// gave one.
func (a *applier) checkState(hash string) (lsn int64, rewind bool, err error) {
	r, err := a.conn.QueryContext(context.Background(), stateApplySQL(a.m.state), []driver.NamedValue{{Ordinal: 1, Value: a.table.Name}})
	if err != nil {
		return 0, false, a.errorf("read %s: %w", a.m.state, err)
	}
	defer r.Close()
	dest := make([]driver.Value, 3)
	switch err := r.Next(dest); {
	case err == io.EOF:
		return 0, false, a.errorf("not listed in %s as mirrored; refusing to write rows into it: %w", a.m.state, bulk.ErrSchemaChanged)
	case err != nil:
		return 0, false, a.errorf("read %s: %w", a.m.state, err)
	}
	stored, _ := dest[0].(string)
	lsn, ok := dest[1].(int64)
	if !ok {
		return 0, false, a.errorf("%s holds LSN %v, not an integer", a.m.state, dest[1])
	}
	if hash != "" && stored != hash {
		return 0, false, a.errorf("its state holds schema %.12s, not %.12s: %w", stored, hash, bulk.ErrSchemaChanged)
	}
	flag, _ := dest[2].(int64)
	return lsn, flag != 0, nil
}

// segment returns the write path of a column set, checked (bulk.CheckColumns) and prepared on
// first use.
func (a *applier) segment(cols []int) (*segment, error) {
	return a.segments.For(a.table, cols, func(keyPos []int) (*segment, error) { return a.newSegment(cols, keyPos) })
}

// newSegment prepares the write path of a checked column set.
func (a *applier) newSegment(cols, keyPos []int) (*segment, error) {
	batchCols := make([]schema.Column, len(cols))
	for i, ci := range cols {
		batchCols[i] = a.table.Columns[ci]
	}
	var err error
	seg := &segment{cols: slices.Clone(cols), keyPos: keyPos}
	var pad []schema.Column
	for _, i := range bulk.OmittedDefaults(a.table, cols, columnDefault) {
		pad = append(pad, a.table.Columns[i])
	}
	for _, c := range batchCols {
		seg.encoders = append(seg.encoders, newEncoder(c))
	}
	if seg.single, err = a.prepare(writeSQL(a.table.Name, batchCols, pad, a.key, 1)); err != nil {
		return nil, err
	}
	if len(a.key) > 0 && leavesOutNotNull(a.table, cols) {
		var set []schema.Column
		for i, c := range batchCols {
			if !c.PrimaryKey {
				set = append(set, c)
				seg.updatePos = append(seg.updatePos, i)
			}
		}
		seg.updatePos = append(seg.updatePos, seg.keyPos...)
		if seg.update, err = a.prepare(updateRowSQL(a.table.Name, set, a.key)); err != nil {
			return nil, err
		}
		seg.updateArgs = make([]driver.NamedValue, len(seg.updatePos))
		for i := range seg.updateArgs {
			seg.updateArgs[i].Ordinal = i + 1
		}
	}
	if seg.multi, err = a.prepare(writeSQL(a.table.Name, batchCols, pad, a.key, a.m.rowsPerWrite)); err != nil {
		return nil, err
	}
	seg.args = make([]driver.NamedValue, a.m.rowsPerWrite*len(cols))
	for i := range seg.args {
		seg.args[i].Ordinal = i + 1
	}
	if len(a.key) > 0 {
		seg.hasRest = len(batchCols) > len(a.key)
		if seg.existMulti, err = a.prepare(existingKeysSQL(a.table.Name, a.key, a.m.rowsPerWrite)); err != nil {
			return nil, err
		}
		if seg.existSingle, err = a.prepare(existingKeysSQL(a.table.Name, a.key, 1)); err != nil {
			return nil, err
		}
		seg.existArgs = make([]driver.NamedValue, a.m.rowsPerWrite*len(a.key))
		for i := range seg.existArgs {
			seg.existArgs[i].Ordinal = i + 1
		}
		if seg.insertMulti, err = a.prepare(writeSQL(a.table.Name, batchCols, pad, nil, a.m.rowsPerWrite)); err != nil {
			return nil, err
		}
		if seg.insertSingle, err = a.prepare(writeSQL(a.table.Name, batchCols, pad, nil, 1)); err != nil {
			return nil, err
		}
	}
	return seg, nil
}

func (a *applier) prepare(query string) (driverStmt, error) {
	s, err := a.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", query, err)
	}
	ds, ok := s.(driverStmt)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("the sqlite driver statement %T lacks ExecContext", s)
	}
	a.stmts = append(a.stmts, ds)
	return ds, nil
}

// flush writes the rows encoded into the current segment's arguments: a full group in one
// statement, fewer one by one.
func (a *applier) flush() error {
	seg := a.current
	if seg == nil || seg.pending == 0 {
		return nil
	}
	n := seg.pending
	seg.pending = 0
	width := len(seg.cols)
	defer func() {
		for i := range seg.args {
			seg.args[i].Value = nil // let the rows' values go
		}
	}()
	if n == a.m.rowsPerWrite {
		if err := a.write(seg, seg.args, n, seg.multi, seg.insertMulti, seg.existMulti); err != nil {
			return a.errorf("write rows %d to %d: %w", seg.firstRow, seg.firstRow+int64(n)-1, err)
		}
		return nil
	}
	for r := 0; r < n; r++ {
		args := seg.args[r*width : (r+1)*width]
		// Ordinals must count from 1 for the one-row statements.
		for i := range args {
			args[i].Ordinal = i + 1
		}
		err := a.write(seg, args, 1, seg.single, seg.insertSingle, seg.existSingle)
		for i := range args {
			args[i].Ordinal = r*width + i + 1
		}
		if err != nil {
			return a.errorf("write row %d: %w", seg.firstRow+int64(r), err)
		}
	}
	return nil
}

// write writes n rows whose values are in args and counts what they did. A keyless table takes
// plain inserts. A fresh table takes plain inserts too, until one meets a key that is there
// (the statement then changes nothing, as SQLite backs out a failed statement whole). Otherwise
// it counts the group's keys that exist, then upserts: the rest are inserts.
func (a *applier) write(seg *segment, args []driver.NamedValue, n int, upsert, insert, exist driverStmt) error {
	bg := context.Background()
	if len(a.key) == 0 {
		if _, err := upsert.ExecContext(bg, args); err != nil {
			return err
		}
		a.counts.Inserted += int64(n)
		return nil
	}
	if a.fresh {
		_, err := insert.ExecContext(bg, args)
		if err == nil {
			a.counts.Inserted += int64(n)
			return nil
		}
		if !isKeyConflict(err) {
			return err
		}
		a.fresh = false
	}
	existing, err := a.existingKeys(seg, args, n, exist)
	if err != nil {
		return err
	}
	if _, err := upsert.ExecContext(bg, args); err != nil {
		return err
	}
	inserted := a.distinctKeys(seg, args, n) - existing
	a.counts.Inserted += inserted
	if seg.hasRest {
		a.counts.Updated += int64(n) - inserted
	}
	return nil
}

// existingKeys counts the table's rows that have one of the keys of the n rows in args.
func (a *applier) existingKeys(seg *segment, args []driver.NamedValue, n int, exist driverStmt) (int64, error) {
	width, keys := len(seg.cols), len(seg.keyPos)
	for r := 0; r < n; r++ {
		for i, pos := range seg.keyPos {
			seg.existArgs[r*keys+i].Value = args[r*width+pos].Value
		}
	}
	defer func() {
		for i := range seg.existArgs[:n*keys] {
			seg.existArgs[i].Value = nil
		}
	}()
	rows, err := exist.(driver.StmtQueryContext).QueryContext(context.Background(), seg.existArgs[:n*keys])
	if err != nil {
		return 0, fmt.Errorf("count existing keys: %w", err)
	}
	defer rows.Close()
	dest := make([]driver.Value, 1)
	if err := rows.Next(dest); err != nil {
		return 0, fmt.Errorf("count existing keys: %w", err)
	}
	count, _ := dest[0].(int64)
	return count, nil
}

// distinctKeys counts the different keys among the n rows in args.
func (a *applier) distinctKeys(seg *segment, args []driver.NamedValue, n int) int64 {
	if n == 1 {
		return 1
	}
	if a.keySeen == nil {
		a.keySeen = make(map[string]struct{}, n)
	}
	clear(a.keySeen)
	width := len(seg.cols)
	for r := 0; r < n; r++ {
		buf := a.keyBuf[:0]
		for _, pos := range seg.keyPos {
			buf = appendKeyValue(buf, args[r*width+pos].Value)
		}
		a.keyBuf = buf
		a.keySeen[string(buf)] = struct{}{}
	}
	return int64(len(a.keySeen))
}

// appendKeyValue appends a stored key value with its storage class, so that values equal in
// SQLite (same class, same bytes) and only those append the same bytes.
func appendKeyValue(buf []byte, v any) []byte {
	switch x := v.(type) {
	case int64:
		buf = append(buf, 'i')
		buf = binary.BigEndian.AppendUint64(buf, uint64(x))
	case float64:
		if x == 0 {
			x = 0 // -0 is the key 0 to SQLite (and to SQL Server), not another key
		}
		buf = append(buf, 'f')
		buf = binary.BigEndian.AppendUint64(buf, math.Float64bits(x))
	case string:
		buf = append(buf, 's')
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(x)))
		buf = append(buf, x...)
	case []byte:
		buf = append(buf, 'b')
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(x)))
		buf = append(buf, x...)
	default:
		buf = fmt.Appendf(buf, "?%T:%v;", v, v)
	}
	return buf
}

// isKeyConflict reports whether err is SQLite refusing a row whose key is there already.
func isKeyConflict(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	code := se.Code()
	return code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || code == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// leavesOutNotNull reports whether a batch of these columns lacks a NOT NULL column.
func leavesOutNotNull(t schema.Table, cols []int) bool {
	for i, c := range t.Columns {
		if !c.Nullable && !slices.Contains(cols, i) {
			return true
		}
	}
	return false
}

func (a *applier) updateOrInsert(ctx context.Context, seg *segment, vals []bulk.Value, op bulk.Op) error {
	for i, pos := range seg.updatePos {
		v, err := seg.encoders[pos](vals[pos])
		if err != nil {
			return a.rowErrorf(op, "%w", err)
		}
		seg.updateArgs[i].Value = v
	}
	res, err := seg.update.ExecContext(ctx, seg.updateArgs)
	for i := range seg.updateArgs {
		seg.updateArgs[i].Value = nil
	}
	if err != nil {
		return a.rowErrorf(op, "update: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		if err == nil && seg.hasRest {
			a.counts.Updated++
		}
		return err
	}
	args := seg.args[:len(seg.cols)]
	for i, v := range vals {
		enc, err := seg.encoders[i](v)
		if err != nil {
			return a.rowErrorf(op, "%w", err)
		}
		args[i].Value = enc
	}
	_, err = seg.single.ExecContext(ctx, args)
	for i := range args {
		args[i].Value = nil
	}
	if err != nil {
		return a.rowErrorf(op, "insert of a row that leaves out a NOT NULL column: %w", err)
	}
	a.counts.Inserted++
	return nil
}

func (a *applier) deleteRow(ctx context.Context, seg *segment, vals []bulk.Value, op bulk.Op) error {
	if a.del == nil {
		var err error
		if a.del, err = a.prepare(deleteRowSQL(a.table.Name, a.key)); err != nil {
			return a.rowErrorf(op, "%w", err)
		}
		a.delArgs = make([]driver.NamedValue, len(a.key))
		for i := range a.delArgs {
			a.delArgs[i].Ordinal = i + 1
		}
	}
	for i, pos := range seg.keyPos {
		v, err := seg.encoders[pos](vals[pos])
		if err != nil {
			return a.rowErrorf(op, "%w", err)
		}
		if v == nil {
			return a.rowErrorf(op, "key column %s is NULL", a.table.Columns[seg.cols[pos]].Name)
		}
		a.delArgs[i].Value = v
	}
	res, err := a.del.ExecContext(ctx, a.delArgs)
	for i := range a.delArgs {
		a.delArgs[i].Value = nil
	}
	if err != nil {
		return a.rowErrorf(op, "delete: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return a.rowErrorf(op, "delete: %w", err)
	}
	a.counts.Deleted += n
	return nil
}
