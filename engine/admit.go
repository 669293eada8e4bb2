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
// All three waits run under one deadline, the call's patience. Its clock starts only when the
// body ends: until then a waiting table's chunks go to its spool and harm no one, and the
// loaders ahead of it cannot finish before the body does anyway. From then on a table that is
// still not let in after Wait fails as busy.
type admission struct {
	t           *tenant
	tenantSlots *semaphore.Weighted
	engineSlots *semaphore.Weighted
	wait        time.Duration

	patience     context.Context
	losePatience context.CancelCauseFunc
	clock        *time.Timer // nil until the body ends
}

// newAdmission returns the admission of a call whose context is ctx: aborting the call ends
// every wait at once.
func newAdmission(ctx context.Context, e *Engine, t *tenant) *admission {
	patience, lose := context.WithCancelCause(ctx)
	return &admission{t: t, tenantSlots: t.slots, engineSlots: e.slots, wait: e.opts.Wait, patience: patience, losePatience: lose}
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
	l := ad.t.lane(table)
	if err := l.acquire(ad.patience); err != nil {
		return nil, err
	}
	held = append(held, l.release)
	for _, slots := range []*semaphore.Weighted{ad.tenantSlots, ad.engineSlots} {
		if err := slots.Acquire(ad.patience, 1); err != nil {
			release()
			return nil, context.Cause(ad.patience)
		}
		held = append(held, func() { slots.Release(1) })
	}
	return release, nil
}

// bodyEnded starts the patience clock.
func (ad *admission) bodyEnded() {
	ad.clock = time.AfterFunc(ad.wait, func() {
		ad.losePatience(fmt.Errorf("server busy: the table waited %s after the body ended for a table lane held by another call, or a database connection", ad.wait))
	})
}

// close stops the clock, once every loader has returned.
func (ad *admission) close() {
	if ad.clock != nil {
		ad.clock.Stop()
	}
	ad.losePatience(nil)
}
