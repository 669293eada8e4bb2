package mssql

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// TestConverters converts a value of every type into what go-mssqldb's bulk copy takes for it,
// into the table's own column (direct) and into the staging column.
func TestConverters(t *testing.T) {
	oslo := time.FixedZone("", 2*3600)
	guid := bulk.UUID{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}
	cases := []struct {
		col  schema.Column
		in   any
		want any
	}{
		{schema.Column{Type: schema.Bit}, true, true},
		{schema.Column{Type: schema.TinyInt}, int64(255), int64(255)},
		{schema.Column{Type: schema.SmallInt}, int64(-32768), int64(-32768)},
		{schema.Column{Type: schema.Int}, int64(7), int64(7)},
		{schema.Column{Type: schema.BigInt}, int64(math.MinInt64), int64(math.MinInt64)},
		{schema.Column{Type: schema.Decimal, Precision: 18, Scale: 4}, bulk.Decimal("-12.3400"), "-12.3400"},
		{schema.Column{Type: schema.Numeric, Precision: 38, Scale: 0}, bulk.Decimal("99999999999999999999999999999999999999"), "99999999999999999999999999999999999999"},
		{schema.Column{Type: schema.Money}, bulk.Decimal("-922337203685477.5808"), "-922337203685477.5808"},
		{schema.Column{Type: schema.SmallMoney}, bulk.Decimal("214748.3647"), "214748.3647"},
		{schema.Column{Type: schema.Float}, 1.7976931348623157e308, 1.7976931348623157e308},
		{schema.Column{Type: schema.Float}, math.Copysign(0, -1), math.Copysign(0, -1)},
		{schema.Column{Type: schema.Real}, float64(float32(0.1)), float64(float32(0.1))},
		{schema.Column{Type: schema.Date}, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{schema.Column{Type: schema.DateTime}, time.Date(9999, 12, 31, 23, 59, 59, 997e6, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 997e6, time.UTC)},
		{schema.Column{Type: schema.DateTime2, Scale: 7}, time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC)},
		{schema.Column{Type: schema.SmallDateTime}, time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC), time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC)},
		{schema.Column{Type: schema.DateTimeOffset, Scale: 7}, time.Date(2024, 3, 1, 10, 22, 5, 123456700, oslo), time.Date(2024, 3, 1, 10, 22, 5, 123456700, oslo)},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(23*time.Hour + 59*time.Minute + 59*time.Second + 999999900), time.Date(1, 1, 1, 23, 59, 59, 999999900, time.UTC)},
		{schema.Column{Type: schema.Time, Scale: 0}, bulk.TimeOfDay(0), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{schema.Column{Type: schema.Char, Length: 4}, "abcd", "abcd"},
		{schema.Column{Type: schema.VarChar, Length: 50}, "tab\there", "tab\there"},
		{schema.Column{Type: schema.Text, Length: schema.Max}, "text\r\n", "text\r\n"},
		{schema.Column{Type: schema.NChar, Length: 8}, "ÆØÅ😀", "ÆØÅ😀"},
		{schema.Column{Type: schema.NVarChar, Length: 4000}, "𝄞 and 中文", "𝄞 and 中文"},
		{schema.Column{Type: schema.NText, Length: schema.Max}, "ñ😀\r", "ñ😀\r"},
		{schema.Column{Type: schema.XML, Length: schema.Max}, "<a>ü</a>", "<a>ü</a>"},
		{schema.Column{Type: schema.Binary, Length: 8}, []byte{0, 0, 0, 0, 0, 0, 7, 0xd1}, []byte{0, 0, 0, 0, 0, 0, 7, 0xd1}},
		{schema.Column{Type: schema.VarBinary, Length: 10}, []byte(nil), []byte{}},
		{schema.Column{Type: schema.Image, Length: schema.Max}, []byte{1, 2, 3}, []byte{1, 2, 3}},
		// SQL Server keeps the first three groups little-endian.
		{schema.Column{Type: schema.UniqueIdentifier}, guid, []byte{0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}},
	}
	for _, c := range cases {
		c.col.Name = "c_" + string(c.col.Type)
		for _, direct := range []bool{true, false} {
			conv, err := converterFor(c.col, direct)
			if err != nil {
				t.Fatalf("%s: %v", c.col.TypeString(), err)
			}
			got, err := conv(c.in)
			if err != nil {
				t.Errorf("%s (direct %t): %v", c.col.TypeString(), direct, err)
				continue
			}
			if !reflect.DeepEqual(got, c.want) || reflect.TypeOf(got) != reflect.TypeOf(c.want) {
				t.Errorf("%s (direct %t): %#v becomes %#v (%T), want %#v (%T)", c.col.TypeString(), direct, c.in, got, got, c.want, c.want)
			}
			if f, ok := got.(float64); ok && math.Signbit(f) != math.Signbit(c.want.(float64)) {
				t.Errorf("%s: the sign of %v is lost", c.col.TypeString(), c.in)
			}
		}
	}
}

func TestConverterRefusals(t *testing.T) {
	cases := []struct {
		col    schema.Column
		in     any
		direct bool
		want   string
	}{
		{schema.Column{Type: schema.Float}, math.NaN(), false, "cannot hold NaN"},
		{schema.Column{Type: schema.Float}, math.Inf(1), true, "cannot hold +Inf"},
		{schema.Column{Type: schema.Real}, math.Inf(-1), false, "cannot hold -Inf"},
		{schema.Column{Type: schema.Real}, 0.1, false, "not a real"},
		{schema.Column{Type: schema.Int}, "7", false, "not string"},
		{schema.Column{Type: schema.Decimal, Precision: 5, Scale: 1}, "1.5", false, "not string"},
		{schema.Column{Type: schema.Time, Scale: 7}, bulk.TimeOfDay(24 * time.Hour), false, "not within a day"},
		{schema.Column{Type: schema.UniqueIdentifier}, []byte{1}, false, "not []uint8"},
	}
	for _, c := range cases {
		c.col.Name = "c"
		conv, err := converterFor(c.col, c.direct)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conv(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s of %#v: error %v, want one with %q", c.col.TypeString(), c.in, err, c.want)
		}
	}
	if _, err := converterFor(schema.Column{Name: "v", Type: "sql_variant"}, false); err == nil || !strings.Contains(err.Error(), "column v") {
		t.Errorf("unknown type: %v", err)
	}
}

// TestNonASCIIVarchar: go-mssqldb sends a string's UTF-8 bytes to a varchar column unconverted
// (microsoft/go-mssqldb#220), so a non-ASCII value bound for one must take the staging path,
// where the column is nvarchar and the server converts.
func TestNonASCIIVarchar(t *testing.T) {
	for _, typ := range []schema.Type{schema.Char, schema.VarChar, schema.Text} {
		col := schema.Column{Name: "v", Type: typ, Length: 50}.Normalize()
		direct, _ := converterFor(col, true)
		staged, _ := converterFor(col, false)
		if _, err := direct("Blåbærsyltetøy"); !errors.Is(err, errNotDirect) {
			t.Errorf("%s direct: non-ASCII gives %v, want errNotDirect", typ, err)
		}
		if v, err := direct("plain ascii"); err != nil || v != "plain ascii" {
			t.Errorf("%s direct: ASCII gives %v, %v", typ, v, err)
		}
		if v, err := staged("Blåbærsyltetøy"); err != nil || v != "Blåbærsyltetøy" {
			t.Errorf("%s staged: %v, %v", typ, v, err)
		}
	}
	nv := schema.Column{Name: "n", Type: schema.NVarChar, Length: 50}
	direct, _ := converterFor(nv, true)
	if _, err := direct("Blåbærsyltetøy"); err != nil {
		t.Errorf("nvarchar direct refuses non-ASCII: %v", err)
	}
}

func TestGUIDWireOrder(t *testing.T) {
	for _, u := range []bulk.UUID{{}, {0: 1, 15: 2}, {0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}} {
		wire := guidWireBytes(u)
		back, err := guidFromWire(wire)
		if err != nil || back != u {
			t.Errorf("%x -> %x -> %x, %v", u, wire, back, err)
		}
		if u != (bulk.UUID{}) && bytes.Equal(wire, u[:]) {
			t.Errorf("%x is sent unswapped", u)
		}
	}
	if _, err := guidFromWire([]byte{1, 2}); err == nil {
		t.Error("a 2-byte uniqueidentifier was accepted")
	}
}
