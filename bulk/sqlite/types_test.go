package sqlite

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

func TestEncoder(t *testing.T) {
	col := func(typ schema.Type, length, precision, scale int) schema.Column {
		return schema.Column{Name: "c", Type: typ, Length: length, Precision: precision, Scale: scale, Nullable: true}.Normalize()
	}
	cases := []struct {
		col     schema.Column
		in      any
		want    any
		wantErr string
	}{
		{col(schema.Bit, 0, 0, 0), true, int64(1), ""},
		{col(schema.Bit, 0, 0, 0), int64(1), nil, "must be bool, not int64"},
		{col(schema.TinyInt, 0, 0, 0), int64(256), nil, "out of range 0 to 255"},
		{col(schema.SmallInt, 0, 0, 0), int64(-32768), int64(-32768), ""},
		{col(schema.Int, 0, 0, 0), int64(math.MaxInt32 + 1), nil, "out of range"},
		{col(schema.Float, 0, 0, 0), math.NaN(), "NaN", ""},
		{col(schema.Float, 0, 0, 0), math.Inf(1), math.Inf(1), ""},
		{col(schema.Decimal, 0, 10, 2), bulk.Decimal("1.5"), "1.50", ""},
		{col(schema.Decimal, 0, 10, 2), bulk.Decimal("-000.500"), "-0.50", ""},
		{col(schema.Decimal, 0, 10, 2), bulk.Decimal("1.555"), nil, "digits after the point"},
		{col(schema.Numeric, 0, 3, 0), bulk.Decimal("1000"), nil, "digits before the point"},
		{col(schema.Money, 0, 0, 0), bulk.Decimal("12.3"), "12.3000", ""},
		{col(schema.Decimal, 0, 10, 2), "1.5", nil, "must be bulk.Decimal"},
		{col(schema.NVarChar, 10, 0, 0), "a\x00b", "a\x00b", ""},
		{col(schema.VarBinary, 10, 0, 0), []byte(nil), []byte{}, ""},
		{col(schema.Date, 0, 0, 0), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29", ""},
		{col(schema.DateTime2, 0, 0, 7), time.Date(2024, 2, 29, 1, 2, 3, 120000000, time.UTC), "2024-02-29T01:02:03.12", ""},
		{col(schema.DateTimeOffset, 0, 0, 7), time.Date(2024, 2, 29, 1, 2, 3, 0, time.FixedZone("", -5*3600)), "2024-02-29T01:02:03-05:00", ""},
		{col(schema.Time, 0, 0, 7), bulk.TimeOfDay(25 * time.Hour), nil, "under 24 hours"},
		{col(schema.Time, 0, 0, 7), bulk.TimeOfDay(time.Hour + 100), "01:00:00.0000001", ""},
		{col(schema.UniqueIdentifier, 0, 0, 0), bulk.UUID{0: 0xab, 15: 1}, "AB000000-0000-0000-0000-000000000001", ""},
		{col(schema.XML, 0, 0, 0), nil, nil, ""},
	}
	for _, c := range cases {
		in, err := bulk.ValueOf(c.in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := newEncoder(c.col)(in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "column c") {
				t.Errorf("%s %#v: error %v, want one naming column c and saying %q", c.col.TypeString(), c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %#v: %v", c.col.TypeString(), c.in, err)
			continue
		}
		if f, ok := c.want.(float64); ok {
			if g, _ := got.(float64); g != f {
				t.Errorf("%s %#v = %#v, want %#v", c.col.TypeString(), c.in, got, c.want)
			}
			continue
		}
		if b, ok := c.want.([]byte); ok {
			if g, ok := got.([]byte); !ok || g == nil || string(g) != string(b) {
				t.Errorf("%s %#v = %#v, want %#v", c.col.TypeString(), c.in, got, c.want)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s %#v = %#v, want %#v", c.col.TypeString(), c.in, got, c.want)
		}
	}
}

func TestDecodeValue(t *testing.T) {
	cases := []struct {
		col     schema.Column
		stored  any
		want    any
		wantErr bool
	}{
		{schema.Column{Name: "c", Type: schema.Bit}, int64(1), true, false},
		{schema.Column{Name: "c", Type: schema.Bit}, int64(2), nil, true},
		{schema.Column{Name: "c", Type: schema.Real}, "NaN", math.NaN(), false},
		{schema.Column{Name: "c", Type: schema.Float}, int64(3), float64(3), false},
		{schema.Column{Name: "c", Type: schema.Float}, "nan", nil, true},
		{schema.Column{Name: "c", Type: schema.VarBinary, Length: 4}, []byte(nil), []byte{}, false},
		{schema.Column{Name: "c", Type: schema.Decimal, Precision: 5, Scale: 2}, "1.50", bulk.Decimal("1.50"), false},
		// A time(3) column widened to time(7) is read at any scale.
		{schema.Column{Name: "c", Type: schema.Time, Scale: 3}, "10:00:00.1234567", bulk.TimeOfDay(10*time.Hour + 123456700), false},
		{schema.Column{Name: "c", Type: schema.DateTimeOffset, Scale: 0}, "2024-01-01T00:00:00+00:00",
			time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 0)), false},
		{schema.Column{Name: "c", Type: schema.Date}, "2024-13-01", nil, true},
		{schema.Column{Name: "c", Type: schema.UniqueIdentifier}, "not a uuid", nil, true},
		{schema.Column{Name: "c", Type: schema.Int}, "1", nil, true},
	}
	for _, c := range cases {
		got, err := decodeValue(c.col, c.stored)
		if c.wantErr {
			if err == nil || !strings.Contains(err.Error(), "column c") {
				t.Errorf("%s %#v: error %v, want one naming column c", c.col.TypeString(), c.stored, err)
			}
			continue
		}
		if err != nil || !bulk.EqualValues(got, c.want) {
			t.Errorf("%s %#v = %#v, %v; want %#v", c.col.TypeString(), c.stored, got, err, c.want)
		}
	}
}
