package bulk

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/mirrord/mirrord/schema"
)

// ParseValue reads the text form of a value (PROTOCOL.md part B, "Value text") as the Go value
// that the package documents for col.Type. col must be normalized. The value must fit the column:
// integer ranges, decimal precision and scale, date ranges, fractional second digits, lengths.
// An error says what is wrong with the value and names the type; the caller adds table, column
// and row.
func ParseValue(col schema.Column, text string) (any, error) {
	switch col.Type {
	case schema.Bit:
		switch {
		case text == "1" || strings.EqualFold(text, "true"):
			return true, nil
		case text == "0" || strings.EqualFold(text, "false"):
			return false, nil
		}
		return nil, valueError(col, text, "want 0, 1, true or false")
	case schema.TinyInt:
		return parseInt(col, text, 0, math.MaxUint8)
	case schema.SmallInt:
		return parseInt(col, text, math.MinInt16, math.MaxInt16)
	case schema.Int:
		return parseInt(col, text, math.MinInt32, math.MaxInt32)
	case schema.BigInt:
		return parseInt(col, text, math.MinInt64, math.MaxInt64)
	case schema.Decimal, schema.Numeric:
		d, why := canonicalDecimal(text, col.Precision, col.Scale, 0)
		if why != "" {
			return nil, valueError(col, text, why)
		}
		return d, nil
	case schema.Money:
		d, why := canonicalDecimal(text, 19, 4, math.MaxInt64)
		if why != "" {
			return nil, valueError(col, text, why)
		}
		return d, nil
	case schema.SmallMoney:
		d, why := canonicalDecimal(text, 10, 4, math.MaxInt32)
		if why != "" {
			return nil, valueError(col, text, why)
		}
		return d, nil
	case schema.Float:
		return parseFloat(col, text, 64)
	case schema.Real:
		return parseFloat(col, text, 32)
	case schema.Date:
		if len(text) != 10 {
			return nil, valueError(col, text, "want YYYY-MM-DD")
		}
		y, m, d, ok := parseDate(text)
		if !ok {
			return nil, valueError(col, text, "want YYYY-MM-DD, a day of the years 0001 to 9999")
		}
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
	case schema.Time:
		c, why := parseClock(text, col.Scale)
		if why != "" {
			return nil, valueError(col, text, why)
		}
		if c.next != len(text) {
			return nil, valueError(col, text, "want hh:mm:ss[.fffffff]")
		}
		return TimeOfDay(c.sinceMidnight()), nil
	case schema.DateTime, schema.DateTime2, schema.SmallDateTime:
		return parseDateTime(col, text)
	case schema.DateTimeOffset:
		return parseDateTimeOffset(col, text)
	case schema.Binary, schema.VarBinary, schema.Image:
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return nil, valueError(col, text, "not standard base64")
		}
		if col.Length != schema.Max && len(b) > col.Length {
			return nil, valueError(col, text, "it is "+strconv.Itoa(len(b))+" bytes long")
		}
		return b, nil
	case schema.UniqueIdentifier:
		u, ok := parseUUID(text)
		if !ok {
			return nil, valueError(col, text, "want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex")
		}
		return u, nil
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		if !utf8.ValidString(text) {
			return nil, valueError(col, text, "not valid UTF-8")
		}
		// A string of n bytes has at most n characters and n UTF-16 code units, so only a
		// string longer in bytes than the column needs counting.
		if col.Length != schema.Max && len(text) > col.Length {
			if col.Type == schema.NChar || col.Type == schema.NVarChar {
				if n := utf16Length(text); n > col.Length {
					return nil, valueError(col, text, "it is "+strconv.Itoa(n)+" UTF-16 code units long")
				}
			} else if n := utf8.RuneCountInString(text); n > col.Length {
				return nil, valueError(col, text, "it is "+strconv.Itoa(n)+" characters long")
			}
		}
		return text, nil
	}
	return nil, fmt.Errorf("no value of unknown type %q can be read", string(col.Type))
}

// FormatValue is the inverse of ParseValue: the canonical text form of v for col, so that
// ParseValue(col, FormatValue(col, v)) equals v. v must be the Go type the package documents for
// col.Type; nil (NULL) has no text form and is an error. Decimals are checked against the
// column's precision and scale since canonicalizing needs them; other limits are not checked.
func FormatValue(col schema.Column, v any) (string, error) {
	if v == nil {
		return "", fmt.Errorf("a NULL %s has no text form", col.TypeString())
	}
	switch col.Type {
	case schema.Bit:
		if b, ok := v.(bool); ok {
			if b {
				return "1", nil
			}
			return "0", nil
		}
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		if i, ok := v.(int64); ok {
			return strconv.FormatInt(i, 10), nil
		}
	case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
		if d, ok := v.(Decimal); ok {
			p, s, limit := col.Precision, col.Scale, uint64(0)
			switch col.Type {
			case schema.Money:
				p, s, limit = 19, 4, math.MaxInt64
			case schema.SmallMoney:
				p, s, limit = 10, 4, math.MaxInt32
			}
			c, why := canonicalDecimal(string(d), p, s, limit)
			if why != "" {
				return "", valueError(col, string(d), why)
			}
			return string(c), nil
		}
	case schema.Float, schema.Real:
		if f, ok := v.(float64); ok {
			switch {
			case math.IsInf(f, 1):
				return "INF", nil
			case math.IsInf(f, -1):
				return "-INF", nil
			case math.IsNaN(f):
				return "NaN", nil
			case col.Type == schema.Real:
				return strconv.FormatFloat(f, 'g', -1, 32), nil
			}
			return strconv.FormatFloat(f, 'g', -1, 64), nil
		}
	case schema.Date:
		if t, ok := v.(time.Time); ok {
			var buf [10]byte
			return string(appendDate(buf[:0], t.UTC())), nil
		}
	case schema.Time:
		if d, ok := v.(TimeOfDay); ok {
			if d < 0 || time.Duration(d) >= 24*time.Hour {
				return "", fmt.Errorf("a time value must be under 24 hours since midnight, not %v", time.Duration(d))
			}
			var buf [16]byte
			return string(appendClock(buf[:0], time.Duration(d))), nil
		}
	case schema.DateTime, schema.DateTime2, schema.SmallDateTime:
		if t, ok := v.(time.Time); ok {
			var buf [32]byte
			return string(appendDateTime(buf[:0], t.UTC())), nil
		}
	case schema.DateTimeOffset:
		if t, ok := v.(time.Time); ok {
			_, offset := t.Zone()
			if offset%60 != 0 {
				return "", fmt.Errorf("a datetimeoffset offset must be whole minutes, not %ds", offset)
			}
			var buf [40]byte
			b := appendDateTime(buf[:0], t)
			sign, minutes := byte('+'), offset/60
			if minutes < 0 {
				sign, minutes = '-', -minutes
			}
			b = append(b, sign)
			b = append2(b, minutes/60)
			b = append(b, ':')
			b = append2(b, minutes%60)
			return string(b), nil
		}
	case schema.Binary, schema.VarBinary, schema.Image:
		if b, ok := v.([]byte); ok {
			return base64.StdEncoding.EncodeToString(b), nil
		}
	case schema.UniqueIdentifier:
		if u, ok := v.(UUID); ok {
			return u.String(), nil
		}
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		if s, ok := v.(string); ok {
			return s, nil
		}
	default:
		return "", fmt.Errorf("no value of unknown type %q can be written", string(col.Type))
	}
	return "", fmt.Errorf("a %s value must be a %s, not %T", col.TypeString(), goTypeName(col.Type), v)
}

// goTypeName names the Go type that holds values of t, for error messages.
func goTypeName(t schema.Type) string {
	switch t {
	case schema.Bit:
		return "bool"
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		return "int64"
	case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
		return "bulk.Decimal"
	case schema.Float, schema.Real:
		return "float64"
	case schema.Date, schema.DateTime, schema.DateTime2, schema.SmallDateTime, schema.DateTimeOffset:
		return "time.Time"
	case schema.Time:
		return "bulk.TimeOfDay"
	case schema.Binary, schema.VarBinary, schema.Image:
		return "[]byte"
	case schema.UniqueIdentifier:
		return "bulk.UUID"
	}
	return "string"
}

// String is the uniqueidentifier's text form in upper case, as SQL Server writes it.
func (u UUID) String() string {
	const hexDigits = "0123456789ABCDEF"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
	return string(b[:])
}

// String is the time in its canonical text form, hh:mm:ss[.fffffff].
func (d TimeOfDay) String() string {
	var buf [24]byte
	return string(appendClock(buf[:0], time.Duration(d)))
}

// ValueSize is roughly how many bytes a decoded value holds in memory: the interface that
// carries it and what it points to. It is for accounting of bytes in flight, not exact.
func ValueSize(v any) int {
	const iface = 16
	switch x := v.(type) {
	case nil:
		return iface
	case string:
		return iface + 16 + len(x)
	case Decimal:
		return iface + 16 + len(x)
	case []byte:
		return iface + 24 + len(x)
	case time.Time:
		return iface + 24
	case UUID:
		return iface + 16
	}
	return iface + 8
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

func parseInt(col schema.Column, text string, lo, hi int64) (any, error) {
	i, err := strconv.ParseInt(text, 10, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, valueError(col, text, "want a decimal integer")
	}
	if err != nil || i < lo || i > hi {
		return nil, valueError(col, text, "out of range "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10))
	}
	return i, nil
}

func parseFloat(col schema.Column, text string, bitSize int) (any, error) {
	// strconv also takes hexadecimal mantissas and digit separators, which are no decimal.
	if strings.ContainsAny(text, "xX_") {
		return nil, valueError(col, text, "want a decimal number, INF, -INF or NaN")
	}
	f, err := strconv.ParseFloat(text, bitSize)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, valueError(col, text, "out of range")
		}
		return nil, valueError(col, text, "want a decimal number, INF, -INF or NaN")
	}
	return f, nil
}

// canonicalDecimal checks text as a plain decimal number with at most precision-scale integer
// digits and scale fraction digits (fraction zeros beyond scale are allowed, as they change
// nothing), and returns it with exactly scale fraction digits, no '+', no leading zeros and no
// negative zero. A limit above zero also bounds the unscaled value (money): at most limit, or
// limit+1 when negative. why is empty on success.
func canonicalDecimal(text string, precision, scale int, limit uint64) (d Decimal, why string) {
	i, neg := 0, false
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		neg = text[i] == '-'
		i++
	}
	intStart := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if i < len(text) && text[i] == '.' {
		i++
		fracStart = i
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		fracEnd = i
	}
	if i != len(text) || intEnd == intStart && fracEnd == fracStart {
		return "", "want a plain decimal number like -123.45"
	}
	for intStart < intEnd && text[intStart] == '0' {
		intStart++
	}
	for fracEnd-fracStart > scale && text[fracEnd-1] == '0' {
		fracEnd--
	}
	intDigits, fracDigits := text[intStart:intEnd], text[fracStart:fracEnd]
	if len(fracDigits) > scale {
		return "", "it has " + strconv.Itoa(len(fracDigits)) + " digits after the point; at most " + strconv.Itoa(scale) + " fit"
	}
	if len(intDigits) > precision-scale {
		return "", "it has " + strconv.Itoa(len(intDigits)) + " digits before the point; at most " + strconv.Itoa(precision-scale) + " fit"
	}
	zero := strings.Trim(fracDigits, "0") == "" && intDigits == ""
	if zero {
		neg = false
	}
	if limit > 0 {
		var unscaled uint64 // at most 19 digits, which fit a uint64
		for _, digits := range [2]string{intDigits, fracDigits} {
			for j := 0; j < len(digits); j++ {
				unscaled = unscaled*10 + uint64(digits[j]-'0')
			}
		}
		for j := len(fracDigits); j < scale; j++ {
			unscaled *= 10
		}
		if neg && unscaled > limit+1 || !neg && unscaled > limit {
			return "", "out of range"
		}
	}
	var buf [96]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	if intDigits == "" {
		b = append(b, '0')
	} else {
		b = append(b, intDigits...)
	}
	if scale > 0 {
		b = append(b, '.')
		b = append(b, fracDigits...)
		for j := len(fracDigits); j < scale; j++ {
			b = append(b, '0')
		}
	}
	if string(b) == text {
		return Decimal(text), ""
	}
	return Decimal(b), ""
}

// splitDecimal returns the significant parts of a plain decimal: its sign, its integer digits
// without leading zeros and its fraction digits without trailing zeros. Zero is never negative.
func splitDecimal(s string) (neg bool, intDigits, fracDigits string) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intDigits, fracDigits, _ = strings.Cut(s, ".")
	intDigits = strings.TrimLeft(intDigits, "0")
	fracDigits = strings.TrimRight(fracDigits, "0")
	if intDigits == "" && fracDigits == "" {
		neg = false
	}
	return neg, intDigits, fracDigits
}

func equalDecimals(a, b string) bool {
	na, ia, fa := splitDecimal(a)
	nb, ib, fb := splitDecimal(b)
	return na == nb && ia == ib && fa == fb
}

func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

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

// parseDate reads YYYY-MM-DD at the start of s: a real day of the years 1 to 9999.
func parseDate(s string) (y, m, d int, ok bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s, 4)
	m, ok2 := digits(s[5:], 2)
	d, ok3 := digits(s[8:], 2)
	if !ok1 || !ok2 || !ok3 || y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, 0, 0, false
	}
	return y, m, d, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// clock is a time of day read from text, and where the text goes on after it.
type clock struct {
	hour, minute, second, nanos int
	next                        int
}

func (c clock) sinceMidnight() time.Duration {
	return time.Duration(c.hour)*time.Hour + time.Duration(c.minute)*time.Minute +
		time.Duration(c.second)*time.Second + time.Duration(c.nanos)
}

// parseClock reads hh:mm:ss[.f{1,7}] at the start of s. Fraction digits beyond scale must be zero,
// since the source column cannot hold them.
func parseClock(s string, scale int) (c clock, why string) {
	const want = "want hh:mm:ss[.fffffff]"
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return c, want
	}
	var ok1, ok2, ok3 bool
	c.hour, ok1 = digits(s, 2)
	c.minute, ok2 = digits(s[3:], 2)
	c.second, ok3 = digits(s[6:], 2)
	if !ok1 || !ok2 || !ok3 || c.hour > 23 || c.minute > 59 || c.second > 59 {
		return c, want + ", a time of day"
	}
	c.next = 8
	if len(s) > 8 && s[8] == '.' {
		i := 9
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		n := i - 9
		if n < 1 || n > 7 {
			return c, "want 1 to 7 digits of fractional seconds"
		}
		for j := 9 + scale; j < i; j++ {
			if s[j] != '0' {
				return c, "it has more fractional second digits than " + strconv.Itoa(scale)
			}
		}
		f, _ := digits(s[9:], n)
		for ; n < 9; n++ {
			f *= 10
		}
		c.nanos, c.next = f, i
	}
	return c, ""
}

var (
	minDateTime      = time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime      = time.Date(9999, 12, 31, 23, 59, 59, 997_000_000, time.UTC)
	minSmallDateTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	maxSmallDateTime = time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC)
	minDateTime2     = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxDateTime2     = time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)
)

// wallClock reads YYYY-MM-DDThh:mm:ss[.f{1,7}] at the start of s as a time in UTC.
func wallClock(s string, scale int) (t time.Time, next int, why string) {
	const want = "want YYYY-MM-DDThh:mm:ss[.fffffff]"
	if len(s) < 19 || s[10] != 'T' {
		return t, 0, want
	}
	y, m, d, ok := parseDate(s)
	if !ok {
		return t, 0, want + ", a day of the years 0001 to 9999"
	}
	c, why := parseClock(s[11:], scale)
	if why != "" {
		return t, 0, why
	}
	return time.Date(y, time.Month(m), d, c.hour, c.minute, c.second, c.nanos, time.UTC), 11 + c.next, ""
}

func parseDateTime(col schema.Column, text string) (any, error) {
	scale, lo, hi := col.Scale, minDateTime2, maxDateTime2
	switch col.Type {
	case schema.DateTime:
		scale, lo, hi = 7, minDateTime, maxDateTime
	case schema.SmallDateTime:
		scale, lo, hi = 0, minSmallDateTime, maxSmallDateTime
	}
	t, next, why := wallClock(text, scale)
	if why == "" && next != len(text) {
		why = "want YYYY-MM-DDThh:mm:ss[.fffffff] with no zone"
	}
	if why == "" && col.Type == schema.SmallDateTime && t.Second() != 0 {
		why = "a smalldatetime has no seconds"
	}
	if why == "" && (t.Before(lo) || t.After(hi)) {
		why = "out of range " + string(appendDateTime(nil, lo)) + " to " + string(appendDateTime(nil, hi))
	}
	if why != "" {
		return nil, valueError(col, text, why)
	}
	return t, nil
}

func parseDateTimeOffset(col schema.Column, text string) (any, error) {
	wall, next, why := wallClock(text, col.Scale)
	if why != "" {
		return nil, valueError(col, text, why)
	}
	rest, offset := text[next:], 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, ok1 := digits(rest[1:], 2)
		m, ok2 := digits(rest[4:], 2)
		if !ok1 || !ok2 || m > 59 || h*60+m > 14*60 {
			return nil, valueError(col, text, "the offset is out of range -14:00 to +14:00")
		}
		offset = h*60 + m
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return nil, valueError(col, text, "want YYYY-MM-DDThh:mm:ss[.fffffff] and an offset ±hh:mm or Z")
	}
	// The wall clock is local to the offset; the instant is the wall clock less the offset.
	instant := wall.Add(-time.Duration(offset) * time.Minute)
	if instant.Before(minDateTime2) || instant.After(maxDateTime2) {
		return nil, valueError(col, text, "in UTC it is out of range 0001-01-01 to 9999-12-31")
	}
	return instant.In(fixedZone(offset)), nil
}

// zones caches one *time.Location per offset in minutes from -14:00 to +14:00, so that parsing
// a datetimeoffset does not allocate a zone each time.
var zones [2*14*60 + 1]atomic.Pointer[time.Location]

func fixedZone(minutes int) *time.Location {
	slot := &zones[minutes+14*60]
	if z := slot.Load(); z != nil {
		return z
	}
	slot.CompareAndSwap(nil, time.FixedZone("", minutes*60))
	return slot.Load()
}

func parseUUID(s string) (u UUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 16; i++ {
		if j == 8 || j == 13 || j == 18 || j == 23 {
			j++
		}
		hi, ok1 := hexValue(s[j])
		lo, ok2 := hexValue(s[j+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
		j += 2
	}
	return u, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func append2(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }

func appendDate(b []byte, t time.Time) []byte {
	y, m, d := t.Date()
	b = append2(b, y/100)
	b = append2(b, y%100)
	b = append(b, '-')
	b = append2(b, int(m))
	b = append(b, '-')
	return append2(b, d)
}

// appendClock writes hh:mm:ss and, when there is a fraction, a point and its digits without
// trailing zeros (100 ns is the finest unit).
func appendClock(b []byte, d time.Duration) []byte {
	b = append2(b, int(d/time.Hour))
	b = append(b, ':')
	b = append2(b, int(d/time.Minute%60))
	b = append(b, ':')
	b = append2(b, int(d/time.Second%60))
	ticks := int(d % time.Second / 100)
	if ticks == 0 {
		return b
	}
	b = append(b, '.')
	n := 7
	for ticks%10 == 0 {
		ticks /= 10
		n--
	}
	for div := pow10(n - 1); div > 0; div /= 10 {
		b = append(b, byte('0'+ticks/div%10))
	}
	return b
}

func pow10(n int) int {
	p := 1
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

// appendDateTime writes t's wall clock in its own zone as YYYY-MM-DDThh:mm:ss[.fffffff].
func appendDateTime(b []byte, t time.Time) []byte {
	b = appendDate(b, t)
	b = append(b, 'T')
	h, m, s := t.Clock()
	return appendClock(b, time.Duration(h)*time.Hour+time.Duration(m)*time.Minute+
		time.Duration(s)*time.Second+time.Duration(t.Nanosecond()))
}
