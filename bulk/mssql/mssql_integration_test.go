package mssql

import (
	"reflect"
	"testing"

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
	tbl, err := schema.Table{Name: "traps", Columns: []schema.Column{
		{Name: "ID", Type: schema.Int, PrimaryKey: true},
		{Name: "Price", Type: schema.Money, Nullable: true},
		{Name: "Fee", Type: schema.SmallMoney, Nullable: true},
		{Name: "Photo", Type: schema.Image, Nullable: true},
		{Name: "Name", Type: schema.VarChar, Length: 40, Nullable: true},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
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
