package bulk

import (
	"fmt"
	"math"
	"time"

	"github.com/mirrord/mirrord/schema"
)

// Value is one value of a row as the decoder hands it to a target: NULL (the zero Value), or a
// value of one of the Go types of the package documentation, held inline. A row is a []Value,
// so numbers and times cost no allocation of their own, nor do strings, which the decoder copies
// into shared chunks (binary and UUID values hold a copy of their bytes). Boxed into an
// interface, most values would be an allocation each, which in a decoder is most of its
// allocations and a large part of its CPU.
//
// Any gives the value as its Go type (nil for NULL) and ValueOf takes one back, for code that
// works with values one at a time (tests, tools, drivers that take an interface).
type Value struct {
	s string // a String, Decimal or Bytes value; a UUID's 16 bytes
	n int64  // Bool (0 or 1), Int, Float's bits, TimeOfDay, Time's Unix seconds
	// meta packs the kind (bits 0 to 7), whether a Time is zoned (bit 8), a Time's nanoseconds
	// (bits 16 to 45) and its zone's offset east of UTC in seconds (bits 46 to 63, signed): four
	// machine words in all, which the decoder returns and stores for every value.
	meta uint64
}

const (
	zonedBit  = 1 << 8
	nsecShift = 16
	nsecMask  = 1<<30 - 1
	offShift  = 46
	maxOffset = 1<<(63-offShift) - 1 // 131,071 s, 36 h 24 min 31 s: no zone is that far from UTC
	kindMask  = 0xff
)

// Kind is the Go type a Value holds.
type Kind uint8

const (
	KindNull Kind = iota
	KindBool
	KindInt
	KindFloat
	KindDecimal
	KindString
	KindBytes
	KindTime
	KindTimeOfDay
	KindUUID
)

// String names the Go type of the kind, as WrongType does.
func (k Kind) String() string {
	switch k {
	case KindNull:
		return "nil"
	case KindBool:
		return "bool"
	case KindInt:
		return "int64"
	case KindFloat:
		return "float64"
	case KindDecimal:
		return "bulk.Decimal"
	case KindString:
		return "string"
	case KindBytes:
		return "[]byte"
	case KindTime:
		return "time.Time"
	case KindTimeOfDay:
		return "bulk.TimeOfDay"
	case KindUUID:
		return "bulk.UUID"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// BoolValue, IntValue and the rest make a Value of each Go type.
func BoolValue(b bool) Value {
	if b {
		return Value{n: 1, meta: uint64(KindBool)}
	}
	return Value{meta: uint64(KindBool)}
}

func IntValue(n int64) Value { return Value{n: n, meta: uint64(KindInt)} }
func FloatValue(f float64) Value {
	return Value{n: int64(math.Float64bits(f)), meta: uint64(KindFloat)}
}
func DecimalValue(d Decimal) Value     { return Value{s: string(d), meta: uint64(KindDecimal)} }
func StringValue(s string) Value       { return Value{s: s, meta: uint64(KindString)} }
func TimeOfDayValue(d TimeOfDay) Value { return Value{n: int64(d), meta: uint64(KindTimeOfDay)} }
func UUIDValue(u UUID) Value           { return Value{s: string(u[:]), meta: uint64(KindUUID)} }

// BytesValue holds a copy of b: a Value is immutable.
func BytesValue(b []byte) Value { return Value{s: string(b), meta: uint64(KindBytes)} }

// utcValue is a Time in UTC at sec and nsec (under a second) of Unix time.
func utcValue(sec int64, nsec int) Value {
	return Value{n: sec, meta: uint64(KindTime) | uint64(nsec)<<nsecShift}
}

// UnixValue is a Time at sec and nsec (0 to 999,999,999) of Unix time: in UTC, or with zoned in
// the fixed zone offset seconds east of UTC, at most maxOffset (about 36 hours) either way. It
// is how a Time comes back from its parts (Unix, Offset, Zoned).
func UnixValue(sec int64, nsec int, offset int, zoned bool) (Value, error) {
	switch {
	case nsec < 0 || nsec >= 1e9:
		return Value{}, fmt.Errorf("%d nanoseconds are not within a second", nsec)
	case !zoned && offset != 0:
		return Value{}, fmt.Errorf("a time in UTC has no offset (%d seconds)", offset)
	case offset > maxOffset || offset < -maxOffset:
		return Value{}, fmt.Errorf("a zone %d seconds from UTC is farther than any; a value holds at most %d", offset, maxOffset)
	case !zoned:
		return utcValue(sec, nsec), nil
	}
	return zonedValue(sec, nsec, offset), nil
}

// zonedValue is a Time at sec and nsec of Unix time in the fixed zone offset seconds east of
// UTC, which must be within maxOffset.
func zonedValue(sec int64, nsec int, offset int) Value {
	return Value{n: sec, meta: uint64(KindTime) | zonedBit | uint64(nsec)<<nsecShift | uint64(int64(offset))<<offShift}
}

// TimeValue holds t's instant and its zone's offset: everything a target reads of a time value
// (its wall clock, or its instant). A zone other than UTC comes back from Time as a fixed zone
// of the same offset. No zone is 36 hours from UTC; TimeValue panics on a made-up one farther
// than maxOffset, and ValueOf refuses it.
func TimeValue(t time.Time) Value {
	v, err := timeValue(t)
	if err != nil {
		panic(err)
	}
	return v
}

func timeValue(t time.Time) (Value, error) {
	if t.Location() == time.UTC {
		return utcValue(t.Unix(), t.Nanosecond()), nil
	}
	_, off := t.Zone()
	if off > maxOffset || off < -maxOffset {
		return Value{}, fmt.Errorf("time %v is in a zone %d seconds from UTC; a value holds at most %d", t, off, maxOffset)
	}
	return zonedValue(t.Unix(), t.Nanosecond(), off), nil
}

// ValueOf makes a Value of v, which must be nil or one of the package's Go types.
func ValueOf(v any) (Value, error) {
	switch x := v.(type) {
	case nil:
		return Value{}, nil
	case bool:
		return BoolValue(x), nil
	case int64:
		return IntValue(x), nil
	case float64:
		return FloatValue(x), nil
	case Decimal:
		return DecimalValue(x), nil
	case string:
		return StringValue(x), nil
	case []byte:
		return BytesValue(x), nil
	case time.Time:
		return timeValue(x)
	case TimeOfDay:
		return TimeOfDayValue(x), nil
	case UUID:
		return UUIDValue(x), nil
	}
	return Value{}, fmt.Errorf("a value of Go type %T is none of the types a row holds", v)
}

// ValuesOf appends the Values of vs to dst, failing on the first value ValueOf refuses.
func ValuesOf(dst []Value, vs ...any) ([]Value, error) {
	for i, x := range vs {
		v, err := ValueOf(x)
		if err != nil {
			return dst, fmt.Errorf("value %d: %w", i+1, err)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// Kind is the Go type v holds; IsNull reports a NULL.
func (v Value) Kind() Kind   { return Kind(v.meta & kindMask) }
func (v Value) IsNull() bool { return v.Kind() == KindNull }

// The accessors below read a value of their kind; of another kind they return a zero value, so
// a caller checks Kind first.

func (v Value) Bool() bool           { return v.Kind() == KindBool && v.n != 0 }
func (v Value) Int() int64           { return v.when(KindInt) }
func (v Value) Float() float64       { return math.Float64frombits(uint64(v.when(KindFloat))) }
func (v Value) TimeOfDay() TimeOfDay { return TimeOfDay(v.when(KindTimeOfDay)) }

func (v Value) when(k Kind) int64 {
	if v.Kind() != k {
		return 0
	}
	return v.n
}

// Decimal is a Decimal value; Text a String value.
func (v Value) Decimal() Decimal { return Decimal(v.text(KindDecimal)) }
func (v Value) Text() string     { return v.text(KindString) }

func (v Value) text(k Kind) string {
	if v.Kind() != k {
		return ""
	}
	return v.s
}

// Bytes is a copy of a Bytes value, never nil for one (an empty binary value is not NULL).
func (v Value) Bytes() []byte {
	if v.Kind() != KindBytes {
		return nil
	}
	return append(make([]byte, 0, len(v.s)), v.s...)
}

// AppendBytes appends a Bytes value's bytes to b.
func (v Value) AppendBytes(b []byte) []byte { return append(b, v.text(KindBytes)...) }

// Len is the length in bytes of a String, Decimal or Bytes value.
func (v Value) Len() int {
	switch v.Kind() {
	case KindString, KindDecimal, KindBytes:
		return len(v.s)
	}
	return 0
}

// UUID is a UUID value.
func (v Value) UUID() (u UUID) {
	if v.Kind() == KindUUID {
		copy(u[:], v.s)
	}
	return u
}

// Unix is a Time value's instant in Unix seconds and nanoseconds.
func (v Value) Unix() (sec int64, nsec int) {
	if v.Kind() != KindTime {
		return 0, 0
	}
	return v.n, int(v.meta >> nsecShift & nsecMask)
}

// Offset is a Time value's zone offset east of UTC, in seconds: its wall clock is the instant
// plus the offset.
func (v Value) Offset() int {
	if v.Kind() != KindTime {
		return 0
	}
	return int(int64(v.meta) >> offShift)
}

// Zoned reports whether a Time value is in a fixed zone (even +00:00) rather than in UTC.
func (v Value) Zoned() bool { return v.Kind() == KindTime && v.meta&zonedBit != 0 }

// Time is a Time value as a time.Time: in UTC, or in a fixed zone of its offset.
func (v Value) Time() time.Time {
	if v.Kind() != KindTime {
		return time.Time{}
	}
	sec, nsec := v.Unix()
	t := time.Unix(sec, int64(nsec))
	if v.meta&zonedBit == 0 {
		return t.UTC()
	}
	off := v.Offset()
	if off%60 == 0 && off/60 >= -schema.MaxOffsetMinutes && off/60 <= schema.MaxOffsetMinutes {
		return t.In(fixedZone(off / 60))
	}
	return t.In(time.FixedZone("", off))
}

// Any is the value as its Go type, nil for NULL.
func (v Value) Any() any {
	switch v.Kind() {
	case KindBool:
		return v.Bool()
	case KindInt:
		return v.n
	case KindFloat:
		return v.Float()
	case KindDecimal:
		return v.Decimal()
	case KindString:
		return v.s
	case KindBytes:
		return v.Bytes()
	case KindTime:
		return v.Time()
	case KindTimeOfDay:
		return v.TimeOfDay()
	case KindUUID:
		return v.UUID()
	}
	return nil
}

// String formats the value as fmt formats its Go type, for messages and tests.
func (v Value) String() string {
	if v.Kind() == KindNull {
		return "<nil>"
	}
	return fmt.Sprint(v.Any())
}
