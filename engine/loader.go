package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/mirrord/mirrord/bulk"
)

// load is a table's loader, run in a goroutine of its own: once the call's admission lets the
// table in, it streams the table's chunks (first those spooled while it waited) into the target
// in one transaction, and records the table's result.
func (a *Apply) load(ta *tableApply) {
	rows := &chunkRows{ctx: a.ctx, ch: ta.ch, inflight: a.e.inflight, recycle: a.e.recycle}
	// Whatever happens, the decoder must never block on a loader that is gone: the spool
	// is ended first (so the decoder turns to the channel), then the channel is drained.
	// Deferred calls run last-in first-out.
	defer rows.drain()
	defer ta.spool.discard()
	defer a.recoverLoader(ta)
	started := time.Now()

	release, err := a.admission.enter(ta.name)
	if err != nil {
		ta.result.Err = fmt.Errorf("table %s: %w", ta.name, err)
		return
	}
	defer release()
	// The partner's hook runs before the loader takes the spool over, so that the table's rows
	// keep going to disk meanwhile and the decoder feeds the call's other tables.
	if err := a.beforeTable(ta); err != nil {
		ta.result.Err = fmt.Errorf("table %s: its table.before hook refused the rows, so none was written: %w", ta.name, err)
		a.e.opts.Logger.Warn("table refused by its table.before hook", "tenant", a.t.name, "table", ta.name, "err", err)
		return
	}
	spooled, err := ta.spool.takeOver()
	if err != nil {
		ta.result.Err = fmt.Errorf("table %s: %w", ta.name, err)
		return
	}
	rows.spooled = spooled

	opts := bulk.ApplyOptions{
		Fresh: a.t.isFresh(ta.name),
		// Called after the rows are exhausted, so after the decoder's last SetLSN.
		LSN:  func() (int64, bool) { return ta.lsn, ta.hasLSN },
		Hash: ta.hash,
	}
	m, err := a.t.mirror()
	if err != nil {
		ta.result.Err = fmt.Errorf("table %s: %w", ta.name, err)
		return
	}
	counts, err := m.Apply(a.ctx, ta.table, rows, opts)
	if err != nil {
		ta.result.Err = a.applyError(ta, err)
		a.e.opts.Logger.Warn("apply failed", "tenant", a.t.name, "table", ta.name, "err", ta.result.Err)
		return
	}
	ta.result.Counts = counts
	// A repopulation keeps the direct path call after call; the first update or delete ends it.
	if counts.Updated > 0 || counts.Deleted > 0 {
		a.t.setFresh(ta.name, false)
	}
	if ta.hasLSN {
		ta.result.LSN = ta.lsn
		a.t.setLSN(ta.name, ta.lsn)
	}
	a.e.opts.Logger.Debug("apply committed", "tenant", a.t.name, "table", ta.name,
		"inserted", counts.Inserted, "updated", counts.Updated, "deleted", counts.Deleted,
		"duration", time.Since(started))
}

// applyError is the table's error for a failed apply, marked as the caller's mistake or as
// worth sending again where it is one of those.
func (a *Apply) applyError(ta *tableApply, err error) error {
	if cause := context.Cause(a.ctx); cause != nil && a.ctx.Err() != nil {
		err = fmt.Errorf("table %s: %w", ta.name, cause)
	}
	var lsnErr *bulk.LSNError
	switch {
	case errors.Is(err, bulk.ErrNotFresh):
		a.t.setFresh(ta.name, false)
		return &busyError{fmt.Sprintf("%v; send the rows again", err)}
	case errors.Is(err, bulk.ErrSchemaChanged):
		// The rows were parsed with the old model: they are refused whole, and the next
		// call reads the catalog again.
		a.t.forget()
		return &busyError{fmt.Sprintf("%v; the rows were read with the table's old schema, so nothing was written: send them again", err)}
	case errors.As(err, &lsnErr):
		return &requestError{msg: err.Error()}
	}
	return err
}

// recoverLoader turns a panic of the loader (in the target's Apply, say) into its table's
// error, so that one table's fault fails that table alone and the call still answers.
func (a *Apply) recoverLoader(ta *tableApply) {
	r := recover()
	if r == nil {
		return
	}
	ta.result.Err = fmt.Errorf("loader panic: %v", r)
	a.e.opts.Logger.Error("loader panic", "tenant", a.t.name, "table", ta.name, "panic", r, "stack", string(debug.Stack()))
}
