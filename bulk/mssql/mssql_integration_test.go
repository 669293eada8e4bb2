package mssql

import (
	"database/sql"
	"errors"
	"maps"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// TestDriverTraps loads through staging the values go-mssqldb's bulk copy is known to get wrong:
// money and smallmoney, image, and non-ASCII text in varchar. Its table's money and image
// columns keep every apply off the direct path (directSafe), Fresh or not; TestDriverTrapsDirect
// takes the direct path.
func TestDriverTraps(t *testing.T) {
	target := openTestTarget(t, Options{ChunkRows: 2})
	ctx := t.Context()
	m, err := target.Open(ctx, "CustTraps")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tbl := trapsTable(t)
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
		t.Fatal(err)
	}
	want := [][]any{
		{int64(1), bulk.Decimal("-922337203685477.5808"), bulk.Decimal("214748.3647"), []byte{0, 1, 2}, "Blåbærsyltetøy"},
		{int64(2), bulk.Decimal("0.0001"), bulk.Decimal("-214748.3648"), []byte{}, "plain"},
	}
	cols := []int{0, 1, 2, 3, 4}
	var rows []bulk.Row
	for _, w := range want {
		rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: cols, Values: w})
	}
	// The second apply sends the same keys again: each row is an update of a row that exists.
	for _, empty := range []bool{true, false} {
		counts, err := m.Apply(ctx, tbl, bulk.NewSliceRows(rows), bulk.ApplyOptions{Fresh: empty})
		if err != nil {
			t.Fatalf("Apply (empty %t): %v", empty, err)
		}
		wantCounts := bulk.Counts{Inserted: 2}
		if !empty {
			wantCounts = bulk.Counts{Updated: 2}
		}
		if counts != wantCounts {
			t.Errorf("Apply (empty %t): counts %+v, want %+v", empty, counts, wantCounts)
		}
		got, err := readRows(ctx, m, tbl)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("%d rows, want 2", len(got))
		}
		for i := range got {
			for j := range got[i] {
				if !reflect.DeepEqual(got[i][j], want[i][j]) {
					t.Errorf("empty %t, row %d column %s: %v, want %v", empty, i, tbl.Columns[j].Name, got[i][j], want[i][j])
				}
			}
		}
	}
}

// TestDriverTrapsDirect takes the direct path (a Fresh apply into a table whose every column may
// be copied straight in), in chunks of 2: a chunk that commits, a chunk that a non-ASCII varchar
// value ends midway (the rest goes through staging), and, in a second Fresh apply, a chunk that
// meets a key already there (2627 inside INSERT BULK with TABLOCK). That last one settles what
// directFallback rests on: with the transaction still alive the chunk is replayed through
// staging in the same apply; with it doomed the apply fails with bulk.ErrNotFresh and the retry
// goes through staging.
func TestDriverTrapsDirect(t *testing.T) {
	target := openTestTarget(t, Options{ChunkRows: 2})
	ctx := t.Context()
	opened, err := target.Open(ctx, "CustTrapsDirect")
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	m := opened.(*Mirror)
	tbl := trapsDirectTable(t)
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 10, 22, 5, 123456700, time.UTC)
	stamp := time.Date(2024, 3, 1, 10, 22, 5, 100, time.FixedZone("", 5*3600+30*60))
	row := func(id int64, name string) []any {
		return []any{id, name, "note " + name, "memo ñ😀 " + name, "<a>" + strconv.FormatInt(id, 10) + "</a>", bulk.Decimal("-12345.6789"),
			at, stamp, bulk.TimeOfDay(23*time.Hour + 59*time.Minute + 59*time.Second + 999999900), bulk.UUID{0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86, 0xd0, 0x11, 0xb4, 0x2d, 0, 0xc0, 0x4f, 0xc9, 0x64, byte(id)},
			[]byte{0, byte(id), 0xff}}
	}
	cols := make([]int, len(tbl.Columns))
	for i := range cols {
		cols[i] = i
	}
	rowsOf := func(vals ...[]any) bulk.Rows {
		var rows []bulk.Row
		for _, v := range vals {
			rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: cols, Values: v})
		}
		return bulk.NewSliceRows(rows)
	}
	want := map[int64][]any{}
	first := [][]any{row(1, "one"), row(2, "two"), row(3, "three"), row(4, "Blåbærsyltetøy"), row(5, "five")}
	counts, err := m.Apply(ctx, tbl, rowsOf(first...), bulk.ApplyOptions{Fresh: true})
	if err != nil {
		t.Fatalf("Apply 1: %v", err)
	}
	if counts != (bulk.Counts{Inserted: 5}) {
		t.Errorf("Apply 1: counts %+v, want 5 inserted", counts)
	}
	if p := m.lastApply.Load(); p.direct != 3 || p.staged != 2 || p.replays != 0 {
		t.Errorf("Apply 1: %d rows direct, %d staged, %d replays; want 3, 2, 0", p.direct, p.staged, p.replays)
	}
	for _, r := range first {
		want[r[0].(int64)] = r
	}

	second := [][]any{row(6, "six"), row(7, "seven"), row(1, "one again")}
	counts, err = m.Apply(ctx, tbl, rowsOf(second...), bulk.ApplyOptions{Fresh: true})
	switch {
	case errors.Is(err, bulk.ErrNotFresh):
		t.Logf("a duplicate key inside INSERT BULK dooms the transaction: %v", err)
		counts, err = m.Apply(ctx, tbl, rowsOf(second...), bulk.ApplyOptions{})
		if err != nil {
			t.Fatalf("Apply 2 through staging: %v", err)
		}
	case err != nil:
		t.Fatalf("Apply 2: %v", err)
	default:
		t.Logf("a duplicate key inside INSERT BULK leaves the transaction alive: the chunk was replayed")
		if p := m.lastApply.Load(); p.direct != 2 || p.replays != 1 {
			t.Errorf("Apply 2: %d rows direct, %d replays; want 2 and 1", p.direct, p.replays)
		}
	}
	if counts != (bulk.Counts{Inserted: 2, Updated: 1}) {
		t.Errorf("Apply 2: counts %+v, want 2 inserted and 1 updated", counts)
	}
	for _, r := range second {
		want[r[0].(int64)] = r
	}
	got, err := readRows(ctx, m, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for _, g := range got {
		w := want[g[0].(int64)]
		for j := range g {
			if !bulk.EqualValues(w[j], g[j]) {
				t.Errorf("row %v, column %s: %v, want %v", g[0], tbl.Columns[j].Name, g[j], w[j])
			}
		}
	}
}

// TestCatalogNamedTables mirrors tables named like catalog views, which a one-part name in a
// statement other than DDL would resolve to ("sys first"): every statement names them
// [dbo].[name], so they go through Migrate, Apply, RowCount, Wipe and Drop as any other.
func TestCatalogNamedTables(t *testing.T) {
	target := openTestTarget(t, Options{})
	ctx := t.Context()
	m, err := target.Open(ctx, "CustCatalogNames")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, name := range []string{"sysobjects", "objects", "columns", "tables", "types"} {
		tbl, err := schema.Table{Name: name, Columns: []schema.Column{
			{Name: "id", Type: schema.Int, PrimaryKey: true},
			{Name: "name", Type: schema.NVarChar, Length: 20, Nullable: true},
		}}.Validate()
		if err != nil {
			t.Fatal(err)
		}
		if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
			t.Fatalf("%s: Migrate: %v", name, err)
		}
		rows := []bulk.Row{{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(1), "a"}}, {Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(2), "b"}}}
		for _, fresh := range []bool{true, false} {
			if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows(rows), bulk.ApplyOptions{Fresh: fresh}); err != nil {
				t.Fatalf("%s: Apply (fresh %t): %v", name, fresh, err)
			}
		}
		if n, err := m.RowCount(ctx, name); err != nil || n != 2 {
			t.Errorf("%s: RowCount %d, %v; want 2", name, n, err)
		}
		if err := m.Wipe(ctx, []string{name}); err != nil {
			t.Errorf("%s: Wipe: %v", name, err)
		}
		if err := m.Drop(ctx, []string{name}); err != nil {
			t.Errorf("%s: Drop: %v", name, err)
		}
	}
}

// TestDefaults creates columns with defaults, changes, drops and adds them in place, widens and
// drops columns that have one (which SQL Server refuses while the default is bound: 5074), and
// reads back what the catalog holds. A column added with a default leaves NULL in the rows
// already there.
func TestDefaults(t *testing.T) {
	target := openTestTarget(t, Options{})
	ctx := t.Context()
	opened, err := target.Open(ctx, "CustDefaults")
	if err != nil {
		t.Fatal(err)
	}
	defer opened.Close()
	m := opened.(*Mirror)
	v1, err := schema.Table{Name: "defaults", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "n", Type: schema.Int, Nullable: true, Default: "((0))"},
		{Name: "s", Type: schema.NVarChar, Length: 10, Nullable: true, Default: "(N'x')"},
		{Name: "gone", Type: schema.Int, Nullable: true, Default: "((7))"},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, v1)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, v1, bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0}, Values: []any{int64(1)}}}), bulk.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, m, "defaults", map[string]string{"n": "((0))", "s": "(N'x')", "gone": "((7))"})

	v2, err := schema.Table{Name: "defaults", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "n", Type: schema.BigInt, Nullable: true, Default: "((1))"}, // widened to another type, default changed
		{Name: "s", Type: schema.NVarChar, Length: 20, Nullable: true},     // widened, default dropped
		{Name: "added", Type: schema.Int, Nullable: true, Default: "((5))"},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	current := tables["defaults"].Table
	plan := schema.Diff(&current, v2)
	if plan.Action != schema.Alter {
		t.Fatalf("plan %v (%s), want an alter", plan.Action, plan.Reason)
	}
	if err := bulktest.Migrate(ctx, m, plan); err != nil {
		t.Fatal(err)
	}
	expectDefaults(t, m, "defaults", map[string]string{"n": "((1))", "added": "((5))"})
	rows, err := readRows(ctx, m, v2)
	if err != nil {
		t.Fatal(err)
	}
	// The row inserted before: n took its default then (the insert named only id), added is NULL.
	if len(rows) != 1 || rows[0][1] != int64(0) || rows[0][3] != nil {
		t.Errorf("rows %v, want [1 0 <nil> <nil>]", rows)
	}
}

// expectDefaults compares the default constraints of a table with want (column to definition).
func expectDefaults(t *testing.T, m *Mirror, table string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	err := m.withConn(t.Context(), func(c *sql.Conn) error {
		rows, err := c.QueryContext(t.Context(), `SELECT c.name, dc.definition FROM sys.default_constraints AS dc
JOIN sys.columns AS c ON c.object_id = dc.parent_object_id AND c.column_id = dc.parent_column_id
WHERE dc.parent_object_id = OBJECT_ID(@p1, N'U')`, qualified(table))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var col, def string
			if err := rows.Scan(&col, &def); err != nil {
				return err
			}
			got[col] = def
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("table %s: defaults %v, want %v", table, got, want)
	}
}

// TestCheck runs mirrord check against the live server with one mirror database: every check
// passes for a login that may create databases, the probe included, and leaves no table.
func TestCheck(t *testing.T) {
	target := openTestTarget(t, Options{})
	ctx := t.Context()
	m, err := target.Open(ctx, "CustCheck")
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	checks := target.Check(ctx)
	probed := false
	for _, c := range checks {
		t.Logf("%s: %t: %s", c.Name, c.OK, c.Detail)
		if !c.OK {
			t.Errorf("check %s failed: %s", c.Name, c.Detail)
		}
		probed = probed || c.Name == "tables and bulk load in "+m.(*Mirror).Database()
	}
	if !probed {
		t.Errorf("the mirror database %s was not probed", m.(*Mirror).Database())
	}
	tables, err := m.Tables(ctx)
	if err != nil || len(tables) != 0 {
		t.Errorf("after the check: tables %v, %v", tables, err)
	}
}
