package mssql

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

func TestInspectSQLGolden(t *testing.T) {
	keyless := schema.Table{Name: "log", Columns: []schema.Column{{Name: "line", Type: schema.VarChar, Length: 100, Nullable: true}}}
	got := strings.Join([]string{selectRowsSQL(goldenTable(t)), selectRowsSQL(keyless), databaseExistsSQL}, ";\n")
	bulktest.Golden(t, filepath.Join("testdata", "inspect.sql"), got, *update)
}

func TestFromServer(t *testing.T) {
	tbl := goldenTable(t)
	col := func(name string) schema.Column { return tbl.Columns[tbl.Column(name)] }
	offset := time.FixedZone("", 2*3600)
	tests := []struct {
		col  string
		raw  any
		want any
	}{
		{"amount", []byte("-12.3400"), bulk.Decimal("-12.3400")},
		{"price", "922337203685477.5807", bulk.Decimal("922337203685477.5807")},
		{"weight", float32(1.5), 1.5},
		{"rank", uint8(200), int64(200)},
		{"total", int64(-7), int64(-7)},
		{"registered", time.Date(2024, 2, 29, 10, 22, 5, 3_000_000, offset), time.Date(2024, 2, 29, 10, 22, 5, 3_000_000, time.UTC)},
		{"stamp", time.Date(2024, 2, 29, 10, 22, 5, 100, offset), time.Date(2024, 2, 29, 10, 22, 5, 100, offset)},
		{"opens", time.Date(1, 1, 1, 23, 59, 59, 999_999_900, time.UTC), bulk.TimeOfDay(24*time.Hour - 100)},
		{"guid", []byte{0xff, 0x19, 0x96, 0x6f, 0x86, 0x8b, 0x11, 0xd0, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff},
			bulk.UUID{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0, 0x4f, 0xc9, 0x64, 0xff}},
		{"title", []byte("plain"), "plain"},
		{"name", "Åse", "Åse"},
		{"blob", []byte{1, 2}, []byte{1, 2}},
		{"notes", nil, nil},
	}
	for _, tt := range tests {
		got, err := fromServer(col(tt.col), tt.raw)
		if err != nil || !bulk.EqualValues(tt.want, got) {
			t.Errorf("%s from %T %v: got %#v, %v; want %#v", tt.col, tt.raw, tt.raw, got, err, tt.want)
		}
	}
	if _, err := fromServer(col("total"), "7"); err == nil || !strings.Contains(err.Error(), "bigint") {
		t.Errorf("a string for a bigint: error %v, want one that names the type", err)
	}
}

func TestKept(t *testing.T) {
	m := &Mirror{}
	tbl := goldenTable(t)
	col := func(name string) schema.Column { return tbl.Columns[tbl.Column(name)] }
	at := func(ns int) time.Time { return time.Date(2024, 12, 31, 23, 59, 59, ns, time.UTC) }
	tests := []struct {
		col     string
		in, out any
	}{
		{"ratio", math.Copysign(0, -1), 0.0},
		{"ratio", 2.5, 2.5},
		{"registered", at(3_000_000), at(3_000_000)},
		{"registered", at(7_000_000), at(7_000_000)},
		{"registered", at(3_333_333), at(3_000_000)},
		{"registered", at(5_000_000), at(7_000_000)},
		{"registered", at(1_000_000), at(0)},
		{"registered", at(998_000_000), at(997_000_000)},
		{"registered", at(995_000_000), at(997_000_000)},
		{"registered", at(992_000_000), at(993_000_000)},
		{"registered", at(991_000_000), at(990_000_000)},
		{"registered", at(999_000_000), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"updated", at(123_456_700), at(123_456_700)},
	}
	for _, tt := range tests {
		if got := m.Kept(col(tt.col), tt.in); !bulk.EqualValues(tt.out, got) {
			t.Errorf("Kept(%s, %v) = %v, want %v", tt.col, tt.in, got, tt.out)
		}
	}
}
