package bulk

import (
	"context"
	"errors"
	"sync"
)

// ErrTargetClosed is returned when a mirror is opened on a target that is closed.
var ErrTargetClosed = errors.New("the target is closed")

// Opener opens one value per key and shares it: concurrent callers of Get for a key wait for a
// single open, a failed open is forgotten so that the next caller tries anew, and Close closes
// everything opened. Targets keep their tenants' mirrors in one.
type Opener[V comparable] struct {
	close func(V) error

	mu     sync.Mutex
	closed bool
	items  map[string]*opening[V]
}

type opening[V comparable] struct {
	done chan struct{}
	v    V
	err  error
}

// NewOpener returns an Opener whose Close closes each value with closeFn.
func NewOpener[V comparable](closeFn func(V) error) *Opener[V] {
	return &Opener[V]{close: closeFn, items: map[string]*opening[V]{}}
}

// Get returns the value of key, calling open when it has none.
func (o *Opener[V]) Get(ctx context.Context, key string, open func(context.Context) (V, error)) (V, error) {
	var zero V
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return zero, ErrTargetClosed
	}
	p, found := o.items[key]
	if !found {
		p = &opening[V]{done: make(chan struct{})}
		o.items[key] = p
	}
	o.mu.Unlock()
	if found {
		select {
		case <-p.done:
			if p.err != nil {
				// The failed attempt has removed itself: try anew.
				return o.Get(ctx, key, open)
			}
			return p.v, nil
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}

	p.v, p.err = open(ctx)
	o.mu.Lock()
	if p.err != nil {
		// The failure may pass (a full disk, a cancelled context, a server restarting).
		delete(o.items, key)
	} else if o.closed {
		o.close(p.v)
		p.v, p.err = zero, ErrTargetClosed
	}
	o.mu.Unlock()
	close(p.done)
	return p.v, p.err
}

// Forget drops key if its value is v, so that the next Get opens anew. It does not close v.
func (o *Opener[V]) Forget(key string, v V) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.items[key]; ok && p.v == v {
		delete(o.items, key)
	}
}

// Close closes every value opened, waiting for opens in progress, and refuses later Gets.
func (o *Opener[V]) Close() error {
	o.mu.Lock()
	o.closed = true
	items := o.items
	o.items = map[string]*opening[V]{}
	o.mu.Unlock()
	var errs []error
	for _, p := range items {
		<-p.done
		if p.err == nil {
			errs = append(errs, o.close(p.v))
		}
	}
	return errors.Join(errs...)
}
