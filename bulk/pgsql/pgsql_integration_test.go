package pgsql

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

func withLSN(lsn int64) bulk.ApplyOptions {
	return bulk.ApplyOptions{LSN: func() (int64, bool) { return lsn, true }}
}

func mustMigrate(t *testing.T, m *Mirror, current *schema.Table, desired schema.Table) schema.Plan {
	t.Helper()
	plan := schema.Diff(current, desired)
	if err := bulktest.Migrate(t.Context(), m, plan); err != nil {
		t.Fatalf("Migrate %s %s: %v", plan.Action, desired.Name, err)
	}
	return plan
}

func stateOf(t *testing.T, m *Mirror, table string) bulk.TableState {
	t.Helper()
	tables, err := m.Tables(t.Context())
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	st, ok := tables[table]
	if !ok {
		t.Fatalf("Tables lacks %s", table)
	}
	return st
}

func rowCount(t *testing.T, m *Mirror, table string) int64 {
	t.Helper()
	var n int64
	if err := m.pool.QueryRow(t.Context(), rowCountSQL(m.rel(table))).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestCatalogRoundTripAndAlter(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustCatalog")
	want := goldenTable(t)
	mustMigrate(t, m, nil, want)
	st := stateOf(t, m, "contact")
	if st.LSN != bulk.NoLSN || st.Hash != want.Hash() {
		t.Errorf("after create: LSN %d hash %s, want -1 and %s", st.LSN, st.Hash, want.Hash())
	}
	for i, c := range want.Columns {
		if i >= len(st.Table.Columns) || st.Table.Columns[i] != c {
			t.Errorf("column %d read back as %+v, want %+v", i+1, st.Table.Columns[i:i+1], c)
		}
	}
	if plan := schema.Diff(&st.Table, want); plan.Action != schema.None {
		t.Errorf("the catalog read back differs from what was created: %+v", plan)
	}

	// An Alter keeps the LSN and a partner's index.
	if _, err := m.Apply(t.Context(), want, bulk.NewSliceRows(nil), withLSN(42)); err != nil {
		t.Fatal(err)
	}
	if err := execSQL(t.Context(), m, `CREATE INDEX partner_name ON "contact" ("name")`); err != nil {
		t.Fatal(err)
	}
	altered := want
	altered.Columns = append([]schema.Column(nil), want.Columns...)
	altered.Columns[17].Length = 300                                                   // nvarchar(220) -> nvarchar(300)
	altered.Columns[3] = schema.Column{Name: "rank", Type: schema.Int, Nullable: true} // tinyint -> int
	altered.Columns[2].Nullable = true                                                 // NOT NULL relaxed
	altered.Columns = append(altered.Columns[:20], altered.Columns[21:]...)            // drop doc
	altered.Columns = append(altered.Columns, schema.Column{Name: "extra", Type: schema.VarChar, Length: 10, Nullable: true})
	plan := mustMigrate(t, m, &st.Table, altered)
	if plan.Action != schema.Alter {
		t.Fatalf("plan is %s, want alter", plan.Action)
	}
	st = stateOf(t, m, "contact")
	if st.LSN != 42 || st.Hash != altered.Hash() {
		t.Errorf("after alter: LSN %d (want 42), hash matches %v", st.LSN, st.Hash == altered.Hash())
	}
	if p := schema.Diff(&st.Table, altered); p.Action != schema.None {
		t.Errorf("after alter the catalog differs: %+v", p)
	}
	var indexes int
	if err := m.pool.QueryRow(t.Context(), "SELECT count(*) FROM pg_indexes WHERE indexname = 'partner_name'").Scan(&indexes); err != nil || indexes != 1 {
		t.Errorf("the partner's index did not survive the alter (%d, %v)", indexes, err)
	}

	// A column altered by hand shows as a change.
	if err := execSQL(t.Context(), m, `ALTER TABLE "contact" ALTER COLUMN "name" TYPE varchar(100)`); err != nil {
		t.Fatal(err)
	}
	st = stateOf(t, m, "contact")
	if p := schema.Diff(&st.Table, altered); p.Action == schema.None {
		t.Error("a column altered by hand does not show as a change")
	}

	// Recreate: LSN -1 and a new table.
	rekeyed := altered
	rekeyed.Columns = append([]schema.Column(nil), altered.Columns...)
	rekeyed.Columns[1].PrimaryKey = false
	plan = mustMigrate(t, m, &st.Table, rekeyed)
	if plan.Action != schema.Recreate {
		t.Fatalf("plan is %s, want recreate", plan.Action)
	}
	st = stateOf(t, m, "contact")
	if st.LSN != bulk.NoLSN || schema.Diff(&st.Table, rekeyed).Action != schema.None {
		t.Errorf("after recreate: LSN %d, diff %v", st.LSN, schema.Diff(&st.Table, rekeyed).Action)
	}
}

func TestPartnerTableRefusedAndUntouched(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustPartner")
	ctx := t.Context()
	if err := execSQL(ctx, m, `CREATE TABLE "person" ("id" INT PRIMARY KEY, "note" VARCHAR(20))`); err != nil {
		t.Fatal(err)
	}
	if err := execSQL(ctx, m, `INSERT INTO "person" VALUES (1, 'partner row')`); err != nil {
		t.Fatal(err)
	}
	tbl, _ := schema.Table{Name: "person", Columns: []schema.Column{{Name: "person_id", Type: schema.Int, PrimaryKey: true}}}.Validate()
	err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl))
	if err == nil || !strings.Contains(err.Error(), "person") || !strings.Contains(err.Error(), "not mirrored") {
		t.Errorf("Migrate create over a partner table: %v", err)
	}
	if err := m.Wipe(ctx, []string{"person"}); err == nil {
		t.Error("Wipe of a partner table: no error")
	}
	if err := m.Invalidate(ctx, []string{"person"}); err == nil {
		t.Error("Invalidate of a partner table: no error")
	}
	if _, err := m.RowCount(ctx, "person"); err == nil {
		t.Error("RowCount of a partner table: no error")
	}
	if err := m.Drop(ctx, []string{"person"}); err != nil {
		t.Errorf("Drop of a partner table: %v (it should skip it)", err)
	}
	if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows(nil), withLSN(5)); err == nil {
		t.Error("Apply with an LSN to a partner table: no error")
	}
	var note string
	if err := m.pool.QueryRow(ctx, `SELECT "note" FROM "person" WHERE "id" = 1`).Scan(&note); err != nil || note != "partner row" {
		t.Errorf("the partner's table was touched: %q, %v", note, err)
	}
	tables, err := m.Tables(ctx)
	if err != nil || len(tables) != 0 {
		t.Errorf("Tables lists a partner table: %v, %v", tables, err)
	}
}

// A wipe skips the tables that hold no row, but PostgreSQL will not truncate a table that
// another references by a foreign key unless that one is truncated too: when a partner has tied
// two mirrored tables together, the wipe truncates them all, as it did before it skipped any.
func TestWipeWithAPartnersForeignKey(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustForeignKey")
	ctx := t.Context()
	parent, _ := schema.Table{Name: "parent", Columns: []schema.Column{{Name: "parent_id", Type: schema.Int, PrimaryKey: true}}}.Validate()
	child, _ := schema.Table{Name: "child", Columns: []schema.Column{
		{Name: "child_id", Type: schema.Int, PrimaryKey: true},
		{Name: "parent_id", Type: schema.Int, Nullable: true},
	}}.Validate()
	for _, tbl := range []schema.Table{parent, child} {
		if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
			t.Fatal(err)
		}
	}
	if err := execSQL(ctx, m, `ALTER TABLE "child" ADD FOREIGN KEY ("parent_id") REFERENCES "parent"`); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, parent, bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0}, Values: []any{int64(1)}}}), withLSN(3)); err != nil {
		t.Fatal(err)
	}
	if err := m.Wipe(ctx, []string{"child", "parent"}); err != nil {
		t.Fatalf("Wipe of a full table referenced by an empty one: %v", err)
	}
	for _, name := range []string{"parent", "child"} {
		if n, err := m.RowCount(ctx, name); err != nil || n != 0 {
			t.Errorf("%s after Wipe: %d rows, %v", name, n, err)
		}
	}
}

// valueTable has one column of every type, to round-trip values.
func valueTable(t *testing.T, name string) schema.Table {
	tbl := goldenTable(t)
	tbl.Name = name
	return tbl
}

func TestValuesRoundTrip(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustValues")
	zone := time.FixedZone("", -(3*3600 + 30*60))
	late := time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC)
	early := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	pre1970 := time.Date(1969, 12, 31, 23, 59, 59, 999999900, time.UTC)
	rows := [][]any{
		{int64(1), int64(-32768), true, int64(255), int64(math.MaxInt64), bulk.Decimal("-99999999999999.9999"), bulk.Decimal("922337203685477.5807"), bulk.Decimal("-214748.3648"),
			math.Inf(1), float64(float32(1.1)), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), bulk.TimeOfDay(24*time.Hour - 100),
			time.Date(2024, 3, 1, 10, 22, 5, 123000000, time.UTC), late, time.Date(2079, 6, 6, 23, 59, 0, 0, time.UTC), late.In(zone),
			"ab  ", "Fjord & Co \r\n æøå 😀", strings.Repeat("long ", 5000), "", "<a>x</a>", []byte{0, 1, 2, 255}, []byte{}, bulk.UUID{0xde, 0xad, 0xbe, 0xef, 15: 1}},
		{int64(2), int64(32767), false, int64(0), int64(math.MinInt64), bulk.Decimal("0.0001"), bulk.Decimal("-922337203685477.5808"), bulk.Decimal("214748.3647"),
			math.NaN(), float64(float32(-3.4e38)), early, bulk.TimeOfDay(0),
			time.Date(1753, 1, 1, 0, 0, 0, 0, time.UTC), pre1970, time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC), early.In(time.FixedZone("", 14*3600)),
			"", "", "", "x", "", []byte{}, []byte{9}, bulk.UUID{}},
		{int64(3), int64(0), false, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil},
		{int64(4), int64(0), true, int64(7), int64(0), bulk.Decimal("0"), bulk.Decimal("0"), bulk.Decimal("0"), math.Copysign(0, -1), float64(0), early, bulk.TimeOfDay(time.Second),
			early.Add(3 * time.Millisecond), early, early, early, "x", "y", "z", "w", "v", []byte{1}, []byte{1}, bulk.UUID{1}},
	}
	// What PostgreSQL gives back: the column's fraction digits, at most microseconds, truncated.
	want := func(tbl schema.Table, row []any) []any {
		out := append([]any(nil), row...)
		for i, v := range out {
			unit := fractionUnit(fractionDigits(tbl.Columns[i]))
			switch x := v.(type) {
			case time.Time:
				out[i] = x.Truncate(unit)
			case bulk.TimeOfDay:
				out[i] = bulk.TimeOfDay(time.Duration(x).Truncate(unit))
			}
		}
		return out
	}
	for _, empty := range []bool{false, true} {
		tbl := valueTable(t, map[bool]string{false: "vals_staged", true: "vals_empty"}[empty])
		mustMigrate(t, m, nil, tbl)
		var in []bulk.Row
		all := make([]int, len(tbl.Columns))
		for i := range all {
			all[i] = i
		}
		for _, r := range rows {
			in = append(in, bulk.Row{Op: bulk.Insert, Columns: all, Values: r})
		}
		counts, err := m.Apply(t.Context(), tbl, bulk.NewSliceRows(in), bulk.ApplyOptions{Fresh: empty})
		if err != nil {
			t.Fatalf("Apply (empty %v): %v", empty, err)
		}
		if counts != (bulk.Counts{Inserted: int64(len(rows))}) {
			t.Errorf("counts %+v", counts)
		}
		got, err := readRows(t.Context(), m, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows back, want %d", len(got), len(rows))
		}
		for _, g := range got {
			id := g[0].(int64)
			w := want(tbl, rows[id-1])
			for j, c := range tbl.Columns {
				ok := bulk.EqualValues(w[j], g[j])
				if wt, isTime := w[j].(time.Time); isTime && c.Type == schema.DateTimeOffset {
					gt, _ := g[j].(time.Time)
					ok = wt.Equal(gt) // the instant stays; the offset does not
				}
				if !ok {
					t.Errorf("empty %v, row %d, column %s (%s): got %#v, want %#v", empty, id, c.Name, c.TypeString(), g[j], w[j])
				}
			}
		}
	}
}

func TestApplySemantics(t *testing.T) {
	target := openTestTarget(t, Options{ChunkRows: 3})
	m := openTestMirror(t, target, "CustApply")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 50, Nullable: true},
		{Name: "age", Type: schema.Int, Nullable: true},
	}}.Validate()
	r := func(op bulk.Op, cols []int, vals ...any) bulk.Row {
		return bulk.Row{Op: op, Columns: cols, Values: vals}
	}
	all, idName, idOnly := []int{0, 1, 2}, []int{0, 1}, []int{0}
	read := func() map[int64][2]any {
		rows, err := readRows(ctx, m, tbl)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64][2]any{}
		for _, row := range rows {
			out[row[0].(int64)] = [2]any{row[1], row[2]}
		}
		return out
	}
	for _, empty := range []bool{true, false} {
		mustMigrate(t, m, nil, tbl)
		counts, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{
			r(bulk.Insert, all, int64(1), "a", int64(10)),
			r(bulk.Insert, all, int64(2), "b", int64(20)),
			r(bulk.Update, all, int64(3), "c", int64(30)), // update of a missing key inserts
			r(bulk.Insert, all, int64(4), "d", int64(40)),
			r(bulk.Insert, all, int64(1), "a2", int64(11)), // duplicate: last wins (falls back on an empty table)
			r(bulk.Delete, idOnly, int64(2)),
			r(bulk.Delete, idOnly, int64(99)),      // delete of a missing key does nothing
			r(bulk.Update, idName, int64(4), "d2"), // only the segment's columns change
			r(bulk.Insert, idName, int64(5), "e"),  // omitted columns are NULL
			r(bulk.Insert, all, int64(6), "f", int64(60)),
			r(bulk.Delete, idOnly, int64(6)),
			r(bulk.Insert, all, int64(6), "f2", nil),
		}), withLSN(100))
		if err != nil {
			t.Fatalf("Apply (empty %v): %v", empty, err)
		}
		// What the rows did: 1 and 2 and 3 and 4 new, 2 deleted, 4 updated, 5 new, 6 in, out, in.
		if want := (bulk.Counts{Inserted: 7, Updated: 1, Deleted: 2}); counts != want {
			t.Errorf("empty %v: counts %+v, want %+v", empty, counts, want)
		}
		got := read()
		want := map[int64][2]any{1: {"a2", int64(11)}, 3: {"c", int64(30)}, 4: {"d2", int64(40)}, 5: {"e", nil}, 6: {"f2", nil}}
		if len(got) != len(want) {
			t.Errorf("empty %v: rows %v, want %v", empty, got, want)
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("empty %v: row %d is %v, want %v", empty, k, got[k], w)
			}
		}
		if st := stateOf(t, m, "person"); st.LSN != 100 {
			t.Errorf("empty %v: LSN %d, want 100", empty, st.LSN)
		}
		// Re-delivery leaves the same mirror.
		if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{r(bulk.Insert, all, int64(3), "c", int64(30)), r(bulk.Delete, idOnly, int64(2))}), bulk.ApplyOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := read(); len(got) != len(want) || got[3] != want[3] {
			t.Errorf("re-delivery changed the mirror: %v", got)
		}
		if err := m.Drop(ctx, []string{"person"}); err != nil {
			t.Fatal(err)
		}
	}

	// Bad rows fail the apply, name table, column and row, and write nothing.
	mustMigrate(t, m, nil, tbl)
	for _, bad := range []struct {
		rows  []bulk.Row
		names []string
	}{
		{[]bulk.Row{r(bulk.Insert, all, int64(1), "ok", nil), r(bulk.Insert, all, int64(2), "nul\x00", nil)}, []string{"person", "name", "row 2", "U+0000"}},
		{[]bulk.Row{r(bulk.Insert, all, int64(1), "ok", nil), r(bulk.Insert, all, int64(2), strings.Repeat("x", 51), nil)}, []string{"person", "name", "row 2"}},
		{[]bulk.Row{r(bulk.Insert, all, nil, "ok", nil)}, []string{"person", "id", "row 1"}},
		{[]bulk.Row{r(bulk.Insert, all, "1", "ok", nil)}, []string{"person", "id", "row 1"}},
		{[]bulk.Row{r(bulk.Insert, []int{1}, "no key")}, []string{"person", "lacks key column id"}},
		{[]bulk.Row{r(bulk.Insert, []int{0, 7}, int64(1), "x")}, []string{"person", "column index 7"}},
	} {
		for _, empty := range []bool{false, true} {
			_, err := m.Apply(ctx, tbl, bulk.NewSliceRows(bad.rows), bulk.ApplyOptions{Fresh: empty, LSN: func() (int64, bool) { return 7, true }})
			if err == nil {
				t.Errorf("rows %v: no error", bad.rows)
				continue
			}
			for _, n := range bad.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %q", err, n)
				}
			}
		}
	}
	if n := rowCount(t, m, "person"); n != 0 {
		t.Errorf("failed applies wrote %d rows", n)
	}
	if st := stateOf(t, m, "person"); st.LSN != bulk.NoLSN {
		t.Errorf("failed applies stored LSN %d", st.LSN)
	}

	// A Rows error rolls everything back.
	rowsErr := errors.New("decoder broke")
	_, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{r(bulk.Insert, all, int64(1), "a", nil), r(bulk.Insert, all, int64(2), "b", nil)}).FailAfter(1, rowsErr), withLSN(9))
	if !errors.Is(err, rowsErr) || !strings.Contains(err.Error(), "person") {
		t.Errorf("Apply with failing rows: %v", err)
	}
	if n := rowCount(t, m, "person"); n != 0 {
		t.Errorf("a failed Rows left %d rows", n)
	}

	// Keyless: inserts go in; an update fails with ErrNoKey and writes nothing.
	keyless, _ := schema.Table{Name: "log", Columns: []schema.Column{{Name: "line", Type: schema.NVarChar, Length: 100, Nullable: true}}}.Validate()
	mustMigrate(t, m, nil, keyless)
	if _, err := m.Apply(ctx, keyless, bulk.NewSliceRows([]bulk.Row{r(bulk.Insert, []int{0}, "one"), r(bulk.Insert, []int{0}, "one")}), withLSN(3)); err != nil {
		t.Fatal(err)
	}
	_, err = m.Apply(ctx, keyless, bulk.NewSliceRows([]bulk.Row{r(bulk.Insert, []int{0}, "two"), r(bulk.Update, []int{0}, "one")}), withLSN(4))
	if !errors.Is(err, bulk.ErrNoKey) || !strings.Contains(err.Error(), "log") {
		t.Errorf("update of a keyless table: %v", err)
	}
	if n := rowCount(t, m, "log"); n != 2 {
		t.Errorf("keyless table holds %d rows, want 2", n)
	}
	if st := stateOf(t, m, "log"); st.LSN != 3 {
		t.Errorf("keyless LSN %d, want 3", st.LSN)
	}

	// Wipe empties and sets -1; Invalidate sets -1 and keeps rows.
	if err := m.Invalidate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, m, "log"); st.LSN != bulk.NoLSN {
		t.Errorf("after Invalidate LSN %d", st.LSN)
	}
	if n, err := m.RowCount(ctx, "log"); err != nil || n != 2 {
		t.Errorf("RowCount after Invalidate: %d, %v", n, err)
	}
	if err := m.Wipe(ctx, []string{"log", "person"}); err != nil {
		t.Fatal(err)
	}
	if n, err := m.RowCount(ctx, "log"); err != nil || n != 0 {
		t.Errorf("RowCount after Wipe: %d, %v", n, err)
	}
}

// TestDirectFallbackKeepsEarlierRows: in a fresh table's apply, a batch that leaves out a nullable
// column with a default is staged and merged before the direct chunks begin; a duplicate key in
// the first direct chunk rolls that chunk back, and must not roll back the merge before it,
// which once shared the savepoint taken as the transaction began: the call committed with its
// LSN and counts while the first batch's rows were gone. The same rollback undid the creation
// of the staging table the connection kept, so a second apply on it failed.
func TestDirectFallbackKeepsEarlierRows(t *testing.T) {
	target := openTestTarget(t, Options{ChunkRows: 100, MaxConnsPerTenant: 1})
	m := openTestMirror(t, target, "CustFallback")
	ctx := t.Context()
	tbl, err := schema.Table{Name: "item", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "a", Type: schema.Int, Nullable: true, Default: "((7))"},
		{Name: "b", Type: schema.Int, Nullable: true},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, m, nil, tbl)
	r := func(op bulk.Op, cols []int, vals ...any) bulk.Row {
		return bulk.Row{Op: op, Columns: cols, Values: vals}
	}
	all, withoutA := []int{0, 1, 2}, []int{0, 2}
	opts := withLSN(100)
	opts.Fresh = true
	counts, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{
		r(bulk.Insert, withoutA, int64(1), int64(10)), // staged: a is named with NULL
		r(bulk.Insert, all, int64(2), int64(2), int64(20)),
		r(bulk.Insert, all, int64(2), int64(3), int64(21)), // a duplicate in the first direct chunk
	}), opts)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if want := (bulk.Counts{Inserted: 2}); counts != want {
		t.Errorf("counts %+v, want %+v", counts, want)
	}
	if lsn := stateOf(t, m, "item").LSN; lsn != 100 {
		t.Errorf("LSN %d, want 100", lsn)
	}
	// Then a staged apply of the first batch's column set on the same (only) connection.
	if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{
		r(bulk.Update, withoutA, int64(3), int64(30)),
	}), withLSN(101)); err != nil {
		t.Fatalf("second Apply, staged like the first batch: %v", err)
	}
	rows, err := readRows(ctx, m, tbl)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(rows)
	if want := "[[1 <nil> 10] [2 3 21] [3 <nil> 30]]"; got != want {
		t.Errorf("mirror holds %s, want %s", got, want)
	}
}

// TestBrokenConnectionMidApply terminates the apply's backend from another connection while
// rows are streaming, then finds nothing of that apply and the old LSN.
func TestBrokenConnectionMidApply(t *testing.T) {
	target := openTestTarget(t, Options{ChunkRows: 1000})
	m := openTestMirror(t, target, "CustBreak")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "item", Columns: []schema.Column{
		{Name: "id", Type: schema.BigInt, PrimaryKey: true},
		{Name: "text", Type: schema.NVarChar, Length: 100, Nullable: true},
	}}.Validate()
	for _, empty := range []bool{false, true} {
		name := map[bool]string{false: "staged", true: "empty"}[empty]
		tbl.Name = "item_" + name
		mustMigrate(t, m, nil, tbl)
		if !empty {
			seed := []bulk.Row{{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(-1), "seed"}}}
			if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows(seed), withLSN(10)); err != nil {
				t.Fatal(err)
			}
		}
		var rows []bulk.Row
		for i := range 20000 {
			rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(i), "row"}})
		}
		var killed int
		var killErr error
		src := bulk.NewSliceRows(rows).BeforeRow(5000, func() {
			killErr = m.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle' AND backend_type = 'client backend'`).Scan(&killed)
		})
		_, err := m.Apply(ctx, tbl, src, bulk.ApplyOptions{Fresh: empty, LSN: func() (int64, bool) { return 99, true }})
		if killErr != nil || killed != 1 {
			t.Fatalf("%s: terminated %d backends (%v), want 1", name, killed, killErr)
		}
		if err == nil {
			t.Fatalf("%s: Apply succeeded although its connection was terminated", name)
		}
		if !strings.Contains(err.Error(), tbl.Name) {
			t.Errorf("%s: error %q does not name the table", name, err)
		}
		wantRows, wantLSN := int64(1), int64(10)
		if empty {
			wantRows, wantLSN = 0, bulk.NoLSN
		}
		if n := rowCount(t, m, tbl.Name); n != wantRows {
			t.Errorf("%s: %d rows after the broken apply, want %d", name, n, wantRows)
		}
		if st := stateOf(t, m, tbl.Name); st.LSN != wantLSN {
			t.Errorf("%s: LSN %d after the broken apply, want %d", name, st.LSN, wantLSN)
		}
	}
}

// TestConcurrentOpen opens one tenant from two targets at once, as two processes would on
// first contact: both must succeed.
func TestConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	prefix := uniquePrefix()
	t.Cleanup(func() { dropDatabases(t, dsn, prefix) })
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target, err := Open(context.Background(), dsn, Options{NameTemplate: prefix + "{ctx}"})
			if err != nil {
				errs[i] = err
				return
			}
			defer target.Close()
			_, errs[i] = target.Open(context.Background(), "CustRace")
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("open %d: %v", i, err)
		}
	}
}

// TestAlternatingColumns feeds rows whose column list changes at every row: each column set
// reuses one staging table, so the transaction does not run out of locks.
func TestAlternatingColumns(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustAlternate")
	tbl, _ := schema.Table{Name: "item", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "a", Type: schema.Int, Nullable: true},
		{Name: "b", Type: schema.Int, Nullable: true},
	}}.Validate()
	mustMigrate(t, m, nil, tbl)
	var rows []bulk.Row
	for i := range 3000 {
		if i%2 == 0 {
			rows = append(rows, bulk.Row{Op: bulk.Update, Columns: []int{0, 1}, Values: []any{int64(i / 2), int64(i)}})
		} else {
			rows = append(rows, bulk.Row{Op: bulk.Update, Columns: []int{0, 2}, Values: []any{int64(i / 2), int64(i)}})
		}
	}
	if _, err := m.Apply(t.Context(), tbl, bulk.NewSliceRows(rows), bulk.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var n, sum int64
	if err := m.pool.QueryRow(t.Context(), `SELECT count(*), sum("a" + "b") FROM "item"`).Scan(&n, &sum); err != nil {
		t.Fatal(err)
	}
	if n != 1500 || sum != 1500*1500*4/2-1500 { // sum over k of (2k) + (2k+1)
		t.Errorf("%d rows, sum %d", n, sum)
	}
}
