package pgsql

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// valueRows is a tupleSource of rows of values, every column encoded by its codec.
type valueRows struct {
	fields []fieldCodec
	rows   [][]any
}

func (r *valueRows) appendTuple(buf []byte) ([]byte, bool, error) {
	if len(r.rows) == 0 {
		return buf, false, nil
	}
	row := r.rows[0]
	r.rows = r.rows[1:]
	buf = append(buf, byte(len(row)>>8), byte(len(row)))
	for i, v := range row {
		if v == nil {
			buf = append(buf, nullField...)
			continue
		}
		value, err := bulk.ValueOf(v)
		if err != nil {
			return buf, false, err
		}
		if buf, err = r.fields[i].appendField(buf, value); err != nil {
			return buf, false, err
		}
	}
	return buf, true, nil
}

// pgxValue is a bulk value as pgx's own COPY encodes it into the column's PostgreSQL type,
// truncated as the column keeps it.
func pgxValue(t *testing.T, c schema.Column, v any) any {
	if v == nil {
		return nil
	}
	unit := fractionUnit(fractionDigits(c))
	switch c.Type {
	case schema.TinyInt, schema.SmallInt:
		return int16(v.(int64))
	case schema.Int:
		return int32(v.(int64))
	case schema.Real:
		return float32(v.(float64))
	case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
		var n pgtype.Numeric
		if err := n.Scan(string(v.(bulk.Decimal))); err != nil {
			t.Fatalf("pgx cannot read decimal %s: %v", v, err)
		}
		return n
	case schema.Time:
		d := int64(v.(bulk.TimeOfDay))
		return pgtype.Time{Microseconds: d / int64(unit) * int64(unit) / 1000, Valid: true}
	case schema.DateTime, schema.SmallDateTime, schema.DateTime2, schema.DateTimeOffset:
		return v.(time.Time).Truncate(unit)
	case schema.UniqueIdentifier:
		return [16]byte(v.(bulk.UUID))
	}
	return v
}

// TestCopyMatchesPgx copies rows of edge values of every type twice, once in the stream this
// package writes and once through pgx's CopyFrom, and compares what PostgreSQL stored, as text.
func TestCopyMatchesPgx(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustCopy")
	ctx := context.Background()
	tbl, err := schema.Table{Name: "every_type", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "active", Type: schema.Bit, Nullable: true},
		{Name: "rank", Type: schema.TinyInt, Nullable: true},
		{Name: "small", Type: schema.SmallInt, Nullable: true},
		{Name: "visits", Type: schema.BigInt, Nullable: true},
		{Name: "amount", Type: schema.Decimal, Precision: 38, Scale: 10, Nullable: true},
		{Name: "price", Type: schema.Money, Nullable: true},
		{Name: "fee", Type: schema.SmallMoney, Nullable: true},
		{Name: "ratio", Type: schema.Float, Nullable: true},
		{Name: "weight", Type: schema.Real, Nullable: true},
		{Name: "born", Type: schema.Date, Nullable: true},
		{Name: "opens", Type: schema.Time, Scale: 7, Nullable: true},
		{Name: "closes", Type: schema.Time, Scale: 2, Nullable: true},
		{Name: "registered", Type: schema.DateTime, Nullable: true},
		{Name: "updated", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "seen", Type: schema.SmallDateTime, Nullable: true},
		{Name: "stamp", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
		{Name: "stamp3", Type: schema.DateTimeOffset, Scale: 3, Nullable: true},
		{Name: "code", Type: schema.Char, Length: 4, Nullable: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
		{Name: "notes", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
		{Name: "doc", Type: schema.XML, Nullable: true},
		{Name: "hash", Type: schema.Binary, Length: 8, Nullable: true},
		{Name: "photo", Type: schema.Image, Nullable: true},
		{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.pool.Exec(ctx, `CREATE TABLE "by_pgx" (LIKE "every_type")`); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("", -(9*3600 + 30*60))
	east := time.FixedZone("", 14*3600)
	late := time.Date(2024, 12, 31, 23, 59, 59, 999999999, time.UTC)
	rows := [][]any{
		{int64(1), true, int64(0), int64(math.MinInt16), int64(math.MinInt64), bulk.Decimal("-9999999999999999999999999999.9999999999"), bulk.Decimal("-922337203685477.5808"), bulk.Decimal("-214748.3648"),
			math.Inf(-1), math.Inf(1), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), bulk.TimeOfDay(0), bulk.TimeOfDay(24*time.Hour - 1),
			time.Date(1753, 1, 1, 0, 0, 0, 3_000_000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(1, 1, 1, 0, 0, 0, 0, east), late.In(zone),
			"", "", "æøå ÆØÅ € 𝄞 日本語", "<a b=\"c\"/>", []byte{}, []byte{0}, bulk.UUID{}},
		{int64(2), false, int64(255), int64(math.MaxInt16), int64(math.MaxInt64), bulk.Decimal("9999999999999999999999999999.9999999999"), bulk.Decimal("922337203685477.5807"), bulk.Decimal("214748.3647"),
			math.NaN(), float64(float32(math.MaxFloat32)), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), bulk.TimeOfDay(24*time.Hour - 100), bulk.TimeOfDay(12*time.Hour + 999*time.Millisecond),
			time.Date(9999, 12, 31, 23, 59, 59, 997_000_000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC), time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC),
			time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, zone), late.In(east),
			"ab  ", strings.Repeat("é", 220), strings.Repeat("long text ", 10000), "", []byte{0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1}, make([]byte, 100000),
			bulk.UUID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{int64(3), true, int64(7), int64(-1), int64(0), bulk.Decimal("0"), bulk.Decimal("0.0001"), bulk.Decimal("-0.0001"),
			math.Copysign(0, -1), math.SmallestNonzeroFloat64, time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC), bulk.TimeOfDay(time.Microsecond), bulk.TimeOfDay(9 * time.Millisecond),
			time.Date(1999, 12, 31, 23, 59, 59, 999_000_000, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2000, 1, 1, 0, 0, 0, 0, zone), time.Date(1970, 1, 1, 0, 0, 0, 1_500_000, time.UTC),
			"x", "tab\tnew\nline \\ quote ' \"", "\u00a0\u200b\ufeff", "", []byte("12345678"), []byte{1, 2, 3},
			bulk.UUID{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}},
		{int64(4), nil, nil, nil, nil, bulk.Decimal("12345678901234567890.0123456789"), bulk.Decimal("0.5"), nil,
			1.0 / 3, 0.1, time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{int64(5), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
	}
	names := make([]string, len(tbl.Columns))
	fields := make([]fieldCodec, len(tbl.Columns))
	for i, c := range tbl.Columns {
		names[i] = c.Name
		if fields[i], err = codecFor(c); err != nil {
			t.Fatal(err)
		}
	}
	byPgx := make([][]any, len(rows))
	for r, row := range rows {
		byPgx[r] = make([]any, len(row))
		for i, v := range row {
			byPgx[r][i] = pgxValue(t, tbl.Columns[i], v)
		}
	}
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	stream := newCopyStream(&valueRows{fields: fields, rows: rows}, nil, false)
	tag, err := conn.Conn().PgConn().CopyFrom(ctx, stream, copyFromSQL(m.rel(tbl.Name), names))
	if err := stream.close(); err != nil {
		t.Fatalf("encoding: %v", err)
	}
	if err != nil || tag.RowsAffected() != int64(len(rows)) {
		t.Fatalf("COPY: %v (%d rows)", err, tag.RowsAffected())
	}
	if _, err := conn.CopyFrom(ctx, pgx.Identifier{"by_pgx"}, names, pgx.CopyFromRows(byPgx)); err != nil {
		t.Fatalf("pgx CopyFrom: %v", err)
	}

	texts := func(table string) [][]*string {
		sel := make([]string, len(names))
		for i, n := range names {
			sel[i] = quote(n) + "::text"
		}
		q, err := conn.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+quote(table)+" ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		out, err := pgx.CollectRows(q, func(r pgx.CollectableRow) ([]*string, error) {
			row := make([]*string, len(names))
			dst := make([]any, len(names))
			for i := range row {
				dst[i] = &row[i]
			}
			return row, r.Scan(dst...)
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ours, theirs := texts(tbl.Name), texts("by_pgx")
	if len(ours) != len(rows) || len(theirs) != len(rows) {
		t.Fatalf("%d and %d rows stored, want %d", len(ours), len(theirs), len(rows))
	}
	show := func(s *string) string {
		if s == nil {
			return "NULL"
		}
		return strings.ToValidUTF8((*s)[:min(len(*s), 60)], "?")
	}
	for r := range rows {
		for i, n := range names {
			if (ours[r][i] == nil) != (theirs[r][i] == nil) || ours[r][i] != nil && *ours[r][i] != *theirs[r][i] {
				t.Errorf("row %d, column %s: stored %s, pgx stored %s", r+1, n, show(ours[r][i]), show(theirs[r][i]))
			}
		}
	}

	// What pgx decodes is the value sent, as the column keeps it.
	read, err := readRows(ctx, m, tbl)
	if err != nil {
		t.Fatal(err)
	}
	for r, row := range rows {
		for i, v := range row {
			want := v
			if tm, ok := v.(time.Time); ok {
				want = pgxValue(t, tbl.Columns[i], tm).(time.Time)
				switch tbl.Columns[i].Type {
				case schema.Date: // the date of the wall clock, as pgx sends it
					want = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
				case schema.DateTimeOffset:
				default:
					want = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), want.(time.Time).Nanosecond(), time.UTC)
				}
			}
			if tod, ok := v.(bulk.TimeOfDay); ok {
				want = bulk.TimeOfDay(time.Duration(pgxValue(t, tbl.Columns[i], tod).(pgtype.Time).Microseconds) * time.Microsecond)
			}
			if f, ok := v.(float64); ok && tbl.Columns[i].Type == schema.Real {
				want = float64(float32(f))
			}
			got := read[r][i]
			if tg, ok := got.(time.Time); ok && tbl.Columns[i].Type == schema.DateTimeOffset {
				if w := want.(time.Time); !tg.Equal(w) {
					t.Errorf("row %d, column %s: read %v, want %v", r+1, names[i], tg, w)
				}
				continue
			}
			if !bulk.EqualValues(got, want) {
				t.Errorf("row %d, column %s: read %.60v, want %.60v", r+1, names[i], got, want)
			}
		}
	}
}

// TestCopyTypeMismatch checks that Apply refuses a table model whose types differ from the
// database's, since binary COPY would otherwise store one type's bytes as another's.
func TestCopyTypeMismatch(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustMismatch")
	ctx := context.Background()
	stored, err := schema.Table{Name: "events", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "at", Type: schema.DateTime2, Scale: 7},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, stored)); err != nil {
		t.Fatal(err)
	}
	stale := stored
	stale.Columns = []schema.Column{stored.Columns[0], {Name: "at", Type: schema.BigInt}}
	rows := []bulk.Row{{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(1), int64(42)}}}
	_, err = m.Apply(ctx, stale, bulk.NewSliceRows(rows), bulk.ApplyOptions{Fresh: true})
	if err == nil || !strings.Contains(err.Error(), "column at has type timestamp in the database where bigint needs bigint") {
		t.Fatalf("Apply with a stale table model: %v", err)
	}
	if n := rowCountB(t, m, "events"); n != 0 {
		t.Fatalf("%d rows stored", n)
	}
}
