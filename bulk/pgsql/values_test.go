package pgsql

import (
	"strings"
	"testing"

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
		{"+1.5", 5, 2, false},
		{"-+0000", 5, 2, true},
		{"--1", 5, 2, true},
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
