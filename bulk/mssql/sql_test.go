package mssql

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenTable has a column of every type of PROTOCOL.md (rowversion included, which becomes
// binary(8)), a composite key with a character column, and every nullability.
func goldenTable(t *testing.T) schema.Table {
	t.Helper()
	tbl, err := schema.Table{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
		{Name: "code", Type: schema.VarChar, Length: 20, PrimaryKey: true},
		{Name: "active", Type: schema.Bit, Default: "((1))"},
		{Name: "rank", Type: schema.TinyInt, Nullable: true},
		{Name: "visits", Type: schema.SmallInt, Nullable: true},
		{Name: "total", Type: schema.BigInt, Nullable: true},
		{Name: "amount", Type: schema.Decimal, Precision: 18, Scale: 4, Nullable: true},
		{Name: "share", Type: schema.Numeric, Precision: 38, Scale: 10, Nullable: true},
		{Name: "price", Type: schema.Money, Nullable: true},
		{Name: "fee", Type: schema.SmallMoney, Nullable: true},
		{Name: "ratio", Type: schema.Float, Nullable: true},
		{Name: "weight", Type: schema.Real, Nullable: true},
		{Name: "born", Type: schema.Date, Nullable: true},
		{Name: "opens", Type: schema.Time, Scale: 7, Nullable: true},
		{Name: "registered", Type: schema.DateTime, Nullable: true, Default: "(getdate())"},
		{Name: "updated", Type: schema.DateTime2, Scale: 3, Nullable: true},
		{Name: "seen", Type: schema.SmallDateTime, Nullable: true},
		{Name: "stamp", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
		{Name: "initials", Type: schema.Char, Length: 4, Nullable: true},
		{Name: "title", Type: schema.VarChar, Length: schema.Max, Nullable: true},
		{Name: "flag", Type: schema.NChar, Length: 2, Nullable: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true, Default: "(N'it''s')"},
		{Name: "notes", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
		{Name: "legacy", Type: schema.Text, Nullable: true},
		{Name: "memo", Type: schema.NText, Nullable: true},
		{Name: "hash", Type: schema.Binary, Length: 16, Nullable: true},
		{Name: "blob", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
		{Name: "photo", Type: schema.Image, Nullable: true},
		{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true},
		{Name: "doc", Type: schema.XML, Nullable: true},
		{Name: "version", Type: "rowversion", Nullable: true},
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
	some := []int{0, 1, 8, 21}
	keyOnly := []int{1, 0}
	col := func(name string) schema.Column { return tbl.Columns[tbl.Column(name)] }
	state := "Cust12020_mirroring"
	must := func(stmts []string, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(stmts, ";\n")
	}
	// The catalog holds code as varchar(10) and name as nvarchar(100): both widen, code is a key
	// column, name has a partner index that SQL Server lets grow in place.
	current := tbl
	current.Columns = append([]schema.Column(nil), tbl.Columns...)
	current.Columns[1].Length = 10
	current.Columns[21].Length = 100
	current.Columns[2].Nullable = false
	indexes := []tableIndex{
		{name: "PK__contact__1A2B3C", primaryKey: true, columns: []string{"contact_id", "code"}},
		{name: "ix_partner_name", columns: []string{"name"}},
	}
	widenKey := schema.Plan{Action: schema.Alter, Desired: tbl,
		Add:   []schema.Column{col("total"), col("notes")},
		Widen: []schema.Column{col("code"), col("name")},
		Drop:  []string{"old_name", "legacy2"},
	}
	widenNullable := tbl
	widenNullable.Columns = append([]schema.Column(nil), tbl.Columns...)
	widenNullable.Columns[2].Nullable = true
	relax := schema.Plan{Action: schema.Alter, Desired: widenNullable, Widen: []schema.Column{widenNullable.Columns[2]}}
	coll, err := defaultCollations.columnCollations(tbl, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A UTF-8 database: varchar keys in a UTF-8 BIN2 collation, text and ntext in the collation
	// without the flags. Its existing table's code key kept the collation it was created with.
	utf8 := collations{database: "Latin1_General_100_CI_AS_SC_UTF8", key: "Latin1_General_100_BIN2_UTF8", legacy: "Latin1_General_100_CI_AS"}
	utf8Coll, err := utf8.columnCollations(tbl, nil)
	if err != nil {
		t.Fatal(err)
	}
	utf8Existing, err := utf8.columnCollations(tbl, map[string]string{"code": "Latin1_General_100_BIN2", "legacy": "Latin1_General_100_CI_AS", "memo": "Latin1_General_100_CI_AS"})
	if err != nil {
		t.Fatal(err)
	}
	// Defaults: total is added with one, name (widened) and active keep theirs, registered's
	// changes, rank gets one, seen loses its own, and old_name, dropped, had one.
	withDefaults := tbl
	withDefaults.Columns = append([]schema.Column(nil), tbl.Columns...)
	withDefaults.Columns[5].Default = "((0))"
	withDefaults.Columns[3].Default = "((3))"
	withDefaults.Columns[14].Default = "(sysutcdatetime())"
	dcol := func(name string) schema.Column { return withDefaults.Columns[withDefaults.Column(name)] }
	defaultsPlan := schema.Plan{Action: schema.Alter, Desired: withDefaults,
		Add:      []schema.Column{dcol("total")},
		Widen:    []schema.Column{dcol("name")},
		Drop:     []string{"old_name"},
		Defaults: []schema.Column{dcol("rank"), dcol("registered"), dcol("seen")},
	}
	constraints := map[string]string{"name": "DF_contact_name_0a1b2c3d", "registered": "DF__contact__regis__5AEE82B9", "seen": "DF_partner_seen", "old_name": "DF_contact_old_name_9f8e7d6c", "active": "DF_contact_active_11111111"}
	keyless := schema.Table{Name: "log", Columns: []schema.Column{{Name: "line", Type: schema.VarChar, Length: 100, Nullable: true}, {Name: "at", Type: schema.DateTime2, Scale: 7, Nullable: true}}}
	cases := map[string]string{
		"session": sessionSetupSQL,
		"create_database": strings.Join([]string{databaseStateSQL, createDatabaseSQL("Mirror_Cust12020", ""),
			createDatabaseSQL("Mirror_Cust12020", "(EDITION = 'GeneralPurpose', SERVICE_OBJECTIVE = 'GP_S_Gen5_2')"),
			createDatabaseSQL("Mirror_Cust12020", "COLLATE Latin1_General_100_CI_AS_SC_UTF8 ( SERVICE_OBJECTIVE = ELASTIC_POOL ( name = [mirror-pool-1] ) )")}, ";\n"),
		"drop_database": strings.Join(append(append([]string{engineEditionSQL, testDatabasesSQL}, dropStatements("mt0a1b2c3d_CustMain", 3)...),
			dropStatements("mt0a1b2c3d_CustMain", 5)...), ";\n"),
		"create_state_table": createStateTableSQL(state) + ";\n" + upgradeStateTableSQL(state),
		"state": strings.Join([]string{stateSelectSQL(state), stateLockSQL(state, 1), stateLockSQL(state, 3), stateApplyLockSQL(state), stateListedSQL(state),
			stateUpsertSQL(state), stateSetHashSQL(state), stateAppliedSQL(state), stateInvalidateSQL(state, 2),
			stateInvalidateAllSQL(state), stateDeleteSQL(state, 2), objectExistsSQL, schemaLockSQL}, ";\n"),
		"cycle": strings.Join([]string{beginCycleSQL(state), nameCycleSQL(state), nameTablesSQL(state, 2), cycleLockSQL(state),
			unnamedSQL(state), endCycleSQL(state)}, ";\n"),
		"merge_counted":        countedMergeSQL(tbl, stageName(1), some, coll),
		"catalog":              catalogSQL(state) + ";\n" + indexColumnsSQL,
		"create_table":         createTableSQL(tbl, coll),
		"create_keyless":       createTableSQL(keyless, nil),
		"recreate":             dropTableSQL("contact") + ";\n" + createTableSQL(tbl, coll),
		"alter_widen_key":      must(alterTableSQL(widenKey, current, indexes, coll, nil)),
		"alter_nullable_only":  must(alterTableSQL(relax, current, indexes, coll, map[string]string{"active": defaultName("contact", "active")})),
		"alter_none":           must(alterTableSQL(schema.Plan{Action: schema.None, Desired: tbl}, tbl, indexes, coll, nil)),
		"wipe_drop_count":      strings.Join([]string{truncateSQL("contact"), deleteAllSQL("contact"), dropTableSQL("contact"), rowCountSQL("contact")}, ";\n"),
		"transaction":          strings.Join([]string{beginSQL, saveSQL("mirrord_direct_1"), rollbackToSQL("mirrord_direct_1"), xactStateSQL, commitSQL, rollbackSQL}, ";\n"),
		"create_stage":         dropStaleStageSQL(stageName(1)) + ";\n" + createStageSQL(stageName(1), tbl, all, coll),
		"create_stage_some":    createStageSQL(stageName(2), tbl, some, coll),
		"merge":                mergeSQL(tbl, stageName(1), all, coll),
		"merge_some_columns":   mergeSQL(tbl, stageName(2), some, coll),
		"merge_key_only":       mergeSQL(tbl, stageName(3), keyOnly, coll),
		"insert_keyless":       insertFromStageSQL(keyless, stageName(1), []int{0, 1}, nil),
		"create_table_utf8":    createTableSQL(tbl, utf8Coll),
		"create_stage_utf8":    createStageSQL(stageName(1), tbl, all, utf8Existing),
		"merge_utf8":           mergeSQL(tbl, stageName(1), all, utf8Existing),
		"alter_widen_key_utf8": must(alterTableSQL(widenKey, current, indexes, utf8Existing, nil)),
		"catalog_collations":   strings.Join([]string{databaseCollationSQL, binaryCollationsSQL, collationExistsSQL, columnCollationsSQL}, ";\n"),
		"alter_defaults":       must(alterTableSQL(defaultsPlan, current, indexes, coll, constraints)) + ";\n" + defaultConstraintsSQL,
		"check": strings.Join(append([]string{serverIdentitySQL, createDatabasePermsSQL(3), createDatabasePermsSQL(5), listDatabasesSQL},
			checkProbeSQL("mirrord_check_0a1b2c3d4e5f")...), ";\n"),
		"drop_stage": truncateStageSQL(stageName(1)) + ";\n" + dropStageSQL(stageName(1)) + ";\n" + emptyAfterMergeSQL(stageName(1)),
	}
	for name, got := range cases {
		t.Run(name, func(t *testing.T) {
			bulktest.Golden(t, filepath.Join("testdata", name+".sql"), got, *update)
		})
	}
}

func TestAlterRefusesPartnerIndex(t *testing.T) {
	tbl := goldenTable(t)
	current := tbl
	current.Columns = append([]schema.Column(nil), tbl.Columns...)
	current.Columns[21].Type = schema.VarChar // varchar(220) to nvarchar(220): a type change
	cases := []struct {
		name string
		plan schema.Plan
		want string
	}{
		{"widen indexed column to another type", schema.Plan{Action: schema.Alter, Desired: tbl, Widen: []schema.Column{tbl.Columns[21]}}, "index ix_partner_name"},
		{"drop indexed column", schema.Plan{Action: schema.Alter, Desired: tbl, Drop: []string{"Name"}}, "column Name cannot be dropped while the index ix_partner_name"},
	}
	indexes := []tableIndex{{name: "ix_partner_name", columns: []string{"name"}}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := alterTableSQL(c.plan, current, indexes, nil, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "table contact") {
				t.Errorf("error %v, want one naming the table and %q", err, c.want)
			}
		})
	}
	// A widened key column with no primary key constraint found cannot be altered safely.
	plan := schema.Plan{Action: schema.Alter, Desired: tbl, Widen: []schema.Column{tbl.Columns[1]}}
	if _, err := alterTableSQL(plan, current, nil, nil, nil); err == nil {
		t.Error("widening a key column without its constraint: no error")
	}
}

func TestDefaultName(t *testing.T) {
	a, b := defaultName("a_b", "c"), defaultName("a", "b_c")
	if a == b {
		t.Errorf("a_b.c and a.b_c share the default name %s", a)
	}
	if got := defaultName("contact", "name"); got != defaultName("contact", "name") || !strings.HasPrefix(got, "DF_contact_name_") || len(got) != len("DF_contact_name_")+8 {
		t.Errorf("defaultName(contact, name) = %s", got)
	}
	long := defaultName(strings.Repeat("t", 128), strings.Repeat("c", 128))
	if len(long) != 128 || checkIdentifier("constraint", long) != nil {
		t.Errorf("a default name of two 128-character names is %d characters: %s", len(long), long)
	}
	if long == defaultName(strings.Repeat("t", 128), strings.Repeat("c", 127)) {
		t.Error("two long names that differ only past the cut share a default name")
	}
}

func TestQuoting(t *testing.T) {
	cases := []struct{ in, quoted, literal string }{
		{"Mirror_Cust1", "[Mirror_Cust1]", "N'Mirror_Cust1'"},
		{"a]b", "[a]]b]", "N'a]b'"},
		{"it's", "[it's]", "N'it''s'"},
	}
	for _, c := range cases {
		if got := quote(c.in); got != c.quoted {
			t.Errorf("quote(%q) = %s, want %s", c.in, got, c.quoted)
		}
		if got := literal(c.in); got != c.literal {
			t.Errorf("literal(%q) = %s, want %s", c.in, got, c.literal)
		}
	}
	if got := qualified("sysobjects"); got != "[dbo].[sysobjects]" {
		t.Errorf("qualified = %s", got)
	}
	if got := bulkTarget("contact"); got != "dbo.contact" {
		t.Errorf("bulkTarget = %s", got)
	}
	if got := params(1, 3); got != "@p1, @p2, @p3" {
		t.Errorf("params(1, 3) = %s", got)
	}
	for _, bad := range []string{"", "bad]name", "drop table x", strings.Repeat("a", 129)} {
		if checkIdentifier("table", bad) == nil {
			t.Errorf("checkIdentifier(%q) accepted it", bad)
		}
	}
	if err := checkIdentifier("table", strings.Repeat("a", 128)); err != nil {
		t.Errorf("a 128-character name: %v", err)
	}
}
