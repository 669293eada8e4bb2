package pgsql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"unsafe"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/internal/freelist"
	"github.com/mirrord/mirrord/schema"
)

// Strategy knobs, fixed to the faster choice that BenchmarkApply measured (figures in
// apply_benchmark_test.go: MERGE 0.80 s, DELETE+UPDATE+INSERT 1.16 s, MERGE after ANALYZE 0.84 s,
// MERGE over row_number() 0.99 s, for 100k mixed rows over 300k), and BenchmarkStagingStrategies
// for the last two (BENCHMARKS.md); the benchmarks flip them.
var (
	// useMerge writes a staging table with one MERGE rather than DELETE + UPDATE + INSERT.
	useMerge = true
	// analyzeStage runs ANALYZE on each staging table before it is merged.
	analyzeStage = false
	// lastStateByWindow picks each key's last row with row_number() rather than DISTINCT ON.
	lastStateByWindow = false
	// distinctOnlyOnRepeats merges a staging table whose keys all differ in key order, without
	// DISTINCT ON; the loader tells from the keys it staged (keySet). Off: it saved at most 5%
	// of the server's time per change, within the noise of the measurements, and costs a hash
	// of every key on the client.
	distinctOnlyOnRepeats = false
	// reuseStage keeps each staging table in the connection's session instead of creating it
	// in each transaction and dropping it at commit.
	reuseStage = true
)

// Apply writes the rows into the table in one transaction on one connection, with the new LSN
// when opts.LSN reports one. It first locks the table's state row, which serializes applies of
// the table across processes, and checks that the table still has the schema the caller read.
// Rows go in segments of consecutive rows with the same columns. A keyless table takes inserts
// by COPY straight into it. A fresh table (opts.Fresh: created or wiped this cycle, inserts only
// since) takes COPY straight into it too, in chunks under savepoints, until a delete arrives or a
// chunk hits a duplicate key; from then on (the failed chunk included) rows go through staging:
// COPY into a temp table, then one MERGE of the last state of each key.
func (m *Mirror) Apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	counts, err := m.apply(ctx, table, rows, opts)
	if err != nil {
		return bulk.Counts{}, bulk.ForTable(table.Name, err)
	}
	return counts, nil
}

func (m *Mirror) apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	if err := checkTableNames(table); err != nil {
		return bulk.Counts{}, err
	}
	// The connection is held until the transaction has ended either way, so that a failed
	// commit can still forget the staging tables it would have kept (forgetStages).
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return bulk.Counts{}, err
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return bulk.Counts{}, err
	}
	var storedHash string
	var storedLSN int64
	var rewind bool
	err = tx.QueryRow(ctx, stateApplyLockSQL(m.state), table.Name).Scan(&storedHash, &storedLSN, &rewind)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		err = fmt.Errorf("the state table %s no longer lists it: %w", m.state.name, bulk.ErrSchemaChanged)
	case err != nil:
		err = fmt.Errorf("lock its state row: %w", err)
	case opts.Hash != "" && storedHash != opts.Hash:
		err = fmt.Errorf("its state holds schema %.12s, not %.12s: %w", storedHash, opts.Hash, bulk.ErrSchemaChanged)
	}
	if err != nil {
		rollback(ctx, tx)
		return bulk.Counts{}, err
	}
	a := &applier{
		m:         m,
		tx:        tx,
		rel:       m.rel(table.Name),
		table:     table,
		keyed:     len(table.Key()) > 0,
		direct:    opts.Fresh,
		chunkRows: m.chunkRows,
		cur:       bulk.Cursor{Rows: rows},
	}
	buffers, ok := copyBuffers.Get(nil)
	if !ok {
		buffers = &copyBuffer{}
	}
	a.streamBuf, a.chunk = buffers.stream, buffers.chunk
	defer func() {
		// Every COPY has ended (copyStream.close), so nothing reads the buffers any more.
		if cap(a.streamBuf) <= maxPooledBuffer && cap(a.chunk.buf) <= maxPooledBuffer {
			buffers.stream, buffers.chunk = a.streamBuf[:0], keptChunk{buf: a.chunk.buf[:0], rows: a.chunk.rows[:0]}
			copyBuffers.Put(buffers, buffers.size())
		}
	}()
	if err := a.run(ctx); err != nil {
		return a.fail(ctx, err)
	}
	lsn, hasLSN := int64(0), false
	if opts.LSN != nil {
		lsn, hasLSN = opts.LSN()
	}
	if hasLSN {
		if err := bulk.CheckLSN(table.Name, storedLSN, lsn, rewind); err != nil {
			return a.fail(ctx, err)
		}
	}
	if hasLSN || a.counts.Any() {
		c := a.counts
		if _, err := tx.Exec(ctx, stateAppliedSQL(m.state), table.Name, hasLSN, lsn, c.Inserted, c.Updated, c.Deleted); err != nil {
			return a.fail(ctx, fmt.Errorf("store LSN %d and counts: %w", lsn, err))
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return a.fail(ctx, fmt.Errorf("commit: %w", err))
	}
	return a.counts, nil
}

// fail rolls the apply's transaction back and returns err.
func (a *applier) fail(ctx context.Context, err error) (bulk.Counts, error) {
	if reuseStage {
		forgetStages(a.tx.Conn().PgConn())
	}
	rollback(ctx, a.tx)
	return bulk.Counts{}, err
}

// copyBuffers keeps the COPY buffers of finished applies for the next ones, so that the many
// applies of a repopulation do not each grow a chunk's buffer anew. It holds at most 32 MiB
// while idle: the buffers of a few applies at once of rows up to about 1 KB.
var copyBuffers = freelist.List[*copyBuffer]{Max: 32 << 20}

type copyBuffer struct {
	stream []byte
	chunk  keptChunk
}

// size is the bytes the buffers hold.
func (b *copyBuffer) size() int64 {
	return int64(cap(b.stream) + cap(b.chunk.buf) + cap(b.chunk.rows)*int(unsafe.Sizeof(keptRow{})))
}

// maxPooledBuffer is the largest buffer kept for reuse; the chunks of large values are left to
// the collector.
const maxPooledBuffer = 16 << 20

// segment is the column set of consecutive rows.
type segment struct {
	cols    []int        // table column indexes
	pad     []int        // columns the segment lacks that have a default: inserted as NULL
	names   []string     // their names, for COPY
	fields  []fieldCodec // their codecs
	checked bool         // the table's column types are known to match the codecs
	stage   *rel         // the segment's staging table, once created
}

type applier struct {
	m         *Mirror
	tx        pgx.Tx
	rel       rel // the table, schema-qualified
	table     schema.Table
	keyed     bool
	direct    bool // rows may still be copied straight into the table
	chunkRows int
	cur       bulk.Cursor
	counts    bulk.Counts
	stages    int
	segments  bulk.Segments[*segment]
	streamBuf []byte    // reused buffer of the COPY streams that do not keep their bytes
	chunk     keptChunk // reused storage of the direct chunk, kept for replay
	keys      keySet    // the keys of the rows staged for the next merge
}

// keptChunk is a direct chunk's COPY stream, kept whole so that its tuples can be replayed
// through staging on a duplicate key without converting the rows again.
type keptChunk struct {
	buf  []byte
	rows []keptRow
}

// keptRow is one tuple of a kept chunk: buf[start:end], and the row's number in the apply.
type keptRow struct {
	start, end int
	seq        int64
}

func (a *applier) run(ctx context.Context) error {
	for a.cur.Peek() {
		if err := ctx.Err(); err != nil {
			return err
		}
		seg, err := a.segment(a.cur.Rows.Columns())
		if err != nil {
			return err
		}
		switch {
		case !a.keyed:
			err = a.copyKeyless(ctx, seg)
		case a.direct && len(seg.pad) == 0: // a direct chunk replays into staging as it was copied
			err = a.copyDirect(ctx, seg)
		default:
			err = a.stage(ctx, seg, keptChunk{})
		}
		if err != nil {
			return err
		}
	}
	if err := a.cur.Rows.Err(); err != nil {
		return fmt.Errorf("reading rows (after row %d): %w", a.cur.N(), err)
	}
	return ctx.Err()
}

// segment returns the segment of a column list, checked (bulk.CheckColumns) and planned on
// first use.
func (a *applier) segment(cols []int) (*segment, error) {
	seg, err := a.segments.For(a.table, cols, func([]int) (*segment, error) {
		s := &segment{cols: append([]int(nil), cols...)}
		for _, ci := range cols {
			c := a.table.Columns[ci]
			codec, err := codecFor(c)
			if err != nil {
				return nil, err
			}
			s.names = append(s.names, c.Name)
			s.fields = append(s.fields, codec)
		}
		s.pad = bulk.OmittedDefaults(a.table, cols, columnDefault)
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("row %d: %w", a.cur.N(), err)
	}
	return seg, nil
}

// appendRow checks the current row (op, value count, NULLs) and appends its COPY tuple to buf:
// with staged, in staging layout (sequence number, delete flag, values). A delete keeps only
// its key values.
func (a *applier) appendRow(buf []byte, seg *segment, staged bool) ([]byte, bulk.Op, error) {
	op := a.cur.Rows.Op()
	switch op {
	case bulk.Insert, bulk.Update, bulk.Delete:
	default:
		return buf, op, fmt.Errorf("row %d has op %v; only I, U and D are known", a.cur.N(), op)
	}
	vals := a.cur.Rows.Values()
	if len(vals) != len(seg.cols) {
		return buf, op, fmt.Errorf("row %d has %d values for %d columns", a.cur.N(), len(vals), len(seg.cols))
	}
	if staged {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)+2))
		buf = appendInt8Field(buf, a.cur.N())
		buf = appendBoolField(buf, op == bulk.Delete)
	} else {
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(vals)+len(seg.pad)))
	}
	for i, v := range vals {
		f := &seg.fields[i]
		switch {
		case v == nil:
			if f.col.PrimaryKey || (op != bulk.Delete && !f.col.Nullable) {
				return buf, op, fmt.Errorf("column %s, row %d: NULL in a NOT NULL column", f.col.Name, a.cur.N())
			}
			buf = append(buf, nullField...)
		case op == bulk.Delete && !f.col.PrimaryKey:
			buf = append(buf, nullField...)
		default:
			var err error
			if buf, err = f.appendField(buf, v); err != nil {
				return buf, op, fmt.Errorf("column %s, row %d: %w", f.col.Name, a.cur.N(), err)
			}
		}
	}
	if !staged {
		for range seg.pad {
			buf = append(buf, nullField...)
		}
	}
	return buf, op, nil
}

// copyRows runs one COPY of the stream into table's columns and returns the stream's buffer
// for reuse. An error a row met comes before the server's report of it.
func (a *applier) copyRows(ctx context.Context, table rel, names []string, stream *copyStream) ([]byte, error) {
	_, err := a.tx.Conn().PgConn().CopyFrom(ctx, stream, copyFromSQL(table, names))
	if rowErr := stream.close(); rowErr != nil {
		return stream.buf, rowErr
	}
	return stream.buf, err
}

// checkTypes makes sure, once per segment and apply, that the table's columns have the types
// the codecs write: binary COPY does not convert, and a stale table model could otherwise put
// the bytes of one type into a column of another of the same width.
func (a *applier) checkTypes(ctx context.Context, seg *segment) error {
	if seg.checked {
		return nil
	}
	desc, err := a.tx.Conn().PgConn().Prepare(ctx, "", selectColumnsSQL(a.rel, seg.names), nil)
	if err != nil {
		return fmt.Errorf("describe the columns: %w", err)
	}
	for i, field := range desc.Fields {
		if want := seg.fields[i].oid; field.DataTypeOID != want {
			return fmt.Errorf("column %s has type %s in the database where %s needs %s; read the table again",
				seg.names[i], oidName(field.DataTypeOID), seg.fields[i].col.TypeString(), oidName(want))
		}
	}
	seg.checked = true
	return nil
}

// copyKeyless copies a segment of inserts straight into a keyless table.
func (a *applier) copyKeyless(ctx context.Context, seg *segment) error {
	if err := a.checkTypes(ctx, seg); err != nil {
		return err
	}
	feed := &directFeed{a: a, seg: seg}
	names := seg.names
	for _, ci := range seg.pad {
		names = append(slices.Clone(names), a.table.Columns[ci].Name)
	}
	var err error
	a.streamBuf, err = a.copyRows(ctx, a.rel, names, newCopyStream(feed, a.streamBuf, false))
	if err == nil {
		a.counts.Add(feed.counts)
	}
	return err
}

// copyDirect copies rows of a segment straight into the empty table, a chunk at a time under a
// savepoint. On a duplicate key the chunk is rolled back and goes, with every row after it,
// through staging; a delete also ends the direct path, since it may remove a row copied before.
func (a *applier) copyDirect(ctx context.Context, seg *segment) error {
	if err := a.checkTypes(ctx, seg); err != nil {
		return err
	}
	for a.direct && a.cur.PeekColumns(seg.cols) {
		savepoint, err := a.tx.Begin(ctx)
		if err != nil {
			return err
		}
		feed := &directFeed{a: a, seg: seg, limit: a.chunkRows, kept: a.chunk.rows[:0]}
		a.chunk.buf, err = a.copyRows(ctx, a.rel, seg.names, newCopyStream(feed, a.chunk.buf, true))
		a.chunk.rows = feed.kept
		if err != nil {
			if !isCode(err, "23505") {
				return err
			}
			if err := savepoint.Rollback(ctx); err != nil {
				return err
			}
			a.direct = false
			return a.stage(ctx, seg, a.chunk)
		}
		if err := savepoint.Commit(ctx); err != nil {
			return err
		}
		// Rows copied straight into the table are real inserts once their chunk holds.
		a.counts.Add(feed.counts)
		if feed.sawDelete {
			a.direct = false
		}
	}
	return nil
}

// directFeed writes tuples for COPY into the table itself from the cursor, up to limit rows
// (0: no limit) of the segment. With a limit (a chunk), it notes where each tuple lies in the
// kept stream, to replay it through staging.
type directFeed struct {
	a         *applier
	seg       *segment
	limit     int
	n         int
	kept      []keptRow
	sawDelete bool
	counts    bulk.Counts
}

func (f *directFeed) appendTuple(buf []byte) ([]byte, bool, error) {
	a := f.a
	if f.limit > 0 && f.n >= f.limit || !a.cur.PeekColumns(f.seg.cols) {
		return buf, false, nil
	}
	op := a.cur.Rows.Op()
	if !a.keyed && op != bulk.Insert {
		return buf, false, fmt.Errorf("row %d is an %s: %w", a.cur.N(), opName(op), bulk.ErrNoKey)
	}
	if op == bulk.Delete {
		f.sawDelete = true
		return buf, false, nil
	}
	start := len(buf)
	buf, _, err := a.appendRow(buf, f.seg, false)
	if err != nil {
		return buf[:start], false, err
	}
	if f.limit > 0 {
		f.kept = append(f.kept, keptRow{start: start, end: len(buf), seq: a.cur.N()})
	}
	f.counts.Inserted++ // copied straight in: a new row, whatever its op tag
	a.cur.Take()
	f.n++
	return buf, true, nil
}

func opName(op bulk.Op) string {
	switch op {
	case bulk.Update:
		return "update"
	case bulk.Delete:
		return "delete"
	}
	return "insert"
}

// stage loads the rest of a segment (after the replayed rows) into a staging table and merges
// the last state of each key into the table.
func (a *applier) stage(ctx context.Context, seg *segment, replay keptChunk) error {
	if err := a.prepareStage(ctx, seg); err != nil {
		return err
	}
	stage := *seg.stage
	cols := append([]string{"#seq", "#del"}, seg.names...)
	a.keys.reset(seg)
	feed := &stageFeed{a: a, seg: seg, replay: replay}
	var err error
	if a.streamBuf, err = a.copyRows(ctx, stage, cols, newCopyStream(feed, a.streamBuf, false)); err != nil {
		if feed.rowErr {
			return err
		}
		return fmt.Errorf("copy into staging: %w", err)
	}
	var stmts []string
	if analyzeStage {
		stmts = append(stmts, analyzeSQL(stage))
	}
	unique := distinctOnlyOnRepeats && a.keys.unique()
	if useMerge {
		stmts = append(stmts, mergeSQL(a.rel, a.table, stage, seg.cols, seg.pad, unique))
	} else {
		stmts = append(stmts, threeStatementSQL(a.rel, a.table, stage, seg.cols, seg.pad, unique)...)
	}
	// Each column set has one staging table, emptied after each merge: rows whose columns
	// alternate do not pile up tables (and their locks) until commit, and a table kept in the
	// session is empty when the next transaction finds it.
	stmts = append(stmts, truncateSQL([]rel{stage}))
	if err := a.merge(ctx, stmts, feed.counts); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return nil
}

// prepareStage makes sure the segment's staging table exists: created in this transaction and
// dropped at commit, or kept in the session (sessionStage).
func (a *applier) prepareStage(ctx context.Context, seg *segment) error {
	if seg.stage != nil {
		return nil
	}
	if reuseStage {
		return a.sessionStage(ctx, seg)
	}
	a.stages++
	stage := stageRel(a.stages)
	create, err := createStageSQL(stage, a.table, seg.cols)
	if err != nil {
		return err
	}
	if _, err := a.tx.Exec(ctx, create); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	seg.stage = &stage
	return nil
}

// sessionStage finds or creates the session's staging table of a segment's columns, dropping
// the least recently used ones beyond maxSessionStages.
func (a *applier) sessionStage(ctx context.Context, seg *segment) error {
	stage, create, err := createSessionStageSQL(a.table, seg.cols)
	if err != nil {
		return err
	}
	stages, err := stagesOf(ctx, a.tx)
	if err != nil {
		return err
	}
	exists, drop := stages.use(stage.name)
	var stmts []string
	for _, name := range drop {
		stmts = append(stmts, dropTableSQL(rel{"pg_temp", name}))
	}
	if !exists {
		stmts = append(stmts, create)
	}
	if err := execAll(ctx, a.tx, stmts); err != nil {
		return fmt.Errorf("create staging table: %w", err)
	}
	seg.stage = &stage
	return nil
}

// merge runs the merge statements and adds what they did to the apply's counts: the table's
// per-transaction statistics read before and after, in the same round trip. Where PostgreSQL
// keeps no statistics (track_counts off), the staged rows' op tags count instead.
func (a *applier) merge(ctx context.Context, stmts []string, byTag bulk.Counts) error {
	if !a.m.countsTracked {
		if err := execAll(ctx, a.tx, stmts); err != nil {
			return err
		}
		a.counts.Add(byTag)
		return nil
	}
	qualified := a.rel.String()
	batch := &pgx.Batch{}
	var before, after bulk.Counts
	batch.Queue(changesSQL, qualified).QueryRow(func(row pgx.Row) error {
		return row.Scan(&before.Inserted, &before.Updated, &before.Deleted)
	})
	for _, s := range stmts {
		batch.Queue(s)
	}
	batch.Queue(changesSQL, qualified).QueryRow(func(row pgx.Row) error {
		return row.Scan(&after.Inserted, &after.Updated, &after.Deleted)
	})
	if err := a.tx.SendBatch(ctx, batch).Close(); err != nil {
		return err
	}
	a.counts.Add(bulk.Counts{Inserted: after.Inserted - before.Inserted, Updated: after.Updated - before.Updated, Deleted: after.Deleted - before.Deleted})
	return nil
}

// stageFeed writes tuples for COPY into a staging table: first the replayed tuples of a direct
// chunk, with their sequence numbers, then the segment's rows from the cursor.
type stageFeed struct {
	a      *applier
	seg    *segment
	replay keptChunk
	rowErr bool        // a row, not the server, failed the COPY
	counts bulk.Counts // the staged rows by their op tags
}

func (f *stageFeed) appendTuple(buf []byte) ([]byte, bool, error) {
	if len(f.replay.rows) > 0 {
		r := f.replay.rows[0]
		f.replay.rows = f.replay.rows[1:]
		start := len(buf)
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(f.seg.cols)+2))
		buf = appendInt8Field(buf, r.seq)
		buf = appendBoolField(buf, false)
		f.counts.Inserted++
		buf = append(buf, f.replay.buf[r.start+2:r.end]...) // past the field count
		f.a.keys.add(buf[start:])
		return buf, true, nil
	}
	a := f.a
	if !a.cur.PeekColumns(f.seg.cols) {
		return buf, false, nil
	}
	start := len(buf)
	buf, op, err := a.appendRow(buf, f.seg, true)
	if err != nil {
		f.rowErr = true
		return buf[:start], false, err
	}
	f.counts.Count(op)
	a.keys.add(buf[start:])
	a.cur.Take()
	return buf, true, nil
}
