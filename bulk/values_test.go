package bulk

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/schema"
)

func col(typ schema.Type, length, precision, scale int) schema.Column {
	return schema.Column{Name: "c", Type: typ, Length: length, Precision: precision, Scale: scale, Nullable: true}.Normalize()
}

var (
	bitCol       = col(schema.Bit, 0, 0, 0)
	tinyCol      = col(schema.TinyInt, 0, 0, 0)
	smallCol     = col(schema.SmallInt, 0, 0, 0)
	intCol       = col(schema.Int, 0, 0, 0)
	bigCol       = col(schema.BigInt, 0, 0, 0)
	dec52Col     = col(schema.Decimal, 0, 5, 2)
	dec380Col    = col(schema.Decimal, 0, 38, 0)
	num3810Col   = col(schema.Numeric, 0, 38, 10)
	moneyCol     = col(schema.Money, 0, 0, 0)
	smallMoney   = col(schema.SmallMoney, 0, 0, 0)
	floatCol     = col(schema.Float, 0, 0, 0)
	realCol      = col(schema.Real, 0, 0, 0)
	dateCol      = col(schema.Date, 0, 0, 0)
	time7Col     = col(schema.Time, 0, 0, 7)
	time3Col     = col(schema.Time, 0, 0, 3)
	datetimeCol  = col(schema.DateTime, 0, 0, 0)
	smallDTCol   = col(schema.SmallDateTime, 0, 0, 0)
	dt2Col       = col(schema.DateTime2, 0, 0, 7)
	dt2s0Col     = col(schema.DateTime2, 0, 0, 0)
	dtoCol       = col(schema.DateTimeOffset, 0, 0, 7)
	binary4Col   = col(schema.Binary, 4, 0, 0)
	varbinMaxCol = col(schema.VarBinary, schema.Max, 0, 0)
	imageCol     = col(schema.Image, 0, 0, 0)
	guidCol      = col(schema.UniqueIdentifier, 0, 0, 0)
	nvarchar4Col = col(schema.NVarChar, 4, 0, 0)
	nchar4Col    = col(schema.NChar, 4, 0, 0)
	varchar4Col  = col(schema.VarChar, 4, 0, 0)
	char4Col     = col(schema.Char, 4, 0, 0)
	nvarMaxCol   = col(schema.NVarChar, schema.Max, 0, 0)
	textCol      = col(schema.Text, 0, 0, 0)
	xmlCol       = col(schema.XML, 0, 0, 0)
)

func TestParseValueCanonical(t *testing.T) {
	// Each case parses text and formats the value again: canonical is what FormatValue gives.
	tests := []struct {
		col       schema.Column
		text      string
		want      any
		canonical string
	}{
		{bitCol, "1", true, "1"},
		{bitCol, "0", false, "0"},
		{bitCol, "true", true, "1"},
		{bitCol, "False", false, "0"},
		{tinyCol, "0", int64(0), "0"},
		{tinyCol, "255", int64(255), "255"},
		{smallCol, "-32768", int64(-32768), "-32768"},
		{smallCol, "32767", int64(32767), "32767"},
		{intCol, "-2147483648", int64(math.MinInt32), "-2147483648"},
		{intCol, "+0017", int64(17), "17"},
		{bigCol, "-9223372036854775808", int64(math.MinInt64), "-9223372036854775808"},
		{bigCol, "9223372036854775807", int64(math.MaxInt64), "9223372036854775807"},
		{dec52Col, "123.45", Decimal("123.45"), "123.45"},
		{dec52Col, "-999.99", Decimal("-999.99"), "-999.99"},
		{dec52Col, "+1.5", Decimal("1.50"), "1.50"},
		{dec52Col, "007", Decimal("7.00"), "7.00"},
		{dec52Col, ".5", Decimal("0.50"), "0.50"},
		{dec52Col, "5.", Decimal("5.00"), "5.00"},
		{dec52Col, "-0.00", Decimal("0.00"), "0.00"},
		{dec52Col, "-0", Decimal("0.00"), "0.00"},
		{dec52Col, "1.2300", Decimal("1.23"), "1.23"},
		{dec380Col, strings.Repeat("9", 38), Decimal(strings.Repeat("9", 38)), strings.Repeat("9", 38)},
		{dec380Col, "-" + strings.Repeat("9", 38), Decimal("-" + strings.Repeat("9", 38)), "-" + strings.Repeat("9", 38)},
		{dec380Col, "-0", Decimal("0"), "0"},
		{num3810Col, "-" + strings.Repeat("9", 28) + "." + strings.Repeat("9", 10), Decimal("-" + strings.Repeat("9", 28) + "." + strings.Repeat("9", 10)), "-" + strings.Repeat("9", 28) + "." + strings.Repeat("9", 10)},
		{num3810Col, "0.0000000001", Decimal("0.0000000001"), "0.0000000001"},
		{moneyCol, "922337203685477.5807", Decimal("922337203685477.5807"), "922337203685477.5807"},
		{moneyCol, "-922337203685477.5808", Decimal("-922337203685477.5808"), "-922337203685477.5808"},
		{moneyCol, "12.5", Decimal("12.5000"), "12.5000"},
		{smallMoney, "214748.3647", Decimal("214748.3647"), "214748.3647"},
		{smallMoney, "-214748.3648", Decimal("-214748.3648"), "-214748.3648"},
		{floatCol, "1.7976931348623157e308", math.MaxFloat64, "1.7976931348623157e+308"},
		{floatCol, "5e-324", math.SmallestNonzeroFloat64, "5e-324"},
		{floatCol, "-0", math.Copysign(0, -1), "-0"},
		{floatCol, "0.1", 0.1, "0.1"},
		{floatCol, "INF", math.Inf(1), "INF"},
		{floatCol, "-inf", math.Inf(-1), "-INF"},
		{floatCol, "Infinity", math.Inf(1), "INF"},
		{floatCol, "-Infinity", math.Inf(-1), "-INF"},
		{floatCol, "nan", math.NaN(), "NaN"},
		{realCol, "3.4028235e38", float64(math.MaxFloat32), "3.4028235e+38"},
		{realCol, "1e-45", float64(math.SmallestNonzeroFloat32), "1e-45"},
		{realCol, "0.1", float64(float32(0.1)), "0.1"},
		{realCol, "NaN", math.NaN(), "NaN"},
		{dateCol, "0001-01-01", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01"},
		{dateCol, "9999-12-31", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), "9999-12-31"},
		{dateCol, "2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29"},
		{time7Col, "00:00:00", TimeOfDay(0), "00:00:00"},
		{time7Col, "23:59:59.9999999", TimeOfDay(24*time.Hour - 100), "23:59:59.9999999"},
		{time7Col, "12:34:56.1000000", TimeOfDay(12*time.Hour + 34*time.Minute + 56*time.Second + 100*time.Millisecond), "12:34:56.1"},
		{time3Col, "01:02:03.120", TimeOfDay(time.Hour + 2*time.Minute + 3*time.Second + 120*time.Millisecond), "01:02:03.12"},
		{time3Col, "01:02:03.1230000", TimeOfDay(time.Hour + 2*time.Minute + 3*time.Second + 123*time.Millisecond), "01:02:03.123"},
		{datetimeCol, "1753-01-01T00:00:00", time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC), "1753-01-01T00:00:00"},
		{datetimeCol, "9999-12-31T23:59:59.997", time.Date(9999, 12, 31, 23, 59, 59, 997e6, time.UTC), "9999-12-31T23:59:59.997"},
		{smallDTCol, "1900-01-01T00:00:00", time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), "1900-01-01T00:00:00"},
		{smallDTCol, "2079-06-06T23:59:00", time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC), "2079-06-06T23:59:00"},
		{dt2Col, "0001-01-01T00:00:00", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00"},
		{dt2Col, "9999-12-31T23:59:59.9999999", time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC), "9999-12-31T23:59:59.9999999"},
		{dt2Col, "2024-03-01T10:22:05.123", time.Date(2024, 3, 1, 10, 22, 5, 123e6, time.UTC), "2024-03-01T10:22:05.123"},
		{dt2s0Col, "2024-03-01T10:22:05.000", time.Date(2024, 3, 1, 10, 22, 5, 0, time.UTC), "2024-03-01T10:22:05"},
		{dtoCol, "2024-03-01T10:22:05.1234567+05:30", time.Date(2024, 3, 1, 10, 22, 5, 123456700, time.FixedZone("", 5*3600+1800)), "2024-03-01T10:22:05.1234567+05:30"},
		{dtoCol, "2024-03-01T10:22:05-14:00", time.Date(2024, 3, 1, 10, 22, 5, 0, time.FixedZone("", -14*3600)), "2024-03-01T10:22:05-14:00"},
		{dtoCol, "2024-03-01T10:22:05Z", time.Date(2024, 3, 1, 10, 22, 5, 0, time.UTC), "2024-03-01T10:22:05+00:00"},
		{dtoCol, "0001-01-01T14:00:00+14:00", time.Date(1, 1, 1, 14, 0, 0, 0, time.FixedZone("", 14*3600)), "0001-01-01T14:00:00+14:00"},
		{binary4Col, "AAEA/w==", []byte{0, 1, 0, 255}, "AAEA/w=="},
		{binary4Col, "", []byte{}, ""},
		{varbinMaxCol, "AAAA", []byte{0, 0, 0}, "AAAA"},
		{imageCol, "/w==", []byte{255}, "/w=="},
		{guidCol, "6f9619ff-8b86-d011-b42d-00c04fc964ff", UUID{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}, "6F9619FF-8B86-D011-B42D-00C04FC964FF"},
		{guidCol, "00000000-0000-0000-0000-000000000000", UUID{}, "00000000-0000-0000-0000-000000000000"},
		{nvarchar4Col, "a😀b", "a😀b", "a😀b"},   // 4 UTF-16 code units
		{nchar4Col, "ÆØÅæ", "ÆØÅæ", "ÆØÅæ"},   // 8 bytes, 4 code units
		{varchar4Col, "a😀bc", "a😀bc", "a😀bc"}, // 4 characters
		{char4Col, "ab  ", "ab  ", "ab  "},
		{nvarMaxCol, "", "", ""},
		{nvarMaxCol, "a\r\nb\x00\tc", "a\r\nb\x00\tc", "a\r\nb\x00\tc"},
		{textCol, strings.Repeat("x", 9000), strings.Repeat("x", 9000), strings.Repeat("x", 9000)},
		{xmlCol, "<a b=\"1\">x &amp; y</a>", "<a b=\"1\">x &amp; y</a>", "<a b=\"1\">x &amp; y</a>"},
	}
	for _, tt := range tests {
		got, err := ParseValue(tt.col, tt.text)
		if err != nil {
			t.Errorf("ParseValue(%s, %q): %v", tt.col.TypeString(), tt.text, err)
			continue
		}
		if !EqualValues(got, tt.want) {
			t.Errorf("ParseValue(%s, %q) = %#v, want %#v", tt.col.TypeString(), tt.text, got, tt.want)
		}
		if fromParser, err := Parser(tt.col)(tt.text); err != nil || !EqualValues(fromParser.Any(), got) {
			t.Errorf("Parser(%s)(%q) = %#v, %v; want ParseValue's %#v", tt.col.TypeString(), tt.text, fromParser, err, got)
		}
		if d, ok := got.(Decimal); ok && string(d) != tt.canonical {
			t.Errorf("ParseValue(%s, %q) = %q, want exactly %q", tt.col.TypeString(), tt.text, d, tt.canonical)
		}
		text, err := FormatValue(tt.col, got)
		if err != nil {
			t.Errorf("FormatValue(%s, %#v): %v", tt.col.TypeString(), got, err)
			continue
		}
		if text != tt.canonical {
			t.Errorf("FormatValue(%s, ParseValue(%q)) = %q, want %q", tt.col.TypeString(), tt.text, text, tt.canonical)
		}
		again, err := ParseValue(tt.col, text)
		if err != nil || !EqualValues(again, got) {
			t.Errorf("ParseValue(%s, %q) = %#v, %v; want %#v again", tt.col.TypeString(), text, again, err, got)
		}
	}
}

func TestParseValueZones(t *testing.T) {
	for text, offset := range map[string]int{"2024-03-01T10:22:05+05:30": 19800, "2024-03-01T10:22:05-14:00": -50400, "2024-03-01T10:22:05Z": 0} {
		v, err := ParseValue(dtoCol, text)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := v.(time.Time).Zone(); got != offset {
			t.Errorf("%s has offset %d, want %d", text, got, offset)
		}
		if h, m, _ := v.(time.Time).Clock(); h != 10 || m != 22 {
			t.Errorf("%s has wall clock %02d:%02d, want 10:22", text, h, m)
		}
	}
	for _, text := range []string{"2024-03-01T10:22:05", "2024-03-01T10:22:05.5"} {
		v, err := ParseValue(dt2Col, text)
		if err != nil {
			t.Fatal(err)
		}
		if v.(time.Time).Location() != time.UTC {
			t.Errorf("%s is in %v, want UTC", text, v.(time.Time).Location())
		}
	}
}

func TestParseValueErrors(t *testing.T) {
	// want is a part of the message: what was wrong.
	tests := []struct {
		col  schema.Column
		text string
		want string
	}{
		{bitCol, "2", "want 0, 1, true or false"},
		{bitCol, "", "want 0, 1"},
		{tinyCol, "256", "out of range 0 to 255"},
		{tinyCol, "-1", "out of range 0 to 255"},
		{smallCol, "32768", "out of range -32768 to 32767"},
		{intCol, "2147483648", "out of range"},
		{bigCol, "9223372036854775808", "out of range"},
		{intCol, "1.0", "want a decimal integer"},
		{intCol, " 1", "want a decimal integer"},
		{intCol, "0x10", "want a decimal integer"},
		{dec52Col, "1000", "4 digits before the point; at most 3 fit"},
		{dec52Col, "1000.00", "4 digits before the point"},
		{dec52Col, "1.234", "3 digits after the point; at most 2 fit"},
		{dec52Col, "1e2", "want a plain decimal"},
		{dec52Col, "", "want a plain decimal"},
		{dec52Col, "-", "want a plain decimal"},
		{dec52Col, ".", "want a plain decimal"},
		{dec52Col, "1.2.3", "want a plain decimal"},
		{dec52Col, "--1", "want a plain decimal"},
		{dec380Col, "1" + strings.Repeat("0", 38), "39 digits before the point"},
		{moneyCol, "922337203685477.5808", "out of range"},
		{moneyCol, "-922337203685477.5809", "out of range"},
		{moneyCol, "1000000000000000", "16 digits before the point"},
		{moneyCol, "1.23456", "5 digits after the point"},
		{smallMoney, "214748.3648", "out of range"},
		{smallMoney, "-214748.3649", "out of range"},
		{floatCol, "1e309", "out of range"},
		{floatCol, "0x1p3", "want a decimal number"},
		{floatCol, "1_0", "want a decimal number"},
		{floatCol, "abc", "want a decimal number"},
		{floatCol, "", "want a decimal number"},
		{realCol, "3.5e38", "out of range"},
		{dateCol, "2023-02-29", "a day of the years"},
		{dateCol, "0000-01-01", "a day of the years"},
		{dateCol, "2024-1-01", "want YYYY-MM-DD"},
		{dateCol, "2024-01-01T00:00:00", "want YYYY-MM-DD"},
		{time7Col, "24:00:00", "a time of day"},
		{time7Col, "12:60:00", "a time of day"},
		{time7Col, "12:00:60", "a time of day"},
		{time7Col, "12:00:00.12345678", "1 to 7 digits"},
		{time7Col, "12:00:00.", "1 to 7 digits"},
		{time7Col, "12:00", "want hh:mm:ss"},
		{time7Col, "12:00:00Z", "want hh:mm:ss"},
		{time3Col, "12:00:00.1234", "more fractional second digits than 3"},
		{datetimeCol, "1752-12-31T23:59:59", "out of range 1753-01-01T00:00:00 to 9999-12-31T23:59:59.997"},
		{datetimeCol, "9999-12-31T23:59:59.998", "out of range"},
		{datetimeCol, "2024-03-01 10:22:05", "want YYYY-MM-DDThh:mm:ss"},
		{datetimeCol, "2024-03-01T10:22:05Z", "no zone"},
		{smallDTCol, "1899-12-31T23:59:00", "out of range"},
		{smallDTCol, "2079-06-07T00:00:00", "out of range"},
		{smallDTCol, "2024-03-01T10:22:05", "no seconds"},
		{dt2s0Col, "2024-03-01T10:22:05.1", "more fractional second digits than 0"},
		{dt2Col, "2024-13-01T10:22:05", "a day of the years"},
		{dtoCol, "2024-03-01T10:22:05", "an offset"},
		{dtoCol, "2024-03-01T10:22:05+14:01", "offset is out of range"},
		{dtoCol, "2024-03-01T10:22:05-15:00", "offset is out of range"},
		{dtoCol, "2024-03-01T10:22:05+05:60", "offset is out of range"},
		{dtoCol, "2024-03-01T10:22:05+0530", "an offset"},
		{dtoCol, "0001-01-01T00:00:00+00:01", "in UTC it is out of range"},
		{dtoCol, "9999-12-31T23:59:59-00:01", "in UTC it is out of range"},
		{binary4Col, "AAAAAAA=", "5 bytes long"},
		{binary4Col, "AAA", "not standard base64"},
		{binary4Col, "AA-_", "not standard base64"},
		{guidCol, "6f9619ff8b86d011b42d00c04fc964ff", "want xxxxxxxx"},
		{guidCol, "6f9619ff-8b86-d011-b42d-00c04fc964fg", "want xxxxxxxx"},
		{guidCol, "{6f9619ff-8b86-d011-b42d-00c04fc964ff}", "want xxxxxxxx"},
		{nvarchar4Col, "ab😀c", "5 UTF-16 code units"},
		{nchar4Col, "abcde", "5 UTF-16 code units"},
		{varchar4Col, "abcde", "5 characters"},
		{char4Col, "æøåæø", "5 characters"},
		{nvarMaxCol, "a\xffb", "not valid UTF-8"},
	}
	for _, tt := range tests {
		v, err := ParseValue(tt.col, tt.text)
		if err == nil {
			t.Errorf("ParseValue(%s, %q) = %#v, want an error", tt.col.TypeString(), tt.text, v)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tt.want) || !strings.Contains(msg, tt.col.TypeString()) {
			t.Errorf("ParseValue(%s, %q) error %q does not say %q and name the type", tt.col.TypeString(), tt.text, msg, tt.want)
		}
		if _, err := Parser(tt.col)(tt.text); err == nil || err.Error() != msg {
			t.Errorf("Parser(%s)(%q) error %v, want ParseValue's %q", tt.col.TypeString(), tt.text, err, msg)
		}
	}
}

func TestParseValueQuotesLongValuesShort(t *testing.T) {
	long := strings.Repeat("é", 5000)
	_, err := ParseValue(nvarchar4Col, long)
	if err == nil {
		t.Fatal("want an error")
	}
	if len(err.Error()) > 200 || !strings.Contains(err.Error(), "10000 bytes") {
		t.Errorf("error quotes too much, or not the length: %q", err)
	}
}

func TestFormatValueErrors(t *testing.T) {
	tests := []struct {
		col  schema.Column
		v    any
		want string
	}{
		{intCol, nil, "NULL"},
		{intCol, 17, "must be int64, not int"},
		{bitCol, int64(1), "must be bool"},
		{dec52Col, 1.5, "must be bulk.Decimal"},
		{dec52Col, Decimal("1.234"), "3 digits after the point"},
		{moneyCol, Decimal("922337203685477.5808"), "out of range"},
		{dtoCol, time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 30)), "whole minutes"},
		{time7Col, TimeOfDay(24 * time.Hour), "under 24 hours"},
		{guidCol, [16]byte{}, "must be bulk.UUID"},
		{col("geography", 0, 0, 0), "x", "unknown type"},
	}
	for _, tt := range tests {
		s, err := FormatValue(tt.col, tt.v)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("FormatValue(%s, %#v) = %q, %v; want an error saying %q", tt.col.TypeString(), tt.v, s, err, tt.want)
		}
	}
}

func TestEqualValues(t *testing.T) {
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{nil, "", false},
		{"", nil, false},
		{int64(1), int64(1), true},
		{int64(1), 1, false},
		{true, true, true},
		{true, false, false},
		{math.NaN(), math.NaN(), true},
		{0.0, math.Copysign(0, -1), false},
		{math.Inf(1), math.Inf(1), true},
		{0.1, 0.1, true},
		{Decimal("1.50"), Decimal("1.5"), true},
		{Decimal("-0.00"), Decimal("0"), true},
		{Decimal("001.0"), Decimal("1"), true},
		{Decimal("1.51"), Decimal("1.5"), false},
		{Decimal("-1"), Decimal("1"), false},
		{Decimal("1"), "1", false},
		{[]byte{}, []byte(nil), true},
		{[]byte{0}, []byte{}, false},
		{"a", "a", true},
		{"a", "a ", false},
		{at, at.In(time.FixedZone("", 0)), true},
		{at, at.In(time.FixedZone("", 3600)), false},
		{at, at.Add(100), false},
		{TimeOfDay(5), TimeOfDay(5), true},
		{TimeOfDay(5), time.Duration(5), false},
		{UUID{1}, UUID{1}, true},
		{UUID{1}, UUID{2}, false},
		{struct{}{}, struct{}{}, false},
	}
	for _, tt := range tests {
		if got := EqualValues(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualValues(%#v, %#v) = %t, want %t", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValueSize(t *testing.T) {
	if small, big := ValueSize(StringValue("a")), ValueSize(StringValue(strings.Repeat("a", 1000))); big-small != 999 {
		t.Errorf("ValueSize of strings of 1 and 1000 bytes differ by %d, want 999", big-small)
	}
	if n := ValueSize(BytesValue(make([]byte, 1<<20))); n < 1<<20 {
		t.Errorf("ValueSize of 1 MiB = %d", n)
	}
	if n := ValueSize(Value{}); n <= 0 {
		t.Errorf("ValueSize(nil) = %d, want > 0 (the slot still costs)", n)
	}
}

func TestFloatRoundTripsExactly(t *testing.T) {
	// Shortest round-trip text must give back the same bits for float and for real.
	for _, f := range []float64{math.Pi, 1.0 / 3, 1e21, 1e-7, -123456789.125, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		s, err := FormatValue(floatCol, f)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := ParseValue(floatCol, s); err != nil || !EqualValues(v, f) {
			t.Errorf("float %v -> %q -> %v, %v", f, s, v, err)
		}
		r := float64(float32(f))
		if math.IsInf(r, 0) || r == 0 && f != 0 {
			continue
		}
		s, err = FormatValue(realCol, r)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := ParseValue(realCol, s); err != nil || !EqualValues(v, r) {
			t.Errorf("real %v -> %q -> %v, %v", r, s, v, err)
		}
	}
}

func TestParseValueUnknownType(t *testing.T) {
	_, err := ParseValue(col("geography", 0, 0, 0), "x")
	if err == nil || !strings.Contains(err.Error(), "geography") {
		t.Errorf("error %v does not name the unknown type", err)
	}
}

func BenchmarkParseValue(b *testing.B) {
	cases := []struct {
		name string
		col  schema.Column
		text string
	}{
		{"int", intCol, "1234567"},
		{"decimal", num3810Col, "-1234567.8900000000"},
		{"decimalNotCanonical", dec52Col, "1.5"},
		{"float", floatCol, "3.141592653589793"},
		{"datetime2", dt2Col, "2024-03-01T10:22:05.1234567"},
		{"datetimeoffset", dtoCol, "2024-03-01T10:22:05.1234567+05:30"},
		{"uuid", guidCol, "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		{"nvarchar", col(schema.NVarChar, 220, 0, 0), "Fjord & Co, Storgata 1, 0155 Oslo"},
		{"varbinary", col(schema.VarBinary, 100, 0, 0), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseValue(c.col, c.text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// unixDays must agree with time.Date on every day mirrord reads: the years 1 to 9999, leap days
// and the days around the ends of months and years.
func TestUnixDaysAgreesWithTimeDate(t *testing.T) {
	check := func(y, m, d int) {
		want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Unix() / 86400 // midnight: exact
		if got := unixDays(y, m, d); got != want {
			t.Fatalf("unixDays(%04d-%02d-%02d) = %d, want %d", y, m, d, got, want)
		}
	}
	for y := 1; y <= 9999; y++ {
		for m := 1; m <= 12; m++ {
			check(y, m, 1)
			check(y, m, daysIn(y, m))
		}
	}
	for _, y := range []int{1, 4, 100, 400, 1600, 1900, 1970, 2000, 2024, 2100, 9996, 9999} {
		for m := 1; m <= 12; m++ {
			for d := 1; d <= daysIn(y, m); d++ {
				check(y, m, d)
			}
		}
	}
	// The value is the same time.Time as time.Date's, zone included, so that == holds.
	v, err := ParseValue(schema.Column{Name: "c", Type: schema.DateTime2, Scale: 7}, "2024-02-29T23:59:59.1234567")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2024, 2, 29, 23, 59, 59, 123456700, time.UTC); v != any(want) {
		t.Fatalf("ParseValue = %#v, want %#v", v, want)
	}
}

// TestShortIntAgreesWithStrconv: the short path reads every text strconv.ParseInt reads the
// same way, and takes nothing strconv refuses.
func TestShortIntAgreesWithStrconv(t *testing.T) {
	texts := []string{"", "-", "+", "0", "-0", "007", "-007", "123456789012345678", "-123456789012345678",
		"999999999999999999", "1234567890123456789", "-9223372036854775808", "9223372036854775807",
		"9223372036854775808", "1_000", "+5", " 1", "1 ", "12a", "--1", "٣", "1e3", "0x10"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := r.Int64() >> r.UintN(64)
		if r.IntN(2) == 0 {
			n = -n
		}
		texts = append(texts, strconv.FormatInt(n, 10))
	}
	for _, text := range texts {
		want, wantErr := strconv.ParseInt(text, 10, 64)
		got, ok := shortInt(text)
		if ok && (wantErr != nil || got != want) {
			t.Errorf("shortInt(%q) = %d; strconv: %d, %v", text, got, want, wantErr)
		}
		if !ok && wantErr == nil && len(strings.TrimPrefix(text, "-")) <= 18 && !strings.HasPrefix(text, "+") {
			t.Errorf("shortInt(%q) refused what strconv reads as %d", text, want)
		}
		v, err := parseInt(bigCol, text, math.MinInt64, math.MaxInt64)
		if (err == nil) != (wantErr == nil) || err == nil && v.Int() != want {
			t.Errorf("parseInt(%q) = %v, %v; strconv: %d, %v", text, v, err, want, wantErr)
		}
	}
}
