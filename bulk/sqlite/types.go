package sqlite

// The type table: how each SQL Server type is declared in a SQLite file and how its values are
// stored there. TYPES.md beside this file is the same table for readers.
//
// SQLite derives a column's affinity from the declared type name (a name containing INT gets
// INTEGER affinity; CHAR, CLOB or TEXT gets TEXT; BLOB gets none; REAL, FLOA or DOUB gets REAL;
// anything else NUMERIC), and NUMERIC affinity would turn the text "1.50" into the REAL 1.5.
// So every column is declared as <SQL SERVER TYPE>[_MAX]_<STORAGE>[(arguments)], for example
// DECIMAL_TEXT(38,10), NVARCHAR_TEXT(220), NVARCHAR_MAX_TEXT, TIME_TEXT(7), INT_INTEGER: the
// storage word picks the affinity on purpose, and the whole name reads back from
// PRAGMA table_xinfo as the exact SQL Server type. No SQL Server type name contains INT unless it
// is an integer type, so the storage word always decides the affinity.

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// storage is a SQLite storage class, used as the last word of a declared type.
type storage string

const (
	storeInteger storage = "INTEGER"
	storeReal    storage = "REAL"
	storeText    storage = "TEXT"
	storeBlob    storage = "BLOB"
)

// typeArgs says which column attributes the declared type's parentheses carry.
type typeArgs int

const (
	argsNone      typeArgs = iota
	argsLength             // (n), or _MAX in the name when the length is max
	argsPrecScale          // (precision,scale)
	argsScale              // (fractional second digits)
)

type sqliteType struct {
	storage storage
	args    typeArgs
}

// sqliteTypes is the type table, built over every SQL Server type: the family picks the
// storage class, and the attributes the type uses pick the arguments. text, ntext, image and xml
// are always max, so they have no arguments; money and smallmoney have SQL Server's fixed
// precision and scale.
var sqliteTypes = func() map[schema.Type]sqliteType {
	table := map[schema.Type]sqliteType{}
	for _, t := range schema.Types() {
		st := sqliteType{storage: storeText, args: argsNone}
		switch t.Family() {
		case schema.FamilyBool, schema.FamilyInteger:
			st.storage = storeInteger
		case schema.FamilyFloat:
			st.storage = storeReal
		case schema.FamilyBinary:
			st.storage = storeBlob
		}
		switch {
		case t.MaxLength() > 0:
			st.args = argsLength
		case t.HasDigits():
			st.args = argsPrecScale
		case t.HasFraction():
			st.args = argsScale
		}
		table[t] = st
	}
	return table
}()

// declaredType is the SQLite type name a column is declared with. c must be normalized and valid.
func declaredType(c schema.Column) string {
	t, ok := sqliteTypes[c.Type]
	if !ok {
		// Validate rejects unknown types before any SQL is made; keep the name visible anyway.
		return strings.ToUpper(string(c.Type)) + "_UNKNOWN"
	}
	name := strings.ToUpper(string(c.Type))
	switch t.args {
	case argsLength:
		if c.Length == schema.Max {
			return name + "_MAX_" + string(t.storage)
		}
		return name + "_" + string(t.storage) + "(" + strconv.Itoa(c.Length) + ")"
	case argsPrecScale:
		return name + "_" + string(t.storage) + "(" + strconv.Itoa(c.Precision) + "," + strconv.Itoa(c.Scale) + ")"
	case argsScale:
		return name + "_" + string(t.storage) + "(" + strconv.Itoa(c.Scale) + ")"
	}
	return name + "_" + string(t.storage)
}

// parseDeclaredType reads a declared type back into the column's SQL Server type attributes.
// It is the inverse of declaredType and refuses any name declaredType does not make.
func parseDeclaredType(decl string) (schema.Column, error) {
	var c schema.Column
	name, args := strings.TrimSpace(decl), ""
	if i := strings.IndexByte(name, '('); i >= 0 {
		if !strings.HasSuffix(name, ")") {
			return c, fmt.Errorf("declared type %q has unbalanced parentheses", decl)
		}
		name, args = strings.TrimSpace(name[:i]), strings.ReplaceAll(name[i+1:len(name)-1], " ", "")
	}
	name = strings.ToUpper(name)
	cut := strings.LastIndexByte(name, '_')
	if cut <= 0 {
		return c, fmt.Errorf("declared type %q is not of the form TYPE_STORAGE; it was not created by mirrord", decl)
	}
	base, store := name[:cut], storage(name[cut+1:])
	isMax := false
	if b, ok := strings.CutSuffix(base, "_MAX"); ok {
		base, isMax = b, true
	}
	c.Type = schema.Type(strings.ToLower(base))
	t, ok := sqliteTypes[c.Type]
	if !ok {
		return c, fmt.Errorf("declared type %q names no SQL Server type mirrord knows", decl)
	}
	if t.storage != store {
		return c, fmt.Errorf("declared type %q stores %s as %s, not %s", decl, c.Type, store, t.storage)
	}
	if isMax && t.args != argsLength {
		return c, fmt.Errorf("declared type %q: %s has no max length", decl, c.Type)
	}
	nums, err := parseTypeArgs(args)
	if err != nil {
		return c, fmt.Errorf("declared type %q: %w", decl, err)
	}
	want := map[typeArgs]int{argsNone: 0, argsLength: 1, argsPrecScale: 2, argsScale: 1}[t.args]
	if isMax {
		want = 0
	}
	if len(nums) != want {
		return c, fmt.Errorf("declared type %q has %d arguments; %s takes %d", decl, len(nums), c.Type, want)
	}
	switch t.args {
	case argsLength:
		if isMax {
			c.Length = schema.Max
		} else {
			c.Length = nums[0]
		}
	case argsPrecScale:
		c.Precision, c.Scale = nums[0], nums[1]
	case argsScale:
		c.Scale = nums[0]
	}
	return c.Normalize(), nil
}

func parseTypeArgs(args string) ([]int, error) {
	if args == "" {
		return nil, nil
	}
	var nums []int
	for _, a := range strings.Split(args, ",") {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("argument %q is not a count", a)
		}
		nums = append(nums, n)
	}
	return nums, nil
}

// encoder turns one value of a column (see bulk's value table) into the value SQLite stores.
// NULL stays nil.
type encoder func(v bulk.Value) (any, error)

// nanText is how a float NaN is stored: SQLite turns a bound NaN into NULL. In a REAL column the
// text stays text, since it is not a well-formed number.
const nanText = "NaN"

// newEncoder returns the encoder of a normalized, valid column. Numbers, booleans and bytes are
// stored natively; every other type as its canonical protocol text (bulk.Format), which keeps a
// decimal at exactly its column's scale, a time's fraction without trailing zeros (one instant,
// one text, whatever the column's scale) and a datetimeoffset's own offset.
func newEncoder(c schema.Column) encoder {
	wrong := func(v bulk.Value) error {
		return fmt.Errorf("column %s: %w", c.Name, bulk.WrongType(c, v.Any()))
	}
	// want checks a value's kind; a NULL is nil, nil.
	want := func(k bulk.Kind, encode func(v bulk.Value) (any, error)) encoder {
		return func(v bulk.Value) (any, error) {
			switch v.Kind() {
			case bulk.KindNull:
				return nil, nil
			case k:
				return encode(v)
			}
			return nil, wrong(v)
		}
	}
	switch c.Type.Family() {
	case schema.FamilyBool:
		return want(bulk.KindBool, func(v bulk.Value) (any, error) {
			if v.Bool() {
				return int64(1), nil
			}
			return int64(0), nil
		})
	case schema.FamilyInteger:
		lo, hi, _ := c.Type.IntegerRange()
		return want(bulk.KindInt, func(v bulk.Value) (any, error) {
			x := v.Int()
			if x < lo || x > hi {
				return nil, fmt.Errorf("column %s (%s): %d is out of range %d to %d", c.Name, c.Type, x, lo, hi)
			}
			return x, nil
		})
	case schema.FamilyFloat:
		return want(bulk.KindFloat, func(v bulk.Value) (any, error) {
			x := v.Float()
			if math.IsNaN(x) {
				return nanText, nil
			}
			return x, nil
		})
	case schema.FamilyString:
		return want(bulk.KindString, func(v bulk.Value) (any, error) { return v.Text(), nil })
	case schema.FamilyBinary:
		// Never nil: the driver binds a nil slice as NULL, and an empty value must stay empty.
		return want(bulk.KindBytes, func(v bulk.Value) (any, error) { return v.Bytes(), nil })
	case schema.FamilyDecimal, schema.FamilyDate, schema.FamilyTime, schema.FamilyDateTime,
		schema.FamilyDateTimeOffset, schema.FamilyUUID:
		return func(v bulk.Value) (any, error) {
			if v.IsNull() {
				return nil, nil
			}
			s, err := bulk.Format(c, v)
			if err != nil {
				return nil, fmt.Errorf("column %s: %w", c.Name, err)
			}
			return s, nil
		}
	}
	return func(bulk.Value) (any, error) {
		return nil, fmt.Errorf("column %s: type %q has no SQLite storage", c.Name, string(c.Type))
	}
}

// decodeValue turns a stored value (as the driver returns it) back into the Go value of the
// column's SQL Server type. An empty BLOB comes back from the driver as a nil []byte inside a
// non-nil interface, which is how it is told apart from NULL.
func decodeValue(c schema.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	bad := func() (any, error) {
		return nil, fmt.Errorf("column %s (%s): stored value %v (%T) is not what mirrord writes", c.Name, c.TypeString(), v, v)
	}
	switch c.Type.Family() {
	case schema.FamilyBool:
		if x, ok := v.(int64); ok && (x == 0 || x == 1) {
			return x == 1, nil
		}
		return bad()
	case schema.FamilyInteger:
		if x, ok := v.(int64); ok {
			return x, nil
		}
		return bad()
	case schema.FamilyFloat:
		switch x := v.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			if x == nanText {
				return math.NaN(), nil
			}
		}
		return bad()
	case schema.FamilyString:
		if x, ok := v.(string); ok {
			return x, nil
		}
		return bad()
	case schema.FamilyBinary:
		if x, ok := v.([]byte); ok {
			if x == nil {
				return []byte{}, nil
			}
			return x, nil
		}
		return bad()
	}
	s, ok := v.(string)
	if !ok {
		return bad()
	}
	// The stored text was checked against the column when it was written; read it back with
	// the widest fraction, since a column widened later keeps its older, shorter values.
	if c.Type.HasFraction() {
		c.Scale = schema.MaxFractionDigits
	}
	out, err := bulk.ParseValue(c, s)
	if err != nil {
		return nil, fmt.Errorf("column %s: stored text: %w", c.Name, err)
	}
	return out, nil
}
