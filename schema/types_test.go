package schema

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Every type this package knows has exactly one family, the one listed here, and every type
// listed is known.
func TestTypeFamily(t *testing.T) {
	families := map[Family][]Type{
		FamilyBool:           {Bit},
		FamilyInteger:        {TinyInt, SmallInt, Int, BigInt},
		FamilyFloat:          {Float, Real},
		FamilyDecimal:        {Decimal, Numeric, Money, SmallMoney},
		FamilyString:         {Char, VarChar, NChar, NVarChar, Text, NText, XML},
		FamilyBinary:         {Binary, VarBinary, Image},
		FamilyDate:           {Date},
		FamilyDateTime:       {DateTime, DateTime2, SmallDateTime},
		FamilyDateTimeOffset: {DateTimeOffset},
		FamilyTime:           {Time},
		FamilyUUID:           {UniqueIdentifier},
	}
	seen := map[Type]Family{}
	for f, types := range families {
		for _, typ := range types {
			if other, ok := seen[typ]; ok {
				t.Errorf("%s is listed in families %s and %s", typ, other, f)
			}
			seen[typ] = f
			if got := typ.Family(); got != f {
				t.Errorf("%s.Family() = %s, want %s", typ, got, f)
			}
			if !Known(typ) {
				t.Errorf("%s has a family but is not Known", typ)
			}
		}
	}
	if got, want := Types(), slices.Sorted(maps.Keys(typeRules)); !slices.Equal(got, want) {
		t.Errorf("Types() = %v, want %v", got, want)
	}
	for _, typ := range Types() {
		if _, ok := seen[typ]; !ok {
			t.Errorf("known type %s (family %s) is in no family of this test", typ, typ.Family())
		}
	}
	for _, typ := range []Type{"", "geography", "sql_variant", "rowversion", "timestamp", "INT", "NVarChar"} {
		if f := typ.Family(); f != FamilyUnknown {
			t.Errorf("%q.Family() = %s, want unknown", typ, f)
		}
	}
	for f := FamilyUnknown; f <= FamilyUUID; f++ {
		if s := f.String(); s == "" || strings.HasPrefix(s, "Family(") {
			t.Errorf("family %d has no name: %q", f, s)
		}
	}
	if s := Family(200).String(); s != "Family(200)" {
		t.Errorf("Family(200).String() = %q", s)
	}
}

// The ranges are SQL Server's documented ones, written here as the documentation writes them.
func TestIntegerRange(t *testing.T) {
	cases := []struct {
		typ    Type
		lo, hi string
	}{
		{TinyInt, "0", "255"},
		{SmallInt, "-32768", "32767"},
		{Int, "-2147483648", "2147483647"},
		{BigInt, "-9223372036854775808", "9223372036854775807"},
	}
	for _, c := range cases {
		lo, hi, ok := c.typ.IntegerRange()
		if !ok || strconv.FormatInt(lo, 10) != c.lo || strconv.FormatInt(hi, 10) != c.hi {
			t.Errorf("%s.IntegerRange() = %d, %d, %t; want %s to %s", c.typ, lo, hi, ok, c.lo, c.hi)
		}
	}
	for typ := range typeRules {
		if _, _, ok := typ.IntegerRange(); ok != (typ.Family() == FamilyInteger) {
			t.Errorf("%s.IntegerRange() ok = %t for family %s", typ, ok, typ.Family())
		}
	}
}

func TestMoneyRange(t *testing.T) {
	cases := []struct {
		typ    Type
		lo, hi string // as SQL Server documents them
	}{
		{Money, "-922,337,203,685,477.5808", "922,337,203,685,477.5807"},
		{SmallMoney, "-214,748.3648", "214,748.3647"},
	}
	for _, c := range cases {
		lo, hi, ok := c.typ.UnscaledRange()
		unscaled := func(s string) string { return strings.NewReplacer(",", "", ".", "").Replace(s) }
		if !ok || strconv.FormatInt(lo, 10) != unscaled(c.lo) || strconv.FormatInt(hi, 10) != unscaled(c.hi) {
			t.Errorf("%s.UnscaledRange() = %d, %d, %t; want %s to %s in ten-thousandths", c.typ, lo, hi, ok, c.lo, c.hi)
		}
		p, s := Column{Type: c.typ}.Digits()
		whole, frac, _ := strings.Cut(strings.ReplaceAll(c.hi, ",", ""), ".")
		if p != len(whole)+len(frac) || s != len(frac) {
			t.Errorf("%s.Digits() = (%d,%d), want (%d,%d) as its range has", c.typ, p, s, len(whole)+len(frac), len(frac))
		}
	}
	for typ := range typeRules {
		_, _, ok := typ.UnscaledRange()
		if ok != (typ == Money || typ == SmallMoney) {
			t.Errorf("%s.UnscaledRange() ok = %t", typ, ok)
		}
	}
}

func TestDigits(t *testing.T) {
	cases := []struct {
		col     Column
		p, s    int
		ownDigs bool
	}{
		{Column{Type: Decimal, Precision: 38, Scale: 10}, 38, 10, true},
		{Column{Type: Numeric, Precision: 5, Scale: 0}, 5, 0, true},
		{Column{Type: Money}, 19, 4, false},
		{Column{Type: SmallMoney}, 10, 4, false},
		{Column{Type: Int, Precision: 10}, 0, 0, false},
		{Column{Type: DateTime2, Scale: 7}, 0, 0, false},
	}
	for _, c := range cases {
		if p, s := c.col.Digits(); p != c.p || s != c.s {
			t.Errorf("%s.Digits() = (%d,%d), want (%d,%d)", c.col.Type, p, s, c.p, c.s)
		}
		if got := c.col.Type.HasDigits(); got != c.ownDigs {
			t.Errorf("%s.HasDigits() = %t", c.col.Type, got)
		}
	}
}

func TestTimeRange(t *testing.T) {
	cases := []struct {
		typ    Type
		lo, hi string // as SQL Server documents them
	}{
		{Date, "0001-01-01T00:00:00", "9999-12-31T00:00:00"},
		{DateTime, "1753-01-01T00:00:00", "9999-12-31T23:59:59.997"},
		{SmallDateTime, "1900-01-01T00:00:00", "2079-06-06T23:59:00"},
		{DateTime2, "0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999"},
		{DateTimeOffset, "0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999"},
	}
	for _, c := range cases {
		lo, hi, ok := c.typ.TimeRange()
		wantLo, _ := time.Parse("2006-01-02T15:04:05.999999999", c.lo)
		wantHi, _ := time.Parse("2006-01-02T15:04:05.999999999", c.hi)
		if !ok || !lo.Equal(wantLo) || !hi.Equal(wantHi) || lo.Location() != time.UTC || hi.Location() != time.UTC {
			t.Errorf("%s.TimeRange() = %v, %v, %t; want %s to %s UTC", c.typ, lo, hi, ok, c.lo, c.hi)
		}
	}
	for _, typ := range []Type{Time, Int, NVarChar, UniqueIdentifier} {
		if _, _, ok := typ.TimeRange(); ok {
			t.Errorf("%s has a TimeRange", typ)
		}
	}
}

func TestTypeAttributes(t *testing.T) {
	cases := []struct {
		typ       Type
		maxLength int
		unicode   bool
		fraction  bool
	}{
		{Char, 8000, false, false},
		{VarChar, 8000, false, false},
		{NChar, 4000, true, false},
		{NVarChar, 4000, true, false},
		{Text, 0, false, false},
		{NText, 0, true, false},
		{XML, 0, true, false},
		{Binary, 8000, false, false},
		{VarBinary, 8000, false, false},
		{Image, 0, false, false},
		{Time, 0, false, true},
		{DateTime2, 0, false, true},
		{DateTimeOffset, 0, false, true},
		{DateTime, 0, false, false},
		{Decimal, 0, false, false},
	}
	for _, c := range cases {
		if got := c.typ.MaxLength(); got != c.maxLength {
			t.Errorf("%s.MaxLength() = %d, want %d", c.typ, got, c.maxLength)
		}
		if got := c.typ.Unicode(); got != c.unicode {
			t.Errorf("%s.Unicode() = %t", c.typ, got)
		}
		if got := c.typ.HasFraction(); got != c.fraction {
			t.Errorf("%s.HasFraction() = %t", c.typ, got)
		}
	}
	// SQL Server's documented limits.
	if MaxPrecision != 38 || MaxFractionDigits != 7 || MaxOffsetMinutes != 14*60 || MaxByteLength != 2*MaxUnicodeLength {
		t.Errorf("limits: precision %d, fraction %d, offset %d min, lengths %d and %d", MaxPrecision, MaxFractionDigits, MaxOffsetMinutes, MaxByteLength, MaxUnicodeLength)
	}
}
