package engine

import (
	"encoding/binary"
	"io"
	"math"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
)

// valuesOf is vs as a row's values, for tests.
func valuesOf(t testing.TB, vs ...any) []bulk.Value {
	t.Helper()
	values, err := bulk.ValuesOf(nil, vs...)
	if err != nil {
		t.Fatal(err)
	}
	return values
}

func TestSpoolRoundTrip(t *testing.T) {
	values := valuesOf(t,
		nil, true, false, int64(math.MinInt64), int64(math.MaxInt64), int64(0),
		math.Inf(-1), math.NaN(), -0.0, 5e-324, bulk.Decimal("-12345678901234567890.1234567890"),
		"", "tab\tCR\rLF\n\x00 😀", []byte{}, []byte{0, 1, 0, 255},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.FixedZone("", -14*3600)),
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", -60)), time.Date(1969, 12, 31, 23, 59, 59, 1, time.FixedZone("", 0)),
		time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 90)),
		bulk.TimeOfDay(24*time.Hour-100), bulk.UUID{0xde, 0xad, 15: 0xff},
	)
	chunks := []*chunk{
		{cols: []int{0, 3}, ops: []bulk.Op{bulk.Insert, bulk.Delete}, vals: valuesOf(t, int64(1), "a", int64(2), nil)},
		{cols: []int{7}, ops: make([]bulk.Op, len(values)), vals: values},
	}
	for i := range chunks[1].ops {
		chunks[1].ops[i] = bulk.Update
	}
	s := &spool{dir: t.TempDir()}
	for _, c := range chunks {
		if ok, err := s.write(c); !ok || err != nil {
			t.Fatalf("write: %v %v", ok, err)
		}
	}
	r, err := s.takeOver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	if ok, _ := s.write(chunks[0]); ok {
		t.Fatal("write after takeOver was accepted")
	}
	for i, want := range chunks {
		got, err := r.next()
		if err != nil {
			t.Fatalf("chunk %d: %v", i, err)
		}
		if len(got.cols) != len(want.cols) || len(got.ops) != len(want.ops) || len(got.vals) != len(want.vals) {
			t.Fatalf("chunk %d: shape %v/%v/%d, want %v/%v/%d", i, got.cols, got.ops, len(got.vals), want.cols, want.ops, len(want.vals))
		}
		for j := range want.cols {
			if got.cols[j] != want.cols[j] {
				t.Fatalf("chunk %d: cols %v, want %v", i, got.cols, want.cols)
			}
		}
		for j := range want.ops {
			if got.ops[j] != want.ops[j] {
				t.Fatalf("chunk %d: ops %v, want %v", i, got.ops, want.ops)
			}
		}
		for j := range want.vals {
			if b, ok := got.vals[j].Any().([]byte); ok && b == nil {
				t.Errorf("chunk %d value %d: a binary value came back as a nil slice, which databases store as NULL", i, j)
			}
			if !bulk.EqualValues(got.vals[j].Any(), want.vals[j].Any()) || got.vals[j].Kind() != want.vals[j].Kind() || got.vals[j].Zoned() != want.vals[j].Zoned() {
				t.Errorf("chunk %d value %d: %#v, want %#v", i, j, got.vals[j], want.vals[j])
			}
		}
	}
	if _, err := r.next(); err != io.EOF {
		t.Fatalf("after the last chunk: %v", err)
	}
}

func TestSpoolRejectsCorruption(t *testing.T) {
	good := encodeChunk(nil, &chunk{cols: []int{0}, ops: []bulk.Op{bulk.Insert}, vals: valuesOf(t, "abc")})
	for cut := range len(good) {
		if _, err := decodeChunk(good[:cut]); err == nil {
			t.Errorf("a chunk cut to %d of %d bytes decoded", cut, len(good))
		}
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-4] = 99 // the value's tag
	if _, err := decodeChunk(bad); err == nil {
		t.Error("an unknown tag decoded")
	}
}

func TestSpoolRejectsImpossibleTimes(t *testing.T) {
	prefix := encodeChunk(nil, &chunk{cols: []int{0}, ops: []bulk.Op{bulk.Insert}, vals: valuesOf(t, nil)})
	prefix = prefix[:len(prefix)-1] // the NULL's tag: replaced below
	for name, value := range map[string][]byte{
		"a second of nanoseconds": binary.AppendUvarint(binary.AppendVarint([]byte{tagTime}, 0), 1e9),
		"a zone 40 hours away":    binary.AppendVarint(binary.AppendUvarint(binary.AppendVarint([]byte{tagZonedTime}, 0), 0), 40*3600),
	} {
		if _, err := decodeChunk(append(append([]byte(nil), prefix...), value...)); err == nil {
			t.Errorf("a spooled time with %s decoded", name)
		}
	}
}
