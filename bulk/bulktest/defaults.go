package bulktest

import (
	"slices"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// withDefaults has a default of each kind SuperOffice's tables use, and one expression that only
// SQL Server can evaluate.
var withDefaults = func() schema.Table {
	t := table("with_defaults", "id int key", "deleted bit", "rank int null", "name nvarchar(50) null",
		"registered datetime null", "guid uniqueidentifier null", "computed int null", "plain int null")
	defaults := map[string]string{
		"deleted": "((0))", "rank": "((-1))", "name": "(N'it''s')", "registered": "(getdate())",
		"guid": "(newid())", "computed": "([dbo].[next_number]())",
	}
	for i := range t.Columns {
		t.Columns[i].Default = defaults[t.Columns[i].Name]
	}
	return t
}()

// testDefaults checks that defaults are part of the table as the mirror reads it back, change in
// place, never make a mirror plan changes it has made already, and that a batch which leaves a
// column out still writes NULL there, not the default.
func (s *suite) testDefaults(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, withDefaults)
	expectTable(t, tbl, withDefaults)
	if plan := schema.Diff(&tbl, withDefaults); plan.Action != schema.None {
		t.Errorf("the table read back after create plans %v (%+v): defaults must read back as they were sent", plan.Action, plan)
	}
	st := tableState(t, m, withDefaults.Name)
	if st.Hash != withDefaults.Hash() {
		t.Errorf("hash %.12s after create, want %.12s", st.Hash, withDefaults.Hash())
	}
	if !s.h.Limits.AllDefaults && !slices.Contains(st.KeptDefaults, "computed") {
		t.Errorf("KeptDefaults %v does not name computed, whose default only SQL Server can evaluate", st.KeptDefaults)
	}
	for _, name := range st.KeptDefaults {
		if name != "computed" {
			t.Errorf("KeptDefaults names %s, whose default the target can express", name)
		}
	}

	s.apply(t, m, tbl, withLSN(1), ins("id,deleted", 1, "1"), ins("id,deleted,name", 2, "0", "x"))
	s.expectRows(t, m, tbl, fullRows(t, tbl, "id,deleted,name", []any{1, "1", nil}, []any{2, "0", "x"}))

	// Change one default, drop one, add a column with one: in place, rows kept, none filled.
	altered := withDefaults
	altered.Columns = slices.Clone(withDefaults.Columns)
	altered.Columns[altered.Column("rank")].Default = "((5))"
	altered.Columns[altered.Column("name")].Default = ""
	altered.Columns = append(altered.Columns, schema.Column{Name: "added", Type: schema.Int, Nullable: true, Default: "((7))"})
	altered, err := altered.Validate()
	if err != nil {
		t.Fatal(err)
	}
	plan := schema.Diff(&tbl, altered)
	if plan.Action != schema.Alter {
		t.Fatalf("bulktest: changing defaults plans %v", plan.Action)
	}
	if err := migrate(t.Context(), m, plan); err != nil {
		t.Fatalf("Migrate defaults: %v", err)
	}
	st = tableState(t, m, withDefaults.Name)
	expectTable(t, st.Table, altered)
	if again := schema.Diff(&st.Table, altered); again.Action != schema.None {
		t.Errorf("after the alter the table read back plans %v (%+v)", again.Action, again)
	}
	if st.LSN != 1 {
		t.Errorf("LSN %d after changing defaults, want 1 (kept)", st.LSN)
	}
	cols := "id,deleted,rank,name,added"
	s.expectRows(t, m, altered, fullRows(t, altered, cols, []any{1, "1", nil, nil, nil}, []any{2, "0", nil, "x", nil}))
	s.apply(t, m, st.Table, withLSN(2), ins("id,deleted", 3, "0"))
	s.expectRows(t, m, altered, fullRows(t, altered, cols, []any{1, "1", nil, nil, nil}, []any{2, "0", nil, "x", nil}, []any{3, "0", nil, nil, nil}))
}
