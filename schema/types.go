package schema

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"time"
)

// Type is a SQL Server type name as INFORMATION_SCHEMA.COLUMNS.DATA_TYPE spells it, in lower case.
type Type string

// The SQL Server types a TableSchema may name. rowversion and timestamp are read as binary(8):
// the mirror cannot write a rowversion column, so it keeps the bytes.
const (
	Bit              Type = "bit"
	TinyInt          Type = "tinyint"
	SmallInt         Type = "smallint"
	Int              Type = "int"
	BigInt           Type = "bigint"
	Decimal          Type = "decimal"
	Numeric          Type = "numeric"
	Money            Type = "money"
	SmallMoney       Type = "smallmoney"
	Float            Type = "float"
	Real             Type = "real"
	Date             Type = "date"
	Time             Type = "time"
	DateTime         Type = "datetime"
	DateTime2        Type = "datetime2"
	SmallDateTime    Type = "smalldatetime"
	DateTimeOffset   Type = "datetimeoffset"
	Char             Type = "char"
	VarChar          Type = "varchar"
	NChar            Type = "nchar"
	NVarChar         Type = "nvarchar"
	Text             Type = "text"
	NText            Type = "ntext"
	Binary           Type = "binary"
	VarBinary        Type = "varbinary"
	Image            Type = "image"
	UniqueIdentifier Type = "uniqueidentifier"
	XML              Type = "xml"
)

// Max is the Length of a (n)varchar(max) or varbinary(max) column, and of text, ntext, image and xml.
const Max = -1

// SQL Server's limits on a column's attributes.
const (
	// MaxByteLength is the longest char, varchar, binary or varbinary short of max, in bytes.
	MaxByteLength = 8000
	// MaxUnicodeLength is the longest nchar or nvarchar short of max, in UTF-16 code units: the
	// same 8000 bytes.
	MaxUnicodeLength = 4000
	// MaxPrecision is the most digits a decimal or numeric holds.
	MaxPrecision = 38
	// MaxFractionDigits is the most fractional second digits of time, datetime2 and
	// datetimeoffset: 100 nanoseconds.
	MaxFractionDigits = 7
	// MaxOffsetMinutes bounds a datetimeoffset's offset: -14:00 to +14:00.
	MaxOffsetMinutes = 14 * 60
)

// money and smallmoney are fixed-point numbers: an 8-byte and a 4-byte integer count of
// ten-thousandths. Their precision is the digits of that integer's range.
const (
	MoneyPrecision      = 19
	SmallMoneyPrecision = 10
	MoneyScale          = 4 // of smallmoney too
)

// Family is the kind of value a type holds. Code that treats types alike switches on the
// family, and on the type only where types of one family differ (a range, a width, a target's
// own column type).
type Family uint8

// The families. FamilyUnknown is the family of a type this package does not know.
const (
	FamilyUnknown        Family = iota
	FamilyBool                  // bit
	FamilyInteger               // tinyint, smallint, int, bigint (IntegerRange)
	FamilyFloat                 // float, real
	FamilyDecimal               // decimal, numeric, money, smallmoney (Column.Digits)
	FamilyString                // char, varchar, nchar, nvarchar, text, ntext, xml
	FamilyBinary                // binary, varbinary, image
	FamilyDate                  // date
	FamilyDateTime              // datetime, datetime2, smalldatetime: a wall clock without zone
	FamilyDateTimeOffset        // datetimeoffset: an instant and its offset
	FamilyTime                  // time: a time of day
	FamilyUUID                  // uniqueidentifier
)

var familyNames = [...]string{"unknown", "bool", "integer", "float", "decimal", "string", "binary", "date", "datetime", "datetimeoffset", "time", "uuid"}

func (f Family) String() string {
	if int(f) < len(familyNames) {
		return familyNames[f]
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// Family is the family of t, FamilyUnknown when t is not a type this package knows. It is a
// switch rather than a field of typeRules since values are parsed by it one at a time.
func (t Type) Family() Family {
	switch t {
	case Bit:
		return FamilyBool
	case TinyInt, SmallInt, Int, BigInt:
		return FamilyInteger
	case Float, Real:
		return FamilyFloat
	case Decimal, Numeric, Money, SmallMoney:
		return FamilyDecimal
	case Char, VarChar, NChar, NVarChar, Text, NText, XML:
		return FamilyString
	case Binary, VarBinary, Image:
		return FamilyBinary
	case Date:
		return FamilyDate
	case DateTime, DateTime2, SmallDateTime:
		return FamilyDateTime
	case DateTimeOffset:
		return FamilyDateTimeOffset
	case Time:
		return FamilyTime
	case UniqueIdentifier:
		return FamilyUUID
	}
	return FamilyUnknown
}

// IntegerRange is the range of an integer type; ok is false for other types.
func (t Type) IntegerRange() (lo, hi int64, ok bool) {
	switch t {
	case TinyInt:
		return 0, math.MaxUint8, true
	case SmallInt:
		return math.MinInt16, math.MaxInt16, true
	case Int:
		return math.MinInt32, math.MaxInt32, true
	case BigInt:
		return math.MinInt64, math.MaxInt64, true
	}
	return 0, 0, false
}

// UnscaledRange is the range of a money or smallmoney value counted in ten-thousandths, the
// integer SQL Server stores; ok is false for other types, whose precision alone bounds them.
func (t Type) UnscaledRange() (lo, hi int64, ok bool) {
	switch t {
	case Money:
		return math.MinInt64, math.MaxInt64, true
	case SmallMoney:
		return math.MinInt32, math.MaxInt32, true
	}
	return 0, 0, false
}

// Digits is the precision and scale of a column of the decimal family: the column's own for
// decimal and numeric, SQL Server's fixed ones for money (19,4) and smallmoney (10,4); zero for
// other types.
func (c Column) Digits() (precision, scale int) {
	switch c.Type {
	case Decimal, Numeric:
		return c.Precision, c.Scale
	case Money:
		return MoneyPrecision, MoneyScale
	case SmallMoney:
		return SmallMoneyPrecision, MoneyScale
	}
	return 0, 0
}

// The ranges of the date and time types, as SQL Server documents them. datetime counts in
// 1/300 seconds, so its last instant is .997; smalldatetime has no seconds.
var (
	minDate          = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDate          = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	minDateTime      = time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime      = time.Date(9999, 12, 31, 23, 59, 59, 997_000_000, time.UTC)
	minSmallDateTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxSmallDateTime = time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC)
	minDateTime2     = minDate
	maxDateTime2     = time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)
)

// TimeRange is the first and last value of a date, datetime, datetime2, smalldatetime or
// datetimeoffset, in UTC (for a datetimeoffset, the instant); ok is false for other types.
func (t Type) TimeRange() (lo, hi time.Time, ok bool) {
	switch t {
	case Date:
		return minDate, maxDate, true
	case DateTime:
		return minDateTime, maxDateTime, true
	case SmallDateTime:
		return minSmallDateTime, maxSmallDateTime, true
	case DateTime2, DateTimeOffset:
		return minDateTime2, maxDateTime2, true
	}
	return time.Time{}, time.Time{}, false
}

// Unicode reports whether a character type holds UTF-16 (nchar, nvarchar, ntext, xml) rather
// than the code page of its collation (char, varchar, text).
func (t Type) Unicode() bool {
	switch t {
	case NChar, NVarChar, NText, XML:
		return true
	}
	return false
}

// MaxLength is the longest Length a column of t may have short of Max (in characters for
// character types, bytes for binary types); zero when t takes no length, or always has Max.
func (t Type) MaxLength() int { return typeRules[t].maxLength }

// HasDigits reports whether a column of t has its own Precision and Scale: decimal and numeric.
func (t Type) HasDigits() bool { return typeRules[t].decimal }

// HasFraction reports whether a column's Scale is its fractional second digits: time,
// datetime2 and datetimeoffset.
func (t Type) HasFraction() bool { return typeRules[t].fraction }

// typeRule says which of a column's attributes a type uses and what range they may take.
type typeRule struct {
	maxLength int  // > 0: Length is used, 1..maxLength
	allowMax  bool // Length may be Max
	alwaysMax bool // Length is always Max (text, ntext, image, xml)
	decimal   bool // Precision 1..MaxPrecision and Scale 0..Precision are used
	fraction  bool // Scale 0..MaxFractionDigits is used (fractional seconds)
	keyable   bool // may be part of a primary key
}

var typeRules = map[Type]typeRule{
	Bit: {keyable: true}, TinyInt: {keyable: true}, SmallInt: {keyable: true}, Int: {keyable: true}, BigInt: {keyable: true},
	Decimal: {decimal: true, keyable: true}, Numeric: {decimal: true, keyable: true},
	Money: {keyable: true}, SmallMoney: {keyable: true}, Float: {keyable: true}, Real: {keyable: true},
	Date: {keyable: true}, Time: {fraction: true, keyable: true}, DateTime: {keyable: true},
	DateTime2: {fraction: true, keyable: true}, SmallDateTime: {keyable: true}, DateTimeOffset: {fraction: true, keyable: true},
	Char: {maxLength: MaxByteLength, keyable: true}, VarChar: {maxLength: MaxByteLength, allowMax: true, keyable: true},
	NChar: {maxLength: MaxUnicodeLength, keyable: true}, NVarChar: {maxLength: MaxUnicodeLength, allowMax: true, keyable: true},
	Text: {alwaysMax: true}, NText: {alwaysMax: true},
	Binary: {maxLength: MaxByteLength, keyable: true}, VarBinary: {maxLength: MaxByteLength, allowMax: true, keyable: true},
	Image: {alwaysMax: true}, UniqueIdentifier: {keyable: true}, XML: {alwaysMax: true},
}

// Known reports whether t is a type this package knows.
func Known(t Type) bool { _, ok := typeRules[t]; return ok }

// Types returns every type this package knows, sorted by name, for tables built over all of them.
func Types() []Type { return slices.Sorted(maps.Keys(typeRules)) }
