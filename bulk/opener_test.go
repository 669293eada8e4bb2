package bulk

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type thing struct{ closed atomic.Bool }

func TestOpenerOpensOncePerKey(t *testing.T) {
	var opens atomic.Int32
	o := NewOpener(func(v *thing) error { v.closed.Store(true); return nil })
	open := func(context.Context) (*thing, error) {
		opens.Add(1)
		time.Sleep(10 * time.Millisecond) // let the other callers arrive while it opens
		return &thing{}, nil
	}
	var wg sync.WaitGroup
	got := make([]*thing, 8)
	for i := range got {
		wg.Go(func() {
			v, err := o.Get(t.Context(), "Cust1", open)
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		})
	}
	wg.Wait()
	if opens.Load() != 1 {
		t.Fatalf("%d opens for one key", opens.Load())
	}
	for _, v := range got {
		if v != got[0] {
			t.Fatal("callers got different values")
		}
	}
	if err := o.Close(); err != nil || !got[0].closed.Load() {
		t.Fatalf("Close: %v, closed %v", err, got[0].closed.Load())
	}
	if _, err := o.Get(t.Context(), "Cust1", open); !errors.Is(err, ErrTargetClosed) {
		t.Fatalf("Get after Close: %v", err)
	}
}

func TestOpenerRetriesAfterFailureAndForgets(t *testing.T) {
	o := NewOpener(func(*thing) error { return nil })
	fail := errors.New("server restarting")
	if _, err := o.Get(t.Context(), "k", func(context.Context) (*thing, error) { return nil, fail }); !errors.Is(err, fail) {
		t.Fatalf("first open: %v", err)
	}
	first, err := o.Get(t.Context(), "k", func(context.Context) (*thing, error) { return &thing{}, nil })
	if err != nil || first == nil {
		t.Fatalf("a failed open was not retried: %v", err)
	}
	o.Forget("k", &thing{}) // another value: kept
	if v, _ := o.Get(t.Context(), "k", nil); v != first {
		t.Fatal("Forget of another value dropped the key")
	}
	o.Forget("k", first)
	second, _ := o.Get(t.Context(), "k", func(context.Context) (*thing, error) { return &thing{}, nil })
	if second == first {
		t.Fatal("Forget did not make the next Get open anew")
	}
}

func TestMirrorName(t *testing.T) {
	check := func(kind, name string) error {
		if len(name) > 20 {
			return errors.New(kind + " name too long")
		}
		return nil
	}
	if got, err := MirrorName("Mirror_{ctx}", "Cust1", check); got != "Mirror_Cust1" || err != nil {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := MirrorName("Mirror_{ctx}_with_a_long_suffix", "Cust1", check); err == nil || !strings.Contains(err.Error(), "template") {
		t.Fatalf("a template whose result fails the check: %v", err)
	}
	if _, err := MirrorName("{ctx}", "Cust1_far_too_long_for_it", check); err == nil || !strings.Contains(err.Error(), "tenant") {
		t.Fatalf("a tenant that fails the check: %v", err)
	}
}

func TestCursorPeeksWithoutTaking(t *testing.T) {
	rows := NewSliceRows([]Row{
		{Op: Insert, Columns: []int{0, 1}, Values: []any{int64(1), "a"}},
		{Op: Insert, Columns: []int{0, 1}, Values: []any{int64(2), "b"}},
		{Op: Update, Columns: []int{0}, Values: []any{int64(1)}},
	})
	c := Cursor{Rows: rows}
	var seen []int64
	for c.PeekColumns([]int{0, 1}) {
		seen = append(seen, c.N())
		c.Peek() // peeking again reads nothing new
		c.Take()
	}
	if len(seen) != 2 || seen[1] != 2 {
		t.Fatalf("rows of the first column set: %v", seen)
	}
	if !c.Peek() || c.N() != 3 || c.Rows.Op() != Update {
		t.Fatal("the row with another column set was consumed")
	}
	c.Take()
	if c.Peek() {
		t.Fatal("a row after the end")
	}
	if ColumnSetKey([]int{1, 300}) == ColumnSetKey([]int{300, 1}) || ColumnSetKey([]int{1}) != ColumnSetKey([]int{1}) {
		t.Fatal("ColumnSetKey does not tell column sets apart")
	}
}
