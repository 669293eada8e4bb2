package pgsql

import (
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// stagedTuple is a staging tuple of rows of cols' codecs with the given values.
func stagedTuple(t *testing.T, seg *segment, seq int64, vals ...any) []byte {
	t.Helper()
	buf := []byte{0, byte(len(vals) + 2)}
	buf = appendInt8Field(buf, seq)
	buf = appendBoolField(buf, false)
	for i, v := range vals {
		if v == nil {
			buf = append(buf, nullField...)
			continue
		}
		var err error
		if buf, err = appendAny(seg.fields[i], buf, v); err != nil {
			t.Fatal(err)
		}
	}
	return buf
}

func keySegment(t *testing.T, cols ...schema.Column) *segment {
	t.Helper()
	seg := &segment{}
	for _, c := range cols {
		f, err := codecFor(c)
		if err != nil {
			t.Fatal(err)
		}
		seg.fields = append(seg.fields, f)
	}
	return seg
}

func TestKeySet(t *testing.T) {
	defer func(on bool) { distinctOnlyOnRepeats = on }(distinctOnlyOnRepeats)
	distinctOnlyOnRepeats = true
	seg := keySegment(t,
		schema.Column{Name: "a", Type: schema.NVarChar, Length: 10, PrimaryKey: true},
		schema.Column{Name: "b", Type: schema.NVarChar, Length: 10, PrimaryKey: true},
		schema.Column{Name: "v", Type: schema.Int, Nullable: true})
	var k keySet
	k.reset(seg)
	// "ab"+"c" and "a"+"bc" are different keys whose bytes run together without lengths.
	k.add(stagedTuple(t, seg, 1, "ab", "c", int64(1)))
	k.add(stagedTuple(t, seg, 2, "a", "bc", int64(1)))
	k.add(stagedTuple(t, seg, 3, "a", "b", nil))
	if !k.unique() {
		t.Fatal("three different keys are reported as a repeat")
	}
	k.add(stagedTuple(t, seg, 4, "a", "bc", int64(2))) // the same key, another value
	if k.unique() {
		t.Fatal("a key staged twice is reported unique")
	}
	k.reset(seg)
	k.add(stagedTuple(t, seg, 5, "a", "bc", int64(2)))
	if !k.unique() {
		t.Fatal("reset kept the keys of the last merge")
	}

	// numeric keys are not canonical in their bytes (1.0 = 1.00): never unique.
	num := keySegment(t, schema.Column{Name: "n", Type: schema.Decimal, Precision: 10, Scale: 2, PrimaryKey: true})
	k.reset(num)
	k.add(stagedTuple(t, num, 1, bulk.Decimal("1.0")))
	if k.unique() {
		t.Fatal("a numeric key is reported unique")
	}

	ints := keySegment(t, schema.Column{Name: "id", Type: schema.Int, PrimaryKey: true})
	k.reset(ints)
	for i := range maxKeySet + 1 {
		k.add(stagedTuple(t, ints, int64(i), int64(i)))
	}
	if k.unique() {
		t.Fatal("more keys than the bound are reported unique")
	}
	if len(k.hashes) > maxKeySet {
		t.Fatalf("the set grew to %d hashes, past its bound of %d", len(k.hashes), maxKeySet)
	}
}
