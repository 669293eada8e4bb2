package engine

import (
	"context"
	"fmt"
	"slices"
)

// lane serializes the calls for one (tenant, table): even a caller that breaks the promise not to
// overlap them cannot interleave two transactions on the same table.
type lane struct{ ch chan struct{} }

func (t *tenant) lane(table string) *lane {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.lanes[table]
	if l == nil {
		l = &lane{ch: make(chan struct{}, 1)}
		t.lanes[table] = l
	}
	return l
}

// acquire waits for the lane until ctx ends; the caller bounds the wait, since a lane held
// longer than that means another call is stuck or overlapping, and failing clearly beats hanging.
func (l *lane) acquire(ctx context.Context) error {
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (l *lane) release() { <-l.ch }

// lockLanes takes the lanes of several tables in name order, so that two calls locking
// overlapping sets cannot deadlock, and returns the function that releases them.
func (e *Engine) lockLanes(ctx context.Context, t *tenant, tables []string) (func(), error) {
	names := slices.Clone(tables)
	slices.Sort(names)
	names = slices.Compact(names)
	var held []*lane
	release := func() {
		for _, l := range held {
			l.release()
		}
	}
	wctx, cancel := context.WithTimeoutCause(ctx, e.opts.Wait,
		fmt.Errorf("tables of tenant %s are busy with another call; gave up after %s", t.name, e.opts.Wait))
	defer cancel()
	for _, name := range names {
		l := t.lane(name)
		if err := l.acquire(wctx); err != nil {
			release()
			return nil, err
		}
		held = append(held, l)
	}
	return release, nil
}
