package sqlite

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

// contact is a keyed table with one column of each storage class.
var contact = schema.Table{Name: "contact", Columns: []schema.Column{
	{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
	{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
	{Name: "notes", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
	{Name: "rating", Type: schema.Float, Nullable: true},
	{Name: "balance", Type: schema.Decimal, Precision: 19, Scale: 4},
	{Name: "picture", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
	{Name: "registered", Type: schema.DateTime2, Scale: 7},
}}

var pair = schema.Table{Name: "pair", Columns: []schema.Column{
	{Name: "a", Type: schema.Int, PrimaryKey: true},
	{Name: "b", Type: schema.UniqueIdentifier, PrimaryKey: true},
	{Name: "v", Type: schema.NVarChar, Length: 10, Nullable: true},
}}

var keyless = schema.Table{Name: "travel_log", Columns: []schema.Column{
	{Name: "at", Type: schema.DateTimeOffset, Scale: 3},
	{Name: "what", Type: schema.Text, Nullable: true},
}}

func TestSQLGolden(t *testing.T) {
	widened := contact
	widened.Columns = []schema.Column{
		{Name: "contact_id", Type: schema.BigInt, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 250, Nullable: true},
		{Name: "balance", Type: schema.Decimal, Precision: 21, Scale: 6},
		{Name: "registered", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "added", Type: schema.Bit, Nullable: true},
	}
	noScale := schema.Table{Name: "n", Columns: []schema.Column{{Name: "d", Type: schema.Numeric, Precision: 10}}}
	noScaleWide := schema.Table{Name: "n", Columns: []schema.Column{{Name: "d", Type: schema.Numeric, Precision: 12, Scale: 2}}}
	cases := []struct {
		name string
		sql  string
	}{
		{"create_keyed", createTableSQL(contact.Name, contact, true)},
		{"create_keyed_rowid", createTableSQL(contact.Name, contact, false)},
		{"create_composite", createTableSQL(pair.Name, pair, true)},
		{"create_keyless", createTableSQL(keyless.Name, keyless, true)},
		{"create_state", createStateTableSQL("Cust12020_mirroring")},
		{"state_set", stateSetSQL("Cust12020_mirroring")},
		{"state", strings.Join([]string{stateColumnsSQL("Cust12020_mirroring"), addStateColumnSQL("Cust12020_mirroring", "cycle", "INTEGER"),
			stateListSQL("Cust12020_mirroring"), stateApplySQL("Cust12020_mirroring"), stateHashSQL("Cust12020_mirroring"),
			stateSetHashSQL("Cust12020_mirroring"), stateAppliedSQL("Cust12020_mirroring"), stateInvalidateAllSQL("Cust12020_mirroring")}, ";\n")},
		{"cycle", strings.Join([]string{beginCycleSQL("Cust12020_mirroring"), resetCountsSQL("Cust12020_mirroring"), nameCycleSQL("Cust12020_mirroring"),
			nameTableSQL("Cust12020_mirroring"), cycleSQL("Cust12020_mirroring"), unnamedSQL("Cust12020_mirroring"), endCycleSQL("Cust12020_mirroring")}, ";\n")},
		{"existing_keys", existingKeysSQL("contact", keyColumns(contact), 3) + ";\n" + existingKeysSQL("pair", keyColumns(pair), 2)},
		{"add_column", addColumnSQL("contact", widened.Columns[4])},
		{"drop_column", dropColumnSQL("contact", "picture")},
		{"rebuild_copy", copyRowsSQL(rebuildName("contact"), "contact", contact, widened)},
		{"rebuild_copy_scale_from_zero", copyRowsSQL(rebuildName("n"), "n", noScale, noScaleWide)},
		{"rename", renameTableSQL(rebuildName("contact"), "contact")},
		{"upsert_one", writeSQL("contact", contact.Columns, nil, keyColumns(contact), 1)},
		{"upsert_three", writeSQL("contact", contact.Columns[:3], nil, keyColumns(contact), 3)},
		{"upsert_key_only", writeSQL("pair", pair.Columns[:2], nil, keyColumns(pair), 1)},
		{"insert_keyless", writeSQL("travel_log", keyless.Columns, nil, nil, 2)},
		{"update_two", updateRowSQL("contact", contact.Columns[1:3], keyColumns(contact))},
		{"update_key_only", updateRowSQL("pair", nil, keyColumns(pair))},
		{"delete_composite", deleteRowSQL("pair", keyColumns(pair))},
		{"select_rows", selectRowsSQL(pair)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bulktest.Golden(t, filepath.Join("testdata", c.name+".sql"), c.sql, *update)
		})
	}
}

// Every declared type must read back as the column it was made from, and nothing else must parse.
func TestDeclaredTypeRoundTrip(t *testing.T) {
	for _, c := range everyTypeTable().Columns {
		decl := declaredType(c)
		got, err := parseDeclaredType(decl)
		if err != nil {
			t.Errorf("%s: parse %q: %v", c.TypeString(), decl, err)
			continue
		}
		got.Name, got.Nullable, got.PrimaryKey = c.Name, c.Nullable, c.PrimaryKey
		if got != c {
			t.Errorf("%s: declared %q reads back as %+v, want %+v", c.TypeString(), decl, got, c)
		}
	}
	for _, decl := range []string{"INTEGER", "TEXT", "", "INT_TEXT", "DECIMAL_TEXT(10)", "DECIMAL_TEXT", "NVARCHAR_TEXT",
		"NVARCHAR_TEXT(x)", "INT_MAX_INTEGER", "FOO_TEXT", "NVARCHAR_TEXT(10", "VARBINARY_TEXT(10)", "TIME_TEXT(3,1)"} {
		if c, err := parseDeclaredType(decl); err == nil {
			t.Errorf("parse %q = %+v, want an error", decl, c)
		}
	}
}

// Each declared type must get the affinity of its storage word under SQLite's rules: the first
// of INT, CHAR/CLOB/TEXT, BLOB, REAL/FLOA/DOUB that the name contains.
func TestDeclaredTypeAffinity(t *testing.T) {
	for _, c := range everyTypeTable().Columns {
		decl := strings.ToUpper(declaredType(c))
		name, _, _ := strings.Cut(decl, "(")
		var affinity string
		switch {
		case strings.Contains(name, "INT"):
			affinity = "INTEGER"
		case strings.Contains(name, "CHAR"), strings.Contains(name, "CLOB"), strings.Contains(name, "TEXT"):
			affinity = "TEXT"
		case strings.Contains(name, "BLOB"):
			affinity = "BLOB"
		case strings.Contains(name, "REAL"), strings.Contains(name, "FLOA"), strings.Contains(name, "DOUB"):
			affinity = "REAL"
		default:
			affinity = "NUMERIC"
		}
		if want := string(sqliteTypes[c.Type].storage); affinity != want {
			t.Errorf("%s declared %s has affinity %s, want %s", c.TypeString(), decl, affinity, want)
		}
	}
}

func TestFileName(t *testing.T) {
	cases := []struct {
		template, tenant, want string
		fails                  bool
	}{
		{DefaultFileName, "Cust12020", "Mirror_Cust12020.db", false},
		{"{ctx}.sqlite3", "Cust1", "Cust1.sqlite3", false},
		{"{ctx}", "Cust1", "Cust1", false},
		{"Mirror.db", "Cust1", "", true},
		{"{ctx}_{ctx}.db", "Cust1", "", true},
		{"../{ctx}.db", "Cust1", "", true},
		{"sub/{ctx}.db", "Cust1", "", true},
		{"Mirror {ctx}.db", "Cust1", "", true},
	}
	for _, c := range cases {
		got, err := fileName(c.template, c.tenant)
		if c.fails != (err != nil) || got != c.want {
			t.Errorf("fileName(%q, %q) = %q, %v; want %q, fails %t", c.template, c.tenant, got, err, c.want, c.fails)
		}
	}
}

// everyTypeTable has a column of every SQL Server type, with lengths, max lengths, precision
// and scale where the type takes them.
func everyTypeTable() schema.Table {
	t := schema.Table{Name: "every_type", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "c_bit", Type: schema.Bit, Nullable: true},
		{Name: "c_tinyint", Type: schema.TinyInt, Nullable: true},
		{Name: "c_smallint", Type: schema.SmallInt, Nullable: true},
		{Name: "c_int", Type: schema.Int, Nullable: true},
		{Name: "c_bigint", Type: schema.BigInt, Nullable: true},
		{Name: "c_decimal", Type: schema.Decimal, Precision: 38, Scale: 10, Nullable: true},
		{Name: "c_numeric", Type: schema.Numeric, Precision: 5, Scale: 0, Nullable: true},
		{Name: "c_money", Type: schema.Money, Nullable: true},
		{Name: "c_smallmoney", Type: schema.SmallMoney, Nullable: true},
		{Name: "c_float", Type: schema.Float, Nullable: true},
		{Name: "c_real", Type: schema.Real, Nullable: true},
		{Name: "c_date", Type: schema.Date, Nullable: true},
		{Name: "c_time", Type: schema.Time, Scale: 7, Nullable: true},
		{Name: "c_time0", Type: schema.Time, Scale: 0, Nullable: true},
		{Name: "c_datetime", Type: schema.DateTime, Nullable: true},
		{Name: "c_datetime2", Type: schema.DateTime2, Scale: 3, Nullable: true},
		{Name: "c_smalldatetime", Type: schema.SmallDateTime, Nullable: true},
		{Name: "c_datetimeoffset", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
		{Name: "c_char", Type: schema.Char, Length: 10, Nullable: true},
		{Name: "c_varchar", Type: schema.VarChar, Length: 8000, Nullable: true},
		{Name: "c_varchar_max", Type: schema.VarChar, Length: schema.Max, Nullable: true},
		{Name: "c_nchar", Type: schema.NChar, Length: 4000, Nullable: true},
		{Name: "c_nvarchar", Type: schema.NVarChar, Length: 220, Nullable: true},
		{Name: "c_nvarchar_max", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
		{Name: "c_text", Type: schema.Text, Nullable: true},
		{Name: "c_ntext", Type: schema.NText, Nullable: true},
		{Name: "c_binary", Type: schema.Binary, Length: 8, Nullable: true},
		{Name: "c_varbinary", Type: schema.VarBinary, Length: 16, Nullable: true},
		{Name: "c_varbinary_max", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
		{Name: "c_image", Type: schema.Image, Nullable: true},
		{Name: "c_uniqueidentifier", Type: schema.UniqueIdentifier, Nullable: true},
		{Name: "c_xml", Type: schema.XML, Nullable: true},
		{Name: "c_rowversion", Type: "rowversion", Nullable: true},
	}}
	v, err := t.Validate()
	if err != nil {
		panic(err)
	}
	return v
}

// TestDefaultsSQLGolden: the defaults SQLite can express, written in their stored forms, and a
// batch that leaves out a nullable column with a default naming it with NULL.
func TestDefaultsSQLGolden(t *testing.T) {
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
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	if got := bulk.KeptDefaults(tbl, columnDefault); !slices.Equal(got, []string{"computed"}) {
		t.Errorf("kept defaults %v, want computed only", got)
	}
	var pad []schema.Column
	for _, i := range bulk.OmittedDefaults(tbl, []int{0, 1}, columnDefault) {
		pad = append(pad, tbl.Columns[i])
	}
	got := createTableSQL(tbl.Name, tbl, true) + ";\n" + writeSQL(tbl.Name, tbl.Columns[:2], pad, keyColumns(tbl), 2)
	bulktest.Golden(t, filepath.Join("testdata", "defaults.sql"), got, *update)
}

func TestNarrowRow(t *testing.T) {
	col := func(name string, typ schema.Type, length int) schema.Column {
		return schema.Column{Name: name, Type: typ, Length: length, Nullable: true}
	}
	key := schema.Column{Name: "id", Type: schema.Int, PrimaryKey: true}
	for _, tc := range []struct {
		name string
		cols []schema.Column
		want bool
	}{
		{"numbers only", []schema.Column{key, {Name: "n", Type: schema.BigInt}}, true},
		{"short names", []schema.Column{key, col("name", schema.NVarChar, 220), col("code", schema.VarChar, 20)}, true},
		{"at the bound", []schema.Column{key, col("a", schema.NVarChar, 200), col("b", schema.VarBinary, 200)}, true},
		{"over the bound", []schema.Column{key, col("a", schema.NVarChar, 200), col("b", schema.VarChar, 201)}, false},
		{"a max column", []schema.Column{key, col("notes", schema.NVarChar, schema.Max)}, false},
		{"text", []schema.Column{key, {Name: "t", Type: schema.NText, Length: schema.Max, Nullable: true}}, false},
	} {
		if got := narrowRow(schema.Table{Name: "t", Columns: tc.cols}); got != tc.want {
			t.Errorf("%s: narrowRow = %v, want %v", tc.name, got, tc.want)
		}
	}
}
