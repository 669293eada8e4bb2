package pgsql

import (
	"fmt"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

func TestSessionStages(t *testing.T) {
	var s sessionStages
	for i := range maxSessionStages {
		if _, drop := s.use(fmt.Sprint(i)); drop != nil {
			t.Fatalf("use %d of %d drops %v", i, maxSessionStages, drop)
		}
	}
	if exists, _ := s.use("0"); !exists { // now the most recently used
		t.Fatal("a listed table is reported missing")
	}
	if exists, drop := s.use("new"); exists || len(drop) != 1 || drop[0] != "1" {
		t.Fatalf("a table past the bound drops %v, want the least recently used, [1]", drop)
	}
	if len(s.names) != maxSessionStages {
		t.Fatalf("%d tables listed, want %d", len(s.names), maxSessionStages)
	}
}

// With staging tables kept in the session, a connection that stages rows of more column sets
// than maxSessionStages keeps no more than that many, the rows of one apply never reach the
// next, and a failed apply leaves the next one working.
func TestSessionStagingTables(t *testing.T) {
	defer func(reuse bool) { reuseStage = reuse }(reuseStage)
	reuseStage = true
	target := openTestTarget(t, Options{MaxConnsPerTenant: 1})
	m := openTestMirror(t, target, "CustStages")
	ctx := t.Context()
	tables := maxSessionStages + 3
	for i := range tables {
		tbl := schema.Table{Name: fmt.Sprintf("t%d", i), Columns: []schema.Column{
			{Name: "id", Type: schema.Int, PrimaryKey: true},
			{Name: fmt.Sprintf("v%d", i), Type: schema.Int, Nullable: true},
		}}
		mustMigrate(t, m, nil, tbl)
		for round := range 2 {
			rows := []bulk.Row{
				{Op: bulk.Update, Columns: []int{0, 1}, Values: []any{int64(1), int64(round)}},
				{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{int64(2 + round), int64(round)}},
			}
			counts, err := m.Apply(ctx, tbl, bulk.NewSliceRows(rows), bulk.ApplyOptions{})
			if err != nil {
				t.Fatalf("apply %s round %d: %v", tbl.Name, round, err)
			}
			// Rows left in a reused staging table would be merged again and counted.
			if want := (bulk.Counts{Inserted: 2 - int64(round), Updated: int64(round)}); counts != want {
				t.Fatalf("apply %s round %d: counts %+v, want %+v", tbl.Name, round, counts, want)
			}
		}
		if n := rowCount(t, m, tbl.Name); n != 3 {
			t.Fatalf("%s holds %d rows, want 3", tbl.Name, n)
		}
	}
	checkKept(t, m)

	// A failing apply (a NULL key) creates a staging table and rolls back.
	tbl := schema.Table{Name: "late", Columns: []schema.Column{{Name: "id", Type: schema.Int, PrimaryKey: true}, {Name: "w", Type: schema.Int, Nullable: true}}}
	mustMigrate(t, m, nil, tbl)
	bad := []bulk.Row{{Op: bulk.Update, Columns: []int{0, 1}, Values: []any{int64(1), int64(1)}}, {Op: bulk.Update, Columns: []int{0, 1}, Values: []any{nil, int64(1)}}}
	if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows(bad), bulk.ApplyOptions{}); err == nil {
		t.Fatal("an apply with a NULL key succeeded")
	}
	good := []bulk.Row{{Op: bulk.Update, Columns: []int{0, 1}, Values: []any{int64(1), int64(1)}}}
	if counts, err := m.Apply(ctx, tbl, bulk.NewSliceRows(good), bulk.ApplyOptions{}); err != nil || counts.Inserted != 1 {
		t.Fatalf("the apply after a failed one: counts %+v, %v", counts, err)
	}
	checkKept(t, m)
}

// checkKept checks that the session of the mirror's one connection keeps maxSessionStages
// staging tables.
func checkKept(t *testing.T, m *Mirror) {
	t.Helper()
	var kept int
	if err := m.pool.QueryRow(t.Context(), listSessionStagesCountSQL).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != maxSessionStages {
		t.Fatalf("the session keeps %d staging tables, want %d", kept, maxSessionStages)
	}
}

const listSessionStagesCountSQL = `SELECT count(*) FROM (` + listSessionStagesSQL + `) AS s`
