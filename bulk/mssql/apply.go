package mssql

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"

	mssqldb "github.com/microsoft/go-mssqldb"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// brokenSession marks an error after which the session cannot be trusted (a bulk copy stopped
// half way on the wire): it is destroyed, never returned to the pool.
type brokenSession struct{ err error }

func (b *brokenSession) Error() string { return b.err.Error() }
func (b *brokenSession) Unwrap() error { return b.err }

// Apply writes the rows into the table in one T-SQL transaction on one pinned session, with the
// new LSN when opts.LSN reports one. Rows go in segments of consecutive rows with the same
// columns. Keyed tables load each segment by bulk copy into a #staging heap and MERGE the last
// state of each key into the table. A fresh table (opts.Fresh: created or wiped this cycle,
// inserts only since) takes bulk copy straight into the table with TABLOCK instead, and a
// keyless table without TABLOCK (doc.go says why), until a row arrives that cannot go that way (a delete, a non-ASCII string for a varchar column) or, for a keyed table, a chunk hits
// a duplicate key (rolled back to its savepoint and replayed through staging).
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
	var counts bulk.Counts
	err := m.inTx(ctx, func(c *sql.Conn) error {
		// The state row's update lock serializes applies of the table, and its migrations,
		// across processes; the hash under it says the caller's model is still the table's.
		var storedHash string
		var storedLSN int64
		var rewind bool
		err := c.QueryRowContext(ctx, stateApplyLockSQL(m.state), table.Name).Scan(&storedHash, &storedLSN, &rewind)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("the state table %s no longer lists it: %w", m.state, bulk.ErrSchemaChanged)
		case err != nil:
			return fmt.Errorf("lock its state row: %w", err)
		case opts.Hash != "" && storedHash != opts.Hash:
			return fmt.Errorf("its state holds schema %.12s, not %.12s: %w", storedHash, opts.Hash, bulk.ErrSchemaChanged)
		}
		coll, err := m.stagingCollations(ctx, c, table)
		if err != nil {
			return err
		}
		a := &applier{
			conn:      c,
			coll:      coll,
			table:     table,
			keyed:     len(table.Key()) > 0,
			direct:    opts.Fresh,
			chunkRows: m.chunkRows,
			cur:       bulk.Cursor{Rows: rows},
		}
		if err := a.run(ctx); err != nil {
			return err
		}
		lsn, hasLSN := int64(0), false
		if opts.LSN != nil {
			lsn, hasLSN = opts.LSN()
		}
		if hasLSN {
			if err := bulk.CheckLSN(table.Name, storedLSN, lsn, rewind); err != nil {
				return err
			}
		}
		if hasLSN || a.counts.Any() {
			k := a.counts
			if _, err := c.ExecContext(ctx, stateAppliedSQL(m.state), table.Name, hasLSN, lsn, k.Inserted, k.Updated, k.Deleted); err != nil {
				return fmt.Errorf("store LSN %d and counts: %w", lsn, err)
			}
		}
		// A #table outlives a commit on its session, and the session goes back to the pool.
		for _, seg := range a.segments {
			if seg.stage != "" {
				if _, err := c.ExecContext(ctx, dropStageSQL(seg.stage)); err != nil {
					return fmt.Errorf("drop staging table: %w", err)
				}
			}
		}
		counts = a.counts
		m.lastApply.Store(&applyPaths{direct: a.directRows, staged: a.stagedRows, replays: a.replays})
		return nil
	})
	return counts, err
}

// applyPaths is what the last committed apply of a mirror did, by path (applier's counters).
type applyPaths struct {
	direct, staged int64
	replays        int
}

// stagingCollations names the collations that staging and merge need for a table's columns:
// its character key columns' and, where the database cannot hold text or ntext, those columns',
// as the catalog shows them (a table made by an earlier version, or before the database's
// collation changed, keeps its own). A table that needs none costs no query.
func (m *Mirror) stagingCollations(ctx context.Context, c *sql.Conn, table schema.Table) (map[string]string, error) {
	need := false
	for _, col := range table.Columns {
		if col.PrimaryKey && isCharacter(col.Type) || m.coll.legacy != "" && (col.Type == schema.Text || col.Type == schema.NText) {
			need = true
		}
	}
	if !need {
		return nil, nil
	}
	rows, err := c.QueryContext(ctx, columnCollationsSQL, qualified(table.Name))
	if err != nil {
		return nil, fmt.Errorf("read its columns' collations: %w", err)
	}
	defer rows.Close()
	actual := map[string]string{}
	for rows.Next() {
		var name, collation string
		if err := rows.Scan(&name, &collation); err != nil {
			return nil, err
		}
		actual[name] = collation
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return m.coll.columnCollations(table, actual)
}

// segment is the column set of consecutive rows.
type segment struct {
	cols       []int
	names      []string    // exact column names: bulk copy matches them with case
	direct     []converter // into the table's own columns
	staged     []converter // into staging columns
	directSafe bool        // every column may be bulk-copied straight into the table
	stage      string      // the segment's staging table, once created
}

type applier struct {
	conn      *sql.Conn
	coll      map[string]string // the collations staging and merge name, by column (columnCollations)
	table     schema.Table
	keyed     bool
	direct    bool // a keyed table is still empty of anything but this apply's direct rows
	chunkRows int
	cur       bulk.Cursor
	counts    bulk.Counts
	stages    int
	chunks    int
	segments  bulk.Segments[*segment]
	// What the apply did, for the live tests that must know which path ran: rows committed to
	// their chunk on the direct path, rows copied into staging, chunks replayed through staging
	// after a duplicate key.
	directRows, stagedRows int64
	replays                int
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
		case !a.keyed && seg.directSafe:
			err = a.copyKeyless(ctx, seg)
		case a.keyed && a.direct && seg.directSafe:
			err = a.copyDirect(ctx, seg)
		default:
			err = a.stage(ctx, seg, nil)
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
		s := &segment{cols: append([]int(nil), cols...), directSafe: true}
		for _, ci := range cols {
			c := a.table.Columns[ci]
			direct, err := converterFor(c, true)
			if err != nil {
				return nil, err
			}
			staged, err := converterFor(c, false)
			if err != nil {
				return nil, err
			}
			s.names = append(s.names, c.Name)
			s.direct = append(s.direct, direct)
			s.staged = append(s.staged, staged)
			s.directSafe = s.directSafe && directSafe(c)
		}
		// Bulk copy gives a column it is not sent its default; such a segment goes through
		// staging, whose insert names the column with NULL (omittedDefaults).
		if len(omittedDefaults(a.table, cols)) > 0 {
			s.directSafe = false
		}
		return s, nil
	})
	if err != nil {
		return nil, fmt.Errorf("row %d: %w", a.cur.N(), err)
	}
	return seg, nil
}

// convert checks the current row (op, value count) and converts its values into dst with convs.
// A delete keeps only its key values.
func (a *applier) convert(seg *segment, convs []converter, dst []any) (bulk.Op, error) {
	op := a.cur.Rows.Op()
	switch op {
	case bulk.Insert, bulk.Update, bulk.Delete:
	default:
		return op, fmt.Errorf("row %d has op %v; only I, U and D are known", a.cur.N(), op)
	}
	if !a.keyed && op != bulk.Insert {
		return op, fmt.Errorf("row %d is an %s: %w", a.cur.N(), opName(op), bulk.ErrNoKey)
	}
	vals := a.cur.Rows.Values()
	if len(vals) != len(seg.cols) {
		return op, fmt.Errorf("row %d has %d values for %d columns", a.cur.N(), len(vals), len(seg.cols))
	}
	for i, v := range vals {
		c := &a.table.Columns[seg.cols[i]]
		switch {
		case v.IsNull():
			if c.PrimaryKey || (op != bulk.Delete && !c.Nullable) {
				return op, fmt.Errorf("column %s, row %d: NULL in a NOT NULL column", c.Name, a.cur.N())
			}
			dst[i] = nil
		case op == bulk.Delete && !c.PrimaryKey:
			dst[i] = nil
		default:
			// The converters take the value as its Go type: go-mssqldb's bulk copy takes a row
			// as []any (Bulk.AddRow), so each value is boxed on its way to the driver anyway.
			cv, err := convs[i](v.Any())
			if errors.Is(err, errNotDirect) {
				return op, err
			}
			if err != nil {
				return op, fmt.Errorf("column %s, row %d: %w", c.Name, a.cur.N(), err)
			}
			dst[i] = cv
		}
	}
	return op, nil
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

// bulkCopy streams rows from next into a table by go-mssqldb's bulk copy on the pinned session.
func (a *applier) bulkCopy(ctx context.Context, into string, names []string, tablock bool, next func() ([]any, bool, error)) error {
	return a.conn.Raw(func(driverConn any) error {
		conn, ok := driverConn.(*mssqldb.Conn)
		if !ok {
			return fmt.Errorf("bulk copy needs a go-mssqldb connection, not %T", driverConn)
		}
		b := conn.CreateBulkContext(ctx, into, names)
		b.Options.Tablock = tablock
		b.Options.KeepNulls = true
		return copyRows(b, into, a.cur.N, next)
	})
}

// bulkWriter is the part of go-mssqldb's *Bulk that copyRows uses.
type bulkWriter interface {
	AddRow(row []any) error
	Done() (int64, error)
}

// copyRows adds the rows of next to a bulk copy and ends it, and checks the row count the
// server reports against the rows sent, since a short count has been seen to pass silently.
// rowNo numbers the current row for errors.
//
// However the copy stops, Done ends it. go-mssqldb sends INSERT BULK on the first AddRow
// ((*Bulk).AddRow, (*Bulk).sendBulkCommand), and from then on the server waits for the
// bulk data: a session that sends anything else first gets its batch refused (error 4022,
// "Bulk load data was expected but not sent") and its rollback with it, which left the
// session's transaction and the load's table lock open. Done sends what the load still lacks
// (the rows it holds, then DONE) and reads the reply ((*Bulk).Done); it does nothing when
// INSERT BULK was never sent (Done's headerSent check). A failed AddRow leaves no part of its row
// on the wire: the row is encoded into a buffer of its own first ((*Bulk).makeRowData), so a
// failed conversion of row 1 or of row n ends a valid load of the rows before it, which the
// caller's rollback then undoes. Only a Done that fails leaves the session in doubt: brokenSession.
func copyRows(b bulkWriter, into string, rowNo func() int64, next func() ([]any, bool, error)) error {
	var sent int64
	for {
		row, ok, err := next()
		if err != nil {
			if _, derr := b.Done(); derr != nil {
				return &brokenSession{fmt.Errorf("%w; then ending the bulk copy: %v", err, derr)}
			}
			return err
		}
		if !ok {
			break
		}
		if err := b.AddRow(row); err != nil {
			err = fmt.Errorf("bulk copy into %s, row %d: %w", into, rowNo(), err)
			if sent == 0 {
				// The first AddRow also reads the table's metadata and matches the names.
				err = fmt.Errorf("%w (bulk copy matches column names with case: the table's catalog names must be used)", err)
			}
			if _, derr := b.Done(); derr != nil {
				return &brokenSession{fmt.Errorf("%w; then ending the bulk copy: %v", err, derr)}
			}
			return err
		}
		sent++
	}
	n, err := b.Done()
	if err != nil {
		return err
	}
	if n != sent {
		return fmt.Errorf("bulk copy into %s: the server reports %d rows, %d were sent", into, n, sent)
	}
	return nil
}

// copyKeyless copies a segment of inserts straight into a keyless table, until a row needs
// staging; the rest of the segment then goes through staging.
func (a *applier) copyKeyless(ctx context.Context, seg *segment) error {
	row := make([]any, len(seg.cols))
	diverted := false
	var sent bulk.Counts
	err := a.bulkCopy(ctx, bulkTarget(a.table.Name), seg.names, false, func() ([]any, bool, error) {
		if !a.cur.PeekColumns(seg.cols) {
			return nil, false, nil
		}
		op, err := a.convert(seg, seg.direct, row)
		if errors.Is(err, errNotDirect) {
			diverted = true
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		sent.Count(op)
		a.cur.Take()
		return row, true, nil
	})
	if err == nil {
		a.counts.Add(sent) // a keyless table takes inserts only
		a.directRows += sent.Inserted
	}
	if err != nil || !diverted {
		return err
	}
	return a.stage(ctx, seg, nil)
}

// copyDirect copies rows of a segment straight into the empty table, a chunk at a time under a
// savepoint. On a duplicate key the chunk is rolled back and goes, with every row after it,
// through staging; a delete, or a value that cannot go straight in, also ends the direct path.
func (a *applier) copyDirect(ctx context.Context, seg *segment) error {
	row := make([]any, len(seg.cols))
	for a.direct && a.cur.PeekColumns(seg.cols) {
		a.chunks++
		savepoint := fmt.Sprintf("mirrord_direct_%d", a.chunks)
		if _, err := a.conn.ExecContext(ctx, saveSQL(savepoint)); err != nil {
			return err
		}
		var kept [][]any
		var chunkCounts bulk.Counts
		stop := false
		n := 0
		err := a.bulkCopy(ctx, bulkTarget(a.table.Name), seg.names, true, func() ([]any, bool, error) {
			if n >= a.chunkRows || !a.cur.PeekColumns(seg.cols) {
				return nil, false, nil
			}
			if a.cur.Rows.Op() == bulk.Delete {
				stop = true
				return nil, false, nil
			}
			_, err := a.convert(seg, seg.direct, row)
			if errors.Is(err, errNotDirect) {
				stop = true
				return nil, false, nil
			}
			if err != nil {
				return nil, false, err
			}
			keep := make([]any, 0, len(row)+2)
			keep = append(keep, a.cur.N(), false)
			for _, v := range row {
				if b, ok := v.([]byte); ok {
					v = bytes.Clone(b) // the decoder may reuse its buffer after Next
				}
				keep = append(keep, v)
			}
			kept = append(kept, keep)
			chunkCounts.Inserted++ // copied straight in: a new row, whatever its op tag
			a.cur.Take()
			n++
			return row, true, nil
		})
		if err != nil {
			if !isError(err, errDuplicateKey, errDuplicateIndex) {
				return err
			}
			state := 0
			serr := a.conn.QueryRowContext(ctx, xactStateSQL).Scan(&state)
			if directFallback(state, serr) == giveUpFresh {
				// withConn's rollback undoes the whole transaction; the engine applies the
				// table through staging from now on (bulk.ErrNotFresh), and the sender's
				// retry of this batch goes that way.
				if serr != nil {
					return fmt.Errorf("%w: %w (reading XACT_STATE: %w)", bulk.ErrNotFresh, err, serr)
				}
				return fmt.Errorf("%w: %w (XACT_STATE %d: the transaction cannot go on, so the rows cannot be replayed through staging within it)", bulk.ErrNotFresh, err, state)
			}
			if _, err := a.conn.ExecContext(ctx, rollbackToSQL(savepoint)); err != nil {
				return err
			}
			a.direct = false
			a.replays++
			return a.stage(ctx, seg, kept)
		}
		a.directRows += int64(n)
		a.counts.Add(chunkCounts)
		if stop {
			a.direct = false
		}
	}
	return nil
}

// fallback is what a direct chunk that met an existing key (2627 or 2601) does next.
type fallback int

const (
	// replayChunk: roll back to the chunk's savepoint and replay its rows through staging, in
	// the same transaction.
	replayChunk fallback = iota
	// giveUpFresh: roll back the whole apply and fail it with bulk.ErrNotFresh.
	giveUpFresh
)

// directFallback decides from XACT_STATE() read after the duplicate key (and the error of
// reading it). The replay needs a transaction that can go on (1). That a duplicate key inside
// INSERT BULK leaves it so is not documented: with XACT_ABORT OFF (sessionSetupSQL) a duplicate
// key ends only its statement in a plain INSERT, but "depending upon the severity of the error,
// the entire transaction may be rolled back even when SET XACT_ABORT is OFF" (SET XACT_ABORT),
// and old documentation (KB 69131, "Implicit rollbacks of transactions") lists errors in bulk
// copy among those that abort the transaction. A doomed (-1) or ended (0) transaction, or a state
// that could not be read, gives up: nothing of the apply is written, and the engine stops
// loading the table as fresh, so that the sender's retry of the batch, which would meet the same
// key the same way, goes through staging.
func directFallback(xactState int, readErr error) fallback {
	if readErr == nil && xactState == 1 {
		return replayChunk
	}
	return giveUpFresh
}

// stage loads the rest of a segment (after the replayed rows, which are in staging layout:
// sequence number, delete flag, values) into the segment's #staging table and merges the last
// state of each key into the table (appends, for a keyless table).
func (a *applier) stage(ctx context.Context, seg *segment, replay [][]any) error {
	a.direct = false
	if seg.stage == "" {
		a.stages++
		name := stageName(a.stages)
		if _, err := a.conn.ExecContext(ctx, dropStaleStageSQL(name)+";\n"+createStageSQL(name, a.table, seg.cols, a.coll)); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		seg.stage = name
	}
	names := append([]string{"#seq", "#del"}, seg.names...)
	own := make([]any, len(names))
	staged := int64(len(replay))
	err := a.bulkCopy(ctx, seg.stage, names, true, func() ([]any, bool, error) {
		if len(replay) > 0 {
			row := replay[0]
			replay = replay[1:]
			return row, true, nil
		}
		if !a.cur.PeekColumns(seg.cols) {
			return nil, false, nil
		}
		op, err := a.convert(seg, seg.staged, own[2:])
		if err != nil {
			return nil, false, err
		}
		own[0], own[1] = a.cur.N(), op == bulk.Delete
		a.cur.Take()
		staged++
		return own, true, nil
	})
	if err != nil {
		return fmt.Errorf("copy into staging: %w", err)
	}
	a.stagedRows += staged
	// The staging table is emptied after each merge, so that rows whose columns alternate do
	// not merge the same rows twice.
	if !a.keyed {
		if err := execAll(ctx, a.conn, []string{insertFromStageSQL(a.table, seg.stage, seg.cols, a.coll), truncateStageSQL(seg.stage)}); err != nil {
			return fmt.Errorf("append from staging: %w", err)
		}
		a.counts.Inserted += staged
		return nil
	}
	var merged bulk.Counts
	if err := a.conn.QueryRowContext(ctx, countedMergeSQL(a.table, seg.stage, seg.cols, a.coll)).Scan(&merged.Inserted, &merged.Updated, &merged.Deleted); err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	a.counts.Add(merged)
	if _, err := a.conn.ExecContext(ctx, emptyAfterMergeSQL(seg.stage)); err != nil {
		return fmt.Errorf("empty staging: %w", err)
	}
	return nil
}
