package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
)

// Hooks hears the events a partner's own code may refuse, while the engine waits for it: the
// partner drops its indexes before a table is repopulated, say. Both methods run on the call's
// goroutine with the table's lane held, so no other call writes the table meanwhile.
type Hooks interface {
	// BeforeTable runs once per table per cycle (as this process saw the cycle), after the
	// table's DDL and before its first rows of the cycle are written. An error refuses the
	// table's rows of the call: nothing of them is written, its LSN stays, and the table's
	// answer carries the error; the next RowData of the table asks again.
	BeforeTable(ctx context.Context, tenant, table string, change Change) error
	// Wiped runs for each table after a Wipe committed. An error fails the Wipe call, but the
	// wipe stays done.
	Wiped(ctx context.Context, tenant, table string) error
}

// ChangeUnknown is what BeforeTable hears for a table whose TableSchema of the cycle another
// process served (or this one before a restart): this process cannot tell what it did. It is
// never a TableSchema answer.
const ChangeUnknown Change = "Unknown"

// hookCycle is what this process saw of a tenant's cycle, for the hooks: the schema change of
// each table its TableSchema calls answered, and the tables whose BeforeTable has run. Guarded by
// the tenant's mu.
type hookCycle struct {
	changes   map[string]Change
	announced map[string]bool
	ended     bool // the cycle's ReplicationCompleted was served: the next Authenticate starts anew
}

func newHookCycle() hookCycle {
	return hookCycle{changes: map[string]Change{}, announced: map[string]bool{}}
}

// beginHookCycle starts a new cycle for the hooks after a completed one. Like the mirror, a
// second Authenticate inside a cycle continues it, so the changes its TableSchema answered stay.
func (t *tenant) beginHookCycle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cycle.ended {
		t.cycle = newHookCycle()
	}
}

// endHookCycle marks the cycle completed.
func (t *tenant) endHookCycle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cycle.ended = true
}

// changeRank orders changes by what they mean to a partner's indexes: a table created or
// recreated lost them, an altered one kept them.
var changeRank = map[Change]int{ChangeNone: 0, ChangeAltered: 1, ChangeCreated: 2, ChangeRecreated: 3}

// schemaChanged records what a TableSchema call did to each table. A later call of the same
// cycle that changes nothing does not hide an earlier create; a table changed again after its
// BeforeTable ran hears it again before its next rows.
func (t *tenant) schemaChanged(results []TableResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cycle.ended {
		// TableSchema without an Authenticate since the last completed cycle: a new cycle all the same.
		t.cycle = newHookCycle()
	}
	for _, res := range results {
		prev, seen := t.cycle.changes[res.Name]
		if !seen || changeRank[res.Change] >= changeRank[prev] {
			t.cycle.changes[res.Name] = res.Change
		}
		if res.Change != ChangeNone {
			delete(t.cycle.announced, res.Name)
		}
	}
}

// beforeTable runs the BeforeTable hook of a table of the call, unless it ran for the table in
// this cycle already.
func (a *Apply) beforeTable(ta *tableApply) error {
	h := a.e.opts.Hooks
	if h == nil {
		return nil
	}
	t := a.t
	t.mu.Lock()
	if t.cycle.ended {
		t.cycle = newHookCycle()
	}
	done := t.cycle.announced[ta.name]
	change, known := t.cycle.changes[ta.name]
	t.mu.Unlock()
	if done {
		return nil
	}
	if !known {
		change = ChangeUnknown
	}
	if err := h.BeforeTable(a.ctx, t.name, ta.name, change); err != nil {
		return err
	}
	t.mu.Lock()
	t.cycle.announced[ta.name] = true
	t.mu.Unlock()
	return nil
}

// wiped runs the Wiped hook of each wiped table, every one even when one fails.
func (e *Engine) wiped(ctx context.Context, t *tenant, tables []string) error {
	if e.opts.Hooks == nil {
		return nil
	}
	var errs []error
	for _, name := range tables {
		if err := e.opts.Hooks.Wiped(ctx, t.name, name); err != nil {
			errs = append(errs, fmt.Errorf("table %s was wiped, but its table.wiped hook failed: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// RunSQL runs a partner's SQL hook in the tenant's mirror database (bulk.SQLRunner): the
// --hook-sql sinks call it. table is empty for an event of no table.
func (e *Engine) RunSQL(ctx context.Context, tenant, table, text string) error {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	m, err := t.mirror()
	if err != nil {
		return err
	}
	runner, ok := m.(bulk.SQLRunner)
	if !ok {
		return fmt.Errorf("the mirror of tenant %s (%T) cannot run SQL hooks", tenant, m)
	}
	return runner.RunSQL(ctx, text, table)
}
