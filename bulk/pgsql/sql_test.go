package pgsql

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenTable is a table with one column of every type, a composite key and every nullability.
func goldenTable(t *testing.T) schema.Table {
	t.Helper()
	tbl, err := schema.Table{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
		{Name: "associate_id", Type: schema.SmallInt, PrimaryKey: true},
		{Name: "active", Type: schema.Bit},
		{Name: "rank", Type: schema.TinyInt, Nullable: true},
		{Name: "visits", Type: schema.BigInt, Nullable: true},
		{Name: "amount", Type: schema.Decimal, Precision: 18, Scale: 4, Nullable: true},
		{Name: "price", Type: schema.Money, Nullable: true},
		{Name: "fee", Type: schema.SmallMoney, Nullable: true},
		{Name: "ratio", Type: schema.Float, Nullable: true},
		{Name: "weight", Type: schema.Real, Nullable: true},
		{Name: "born", Type: schema.Date, Nullable: true},
		{Name: "opens", Type: schema.Time, Scale: 7, Nullable: true},
		{Name: "registered", Type: schema.DateTime, Nullable: true},
		{Name: "updated", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "seen", Type: schema.SmallDateTime, Nullable: true},
		{Name: "stamp", Type: schema.DateTimeOffset, Scale: 3, Nullable: true},
		{Name: "code", Type: schema.Char, Length: 4, Nullable: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
		{Name: "notes", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
		{Name: "memo", Type: schema.NText, Nullable: true},
		{Name: "doc", Type: schema.XML, Nullable: true},
		{Name: "hash", Type: schema.Binary, Length: 8, Nullable: true},
		{Name: "photo", Type: schema.Image, Nullable: true},
		{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestSQLGolden(t *testing.T) {
	tbl := goldenTable(t)
	all := make([]int, len(tbl.Columns))
	for i := range all {
		all[i] = i
	}
	some := []int{0, 1, 17}
	keyOnly := []int{1, 0}
	must := func(stmts []string, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(stmts, ";\n")
	}
	alter := schema.Plan{
		Action:  schema.Alter,
		Desired: tbl,
		Add:     []schema.Column{tbl.Columns[4], tbl.Columns[18]},
		Widen:   []schema.Column{tbl.Columns[17], tbl.Columns[2]},
		Drop:    []string{"old_name", "legacy"},
	}
	stage, err := createStageSQL(stageRel(1), tbl, some)
	if err != nil {
		t.Fatal(err)
	}
	state := rel{"public", "Cust12020_mirroring"}
	contact := rel{"public", "contact"}
	cases := map[string]string{
		"create_database":    createDatabaseSQL("Mirror_Cust12020"),
		"create_state_table": createStateTableSQL(state) + ";\n" + upgradeStateTableSQL(state) + ";\n" + stateColumnsSQL,
		"state": strings.Join([]string{stateSelectSQL(state), stateLockSQL(state), stateApplyLockSQL(state), stateListedSQL(state),
			stateUpsertSQL(state), stateSetHashSQL(state), stateAppliedSQL(state), stateInvalidateSQL(state), stateInvalidateAllSQL(state),
			stateDeleteSQL(state), tableExistsSQL, advisoryLockSQL, changesSQL}, ";\n"),
		"cycle": strings.Join([]string{beginCycleSQL(state), resetCountsSQL(state), nameCycleSQL(state), nameTablesSQL(state),
			cycleLockSQL(state), unnamedSQL(state), endCycleSQL(state)}, ";\n"),
		"catalog":             catalogSQL(state),
		"copy_from":           copyFromSQL(contact, []string{"contact_id", "name"}) + ";\n" + selectColumnsSQL(contact, []string{"contact_id", "name"}),
		"create_table":        must(createTableSQL(contact, tbl)),
		"create_keyless":      must(createTableSQL(rel{"public", "log"}, schema.Table{Name: "log", Columns: []schema.Column{{Name: "line", Type: schema.NVarChar, Length: 100, Nullable: true}}})),
		"alter_table":         must(alterTableSQL(contact, alter, map[string]string{"name": "character varying(100)", "active": "boolean"})),
		"alter_nullable_only": must(alterTableSQL(contact, schema.Plan{Action: schema.Alter, Desired: tbl, Widen: []schema.Column{tbl.Columns[17]}}, map[string]string{"name": "character varying(220)"})),
		"drop_truncate":       dropTableSQL(contact) + ";\n" + truncateSQL([]rel{contact, {"public", "person"}}) + ";\n" + rowCountSQL(contact),
		"create_stage":        stage,
		"merge":               mergeSQL(contact, tbl, stageRel(1), all),
		"merge_some_columns":  mergeSQL(contact, tbl, stageRel(2), some),
		"merge_key_only":      mergeSQL(contact, tbl, stageRel(3), keyOnly),
		"three_statements":    strings.Join(threeStatementSQL(contact, tbl, stageRel(1), some), ";\n"),
	}
	for name, got := range cases {
		t.Run(name, func(t *testing.T) {
			bulktest.Golden(t, filepath.Join("testdata", name+".sql"), got, *update)
		})
	}
}

func TestCheckIdentifier(t *testing.T) {
	cases := []struct {
		name string
		ok   bool
	}{
		{"contact", true},
		{"Cust12020_mirroring", true},
		{strings.Repeat("a", 63), true},
		{strings.Repeat("a", 64), false},
		{"", false},
		{`bad"name`, false},
		{"drop table x", false},
	}
	for _, c := range cases {
		if err := checkIdentifier("table", c.name); (err == nil) != c.ok {
			t.Errorf("checkIdentifier(%q) = %v, want ok=%v", c.name, err, c.ok)
		}
	}
}

func TestQuoteAndLiteral(t *testing.T) {
	if got := quote("Mirror_Cust1"); got != `"Mirror_Cust1"` {
		t.Errorf("quote = %s", got)
	}
	if got := literal("it's"); got != `'it''s'` {
		t.Errorf("literal = %s", got)
	}
}
