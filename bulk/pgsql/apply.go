package pgsql

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
	a := &applier{
		m:         m,
		conn:      conn.Conn(),
		rel:       m.rel(table.Name),
		table:     table,
		keyed:     len(table.Key()) > 0,
		direct:    opts.Fresh,
		chunkRows: m.chunkRows,
		cur:       bulk.Cursor{Rows: rows},
	}
	storedLSN, rewind, err := a.begin(ctx, opts.Hash)
	if err != nil {
		return a.fail(ctx, err)
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
	if err := a.commit(ctx, hasLSN, lsn); err != nil {
		return a.fail(ctx, err)
	}
	return a.counts, nil
}

// The transaction of an apply is begun and committed by batches (pipelined statements, one
// round trip each) rather than through pgx.Tx, which spends a round trip on BEGIN, on each
// savepoint and its release, and on COMMIT: a database across a network pays every one of them
// on every RowData call. Nothing here is cached between calls.

// begin starts the apply's transaction in one round trip: BEGIN, the lock on the table's state
// row (which serializes applies of the table across processes) with its stored schema hash, LSN
// and rewind flag, and, for rows copied straight into the table, the types its columns hold and
// the savepoint of the first chunk. It checks that the table still has the schema the caller
// read (hash).
func (a *applier) begin(ctx context.Context, hash string) (storedLSN int64, rewind bool, err error) {
	m := a.m
	var storedHash string
	found := false
	batch := &pgx.Batch{}
	batch.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	batch.Queue(stateApplyLockSQL(m.state), a.table.Name).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			found = true
			if err := rows.Scan(&storedHash, &storedLSN, &rewind); err != nil {
				return err
			}
		}
		return rows.Err()
	})
	copiesIn := !a.keyed || a.direct
	if copiesIn {
		// The lock COPY takes anyway, taken before the types are read, so that no ALTER of the
		// table can commit between the check and the COPY (a describe used to hold it by
		// parsing a SELECT of the table; a catalog read takes no lock on it).
		batch.Queue(lockForCopySQL(a.rel))
		a.columnTypes = map[string]uint32{}
		batch.Queue(columnTypesSQL, a.rel.String()).Query(func(rows pgx.Rows) error {
			var name string
			var oid uint32
			_, err := pgx.ForEachRow(rows, []any{&name, &oid}, func() error {
				a.columnTypes[name] = oid
				return nil
			})
			return err
		})
	}
	if a.keyed && a.direct {
		batch.Queue(savepointSQL)
		a.savepoint = savepointUnused
	}
	err = a.conn.SendBatch(ctx, batch).Close()
	switch {
	case err != nil && copiesIn && isCode(err, "42P01"):
		return 0, false, fmt.Errorf("the table is not in database %s (dropped by hand?); the next TableSchema call creates it again", m.database)
	case err != nil:
		return 0, false, fmt.Errorf("begin, and lock its state row: %w", err)
	case !found:
		return 0, false, fmt.Errorf("the state table %s no longer lists it: %w", m.state.name, bulk.ErrSchemaChanged)
	case hash != "" && storedHash != hash:
		return 0, false, fmt.Errorf("its state holds schema %.12s, not %.12s: %w", storedHash, hash, bulk.ErrSchemaChanged)
	}
	return storedLSN, rewind, nil
}

// commit stores the LSN and the counts in the table's state row and commits, in one round trip.
// A transaction that failed before its COMMIT answers ROLLBACK to it, not an error: that is
// checked, as pgx.Tx.Commit does.
func (a *applier) commit(ctx context.Context, hasLSN bool, lsn int64) error {
	batch := &pgx.Batch{}
	if hasLSN || a.counts.Any() {
		c := a.counts
		batch.Queue(stateAppliedSQL(a.m.state), a.table.Name, hasLSN, lsn, c.Inserted, c.Updated, c.Deleted)
	}
	var tag pgconn.CommandTag
	batch.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct
		return nil
	})
	if err := a.conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("store LSN %d and counts, and commit: %w", lsn, err)
	}
	if tag.String() != "COMMIT" {
		return fmt.Errorf("commit: the server answered %q: %w", tag.String(), pgx.ErrTxCommitRollback)
	}
	return nil
}

// fail rolls the apply's transaction back and returns err. A connection the rollback cannot
// end the transaction on is closed, so that the pool does not hand it out again.
func (a *applier) fail(ctx context.Context, err error) (bulk.Counts, error) {
	if reuseStage {
		forgetStages(a.conn.PgConn())
	}
	if a.conn.PgConn().TxStatus() != 'I' {
		if _, rbErr := a.conn.Exec(context.WithoutCancel(ctx), "ROLLBACK"); rbErr != nil {
			_ = a.conn.Close(context.WithoutCancel(ctx))
		}
	}
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
	conn      *pgx.Conn // in the apply's transaction
	rel       rel       // the table, schema-qualified
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
	// columnTypes are the type OIDs of the table's columns by name, read as the transaction
	// began, for rows copied straight into the table; nil otherwise.
	columnTypes map[string]uint32
	savepoint   savepointState
}

// savepointState is where the direct path's savepoint stands.
type savepointState int

const (
	noSavepoint     savepointState = iota
	savepointUnused                // taken as the transaction began; nothing written since
	savepointUsed                  // rows have been written under it: a chunk needs a new one
)

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
		case v.IsNull():
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
	_, err := a.conn.PgConn().CopyFrom(ctx, stream, copyFromSQL(table, names))
	if rowErr := stream.close(); rowErr != nil {
		return stream.buf, rowErr
	}
	return stream.buf, err
}

// checkTypes makes sure, once per segment and apply, that the table's columns have the types
// the codecs write: binary COPY does not convert, and a stale table model could otherwise put
// the bytes of one type into a column of another of the same width. The types were read from
// the catalog as the transaction began, under the table's lock.
func (a *applier) checkTypes(seg *segment) error {
	if seg.checked {
		return nil
	}
	for i, name := range seg.names {
		want := seg.fields[i].oid
		got, ok := a.columnTypes[name]
		switch {
		case !ok:
			return fmt.Errorf("column %s is not in the table in the database; read the table again", name)
		case got != want:
			return fmt.Errorf("column %s has type %s in the database where %s needs %s; read the table again",
				name, oidName(got), seg.fields[i].col.TypeString(), oidName(want))
		}
	}
	seg.checked = true
	return nil
}

// copyKeyless copies a segment of inserts straight into a keyless table.
func (a *applier) copyKeyless(ctx context.Context, seg *segment) error {
	if err := a.checkTypes(seg); err != nil {
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
	if err := a.checkTypes(seg); err != nil {
		return err
	}
	for a.direct && a.cur.PeekColumns(seg.cols) {
		if err := a.takeSavepoint(ctx); err != nil {
			return err
		}
		feed := &directFeed{a: a, seg: seg, limit: a.chunkRows, kept: a.chunk.rows[:0]}
		var err error
		a.chunk.buf, err = a.copyRows(ctx, a.rel, seg.names, newCopyStream(feed, a.chunk.buf, true))
		a.chunk.rows = feed.kept
		if err != nil {
			if !isCode(err, "23505") {
				return err
			}
			if _, err := a.conn.Exec(ctx, rollbackToSavepointSQL); err != nil {
				return err
			}
			a.direct = false
			return a.stage(ctx, seg, a.chunk)
		}
		// Rows copied straight into the table are real inserts once their chunk holds.
		a.counts.Add(feed.counts)
		if feed.sawDelete {
			a.direct = false
		}
	}
	return nil
}

// takeSavepoint readies the savepoint of the next direct chunk: the one taken as the transaction
// began, or a new one in the place of the last chunk's (released, so that subtransactions do not
// pile up in a long call). The last one is released by COMMIT.
func (a *applier) takeSavepoint(ctx context.Context) error {
	sql := savepointSQL
	switch a.savepoint {
	case savepointUnused:
		a.savepoint = savepointUsed
		return nil
	case savepointUsed:
		sql = releaseSavepointSQL + ";\n" + savepointSQL
	}
	if _, err := a.conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("savepoint of a chunk: %w", err)
	}
	a.savepoint = savepointUsed
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
	// What this writes (the staging table, the merged rows) comes after the savepoint taken as
	// the transaction began: a direct chunk after it needs a savepoint of its own, or its
	// rollback on a duplicate key would undo this merge too, and the call commit without it.
	if a.savepoint == savepointUnused {
		a.savepoint = savepointUsed
	}
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
	if _, err := a.conn.Exec(ctx, create); err != nil {
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
	stages, err := stagesOf(ctx, a.conn)
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
	if err := execAll(ctx, a.conn, stmts); err != nil {
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
		if err := execAll(ctx, a.conn, stmts); err != nil {
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
	if err := a.conn.SendBatch(ctx, batch).Close(); err != nil {
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
