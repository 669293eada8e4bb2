package freelist

import (
	"runtime"
	"testing"
)

func TestListKeepsWithinBudget(t *testing.T) {
	l := List[[]byte]{Max: 100}
	if !l.Put(make([]byte, 60), 60) {
		t.Fatal("a buffer within the budget was refused")
	}
	if l.Put(make([]byte, 101), 101) {
		t.Fatal("a buffer larger than the whole budget was kept")
	}
	if !l.Put(make([]byte, 40), 40) {
		t.Fatal("a buffer that fills the budget exactly was refused")
	}
	if got := l.Bytes(); got != 100 {
		t.Fatalf("Bytes = %d, want 100", got)
	}
	big := func(b []byte) bool { return len(b) >= 50 }
	b, ok := l.Get(big)
	if !ok || len(b) != 60 {
		t.Fatalf("Get(>= 50) = %d bytes, %v; want the 60-byte buffer", len(b), ok)
	}
	if _, ok := l.Get(big); ok {
		t.Fatal("Get found a second buffer of 50 bytes or more")
	}
	if got := l.Bytes(); got != 40 {
		t.Fatalf("Bytes after Get = %d, want 40", got)
	}
	if b, ok := l.Get(nil); !ok || len(b) != 40 {
		t.Fatalf("Get(nil) = %d bytes, %v; want the 40-byte buffer", len(b), ok)
	}
	if _, ok := l.Get(nil); ok {
		t.Fatal("Get found a buffer in an empty list")
	}
}

func TestListOutlivesCollections(t *testing.T) {
	l := List[*[4096]byte]{Max: 1 << 20}
	l.Put(new([4096]byte), 4096)
	runtime.GC()
	runtime.GC()
	if _, ok := l.Get(nil); !ok {
		t.Fatal("the buffer was lost to garbage collection")
	}
}

func TestListGetsTheNewestFirst(t *testing.T) {
	l := List[int]{Max: 10}
	for i := 1; i <= 3; i++ {
		l.Put(i, 1)
	}
	odd := func(v int) bool { return v%2 == 1 }
	if v, _ := l.Get(odd); v != 3 {
		t.Fatalf("Get(odd) = %d, want 3, the newest", v)
	}
	if v, _ := l.Get(nil); v != 2 {
		t.Fatalf("Get = %d, want 2", v)
	}
	if v, _ := l.Get(nil); v != 1 {
		t.Fatalf("Get = %d, want 1", v)
	}
}

// Values put long ago make room for new ones, so that values no Get takes (too small for any
// caller) cannot fill the list for good.
func TestListLetsTheOldestGo(t *testing.T) {
	l := List[int]{Max: 10}
	for i := 1; i <= 3; i++ {
		l.Put(i, 4) // the third lets the first go
	}
	if got := l.Bytes(); got != 8 {
		t.Fatalf("Bytes = %d, want 8", got)
	}
	if _, ok := l.Get(func(v int) bool { return v == 1 }); ok {
		t.Fatal("the value put first is still there past the budget")
	}
	l.Put(4, 10) // takes the whole budget
	if v, ok := l.Get(nil); !ok || v != 4 {
		t.Fatalf("Get = %d, %v; want 4", v, ok)
	}
	if _, ok := l.Get(nil); ok {
		t.Fatal("values older than one that took the whole budget are still there")
	}
}
