package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sync/semaphore"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// TableApplyResult is one table's answer to RowData. When Err is set the table's rows of the
// call were rolled back and LSN is the table's old one.
type TableApplyResult struct {
	Name   string
	LSN    int64
	Counts bulk.Counts
	Err    error
}

// Apply is one RowData call in progress: the decoder hands it batches as it reads them, and
// each table of the call is applied by its own loader (loader.go) in one transaction while the
// rest of the body is still arriving. A table's chunks wait in its spool until the call's
// admission (admit.go) lets its loader in.
type Apply struct {
	e         *Engine
	t         *tenant
	states    map[string]bulk.TableState // the state table as the call began: LSNs to check against
	ctx       context.Context
	cancel    context.CancelCauseFunc
	admission *admission
	tables    map[string]*tableApply
	order     []*tableApply
	wg        sync.WaitGroup
	ended     bool
}

// tableApply is one table's part of a call: chunks flow from the decoder through ch to the loader.
type tableApply struct {
	name  string
	table schema.Table
	hash  string // the stored schema hash table was read with
	ch    chan *chunk
	// spool takes the table's chunks while its loader waits for its lane and apply slots;
	// once the loader takes over, chunks go through ch.
	spool  *spool
	cur    *chunk // being filled by the decoder
	lsn    int64
	hasLSN bool
	result TableApplyResult
}

// chunk is a run of rows with one column set, handed from the decoder to a loader at once.
type chunk struct {
	cols  []int
	ops   []bulk.Op
	vals  []bulk.Value // row-major, len(cols) values a row
	bytes int64
}

// newChunk returns an empty chunk of cols for ChunkRows rows, one a loader has finished with
// when there is one.
func (e *Engine) newChunk(cols []int) *chunk {
	rows := e.opts.ChunkRows
	n := rows * len(cols)
	if c, ok := e.chunks.Get(func(c *chunk) bool { return cap(c.vals) >= n && cap(c.ops) >= rows }); ok {
		c.cols = cols
		return c
	}
	return &chunk{cols: cols, ops: make([]bulk.Op, 0, rows), vals: make([]bulk.Value, 0, n)}
}

// recycle keeps c's arrays for a later chunk. Nothing may refer to c afterwards: the loader has
// moved past its rows (bulk.Rows' values are valid until the next row) or the spool wrote them.
func (e *Engine) recycle(c *chunk) {
	if cap(c.ops) < e.opts.ChunkRows {
		return // a chunk read back from the spool, cut to its rows: newChunk could never take it
	}
	clear(c.vals) // so that the kept array holds no values alive
	*c = chunk{ops: c.ops[:0], vals: c.vals[:0]}
	e.chunks.Put(c, int64(cap(c.vals))*int64(unsafe.Sizeof(bulk.Value{}))+int64(cap(c.ops)))
}

// BeginApply starts a RowData call for tenant. The caller must end it with Finish or Abort.
func (e *Engine) BeginApply(ctx context.Context, tenant string) (*Apply, error) {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	m, err := t.mirror()
	if err != nil {
		return nil, err
	}
	// Another process may have migrated a table since this one read the catalog: the state
	// table's hashes say so, and the catalog is read again before any row is parsed with it.
	states, err := m.States(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the state of tenant %s: %w", tenant, err)
	}
	if _, err := t.currentCatalog(ctx, states); err != nil {
		return nil, err
	}
	actx, cancel := context.WithCancelCause(ctx)
	return &Apply{e: e, t: t, states: states, ctx: actx, cancel: cancel, admission: newAdmission(actx, e, t),
		tables: map[string]*tableApply{}}, nil
}

// Batch starts a batch of rows for table carrying the named columns, in order. The columns must
// be columns of the mirrored table, each named once, and include the primary key.
func (a *Apply) Batch(table string, columns []string) (*Batch, error) {
	if a.ended {
		return nil, errors.New("apply already ended")
	}
	ta := a.tables[table]
	if ta == nil {
		states, err := a.e.mirrored(a.ctx, a.t, []string{table})
		if err != nil {
			return nil, err
		}
		ta = &tableApply{name: table, table: states[0].Table, hash: states[0].Hash, ch: make(chan *chunk, 2), spool: &spool{dir: a.e.opts.SpoolDir}}
		// The LSN a failed table answers is the mirror's as the call began, not this process's
		// cached one: another process may have moved it.
		lsn := states[0].LSN
		if st, ok := a.states[table]; ok {
			lsn = st.LSN
		}
		ta.result = TableApplyResult{Name: table, LSN: lsn}
		a.tables[table] = ta
		a.order = append(a.order, ta)
		a.wg.Go(func() { a.load(ta) })
	}
	cols, err := batchColumns(ta.table, columns)
	if err != nil {
		return nil, err
	}
	b := &Batch{a: a, ta: ta, cols: cols, colDefs: make([]schema.Column, len(cols))}
	for i, c := range cols {
		b.colDefs[i] = ta.table.Columns[c]
	}
	return b, nil
}

func batchColumns(t schema.Table, names []string) ([]int, error) {
	cols, err := bulk.ColumnIndexes(t, names)
	if err != nil {
		return nil, badRequest("table %s: %v", t.Name, err)
	}
	return cols, nil
}

// Batch receives the rows of one <Batch> element.
type Batch struct {
	a       *Apply
	ta      *tableApply
	cols    []int
	colDefs []schema.Column
}

// Columns are the batch's columns in order: the types to parse each row's values with.
func (b *Batch) Columns() []schema.Column { return b.colDefs }

// Add hands one row on. values holds one value a column; it is copied, so the caller may reuse it.
func (b *Batch) Add(op bulk.Op, values []bulk.Value) error {
	if len(values) != len(b.cols) {
		return badRequest("table %s: row has %d values for %d columns", b.ta.name, len(values), len(b.cols))
	}
	switch op {
	case bulk.Insert, bulk.Update, bulk.Delete:
	default:
		return badRequest("table %s: row op %v is not I, U or D", b.ta.name, op)
	}
	c := b.ta.cur
	if c == nil {
		c = b.a.e.newChunk(b.cols)
		b.ta.cur = c
	}
	c.ops = append(c.ops, op)
	c.vals = append(c.vals, values...)
	for _, v := range values {
		c.bytes += int64(bulk.ValueSize(v))
	}
	// Cut by bytes too, so that one chunk of wide rows cannot take the whole in-flight budget.
	if len(c.ops) >= b.a.e.opts.ChunkRows || c.bytes >= b.a.e.opts.MaxInflightBytes/16 {
		return b.a.send(b.ta)
	}
	return nil
}

// SetLSN records the batch's <Lsn>: the LSN the table reaches when its rows of this call commit.
// An LSN below -1, or below the table's as the call began (unless the cycle in progress created
// or wiped the table, which the mirror records), is the caller's mistake; the table's apply
// checks it again under its lock.
func (b *Batch) SetLSN(lsn int64) error {
	name := b.ta.name
	stored, known := b.a.states[name]
	err := bulk.CheckLSN(name, stored.LSN, lsn, !known || stored.Rewind)
	if err != nil {
		return &requestError{msg: err.Error()}
	}
	b.ta.lsn, b.ta.hasLSN = lsn, true
	return nil
}

// Close ends the batch; the next batch of the same table may carry other columns.
func (b *Batch) Close() error {
	return b.a.send(b.ta)
}

// send hands the table's pending chunk on: to the spool while the table's loader is still
// waiting for its turn, otherwise to the loader itself, after waiting for in-flight budget so
// that memory stays bounded however large the request is.
func (a *Apply) send(ta *tableApply) error {
	c := ta.cur
	if c == nil || len(c.ops) == 0 {
		return nil
	}
	ta.cur = nil
	if err := a.awaitLoader(ta); err != nil {
		return err
	}
	if spooled, err := ta.spool.write(c); spooled || err != nil {
		if spooled {
			a.e.recycle(c) // the spool wrote it out
		}
		return err
	}
	c.bytes += int64(len(c.ops)) * 16
	c.bytes = min(c.bytes, a.e.opts.MaxInflightBytes)
	if err := a.acquire(a.e.inflight, c.bytes, "in-flight row budget"); err != nil {
		return err
	}
	select {
	case ta.ch <- c:
		return nil
	default:
	}
	timer := time.NewTimer(a.e.opts.Wait)
	defer timer.Stop()
	select {
	case ta.ch <- c:
		return nil
	case <-a.ctx.Done():
		a.e.inflight.Release(c.bytes)
		return context.Cause(a.ctx)
	case <-timer.C:
		a.e.inflight.Release(c.bytes)
		return fmt.Errorf("table %s: the database took no rows for %s", ta.name, a.e.opts.Wait)
	}
}

// awaitLoader holds the decoder while the table's loader waits for its turn and none of the
// call's tables is being written: the rest of the body then waits in the client's request and
// the connection, not in the spool, which would write each row to disk and read it back (a
// fifth of mirrord's CPU when four tables arrive at once for SQLite's one writer). While one of
// the call's own tables is written the decoder must go on, since that table commits only when
// the body has ended: the waiting table's rows go to the spool then. No wait here is part of a
// circle: a call that waits here has no table let in, so every chain of waits (a lane held by a
// loader that waits for a slot, and so on) ends at a slot held by a loader that was let in,
// whose call never waits here and goes on to commit. After Wait the call's waiting tables fail
// as busy, as they do when Wait passes after the body ended, and the decoder goes on; tables
// the body reaches later wait afresh.
func (a *Apply) awaitLoader(ta *tableApply) error {
	taken := ta.spool.takenOver()
	var timeout <-chan time.Time
	for {
		select {
		case <-taken:
			return nil
		default:
		}
		writing, changed := a.admission.writingNow()
		if writing {
			return nil
		}
		if timeout == nil {
			timer := time.NewTimer(a.e.opts.Wait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-taken:
			return nil
		case <-changed:
		case <-a.ctx.Done():
			return context.Cause(a.ctx)
		case <-timeout:
			// The table's loader fails as busy, and hands the spool over as it returns; until
			// it has, the rows go to the spool, which it then discards.
			a.admission.giveUp()
			return nil
		}
	}
}

// acquire waits for n of sem, at most Wait.
func (a *Apply) acquire(sem *semaphore.Weighted, n int64, what string) error {
	ctx, cancel := context.WithTimeout(a.ctx, a.e.opts.Wait)
	defer cancel()
	if err := sem.Acquire(ctx, n); err != nil {
		if a.ctx.Err() != nil {
			return context.Cause(a.ctx)
		}
		return fmt.Errorf("server busy: waited %s for the %s", a.e.opts.Wait, what)
	}
	return nil
}

// Finish ends the call: the remaining rows go to their loaders, and it waits for every table to
// commit or roll back. Results come in the order tables first appeared in the call.
func (a *Apply) Finish() ([]TableApplyResult, error) {
	if a.ended {
		return nil, errors.New("apply already ended")
	}
	var sendErr error
	for _, ta := range a.order {
		if err := a.send(ta); err != nil && sendErr == nil {
			sendErr = err
		}
	}
	if sendErr != nil {
		a.Abort(sendErr)
		return nil, sendErr
	}
	a.end()
	out := make([]TableApplyResult, len(a.order))
	for i, ta := range a.order {
		out[i] = ta.result
	}
	a.cancel(nil)
	return out, nil
}

// Abort ends the call without writing anything: every table's transaction rolls back.
func (a *Apply) Abort(err error) {
	if a.ended {
		return
	}
	if err == nil {
		err = errors.New("apply aborted")
	}
	a.cancel(err)
	a.end()
}

// end closes every table's channel, so that the loaders see the end of their rows, and waits
// for them; the loaders still waiting to be let in have Wait from now.
func (a *Apply) end() {
	a.ended = true
	a.admission.bodyEnded()
	for _, ta := range a.order {
		close(ta.ch)
	}
	a.wg.Wait()
	a.admission.close()
}
