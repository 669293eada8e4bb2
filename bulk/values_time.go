package bulk

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mirrord/mirrord/schema"
)

// The date and time families: date, datetime, datetime2, smalldatetime and datetimeoffset as a
// time.Time, time as a TimeOfDay.

func parseDateValue(col schema.Column, text string) (Value, error) {
	if len(text) != 10 {
		return Value{}, valueError(col, text, "want YYYY-MM-DD")
	}
	y, m, d, ok := parseDate(text)
	if !ok {
		return Value{}, valueError(col, text, "want YYYY-MM-DD, a day of the years 0001 to 9999")
	}
	return utcValue(unixDays(y, m, d)*86400, 0), nil
}

func formatDate(t time.Time) string {
	var buf [10]byte
	return string(appendDate(buf[:0], t.UTC()))
}

func parseTime(col schema.Column, text string) (Value, error) {
	c, why := parseClock(text, col.Scale)
	if why != "" {
		return Value{}, valueError(col, text, why)
	}
	if c.next != len(text) {
		return Value{}, valueError(col, text, "want hh:mm:ss[.fffffff]")
	}
	return TimeOfDayValue(TimeOfDay(c.sinceMidnight())), nil
}

func formatTime(d TimeOfDay) (string, error) {
	if d < 0 || time.Duration(d) >= 24*time.Hour {
		return "", fmt.Errorf("a time value must be under 24 hours since midnight, not %v", time.Duration(d))
	}
	return d.String(), nil
}

// String is the time in its canonical text form, hh:mm:ss[.fffffff].
func (d TimeOfDay) String() string {
	var buf [24]byte
	return string(appendClock(buf[:0], time.Duration(d)))
}

// dateTimeParser reads the text of one datetime, datetime2 or smalldatetime column.
type dateTimeParser struct {
	col    schema.Column
	scale  int
	small  bool // smalldatetime: no seconds
	lo, hi time.Time
	// lo and hi as Unix seconds and nanoseconds, which values are compared with.
	loSec, hiSec   int64
	loNsec, hiNsec int
}

func newDateTimeParser(col schema.Column) dateTimeParser {
	// datetime counts in 1/300 seconds, which take all seven digits to write; smalldatetime
	// has no fraction.
	scale := col.Scale
	switch col.Type {
	case schema.DateTime:
		scale = schema.MaxFractionDigits
	case schema.SmallDateTime:
		scale = 0
	}
	lo, hi, _ := col.Type.TimeRange()
	return dateTimeParser{col: col, scale: scale, small: col.Type == schema.SmallDateTime, lo: lo, hi: hi,
		loSec: lo.Unix(), loNsec: lo.Nanosecond(), hiSec: hi.Unix(), hiNsec: hi.Nanosecond()}
}

func (p *dateTimeParser) parse(text string) (Value, error) {
	sec, nsec, next, why := wallClock(text, p.scale)
	if why == "" && next != len(text) {
		why = "want YYYY-MM-DDThh:mm:ss[.fffffff] with no zone"
	}
	if why == "" && p.small && (sec%60 != 0 || nsec != 0) {
		why = "a smalldatetime has no seconds"
	}
	if why == "" && (before(sec, nsec, p.loSec, p.loNsec) || before(p.hiSec, p.hiNsec, sec, nsec)) {
		why = "out of range " + string(appendDateTime(nil, p.lo)) + " to " + string(appendDateTime(nil, p.hi))
	}
	if why != "" {
		return Value{}, valueError(p.col, text, why)
	}
	return utcValue(sec, nsec), nil
}

func formatDateTime(t time.Time) string {
	var buf [32]byte
	return string(appendDateTime(buf[:0], t.UTC()))
}

func parseDateTimeOffset(col schema.Column, text string) (Value, error) {
	sec, nsec, next, why := wallClock(text, col.Scale)
	if why != "" {
		return Value{}, valueError(col, text, why)
	}
	rest, offset := text[next:], 0
	switch {
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		h, ok1 := digits(rest[1:], 2)
		m, ok2 := digits(rest[4:], 2)
		if !ok1 || !ok2 || m > 59 || h*60+m > schema.MaxOffsetMinutes {
			return Value{}, valueError(col, text, "the offset is out of range -14:00 to +14:00")
		}
		offset = h*60 + m
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return Value{}, valueError(col, text, "want YYYY-MM-DDThh:mm:ss[.fffffff] and an offset ±hh:mm or Z")
	}
	// The wall clock is local to the offset; the instant is the wall clock less the offset.
	sec -= int64(offset) * 60
	if lo, hi, _ := col.Type.TimeRange(); before(sec, nsec, lo.Unix(), lo.Nanosecond()) || before(hi.Unix(), hi.Nanosecond(), sec, nsec) {
		return Value{}, valueError(col, text, "in UTC it is out of range 0001-01-01 to 9999-12-31")
	}
	return zonedValue(sec, nsec, offset*60), nil
}

func formatDateTimeOffset(t time.Time) (string, error) {
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
		if n < 1 || n > schema.MaxFractionDigits {
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

// wallClock reads YYYY-MM-DDThh:mm:ss[.f{1,7}] at the start of s as Unix seconds and
// nanoseconds, the wall clock read as UTC. A time.Time would cost the decoder its conversions
// at every value, for nothing it needs.
func wallClock(s string, scale int) (sec int64, nsec int, next int, why string) {
	const want = "want YYYY-MM-DDThh:mm:ss[.fffffff]"
	if len(s) < 19 || s[10] != 'T' {
		return 0, 0, 0, want
	}
	y, m, d, ok := parseDate(s)
	if !ok {
		return 0, 0, 0, want + ", a day of the years 0001 to 9999"
	}
	c, why := parseClock(s[11:], scale)
	if why != "" {
		return 0, 0, 0, why
	}
	sec = unixDays(y, m, d)*86400 + int64(c.hour*3600+c.minute*60+c.second)
	return sec, c.nanos, 11 + c.next, ""
}

// before reports whether the instant sec, nsec (nsec under a second) comes before sec2, nsec2.
func before(sec int64, nsec int, sec2 int64, nsec2 int) bool {
	return sec < sec2 || sec == sec2 && nsec < nsec2
}

// unixDays counts the days from 1970-01-01 to the day y-m-d of the proleptic Gregorian calendar,
// for a valid day of the years 1 to 9999 (parseDate's): time.Date does the same, but looks its
// location up for every value, a cost the decoder's hot path notices. The arithmetic is Howard
// Hinnant's days_from_civil, with years starting in March so that the leap day ends them.
func unixDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= 0 for the years 1 to 9999
	yoe := y - era*400
	doy := (153*((m+9)%12)+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era*146097+doe) - 719468
}

// zones caches one *time.Location per offset in minutes from -14:00 to +14:00, so that parsing
// a datetimeoffset does not allocate a zone each time.
var zones [2*schema.MaxOffsetMinutes + 1]atomic.Pointer[time.Location]

func fixedZone(minutes int) *time.Location {
	slot := &zones[minutes+schema.MaxOffsetMinutes]
	if z := slot.Load(); z != nil {
		return z
	}
	slot.CompareAndSwap(nil, time.FixedZone("", minutes*60))
	return slot.Load()
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
	n := schema.MaxFractionDigits
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
