package bulk

import (
	"math"
	"reflect"
	"testing"
	"time"
)

func TestValueOfAndAnyRoundTrip(t *testing.T) {
	oslo := time.FixedZone("CET", 3600)
	for _, v := range []any{
		nil, true, false, int64(0), int64(-1), int64(math.MaxInt64), int64(math.MinInt64),
		0.5, math.Inf(-1), math.Copysign(0, -1), Decimal("-12.3400"), "", "Øst & co", []byte{}, []byte{0, 1, 255},
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC),
		time.Date(2024, 3, 1, 10, 22, 5, 123_000_000, time.UTC).In(fixedZone(-14 * 60)),
		time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).In(fixedZone(0)),
		TimeOfDay(0), TimeOfDay(24*time.Hour - 100), UUID{0: 1, 15: 0xff},
	} {
		got, err := ValueOf(v)
		if err != nil {
			t.Fatalf("ValueOf(%#v): %v", v, err)
		}
		back := got.Any()
		if !EqualValues(back, v) || reflect.TypeOf(back) != reflect.TypeOf(v) {
			t.Errorf("ValueOf(%#v).Any() = %#v", v, back)
		}
		if tm, ok := v.(time.Time); ok && !reflect.DeepEqual(back.(time.Time).Location(), tm.Location()) {
			t.Errorf("ValueOf(%v).Any() is in %v, want %v", tm, back.(time.Time).Location(), tm.Location())
		}
	}
	// A named zone keeps its offset, which is what every target reads of it, as a fixed zone.
	named := time.Date(2024, 7, 1, 12, 0, 0, 0, oslo)
	got := TimeValue(named)
	if got.Offset() != 3600 || !got.Time().Equal(named) || got.Time().Hour() != 12 {
		t.Errorf("TimeValue(%v) = offset %d, time %v", named, got.Offset(), got.Time())
	}
	if b, err := ValueOf([]byte{}); err != nil || b.Bytes() == nil || b.IsNull() {
		t.Errorf("an empty binary value came back as %#v (NULL: %t)", b.Bytes(), b.IsNull())
	}
}

func TestValueOfRefusesOtherTypes(t *testing.T) {
	for _, v := range []any{1, int32(1), float32(1), time.Second, struct{}{}} {
		if _, err := ValueOf(v); err == nil {
			t.Errorf("ValueOf(%T) took it", v)
		}
	}
	far := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("far", 40*3600))
	if _, err := ValueOf(far); err == nil {
		t.Errorf("ValueOf took a time in a zone 40 hours from UTC")
	}
	for _, off := range []int{maxOffset, -maxOffset, -1, 1} {
		at := time.Date(2024, 1, 1, 0, 0, 0, 999_999_999, time.FixedZone("", off))
		v, err := ValueOf(at)
		if err != nil || v.Offset() != off || !v.Time().Equal(at) || v.Time().Nanosecond() != 999_999_999 {
			t.Errorf("a time %d seconds from UTC came back as offset %d, %v (%v)", off, v.Offset(), v.Time(), err)
		}
	}
	if _, err := ValuesOf(nil, int64(1), 2); err == nil || err.Error() != "value 2: a value of Go type int is none of the types a row holds" {
		t.Errorf("ValuesOf with an int: %v", err)
	}
}

func TestValueAccessorsOfAnotherKind(t *testing.T) {
	s := StringValue("x")
	if s.Int() != 0 || s.Bool() || s.Float() != 0 || s.Decimal() != "" || s.Bytes() != nil || s.UUID() != (UUID{}) ||
		!s.Time().IsZero() || s.Offset() != 0 || s.TimeOfDay() != 0 {
		t.Errorf("a string value read as another kind gave a non-zero value")
	}
	if IntValue(7).Text() != "" || IntValue(7).Len() != 0 || (Value{}).Any() != nil || !(Value{}).IsNull() {
		t.Errorf("an int or a NULL read as text gave something")
	}
	if sec, nsec := IntValue(7).Unix(); sec != 0 || nsec != 0 {
		t.Errorf("an int read as a time gave %d, %d", sec, nsec)
	}
}

func TestUnixValue(t *testing.T) {
	for _, c := range []struct {
		sec          int64
		nsec, offset int
		zoned, ok    bool
	}{
		{0, 0, 0, false, true},
		{-62135596800, 999_999_999, 0, false, true},
		{0, 0, -60, true, true},
		{0, 0, 0, true, true},
		{0, 1e9, 0, false, false},
		{0, -1, 0, false, false},
		{0, 0, 60, false, false},
		{0, 0, maxOffset + 1, true, false},
	} {
		v, err := UnixValue(c.sec, c.nsec, c.offset, c.zoned)
		if (err == nil) != c.ok {
			t.Errorf("UnixValue(%d, %d, %d, %t): %v", c.sec, c.nsec, c.offset, c.zoned, err)
			continue
		}
		if sec, nsec := v.Unix(); err == nil && (sec != c.sec || nsec != c.nsec || v.Offset() != c.offset || v.Zoned() != c.zoned) {
			t.Errorf("UnixValue(%d, %d, %d, %t) came back as %d, %d, %d, %t", c.sec, c.nsec, c.offset, c.zoned, sec, nsec, v.Offset(), v.Zoned())
		}
	}
}
