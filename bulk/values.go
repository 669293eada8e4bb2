package bulk

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/mirrord/mirrord/schema"
)

// The values of a row, by family: this file reads, writes and compares them through the
// family's own file (values_number.go, values_decimal.go, values_time.go, values_text.go).

// ParseValue reads the text form of a value (PROTOCOL.md part B, "Value text") as the Go value
// that the package documents for col.Type. col must be normalized. The value must fit the column:
// integer ranges, decimal precision and scale, date ranges, fractional second digits, lengths.
// An error says what is wrong with the value and names the type; the caller adds table, column
// and row.
func ParseValue(col schema.Column, text string) (any, error) {
	v, err := parseValue(col, text)
	if err != nil {
		return nil, err
	}
	return v.Any(), nil
}

func parseValue(col schema.Column, text string) (Value, error) {
	switch col.Type.Family() {
	case schema.FamilyBool:
		return parseBool(col, text)
	case schema.FamilyInteger:
		lo, hi, _ := col.Type.IntegerRange()
		return parseInt(col, text, lo, hi)
	case schema.FamilyDecimal:
		return parseDecimal(col, text)
	case schema.FamilyFloat:
		return parseFloat(col, text)
	case schema.FamilyDate:
		return parseDateValue(col, text)
	case schema.FamilyTime:
		return parseTime(col, text)
	case schema.FamilyDateTime:
		p := newDateTimeParser(col)
		return p.parse(text)
	case schema.FamilyDateTimeOffset:
		return parseDateTimeOffset(col, text)
	case schema.FamilyBinary:
		return parseBinary(col, text)
	case schema.FamilyUUID:
		return parseUUIDValue(col, text)
	case schema.FamilyString:
		return parseString(col, text)
	}
	return Value{}, fmt.Errorf("no value of unknown type %q can be read", string(col.Type))
}

// Parser returns ParseValue for col as a function of the text alone, giving a Value: a caller
// that parses many values of one column (a decoder, row after row) decides the column's type and
// limits once, not at every value, and boxes none of them. col must be normalized.
func Parser(col schema.Column) func(text string) (Value, error) {
	switch col.Type.Family() {
	case schema.FamilyInteger:
		lo, hi, _ := col.Type.IntegerRange()
		return func(text string) (Value, error) { return parseInt(col, text, lo, hi) }
	case schema.FamilyDateTime:
		p := newDateTimeParser(col)
		return p.parse
	case schema.FamilyString:
		return func(text string) (Value, error) { return parseString(col, text) }
	}
	return func(text string) (Value, error) { return parseValue(col, text) }
}

// FormatValue is the inverse of ParseValue: the canonical text form of v for col, so that
// ParseValue(col, FormatValue(col, v)) equals v. v must be the Go type the package documents for
// col.Type; nil (NULL) has no text form and is an error. Decimals are checked against the
// column's precision and scale since canonicalizing needs them; other limits are not checked.
func FormatValue(col schema.Column, v any) (string, error) {
	value, err := ValueOf(v)
	if _, isTime := v.(time.Time); err != nil && isTime {
		return "", err // a made-up zone farther from UTC than a value holds (maxOffset)
	}
	if err != nil {
		return "", WrongType(col, v)
	}
	return Format(col, value)
}

// Format is FormatValue of a Value.
func Format(col schema.Column, v Value) (string, error) {
	if v.IsNull() {
		return "", fmt.Errorf("a NULL %s has no text form", col.TypeString())
	}
	k := v.Kind()
	switch col.Type.Family() {
	case schema.FamilyBool:
		if k == KindBool {
			return formatBool(v.Bool()), nil
		}
	case schema.FamilyInteger:
		if k == KindInt {
			return strconv.FormatInt(v.Int(), 10), nil
		}
	case schema.FamilyDecimal:
		if k == KindDecimal {
			return formatDecimal(col, v.Decimal())
		}
	case schema.FamilyFloat:
		if k == KindFloat {
			return formatFloat(col, v.Float()), nil
		}
	case schema.FamilyDate:
		if k == KindTime {
			return formatDate(v.Time()), nil
		}
	case schema.FamilyTime:
		if k == KindTimeOfDay {
			return formatTime(v.TimeOfDay())
		}
	case schema.FamilyDateTime:
		if k == KindTime {
			return formatDateTime(v.Time()), nil
		}
	case schema.FamilyDateTimeOffset:
		if k == KindTime {
			return formatDateTimeOffset(v.Time())
		}
	case schema.FamilyBinary:
		if k == KindBytes {
			return formatBinary(v.Bytes()), nil
		}
	case schema.FamilyUUID:
		if k == KindUUID {
			return v.UUID().String(), nil
		}
	case schema.FamilyString:
		if k == KindString {
			return v.Text(), nil
		}
	default:
		return "", fmt.Errorf("no value of unknown type %q can be written", string(col.Type))
	}
	return "", WrongType(col, v.Any())
}

// WrongType is the error for a value whose Go type is not the one the package documents for the
// column's type. Every target says it so, whichever of them meets the value.
func WrongType(col schema.Column, v any) error {
	return fmt.Errorf("a %s value must be %s, not %T", col.TypeString(), goTypeName(col.Type.Family()), v)
}

// goTypeName names the Go type that holds values of a family: the package documentation's table.
func goTypeName(f schema.Family) string {
	switch f {
	case schema.FamilyBool:
		return "bool"
	case schema.FamilyInteger:
		return "int64"
	case schema.FamilyDecimal:
		return "bulk.Decimal"
	case schema.FamilyFloat:
		return "float64"
	case schema.FamilyDate, schema.FamilyDateTime, schema.FamilyDateTimeOffset:
		return "time.Time"
	case schema.FamilyTime:
		return "bulk.TimeOfDay"
	case schema.FamilyBinary:
		return "[]byte"
	case schema.FamilyUUID:
		return "bulk.UUID"
	case schema.FamilyString:
		return "string"
	}
	return "no Go value (the type is unknown)"
}

// ValueSize is roughly how many bytes a decoded value holds in memory: its Value and what that
// points to. It is for accounting of bytes in flight, not exact.
func ValueSize(v Value) int {
	return int(unsafe.Sizeof(v)) + len(v.s)
}

// EqualValues reports whether a and b are the same value of the types ParseValue returns:
// time.Time by instant and zone offset, float64 by bits except that NaN equals NaN (so -0 and
// 0 differ), Decimal by numeric value, []byte by content. nil equals only nil.
func EqualValues(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case float64:
		y, ok := b.(float64)
		return ok && (math.Float64bits(x) == math.Float64bits(y) || math.IsNaN(x) && math.IsNaN(y))
	case Decimal:
		y, ok := b.(Decimal)
		return ok && (x == y || equalDecimals(string(x), string(y)))
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []byte:
		y, ok := b.([]byte)
		return ok && bytes.Equal(x, y)
	case time.Time:
		y, ok := b.(time.Time)
		if !ok || !x.Equal(y) {
			return false
		}
		_, ox := x.Zone()
		_, oy := y.Zone()
		return ox == oy
	case TimeOfDay:
		y, ok := b.(TimeOfDay)
		return ok && x == y
	case UUID:
		y, ok := b.(UUID)
		return ok && x == y
	}
	return false
}

// valueError says what is wrong with text as a value of col's type, quoting at most 40 bytes of it.
func valueError(col schema.Column, text, why string) error {
	return fmt.Errorf("value %s is not a valid %s: %s", quoteShort(text), col.TypeString(), why)
}

func quoteShort(text string) string {
	const most = 40
	if len(text) <= most {
		return strconv.Quote(text)
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return strconv.Quote(text[:cut]) + "… (" + strconv.Itoa(len(text)) + " bytes)"
}

// digits reads n decimal digits at the start of s.
func digits(s string, n int) (int, bool) {
	if len(s) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}
