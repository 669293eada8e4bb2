package pgsql

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// TestAppendField encodes values of every column type and decodes the field with pgx's own
// binary codec of the column's PostgreSQL type.
func TestAppendField(t *testing.T) {
	late := time.Date(2024, 12, 31, 23, 59, 59, 999999900, time.UTC)
	early := time.Date(1753, 1, 1, 12, 30, 15, 123456789, time.UTC)
	zone := time.FixedZone("", 5*3600+30*60)
	uuid := bulk.UUID{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	cases := []struct {
		col     schema.Column
		in      any
		want    any    // what pgx decodes
		wantErr string // a part of the error
	}{
		{schema.Column{Type: schema.Bit}, true, true, ""},
		{schema.Column{Type: schema.Bit}, false, false, ""},
		{schema.Column{Type: schema.Bit}, int64(1), nil, "must be bool, not int64"},
		{schema.Column{Type: schema.TinyInt}, int64(255), int16(255), ""},
		{schema.Column{Type: schema.TinyInt}, int64(0), int16(0), ""},
		{schema.Column{Type: schema.TinyInt}, int64(256), nil, "out of the range of tinyint"},
		{schema.Column{Type: schema.TinyInt}, int64(-1), nil, "out of the range"},
		{schema.Column{Type: schema.SmallInt}, int64(-32768), int16(-32768), ""},
		{schema.Column{Type: schema.SmallInt}, int64(32768), nil, "out of the range of smallint"},
		{schema.Column{Type: schema.Int}, int64(math.MaxInt32), int32(math.MaxInt32), ""},
		{schema.Column{Type: schema.Int}, int64(-7), int32(-7), ""},
		{schema.Column{Type: schema.Int}, int64(math.MaxInt32 + 1), nil, "out of the range of int"},
		{schema.Column{Type: schema.BigInt}, int64(math.MinInt64), int64(math.MinInt64), ""},
		{schema.Column{Type: schema.BigInt}, "12", nil, "must be int64, not string"},
		{schema.Column{Type: schema.Real}, 1.5, float32(1.5), ""},
		{schema.Column{Type: schema.Real}, math.Inf(1), float32(math.Inf(1)), ""},
		{schema.Column{Type: schema.Float}, math.Inf(-1), math.Inf(-1), ""},
		{schema.Column{Type: schema.Float}, math.Copysign(0, -1), math.Copysign(0, -1), ""},
		{schema.Column{Type: schema.Float}, math.SmallestNonzeroFloat64, math.SmallestNonzeroFloat64, ""},
		{schema.Column{Type: schema.Decimal, Precision: 18, Scale: 4}, bulk.Decimal("-12.3400"), "-12.3400", ""},
		{schema.Column{Type: schema.Decimal, Precision: 38, Scale: 0}, bulk.Decimal("99999999999999999999999999999999999999"), "99999999999999999999999999999999999999", ""},
		{schema.Column{Type: schema.Decimal, Precision: 5, Scale: 2}, bulk.Decimal("1.505"), nil, "more than 2 fractional digits"},
		{schema.Column{Type: schema.Money}, bulk.Decimal("-922337203685477.5808"), "-922337203685477.5808", ""},
		{schema.Column{Type: schema.SmallMoney}, bulk.Decimal("1000000"), nil, "decimal(10,4) holds at most 6"},
		{schema.Column{Type: schema.Decimal, Precision: 5, Scale: 2}, "1.5", nil, "must be bulk.Decimal, not string"},
		{schema.Column{Type: schema.Date}, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.Date}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.Date}, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.Date}, time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.Date}, time.Date(1969, 7, 20, 20, 17, 40, 0, zone), time.Date(1969, 7, 20, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.Date}, "2024-01-01", nil, "must be time.Time, not string"},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(24*time.Hour - 100), pgtype.Time{Microseconds: 86399999999, Valid: true}, ""},
		{schema.Column{Type: schema.Time, Scale: 2}, bulk.TimeOfDay(time.Second + 129*time.Millisecond), pgtype.Time{Microseconds: 1120000, Valid: true}, ""},
		{schema.Column{Type: schema.Time, Scale: 0}, bulk.TimeOfDay(0), pgtype.Time{Microseconds: 0, Valid: true}, ""},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(24 * time.Hour), nil, "not within 00:00 and 24:00"},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(-1), nil, "not within 00:00 and 24:00"},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, late, late.Truncate(time.Microsecond), ""},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, early, early.Truncate(time.Microsecond), ""},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), ""},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), ""},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, late.In(zone), time.Date(2025, 1, 1, 5, 29, 59, 999999000, time.UTC), ""}, // a timestamp keeps the wall clock, as pgx does
		{schema.Column{Type: schema.DateTime2, Scale: 1}, early, early.Truncate(100 * time.Millisecond), ""},
		{schema.Column{Type: schema.DateTime}, late, time.Date(2024, 12, 31, 23, 59, 59, 999000000, time.UTC), ""},
		{schema.Column{Type: schema.SmallDateTime}, late, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), ""},
		{schema.Column{Type: schema.DateTimeOffset, Scale: 3}, late.In(zone), late.Truncate(time.Millisecond), ""},
		{schema.Column{Type: schema.DateTimeOffset, Scale: 7}, early.In(zone), early.Truncate(time.Microsecond), ""},
		{schema.Column{Type: schema.NVarChar, Length: 3}, "æøå", "æøå", ""},
		{schema.Column{Type: schema.NVarChar, Length: 2}, "abc", nil, "3 characters do not fit a length of 2"},
		{schema.Column{Type: schema.NVarChar, Length: schema.Max}, "", "", ""},
		{schema.Column{Type: schema.Char, Length: 4}, "ab  ", "ab  ", ""},
		{schema.Column{Type: schema.NText, Length: schema.Max}, "a\x00b", nil, "U+0000"},
		{schema.Column{Type: schema.XML, Length: schema.Max}, "bad \xff", nil, "not valid UTF-8"},
		{schema.Column{Type: schema.Text, Length: schema.Max}, []byte("x"), nil, "must be string, not []uint8"},
		{schema.Column{Type: schema.Binary, Length: 2}, []byte{1, 2, 3}, nil, "3 bytes do not fit binary(2)"},
		{schema.Column{Type: schema.VarBinary, Length: schema.Max}, []byte{0, 1, 0xff}, []byte{0, 1, 0xff}, ""},
		{schema.Column{Type: schema.VarBinary, Length: schema.Max}, []byte{}, []byte{}, ""},
		{schema.Column{Type: schema.UniqueIdentifier}, uuid, [16]byte(uuid), ""},
		{schema.Column{Type: schema.UniqueIdentifier}, uuid.String(), nil, "must be bulk.UUID, not string"},
	}
	m := pgtype.NewMap()
	for _, c := range cases {
		c.col.Name = "c"
		col := c.col.Normalize()
		name := col.TypeString()
		f, err := codecFor(col)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		buf, err := appendAny(f, []byte{0xAA}, c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s of %#v: error %v, want one with %q", name, c.in, err, c.wantErr)
			}
			if len(buf) != 1 {
				t.Errorf("%s of %#v: a failed field left %d bytes", name, c.in, len(buf)-1)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s of %#v: %v", name, c.in, err)
			continue
		}
		if buf[0] != 0xAA {
			t.Fatalf("%s of %#v overwrote the buffer's start", name, c.in)
		}
		field := buf[1:]
		if n := int(int32(binary.BigEndian.Uint32(field))); n != len(field)-4 {
			t.Errorf("%s of %#v: length %d, but %d bytes follow", name, c.in, n, len(field)-4)
			continue
		}
		typ, ok := m.TypeForOID(f.oid)
		if !ok {
			t.Fatalf("pgx knows no type of OID %d", f.oid)
		}
		got, err := typ.Codec.DecodeValue(m, f.oid, pgtype.BinaryFormatCode, field[4:])
		if err != nil {
			t.Errorf("%s of %#v: pgx cannot decode %x: %v", name, c.in, field[4:], err)
			continue
		}
		if !sameDecoded(got, c.want) {
			t.Errorf("%s of %#v decodes to %#v, want %#v", name, c.in, got, c.want)
		}
	}
}

// sameDecoded compares what pgx decoded with the wanted value: instants by Equal, numerics by
// their text, floats by their bits (NaN and -0 included).
func sameDecoded(got, want any) bool {
	switch g := got.(type) {
	case time.Time:
		w, ok := want.(time.Time)
		return ok && g.Equal(w)
	case pgtype.Numeric:
		v, err := g.Value()
		return err == nil && bulk.EqualValues(bulk.Decimal(v.(string)), bulk.Decimal(want.(string)))
	case float64:
		w, ok := want.(float64)
		return ok && math.Float64bits(g) == math.Float64bits(w)
	case float32:
		w, ok := want.(float32)
		return ok && math.Float32bits(g) == math.Float32bits(w)
	case []byte:
		w, ok := want.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return got == want
}

// tupleList is a tupleSource of ready tuples.
type tupleList struct {
	tuples []string
	err    error // returned after the tuples
}

func (l *tupleList) appendTuple(buf []byte) ([]byte, bool, error) {
	if len(l.tuples) == 0 {
		return buf, false, l.err
	}
	buf = append(buf, l.tuples[0]...)
	l.tuples = l.tuples[1:]
	return buf, true, nil
}

// TestCopyStream reads streams in reads of every size from 1 byte up and checks that they carry
// the header, every tuple in order and the trailer, and that the buffer stays bounded.
func TestCopyStream(t *testing.T) {
	var tuples []string
	for i := range 200 {
		tuples = append(tuples, strings.Repeat(string(rune('a'+i%26)), i%37+1))
	}
	want := copyHeader + strings.Join(tuples, "") + "\xff\xff"
	for _, keep := range []bool{false, true} {
		for _, size := range []int{1, 2, 7, 64, 1000, 65531} {
			s := newCopyStream(&tupleList{tuples: tuples}, nil, keep)
			var got []byte
			p := make([]byte, size)
			maxBuf := 0
			for {
				n, err := s.Read(p)
				got = append(got, p[:n]...)
				maxBuf = max(maxBuf, cap(s.buf))
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("keep %v, reads of %d: %v", keep, size, err)
				}
				if n == 0 {
					t.Fatalf("keep %v, reads of %d: an empty read without error", keep, size)
				}
			}
			if string(got) != want {
				t.Errorf("keep %v, reads of %d: the stream differs (%d bytes, want %d)", keep, size, len(got), len(want))
			}
			if keep && !strings.HasPrefix(string(s.buf), want) {
				t.Errorf("keep %v, reads of %d: the buffer does not hold the whole stream", keep, size)
			}
			if !keep && maxBuf > 4*(size+64) {
				t.Errorf("reads of %d grew the buffer to %d bytes", size, maxBuf)
			}
			if err := s.close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if _, err := s.Read(p); !errors.Is(err, errCopyEnded) {
				t.Errorf("a read after close: %v, want errCopyEnded", err)
			}
		}
	}
	failure := errors.New("row 3 is bad")
	s := newCopyStream(&tupleList{tuples: tuples[:2], err: failure}, nil, false)
	if _, err := io.ReadAll(s); !errors.Is(err, failure) {
		t.Errorf("a failing tuple reads as %v", err)
	}
	if err := s.close(); !errors.Is(err, failure) {
		t.Errorf("close after a failing tuple: %v", err)
	}
}

// decodeField decodes one encoded field with pgx's binary codec of the codec's type.
func decodeField(t *testing.T, f fieldCodec, field []byte) any {
	t.Helper()
	if n := int(int32(binary.BigEndian.Uint32(field))); n != len(field)-4 {
		t.Fatalf("length %d, but %d bytes follow", n, len(field)-4)
	}
	m := pgtype.NewMap()
	typ, _ := m.TypeForOID(f.oid)
	v, err := typ.Codec.DecodeValue(m, f.oid, pgtype.BinaryFormatCode, field[4:])
	if err != nil {
		t.Fatalf("pgx cannot decode %x: %v", field[4:], err)
	}
	return v
}

// FuzzNumericField: every decimal that fits numeric(38,10) decodes, in pgx, to the same number.
func FuzzNumericField(f *testing.F) {
	for _, s := range []string{"0", "-0.0000000001", "1234567890123456789012345678.0123456789", "10000.0001", "-99990000.00009", ".5", "7."} {
		f.Add(s)
	}
	codec, err := codecFor(schema.Column{Name: "n", Type: schema.Decimal, Precision: 38, Scale: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkDecimal(s, codec.precision, codec.scale) != nil {
			return
		}
		field, err := codec.appendField(nil, bulk.DecimalValue(bulk.Decimal(s)))
		if err != nil {
			t.Fatalf("%q passes checkDecimal but does not encode: %v", s, err)
		}
		v, err := decodeField(t, codec, field).(pgtype.Numeric).Value()
		if err != nil {
			t.Fatal(err)
		}
		if !bulk.EqualValues(bulk.Decimal(v.(string)), bulk.Decimal(strings.TrimPrefix(s, "+"))) {
			t.Fatalf("%q decodes to %s", s, v)
		}
	})
}

// FuzzTimestampField: any instant of SQL Server's years, in any offset, at any scale, decodes in
// pgx to its wall clock (timestamp) or its instant (timestamptz), truncated to the scale.
func FuzzTimestampField(f *testing.F) {
	f.Add(int64(0), int64(0), uint8(7), int16(0))
	f.Add(int64(-1), int64(999_999_999), uint8(3), int16(-570))
	f.Add(int64(253402300799), int64(999_999_999), uint8(0), int16(840))
	f.Fuzz(func(t *testing.T, sec, nsec int64, scale uint8, offsetMinutes int16) {
		const first, last = -62135596800, 253402300799 // 0001-01-01 and 9999-12-31 23:59:59 UTC
		sec = first + (sec%(last-first)+(last-first))%(last-first)
		nsec = (nsec%1e9 + 1e9) % 1e9
		zone := time.FixedZone("", int(offsetMinutes)%(14*60)*60)
		at := time.Unix(sec, nsec).In(zone)
		scale %= 8
		unit := fractionUnit(min(int(scale), maxFraction))
		for _, c := range []schema.Column{{Name: "t", Type: schema.DateTime2, Scale: int(scale)}, {Name: "t", Type: schema.DateTimeOffset, Scale: int(scale)}} {
			codec, err := codecFor(c)
			if err != nil {
				t.Fatal(err)
			}
			field, err := appendAny(codec, nil, at)
			if err != nil {
				t.Fatal(err)
			}
			got := decodeField(t, codec, field).(time.Time)
			want := at.Truncate(unit)
			if c.Type == schema.DateTime2 {
				want = time.Date(at.Year(), at.Month(), at.Day(), at.Hour(), at.Minute(), at.Second(), want.Nanosecond(), time.UTC)
			}
			if !got.Equal(want) {
				t.Fatalf("%s of %v decodes to %v, want %v", c.TypeString(), at, got, want)
			}
		}
	})
}

// appendAny appends the field of v, one of the bulk package's Go types.
func appendAny(f fieldCodec, buf []byte, v any) ([]byte, error) {
	value, err := bulk.ValueOf(v)
	if err != nil {
		return buf, err
	}
	return f.appendField(buf, value)
}
