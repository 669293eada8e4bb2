package wire

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// errUnknown stands for the engine's ErrBadRequest in the test sink.
var errUnknown = errors.New("bad batch")

// contactTable is shaped like SuperOffice's contact table: the representative payload of the
// benchmarks and the big-body test.
var contactTable = mustValidate(schema.Table{Name: "contact", Columns: []schema.Column{
	{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
	{Name: "name", Type: schema.NVarChar, Length: 220},
	{Name: "department", Type: schema.NVarChar, Length: 220, Nullable: true},
	{Name: "number1", Type: schema.NVarChar, Length: 50, Nullable: true},
	{Name: "associate_id", Type: schema.Int, Nullable: true},
	{Name: "country_id", Type: schema.Int},
	{Name: "business_idx", Type: schema.Int},
	{Name: "category_idx", Type: schema.Int},
	{Name: "xstop", Type: schema.SmallInt, Nullable: true},
	{Name: "nomailing", Type: schema.SmallInt, Nullable: true},
	{Name: "registered", Type: schema.DateTime},
	{Name: "updated", Type: schema.DateTime},
	{Name: "updatedCount", Type: schema.SmallInt},
	{Name: "orgNr", Type: schema.NVarChar, Length: 50, Nullable: true},
	{Name: "dbi_last_syncronized", Type: schema.DateTime, Nullable: true},
}})

func contactRow(i int) []any {
	reg := time.Date(2024, 3, 1, 10, 22, 5, 123_000_000, time.UTC).Add(time.Duration(i) * time.Minute)
	var dept any
	if i%3 != 0 {
		dept = fmt.Sprintf("Sales & Marketing %d", i%17)
	}
	var sync any
	if i%5 == 0 {
		sync = reg.Add(time.Hour)
	}
	return []any{
		int64(i), fmt.Sprintf("Fjord Handel AS nr. %d – Øst", i), dept, fmt.Sprintf("K%06d", i),
		int64(100 + i%40), int64(578), int64(i % 12), int64(i % 9), int64(0), nil,
		reg, reg.Add(48 * time.Hour), int64(i % 300), fmt.Sprintf("NO%09d", i*7), sync,
	}
}

// allTypesTable has a column of every type the protocol names.
var allTypesTable = mustValidate(schema.Table{Name: "alltypes", Columns: []schema.Column{
	{Name: "id", Type: schema.BigInt, PrimaryKey: true},
	{Name: "b", Type: schema.Bit, Nullable: true},
	{Name: "ti", Type: schema.TinyInt, Nullable: true},
	{Name: "si", Type: schema.SmallInt, Nullable: true},
	{Name: "i", Type: schema.Int, Nullable: true},
	{Name: "dec", Type: schema.Decimal, Precision: 19, Scale: 4, Nullable: true},
	{Name: "m", Type: schema.Money, Nullable: true},
	{Name: "f", Type: schema.Float, Nullable: true},
	{Name: "r", Type: schema.Real, Nullable: true},
	{Name: "d", Type: schema.Date, Nullable: true},
	{Name: "t", Type: schema.Time, Scale: 7, Nullable: true},
	{Name: "dt", Type: schema.DateTime, Nullable: true},
	{Name: "dt2", Type: schema.DateTime2, Scale: 7, Nullable: true},
	{Name: "dto", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
	{Name: "vc", Type: schema.VarChar, Length: 100, Nullable: true},
	{Name: "nvc", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
	{Name: "vb", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
	{Name: "u", Type: schema.UniqueIdentifier, Nullable: true},
	{Name: "x", Type: schema.XML, Nullable: true},
}})

// mustValidate normalizes a test table as the engine's would be.
func mustValidate(t schema.Table) schema.Table {
	v, err := t.Validate()
	if err != nil {
		panic(err)
	}
	return v
}

func allTypesRow(i int64, s string) []any {
	return []any{
		i, true, int64(255), int64(-32768), int64(math.MinInt32), bulk.Decimal("-123456789012345.1234"),
		bulk.Decimal("922337203685477.5807"), 0.1, float64(float32(3.25)),
		time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), bulk.TimeOfDay(23*time.Hour + 59*time.Minute + 59*time.Second + 1234567*100),
		time.Date(2024, 3, 1, 10, 22, 5, 123_000_000, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 100, time.UTC),
		time.Date(2024, 3, 1, 10, 22, 5, 0, time.FixedZone("", -(5*3600+30*60))),
		"plain", s, []byte{0, 1, 2, 0xFF}, bulk.UUID{0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF},
		"<a x='1'>&amp;</a>",
	}
}

// testSink records what the decoder hands on, checking batches as the engine does: known
// table, known columns, each named once.
type testSink struct {
	tables  map[string]schema.Table
	batches []*testBatch
}

type testBatch struct {
	table   string
	columns []string
	cols    []schema.Column
	ops     []bulk.Op
	rows    [][]any
	lsn     int64
	hasLSN  bool
	closed  bool
}

func newTestSink(tables ...schema.Table) *testSink {
	s := &testSink{tables: map[string]schema.Table{}}
	for _, t := range tables {
		s.tables[t.Name] = t
	}
	return s
}

func (s *testSink) Batch(table string, columns []string) (BatchSink, error) {
	t, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("%w: unknown table %q", errUnknown, table)
	}
	b := &testBatch{table: table, columns: columns}
	seen := map[string]bool{}
	for _, name := range columns {
		i := t.Column(name)
		if i < 0 {
			return nil, fmt.Errorf("%w: table %s has no column %q", errUnknown, table, name)
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: table %s: column %s is named twice in one batch", errUnknown, table, name)
		}
		seen[name] = true
		b.cols = append(b.cols, t.Columns[i])
	}
	s.batches = append(s.batches, b)
	return b, nil
}

func (b *testBatch) Columns() []schema.Column { return b.cols }
func (b *testBatch) Add(op bulk.Op, values []bulk.Value) error {
	b.ops = append(b.ops, op)
	row := make([]any, len(values))
	for i, v := range values {
		row[i] = v.Any()
	}
	b.rows = append(b.rows, row)
	return nil
}
func (b *testBatch) SetLSN(lsn int64) error {
	if lsn < 0 {
		return fmt.Errorf("%w: LSN %d is before the first", errUnknown, lsn)
	}
	b.lsn, b.hasLSN = lsn, true
	return nil
}
func (b *testBatch) Close() error { b.closed = true; return nil }

// canon is a comparable form of a value: its wire text, or NULL.
func canon(col schema.Column, v any) string {
	if v == nil {
		return "NULL"
	}
	s, err := bulk.FormatValue(col, v)
	if err != nil {
		return "ERROR " + err.Error()
	}
	return fmt.Sprintf("%T:%q", v, s)
}

// dump renders recorded batches for comparison.
func (s *testSink) dump() string {
	var b strings.Builder
	for _, bt := range s.batches {
		fmt.Fprintf(&b, "batch %q %q closed=%t lsn=%d/%t\n", bt.table, bt.columns, bt.closed, bt.lsn, bt.hasLSN)
		for i, row := range bt.rows {
			fmt.Fprintf(&b, "  %s", bt.ops[i])
			for j, v := range row {
				fmt.Fprintf(&b, " %s", canon(bt.cols[j], v))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// reencodeAs writes the recorded batches back as a RowData request in a variant's shape.
func (s *testSink) reencodeAs(t testing.TB, clientState string, v Variant) []byte {
	t.Helper()
	var out strings.Builder
	w := v.NewRowDataWriter(&out, "token", clientState)
	for _, bt := range s.batches {
		if err := w.Begin(bt.table, bt.cols); err != nil {
			t.Fatal(err)
		}
		for i, row := range bt.rows {
			if err := w.Row(bt.ops[i], 1, row...); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if bt.hasLSN {
			err = w.EndLSN(bt.lsn)
		} else {
			err = w.End()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return []byte(out.String())
}
