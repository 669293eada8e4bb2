package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// admission lets the loaders of one call in. A table's loader needs the table's lane (two calls
// never write one table at once), then one of the tenant's apply slots, then one of the engine's:
// every loader takes them in that order, so no two wait on each other in a circle.
//
// All three waits run under one deadline, the call's patience. Its clock runs only when the body
// has ended and none of the call's own tables is being written: while one of the call's tables
// is written the call is moving (on SQLite, whose file takes one writer, its tables take turns),
// and before the body ends the decoder itself waits for a table that is not let in, at most Wait
// (Apply.awaitLoader). A table still not let in after Wait without either fails as busy: what
// it waits for is held by other calls.
type admission struct {
	t           *tenant
	tenantSlots *semaphore.Weighted
	engineSlots *semaphore.Weighted
	wait        time.Duration

	call context.Context

	mu sync.Mutex
	// patience is what the loaders waiting to be let in wait under; losing it fails them all.
	// A loss before the body ends starts a new patience for the tables the body has not reached.
	patience     context.Context
	losePatience context.CancelCauseFunc
	closed       bool          // every loader has returned
	ended        bool          // the body has ended
	writing      int           // tables of this call let in and not yet released
	changed      chan struct{} // closed (and replaced) when writing changes
	clock        *time.Timer   // running while ended and writing == 0
}

// newAdmission returns the admission of a call whose context is ctx: aborting the call ends
// every wait at once.
func newAdmission(ctx context.Context, e *Engine, t *tenant) *admission {
	patience, lose := context.WithCancelCause(ctx)
	return &admission{t: t, tenantSlots: t.slots, engineSlots: e.slots, wait: e.opts.Wait, call: ctx, patience: patience, losePatience: lose}
}

// enter waits until the table may be written, and returns the function that gives back all it
// took. That function may be called more than once. On error nothing is held.
func (ad *admission) enter(table string) (release func(), err error) {
	var held []func()
	release = sync.OnceFunc(func() {
		for i := len(held) - 1; i >= 0; i-- {
			held[i]()
		}
	})
	ad.mu.Lock()
	patience := ad.patience
	ad.mu.Unlock()
	l := ad.t.lane(table)
	if err := l.acquire(patience); err != nil {
		return nil, err
	}
	held = append(held, l.release)
	for _, slots := range []*semaphore.Weighted{ad.tenantSlots, ad.engineSlots} {
		if err := slots.Acquire(patience, 1); err != nil {
			release()
			return nil, context.Cause(patience)
		}
		held = append(held, func() { slots.Release(1) })
	}
	ad.mu.Lock()
	ad.writing++
	ad.moved()
	ad.mu.Unlock()
	held = append(held, func() {
		ad.mu.Lock()
		ad.writing--
		ad.moved()
		ad.mu.Unlock()
	})
	return release, nil
}

// moved follows a change of writing. ad.mu is held.
func (ad *admission) moved() {
	if ad.changed != nil {
		close(ad.changed)
		ad.changed = nil
	}
	ad.tick()
}

// writingNow reports whether one of the call's tables is being written, and returns a channel
// closed when that may have changed.
func (ad *admission) writingNow() (bool, <-chan struct{}) {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	if ad.changed == nil {
		ad.changed = make(chan struct{})
	}
	return ad.writing > 0, ad.changed
}

// giveUp fails every table of the call waiting to be let in now, as busy. Tables the body
// reaches later wait under a new patience: they have not waited yet.
func (ad *admission) giveUp() {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	ad.losePatience(fmt.Errorf("server busy: the table waited %s, with none of the call's tables being written, for a table lane held by another call, or a database connection", ad.wait))
	if !ad.ended && !ad.closed {
		ad.patience, ad.losePatience = context.WithCancelCause(ad.call)
	}
}

// bodyEnded lets the patience clock run.
func (ad *admission) bodyEnded() {
	ad.mu.Lock()
	defer ad.mu.Unlock()
	ad.ended = true
	ad.tick()
}

// tick starts the patience clock afresh when the call stops moving, and stops it while it
// moves. ad.mu is held.
func (ad *admission) tick() {
	run := ad.ended && ad.writing == 0
	switch {
	case run && ad.clock == nil:
		ad.clock = time.AfterFunc(ad.wait, ad.giveUp)
	case !run && ad.clock != nil:
		ad.clock.Stop()
		ad.clock = nil
	}
}

// close stops the clock, once every loader has returned.
func (ad *admission) close() {
	ad.mu.Lock()
	if ad.clock != nil {
		ad.clock.Stop()
		ad.clock = nil
	}
	ad.ended = false // no clock starts again
	ad.closed = true
	ad.losePatience(nil)
	ad.mu.Unlock()
}
