// Package freelist keeps large reusable buffers between uses, within a byte budget.
//
// A sync.Pool empties itself at every other garbage collection, and a bulk load with a small
// live heap collects often: its pooled buffers were mostly gone by the next apply, which grew
// them again (a repopulation allocated about four bytes for every byte of RowData it received,
// most of it buffers grown anew). A List keeps what it is given until it is taken or newer values
// need the room, and no more than its budget, so that the memory it holds while idle stays
// bounded.
package freelist

import "sync"

// List holds values of T for reuse, each with the bytes it holds. The zero value holds nothing;
// set Max before use.
type List[T any] struct {
	// Max is the most bytes the list holds; a value that would pass it is left to the collector.
	Max int64

	mu    sync.Mutex
	items []item[T]
	bytes int64
}

type item[T any] struct {
	v    T
	size int64
}

// Get takes the most recently put value that fits, if any.
func (l *List[T]) Get(fits func(T) bool) (T, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.items) - 1; i >= 0; i-- {
		if fits == nil || fits(l.items[i].v) {
			it, last := l.items[i], len(l.items)-1
			copy(l.items[i:], l.items[i+1:])
			l.items[last] = item[T]{} // so that the slice no longer refers to what it gave away
			l.items = l.items[:last]
			l.bytes -= it.size
			return it.v, true
		}
	}
	var zero T
	return zero, false
}

// Put gives v, which holds size bytes, to the list, letting go of the values put longest ago
// to make room, so that values no Get takes any more cannot fill it for good. It reports false,
// keeping nothing, when v alone is larger than Max.
func (l *List[T]) Put(v T, size int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if size > l.Max {
		return false
	}
	drop := 0
	for size > l.Max-l.bytes {
		l.bytes -= l.items[drop].size
		drop++
	}
	if drop > 0 {
		n := copy(l.items, l.items[drop:])
		clear(l.items[n:]) // so that the slice no longer refers to what it let go
		l.items = l.items[:n]
	}
	l.items = append(l.items, item[T]{v: v, size: size})
	l.bytes += size
	return true
}

// Bytes returns the bytes the list holds.
func (l *List[T]) Bytes() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.bytes
}
