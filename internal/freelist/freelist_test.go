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
	if l.Put(make([]byte, 50), 50) {
		t.Fatal("a buffer past the budget was kept")
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
