package pgsql

import (
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
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
	sessionStage, sessionCreate, err := createSessionStageSQL(tbl, some)
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
		"catalog": catalogSQL(state),
		"copy_from": strings.Join([]string{copyFromSQL(contact, []string{"contact_id", "name"}), lockForCopySQL(contact), columnTypesSQL,
			savepointSQL, releaseSavepointSQL + ";\n" + savepointSQL, rollbackToSavepointSQL}, ";\n"),
		"create_table":        must(createTableSQL(contact, tbl)),
		"create_keyless":      must(createTableSQL(rel{"public", "log"}, schema.Table{Name: "log", Columns: []schema.Column{{Name: "line", Type: schema.NVarChar, Length: 100, Nullable: true}}})),
		"alter_table":         must(alterTableSQL(contact, alter, map[string]string{"name": "character varying(100)", "active": "boolean"})),
		"alter_nullable_only": must(alterTableSQL(contact, schema.Plan{Action: schema.Alter, Desired: tbl, Widen: []schema.Column{tbl.Columns[17]}}, map[string]string{"name": "character varying(220)"})),
		"drop_truncate":       dropTableSQL(contact) + ";\n" + truncateSQL([]rel{contact, {"public", "person"}}) + ";\n" + rowCountSQL(contact),
		"wipe_lock_nonempty":  lockTablesSQL([]rel{contact, {"public", "person"}}) + ";\n" + nonEmptySQL([]rel{contact, {"public", "person"}}),
		"create_stage":        stage,
		"merge":               mergeSQL(contact, tbl, stageRel(1), all, nil, false),
		"merge_some_columns":  mergeSQL(contact, tbl, stageRel(2), some, nil, false),
		"merge_key_only":      mergeSQL(contact, tbl, stageRel(3), keyOnly, nil, false),
		"three_statements":    strings.Join(threeStatementSQL(contact, tbl, stageRel(1), some, nil, false), ";\n"),
		"merge_unique":        mergeSQL(contact, tbl, stageRel(2), some, nil, true),
		"three_unique":        strings.Join(threeStatementSQL(contact, tbl, stageRel(1), some, nil, true), ";\n"),
		"session_stage":       sessionCreate + ";\n" + truncateSQL([]rel{sessionStage}),
		"session_settings":    textResultSettingsSQL,
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

// defaultsTable has a default of every kind the source may send, on columns of fitting types.
func defaultsTable(t *testing.T) schema.Table {
	t.Helper()
	tbl, err := schema.Table{Name: "defaults", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "deleted", Type: schema.Bit, Default: "((0))"},
		{Name: "amount", Type: schema.Money, Nullable: true, Default: "((1.5))"},
		{Name: "name", Type: schema.NVarChar, Length: 50, Nullable: true, Default: "(N'it''s')"},
		{Name: "registered", Type: schema.DateTime, Nullable: true, Default: "(getdate())"},
		{Name: "registered_utc", Type: schema.DateTime2, Scale: 7, Nullable: true, Default: "(getutcdate())"},
		{Name: "stamp", Type: schema.DateTimeOffset, Scale: 7, Nullable: true, Default: "(sysdatetimeoffset())"},
		{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true, Default: "(newid())"},
		{Name: "hash", Type: schema.VarBinary, Length: 8, Nullable: true, Default: "(0x00FF)"},
		{Name: "computed", Type: schema.Int, Nullable: true, Default: "([dbo].[next_number]())"},
		{Name: "wrong_type", Type: schema.Int, Nullable: true, Default: "('abc')"},
		{Name: "nothing", Type: schema.Int, Nullable: true, Default: "(NULL)"},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func TestColumnDefault(t *testing.T) {
	tbl := defaultsTable(t)
	want := map[string]string{
		"id": "", "deleted": "'0'::boolean", "amount": "'1.5000'::numeric(19,4)", "name": "'it''s'::character varying(50)",
		"registered": "LOCALTIMESTAMP", "registered_utc": "(now() AT TIME ZONE 'UTC')", "stamp": "CURRENT_TIMESTAMP",
		"guid": "gen_random_uuid()", "hash": `'\x00FF'::bytea`, "nothing": "",
	}
	for _, c := range tbl.Columns {
		expr, ok := columnDefault(c)
		w, expressible := want[c.Name]
		if ok != expressible || expr != w {
			t.Errorf("column %s, default %s: %q, %v; want %q, %v", c.Name, c.Default, expr, ok, w, expressible)
		}
	}
	if got := bulk.KeptDefaults(tbl, columnDefault); !slices.Equal(got, []string{"computed", "wrong_type"}) {
		t.Errorf("kept defaults %v", got)
	}
}

func TestDefaultsSQLGolden(t *testing.T) {
	tbl := defaultsTable(t)
	r := rel{"public", "defaults"}
	create, err := createTableSQL(r, tbl)
	if err != nil {
		t.Fatal(err)
	}
	added := schema.Column{Name: "added", Type: schema.Int, Nullable: true, Default: "((7))"}
	changed := tbl.Columns[3]
	changed.Default = "(N'other')"
	dropped := tbl.Columns[1]
	dropped.Default = ""
	alter, err := alterTableSQL(r, schema.Plan{Action: schema.Alter, Desired: tbl, Add: []schema.Column{added},
		Defaults: []schema.Column{changed, dropped, tbl.Columns[9]}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := []int{0, 3}
	pad := bulk.OmittedDefaults(tbl, all, columnDefault)
	got := strings.Join(create, ";\n") + ";\n" + strings.Join(alter, ";\n") + ";\n" + mergeSQL(r, tbl, stageRel(1), all, pad, false)
	bulktest.Golden(t, filepath.Join("testdata", "defaults.sql"), got, *update)
}
