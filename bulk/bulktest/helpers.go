package bulktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

type suite struct {
	h      Harness
	target bulk.Target
}

// mirror opens a tenant's mirror on the suite's target and closes it when t ends.
func (s *suite) mirror(t *testing.T, tenant string) bulk.Mirror {
	t.Helper()
	return openMirror(t, s.target, tenant)
}

func openMirror(t *testing.T, target bulk.Target, tenant string) bulk.Mirror {
	t.Helper()
	m, err := target.Open(t.Context(), tenant)
	if err != nil {
		t.Fatalf("Open(%s): %v", tenant, err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("closing the mirror of %s: %v", tenant, err)
		}
	})
	return m
}

// table is a terse way to write a validated table: "id int key", "name nvarchar(50) null", …
func table(name string, defs ...string) schema.Table {
	tbl := schema.Table{Name: name}
	for _, def := range defs {
		f := strings.Fields(def)
		c := schema.Column{Name: f[0]}
		typ, args, _ := strings.Cut(f[1], "(")
		c.Type = schema.Type(typ)
		if args != "" {
			args = strings.TrimSuffix(args, ")")
			a, b, two := strings.Cut(args, ",")
			n := schema.Max
			if a != "max" {
				n, _ = strconv.Atoi(a)
			}
			switch {
			case two:
				c.Precision, _ = strconv.Atoi(a)
				c.Scale, _ = strconv.Atoi(b)
			case c.Type == schema.Time || c.Type == schema.DateTime2 || c.Type == schema.DateTimeOffset:
				c.Scale = n
			case c.Type == schema.Decimal || c.Type == schema.Numeric:
				c.Precision = n
			default:
				c.Length = n
			}
		} else if c.Type == schema.Time || c.Type == schema.DateTime2 || c.Type == schema.DateTimeOffset {
			c.Scale = 7
		}
		for _, flag := range f[2:] {
			switch flag {
			case "key":
				c.PrimaryKey = true
			case "null":
				c.Nullable = true
			default:
				panic("bulktest: unknown column flag " + flag)
			}
		}
		tbl.Columns = append(tbl.Columns, c)
	}
	valid, err := tbl.Validate()
	if err != nil {
		panic("bulktest: " + err.Error())
	}
	return valid
}

func renamed(tbl schema.Table, name string) schema.Table {
	tbl.Name = name
	tbl.Columns = slices.Clone(tbl.Columns)
	return tbl
}

func migrate(ctx context.Context, m bulk.Mirror, plan schema.Plan) error {
	return Migrate(ctx, m, plan)
}

// Migrate carries out a plan made from the table's state as the mirror holds it now: the way a
// target's own tests migrate a table without reading its hash first.
func Migrate(ctx context.Context, m bulk.Mirror, plan schema.Plan) error {
	states, err := m.States(ctx)
	if err != nil {
		return err
	}
	return m.Migrate(ctx, bulk.Migration{Plan: plan, From: states[plan.Desired.Name].Hash})
}

// create migrates a new table into m and returns the catalog read back.
func (s *suite) create(t *testing.T, m bulk.Mirror, tbl schema.Table) schema.Table {
	t.Helper()
	plan := schema.Diff(nil, tbl)
	if err := migrate(t.Context(), m, plan); err != nil {
		t.Fatalf("Migrate create %s: %v", tbl.Name, err)
	}
	st := tableState(t, m, tbl.Name)
	if st.LSN != bulk.NoLSN {
		t.Errorf("table %s: LSN %d after create, want %d", tbl.Name, st.LSN, bulk.NoLSN)
	}
	return st.Table
}

func tableState(t *testing.T, m bulk.Mirror, name string) bulk.TableState {
	t.Helper()
	tables, err := m.Tables(t.Context())
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	st, ok := tables[name]
	if !ok {
		t.Fatalf("Tables does not list %s; it lists %v", name, slices.Sorted(mapKeys(tables)))
	}
	return st
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func lsnOf(t *testing.T, m bulk.Mirror, name string) int64 {
	t.Helper()
	return tableState(t, m, name).LSN
}

func expectLSN(t *testing.T, m bulk.Mirror, name string, want int64) {
	t.Helper()
	if got := lsnOf(t, m, name); got != want {
		t.Errorf("table %s: LSN %d, want %d", name, got, want)
	}
}

func expectCount(t *testing.T, m bulk.Mirror, name string, want int64) {
	t.Helper()
	got, err := m.RowCount(t.Context(), name)
	if err != nil {
		t.Fatalf("RowCount(%s): %v", name, err)
	}
	if got != want {
		t.Errorf("table %s: RowCount %d, want %d", name, got, want)
	}
}

// expectTable checks a catalog read back against the desired normalized table.
func expectTable(t *testing.T, got, want schema.Table) {
	t.Helper()
	if got.Name != want.Name {
		t.Errorf("catalog names table %q, want %q", got.Name, want.Name)
	}
	if len(got.Columns) != len(want.Columns) {
		t.Errorf("table %s: catalog has %d columns, want %d:\n got %s\nwant %s", want.Name, len(got.Columns), len(want.Columns), describe(got), describe(want))
		return
	}
	for i := range want.Columns {
		if g, w := got.Columns[i], want.Columns[i]; g != w {
			t.Errorf("table %s, column %d: catalog has %+v, want %+v", want.Name, i+1, g, w)
		}
	}
}

func describe(tbl schema.Table) string {
	var parts []string
	for _, c := range tbl.Columns {
		parts = append(parts, c.Name+" "+c.TypeString())
	}
	return strings.Join(parts, ", ")
}

// rowText is a row as text: values are the text form of PROTOCOL.md (parsed with
// bulk.ParseValue for the column), an int for an integer, or nil for NULL.
type rowText struct {
	op   bulk.Op
	cols string
	vals []any
}

func ins(cols string, vals ...any) rowText { return rowText{bulk.Insert, cols, vals} }
func upd(cols string, vals ...any) rowText { return rowText{bulk.Update, cols, vals} }
func del(cols string, vals ...any) rowText { return rowText{bulk.Delete, cols, vals} }

func parseText(t testing.TB, tbl schema.Table, col int, v any) any {
	t.Helper()
	var text string
	switch x := v.(type) {
	case nil:
		return nil
	case int:
		text = strconv.Itoa(x)
	case string:
		text = x
	default:
		t.Fatalf("bulktest: value %#v is neither text, int nor nil", v)
	}
	c := tbl.Columns[col]
	val, err := bulk.ParseValue(c, text)
	if err != nil {
		t.Fatalf("bulktest: table %s, column %s: %v", tbl.Name, c.Name, err)
	}
	return val
}

func columnIndexes(t testing.TB, tbl schema.Table, cols string) []int {
	t.Helper()
	var idx []int
	for _, name := range strings.Split(cols, ",") {
		i := tbl.Column(strings.TrimSpace(name))
		if i < 0 {
			t.Fatalf("bulktest: table %s has no column %q", tbl.Name, name)
		}
		idx = append(idx, i)
	}
	return idx
}

func buildRows(t testing.TB, tbl schema.Table, texts ...rowText) []bulk.Row {
	t.Helper()
	rows := make([]bulk.Row, len(texts))
	for i, rt := range texts {
		cols := columnIndexes(t, tbl, rt.cols)
		if len(cols) != len(rt.vals) {
			t.Fatalf("bulktest: row %d names %d columns but has %d values", i+1, len(cols), len(rt.vals))
		}
		vals := make([]any, len(cols))
		for j, c := range cols {
			vals[j] = parseText(t, tbl, c, rt.vals[j])
		}
		rows[i] = bulk.Row{Op: rt.op, Columns: cols, Values: vals}
	}
	return rows
}

// fullRows turns rows of the named columns into whole rows of tbl; other columns are NULL.
func fullRows(t testing.TB, tbl schema.Table, cols string, texts ...[]any) [][]any {
	t.Helper()
	idx := columnIndexes(t, tbl, cols)
	rows := make([][]any, len(texts))
	for i, vals := range texts {
		if len(vals) != len(idx) {
			t.Fatalf("bulktest: expected row %d has %d values for %d columns", i+1, len(vals), len(idx))
		}
		row := make([]any, len(tbl.Columns))
		for j, c := range idx {
			row[c] = parseText(t, tbl, c, vals[j])
		}
		rows[i] = row
	}
	return rows
}

func (s *suite) apply(t *testing.T, m bulk.Mirror, tbl schema.Table, opts bulk.ApplyOptions, texts ...rowText) bulk.Counts {
	t.Helper()
	counted, calls := countCalls(opts)
	counts, err := m.Apply(t.Context(), tbl, bulk.NewSliceRows(buildRows(t, tbl, texts...)), counted)
	if err != nil {
		t.Fatalf("Apply to %s: %v", tbl.Name, err)
	}
	if n := calls.Load(); opts.LSN != nil && n != 1 {
		t.Errorf("Apply to %s called ApplyOptions.LSN %d times, want once", tbl.Name, n)
	}
	return counts
}

func expectCounts(t *testing.T, got bulk.Counts, inserted, updated, deleted int64) {
	t.Helper()
	if want := (bulk.Counts{Inserted: inserted, Updated: updated, Deleted: deleted}); got != want {
		t.Errorf("Apply counted %+v, want %+v (what each row did to the table)", got, want)
	}
}

// expectNetCounts checks what holds of counts whether or not a target collapses the rows of a
// key first: inserts less deletes is the change in the table's row count, and no more changes
// are counted than rows were sent.
func expectNetCounts(t *testing.T, got bulk.Counts, net, sent int64) {
	t.Helper()
	if got.Inserted-got.Deleted != net || got.Inserted+got.Updated+got.Deleted > sent || got.Inserted < 0 || got.Updated < 0 || got.Deleted < 0 {
		t.Errorf("Apply counted %+v: want inserted less deleted = %d (the change in rows), at most %d changes in all", got, net, sent)
	}
}

func withLSN(lsn int64) bulk.ApplyOptions { return bulk.ApplyOptions{LSN: fixedLSN(lsn)} }

func emptyWithLSN(lsn int64) bulk.ApplyOptions {
	return bulk.ApplyOptions{LSN: fixedLSN(lsn), Fresh: true}
}

func fixedLSN(lsn int64) func() (int64, bool) { return func() (int64, bool) { return lsn, true } }

// countCalls wraps opts.LSN so that the suite can check it is called once, after the rows.
func countCalls(opts bulk.ApplyOptions) (bulk.ApplyOptions, *atomic.Int32) {
	calls := new(atomic.Int32)
	if lsn := opts.LSN; lsn != nil {
		opts.LSN = func() (int64, bool) {
			calls.Add(1)
			return lsn()
		}
	}
	return opts, calls
}

// expected turns a value the suite wrote into the value the target is documented to give back.
func (s *suite) expected(col schema.Column, v any) any {
	if f, ok := v.(float64); ok && f == 0 && !s.h.Limits.SignedZero {
		return 0.0
	}
	p := s.h.Limits.TimePrecision
	if p <= 100*time.Nanosecond {
		return v
	}
	switch x := v.(type) {
	case time.Time:
		if col.Type == schema.DateTime2 || col.Type == schema.DateTimeOffset || col.Type == schema.DateTime || col.Type == schema.SmallDateTime {
			return x.Truncate(p)
		}
	case bulk.TimeOfDay:
		return bulk.TimeOfDay(time.Duration(x).Truncate(p))
	}
	return v
}

func (s *suite) equal(col schema.Column, want, got any) bool {
	if col.Type == schema.DateTimeOffset && !s.h.Limits.KeepsOffset {
		w, ok1 := want.(time.Time)
		g, ok2 := got.(time.Time)
		if ok1 && ok2 {
			return w.Equal(g)
		}
	}
	return bulk.EqualValues(want, got)
}

// sortKey orders rows by their key columns (all columns without a key) so that rows the suite
// expects and rows the target gives back pair up whatever order ReadRows uses.
func sortKey(tbl schema.Table, row []any) string {
	key := tbl.Key()
	if len(key) == 0 {
		for i := range tbl.Columns {
			key = append(key, i)
		}
	}
	var b strings.Builder
	for _, i := range key {
		b.WriteByte(0x1f)
		switch v := row[i].(type) {
		case nil:
			b.WriteString("\x00NULL")
		case time.Time:
			b.WriteString(v.UTC().Format(time.RFC3339Nano))
		default:
			text, err := bulk.FormatValue(tbl.Columns[i], v)
			if err != nil {
				text = fmt.Sprintf("%T %v", v, v)
			}
			b.WriteString(text)
		}
	}
	return b.String()
}

func show(col schema.Column, v any) string {
	if v == nil {
		return "NULL"
	}
	text, err := bulk.FormatValue(col, v)
	if err != nil {
		return fmt.Sprintf("%T(%v) [%v]", v, v, err)
	}
	if len(text) > 60 {
		return strconv.Quote(text[:60]) + fmt.Sprintf("… (%d bytes)", len(text))
	}
	return strconv.Quote(text)
}

// expectRows reads tbl back through the mirror's bulk.Inspector and compares it with want,
// whole rows of tbl as written: the target's declared limits adjust what is expected, and what
// the Inspector's Kept says of each written value must be what is read back.
func (s *suite) expectRows(t *testing.T, m bulk.Mirror, tbl schema.Table, want [][]any) {
	t.Helper()
	got, err := ReadAll(t.Context(), m, tbl)
	if err != nil {
		t.Fatalf("ReadRows(%s): %v", tbl.Name, err)
	}
	ins := m.(bulk.Inspector)
	adjusted := make([][]any, len(want))
	kept := make([][]any, len(want))
	for i, row := range want {
		adjusted[i] = make([]any, len(row))
		kept[i] = make([]any, len(row))
		for j, v := range row {
			adjusted[i][j] = s.expected(tbl.Columns[j], v)
			kept[i][j] = ins.Kept(tbl.Columns[j], v)
		}
	}
	order := make([]int, len(want))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(sortKey(tbl, adjusted[a]), sortKey(tbl, adjusted[b])) })
	slices.SortStableFunc(got, func(a, b []any) int { return strings.Compare(sortKey(tbl, a), sortKey(tbl, b)) })
	if len(got) != len(want) {
		t.Errorf("table %s: %d rows read back, want %d", tbl.Name, len(got), len(want))
	}
	bad := 0
	for i := 0; i < len(got) && i < len(want); i++ {
		if len(got[i]) != len(tbl.Columns) {
			t.Fatalf("table %s: ReadRows gave a row of %d values for %d columns", tbl.Name, len(got[i]), len(tbl.Columns))
		}
		w, k := adjusted[order[i]], kept[order[i]]
		for j, col := range tbl.Columns {
			var problem string
			switch {
			case !s.equal(col, w[j], got[i][j]):
				problem = "want " + show(col, w[j])
			case !bulk.EqualValues(k[j], got[i][j]):
				problem = fmt.Sprintf("Kept says %s (%T)", show(col, k[j]), k[j])
			default:
				continue
			}
			if bad++; bad > 12 {
				t.Fatalf("table %s: more mismatches follow", tbl.Name)
			}
			t.Errorf("table %s, row %d (by key), column %s (%s): got %s (%T), %s", tbl.Name, i+1, col.Name, col.TypeString(),
				show(col, got[i][j]), got[i][j], problem)
		}
	}
}

// expectError checks that err is an error and names every one of names.
func expectError(t *testing.T, err error, what string, names ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error", what)
		return
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("%s: error %q does not name %s", what, err, n)
		}
	}
}

var errRowsFailed = errors.New("bulktest: the row source failed on purpose")
