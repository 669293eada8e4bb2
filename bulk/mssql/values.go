package mssql

import (
	"fmt"
	"math"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// converter turns a bulk value (the Go type package bulk documents for the column's type family)
// into what go-mssqldb's bulk copy accepts for the column it is copied into. A value it cannot
// take gets an error; errNotDirect means the value is fine but must go through staging.
type converter func(v any) (any, error)

// errNotDirect says a value cannot be bulk-copied straight into its table column and must go
// through staging: today, a non-ASCII string bound for a char, varchar or text column.
var errNotDirect = fmt.Errorf("the value must go through staging")

// converterFor returns the converter of a column; direct says the value goes straight into the
// table column (its own type) rather than into the staging column (stageBaseType).
func converterFor(c schema.Column, direct bool) (converter, error) {
	switch c.Type.Family() {
	case schema.FamilyBool:
		return func(v any) (any, error) {
			if b, ok := v.(bool); ok {
				return b, nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyInteger:
		return func(v any) (any, error) {
			if i, ok := v.(int64); ok {
				return i, nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyFloat:
		return func(v any) (any, error) {
			f, ok := v.(float64)
			if !ok {
				return nil, bulk.WrongType(c, v)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("SQL Server %s cannot hold %v", c.Type, f)
			}
			if c.Type == schema.Real && f != 0 && !math.IsInf(float64(float32(f)), 0) && float64(float32(f)) != f {
				return nil, fmt.Errorf("%v is not a real (float32) value", f)
			}
			return f, nil
		}, nil
	case schema.FamilyDecimal:
		// The driver takes a decimal as a plain string (not a named string type) and scales it
		// to the column; money goes into staging's decimal column the same way.
		return func(v any) (any, error) {
			if d, ok := v.(bulk.Decimal); ok {
				return string(d), nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyDate, schema.FamilyDateTime:
		// The wall clock as stored, sent in UTC: the driver encodes the time.Time's own fields.
		return func(v any) (any, error) {
			if t, ok := v.(time.Time); ok {
				return t.UTC(), nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyDateTimeOffset:
		return func(v any) (any, error) {
			if t, ok := v.(time.Time); ok {
				return t, nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyTime:
		// The driver takes a time column's value as a time.Time and sends its clock fields.
		return func(v any) (any, error) {
			d, ok := v.(bulk.TimeOfDay)
			if !ok {
				return nil, bulk.WrongType(c, v)
			}
			if d < 0 || time.Duration(d) >= 24*time.Hour {
				return nil, fmt.Errorf("time %v is not within a day", time.Duration(d))
			}
			return time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(d)), nil
		}, nil
	case schema.FamilyString:
		// Only UTF-16 types take any string straight: see errNotDirect.
		ascii := direct && !c.Type.Unicode()
		return func(v any) (any, error) {
			s, ok := v.(string)
			if !ok {
				return nil, bulk.WrongType(c, v)
			}
			if ascii && !isASCII(s) {
				return nil, errNotDirect
			}
			return s, nil
		}, nil
	case schema.FamilyBinary:
		return func(v any) (any, error) {
			if b, ok := v.([]byte); ok {
				if b == nil {
					b = []byte{} // nil would be sent as NULL; an empty value is not NULL
				}
				return b, nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	case schema.FamilyUUID:
		return func(v any) (any, error) {
			if u, ok := v.(bulk.UUID); ok {
				return guidWireBytes(u), nil
			}
			return nil, bulk.WrongType(c, v)
		}, nil
	}
	return nil, fmt.Errorf("column %s: no bulk copy conversion for type %q", c.Name, string(c.Type))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// guidWireBytes puts a UUID (bytes in text order) in SQL Server's storage order, which the
// driver sends as given (the DSN sets "guid conversion=false"): the first three groups are
// little-endian.
func guidWireBytes(u bulk.UUID) []byte {
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = u[3], u[2], u[1], u[0]
	b[4], b[5] = u[5], u[4]
	b[6], b[7] = u[7], u[6]
	copy(b[8:], u[8:])
	return b
}

// guidFromWire is the inverse of guidWireBytes, for reading a uniqueidentifier back.
func guidFromWire(b []byte) (bulk.UUID, error) {
	var u bulk.UUID
	if len(b) != 16 {
		return u, fmt.Errorf("a uniqueidentifier is 16 bytes, not %d", len(b))
	}
	u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
	u[4], u[5] = b[5], b[4]
	u[6], u[7] = b[7], b[6]
	copy(u[8:], b[8:])
	return u, nil
}
