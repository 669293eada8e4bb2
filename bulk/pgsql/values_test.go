package pgsql

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// TestAppendNumeric decodes the binary form with pgx's own numeric codec and compares the value.
func TestAppendNumeric(t *testing.T) {
	cases := []struct{ in, want string }{
		{"0", "0"},
		{"-0", "0"},
		{"0.0000", "0.0000"},
		{"1", "1"},
		{"-12.3400", "-12.3400"},
		{"10000", "10000"},
		{"12345678", "12345678"},
		{"123456789", "123456789"},
		{"0.00001234", "0.00001234"},
		{".5", "0.5"},
		{"5.", "5"},
		{"+7.25", "7.25"},
		{"007.100", "7.100"},
		{"922337203685477.5807", "922337203685477.5807"},
		{"-922337203685477.5808", "-922337203685477.5808"},
		{"99999999999999999999999999999999999999", "99999999999999999999999999999999999999"},
		{"0.00000000000000000000000000000000000001", "0.00000000000000000000000000000000000001"},
		{"100000000.00000001", "100000000.00000001"},
	}
	m := pgtype.NewMap()
	for _, c := range cases {
		buf, err := appendNumeric([]byte{0xAA}, c.in)
		if err != nil {
			t.Errorf("appendNumeric(%q): %v", c.in, err)
			continue
		}
		if buf[0] != 0xAA {
			t.Fatalf("appendNumeric(%q) overwrote the buffer's start", c.in)
		}
		var n pgtype.Numeric
		if err := m.Scan(pgtype.NumericOID, pgtype.BinaryFormatCode, buf[1:], &n); err != nil {
			t.Errorf("pgx cannot decode appendNumeric(%q): %v", c.in, err)
			continue
		}
		got, err := n.Value()
		if err != nil {
			t.Errorf("value of %q: %v", c.in, err)
			continue
		}
		if !bulk.EqualValues(bulk.Decimal(got.(string)), bulk.Decimal(c.want)) {
			t.Errorf("appendNumeric(%q) decodes to %v, want %s", c.in, got, c.want)
		}
		// The display scale is the number of fraction digits written.
		_, frac, _ := strings.Cut(c.in, ".")
		if scale := int(buf[7])<<8 | int(buf[8]); scale != len(frac) {
			t.Errorf("appendNumeric(%q) has display scale %d, want %d", c.in, scale, len(frac))
		}
	}
	for _, bad := range []string{"", "-", ".", "1e5", "12a", "1.2.3", "--1"} {
		if _, err := appendNumeric(nil, bad); err == nil {
			t.Errorf("appendNumeric(%q): no error", bad)
		}
	}
}

func TestCheckDecimal(t *testing.T) {
	cases := []struct {
		in        string
		prec, sc  int
		wantError bool
	}{
		{"123.45", 5, 2, false},
		{"1234.5", 5, 2, true},
		{"0001.50000", 5, 2, false},
		{"1.505", 5, 2, true},
		{"-999", 3, 0, false},
		{"abc", 5, 2, true},
		{"", 5, 2, true},
		{"1.2.3", 5, 2, true},
	}
	for _, c := range cases {
		if err := checkDecimal(c.in, c.prec, c.sc); (err != nil) != c.wantError {
			t.Errorf("checkDecimal(%q, %d, %d) = %v", c.in, c.prec, c.sc, err)
		}
	}
}

func TestCheckText(t *testing.T) {
	cases := []struct {
		in      string
		limit   int
		wantErr bool
	}{
		{"plain", 10, false},
		{"æøå", 3, false}, // 6 bytes, 3 characters
		{"æøåæ", 3, true},
		{"nul\x00here", schema.Max, true},
		{"bad \xff utf-8", schema.Max, true},
		{strings.Repeat("x", 100000), schema.Max, false},
	}
	for _, c := range cases {
		if err := checkText(c.in, c.limit); (err != nil) != c.wantErr {
			t.Errorf("checkText(%.20q, %d) = %v", c.in, c.limit, err)
		}
	}
}

func TestConverters(t *testing.T) {
	late := time.Date(2024, 12, 31, 23, 59, 59, 999999900, time.UTC)
	zone := time.FixedZone("", 5*3600+30*60)
	cases := []struct {
		col     schema.Column
		in      any
		want    any
		wantErr bool
	}{
		{schema.Column{Type: schema.Bit}, true, true, false},
		{schema.Column{Type: schema.Bit}, int64(1), nil, true},
		{schema.Column{Type: schema.TinyInt}, int64(255), int16(255), false},
		{schema.Column{Type: schema.TinyInt}, int64(256), nil, true},
		{schema.Column{Type: schema.TinyInt}, int64(-1), nil, true},
		{schema.Column{Type: schema.SmallInt}, int64(-32768), int16(-32768), false},
		{schema.Column{Type: schema.Int}, int64(math.MaxInt32), int32(math.MaxInt32), false},
		{schema.Column{Type: schema.Int}, int64(math.MaxInt32 + 1), nil, true},
		{schema.Column{Type: schema.BigInt}, int64(math.MinInt64), int64(math.MinInt64), false},
		{schema.Column{Type: schema.Real}, 1.5, float32(1.5), false},
		{schema.Column{Type: schema.Float}, math.Inf(-1), math.Inf(-1), false},
		{schema.Column{Type: schema.Money}, bulk.Decimal("-922337203685477.5808"), bulk.Decimal("-922337203685477.5808"), false},
		{schema.Column{Type: schema.SmallMoney}, bulk.Decimal("1000000"), nil, true},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(24*time.Hour - 100), pgtype.Time{Microseconds: 86399999999, Valid: true}, false},
		{schema.Column{Type: schema.Time, Scale: 2}, bulk.TimeOfDay(time.Second + 129*time.Millisecond), pgtype.Time{Microseconds: 1120000, Valid: true}, false},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(24 * time.Hour), nil, true},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, late, late, false}, // pgx drops the 100 ns itself
		{schema.Column{Type: schema.DateTime}, late, time.Date(2024, 12, 31, 23, 59, 59, 999000000, time.UTC), false},
		{schema.Column{Type: schema.SmallDateTime}, late, time.Date(2024, 12, 31, 23, 59, 59, 0, time.UTC), false},
		{schema.Column{Type: schema.DateTimeOffset, Scale: 3}, late.In(zone), late.In(zone).Truncate(time.Millisecond), false},
		{schema.Column{Type: schema.NVarChar, Length: 2}, "abc", nil, true},
		{schema.Column{Type: schema.NText, Length: schema.Max}, "a\x00b", nil, true},
		{schema.Column{Type: schema.Binary, Length: 2}, []byte{1, 2, 3}, nil, true},
		{schema.Column{Type: schema.UniqueIdentifier}, bulk.UUID{1, 2, 3}, [16]byte{1, 2, 3}, false},
		{schema.Column{Type: schema.Date}, "2024-01-01", nil, true},
	}
	for _, c := range cases {
		conv, err := converterFor(c.col)
		if err != nil {
			t.Fatal(err)
		}
		got, err := conv(c.in)
		if (err != nil) != c.wantErr {
			t.Errorf("%s of %#v: error %v, want error %v", c.col.TypeString(), c.in, err, c.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if gt, ok := got.(time.Time); ok {
			if !gt.Equal(c.want.(time.Time)) {
				t.Errorf("%s of %v = %v, want %v", c.col.TypeString(), c.in, gt, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s of %#v = %#v, want %#v", c.col.TypeString(), c.in, got, c.want)
		}
	}
}
