package mssql

import (
	"io"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// TestColumnFromCatalog maps catalog rows, as sys.columns and sys.types return them, back to
// the columns of the TableSchema message.
func TestColumnFromCatalog(t *testing.T) {
	cases := []struct {
		row  catalogColumn
		want schema.Column
	}{
		{catalogColumn{Name: "id", TypeName: "int", MaxLength: 4, Precision: 10, PrimaryKey: true}, schema.Column{Name: "id", Type: schema.Int, PrimaryKey: true}},
		{catalogColumn{Name: "b", TypeName: "bit", MaxLength: 1, Precision: 1, Nullable: true}, schema.Column{Name: "b", Type: schema.Bit, Nullable: true}},
		{catalogColumn{Name: "t", TypeName: "tinyint", MaxLength: 1, Precision: 3}, schema.Column{Name: "t", Type: schema.TinyInt}},
		{catalogColumn{Name: "s", TypeName: "smallint", MaxLength: 2, Precision: 5}, schema.Column{Name: "s", Type: schema.SmallInt}},
		{catalogColumn{Name: "g", TypeName: "bigint", MaxLength: 8, Precision: 19}, schema.Column{Name: "g", Type: schema.BigInt}},
		{catalogColumn{Name: "d", TypeName: "decimal", MaxLength: 9, Precision: 18, Scale: 4, Nullable: true}, schema.Column{Name: "d", Type: schema.Decimal, Precision: 18, Scale: 4, Nullable: true}},
		{catalogColumn{Name: "n", TypeName: "numeric", MaxLength: 17, Precision: 38, Scale: 0}, schema.Column{Name: "n", Type: schema.Numeric, Precision: 38}},
		{catalogColumn{Name: "m", TypeName: "money", MaxLength: 8, Precision: 19, Scale: 4}, schema.Column{Name: "m", Type: schema.Money}},
		{catalogColumn{Name: "sm", TypeName: "smallmoney", MaxLength: 4, Precision: 10, Scale: 4}, schema.Column{Name: "sm", Type: schema.SmallMoney}},
		{catalogColumn{Name: "f", TypeName: "float", MaxLength: 8, Precision: 53}, schema.Column{Name: "f", Type: schema.Float}},
		{catalogColumn{Name: "r", TypeName: "real", MaxLength: 4, Precision: 24}, schema.Column{Name: "r", Type: schema.Real}},
		{catalogColumn{Name: "dt", TypeName: "date", MaxLength: 3, Precision: 10}, schema.Column{Name: "dt", Type: schema.Date}},
		{catalogColumn{Name: "tm", TypeName: "time", MaxLength: 5, Precision: 16, Scale: 7}, schema.Column{Name: "tm", Type: schema.Time, Scale: 7}},
		{catalogColumn{Name: "tm0", TypeName: "time", MaxLength: 3, Precision: 8, Scale: 0}, schema.Column{Name: "tm0", Type: schema.Time}},
		{catalogColumn{Name: "dtm", TypeName: "datetime", MaxLength: 8, Precision: 23, Scale: 3}, schema.Column{Name: "dtm", Type: schema.DateTime}},
		{catalogColumn{Name: "d2", TypeName: "datetime2", MaxLength: 7, Precision: 23, Scale: 3}, schema.Column{Name: "d2", Type: schema.DateTime2, Scale: 3}},
		{catalogColumn{Name: "sd", TypeName: "smalldatetime", MaxLength: 4, Precision: 16}, schema.Column{Name: "sd", Type: schema.SmallDateTime}},
		{catalogColumn{Name: "dto", TypeName: "datetimeoffset", MaxLength: 10, Precision: 34, Scale: 7}, schema.Column{Name: "dto", Type: schema.DateTimeOffset, Scale: 7}},
		{catalogColumn{Name: "c", TypeName: "char", MaxLength: 4}, schema.Column{Name: "c", Type: schema.Char, Length: 4}},
		{catalogColumn{Name: "vc", TypeName: "varchar", MaxLength: 8000}, schema.Column{Name: "vc", Type: schema.VarChar, Length: 8000}},
		{catalogColumn{Name: "vcm", TypeName: "varchar", MaxLength: -1}, schema.Column{Name: "vcm", Type: schema.VarChar, Length: schema.Max}},
		// nchar and nvarchar lengths are bytes in the catalog: two per character.
		{catalogColumn{Name: "nc", TypeName: "nchar", MaxLength: 20}, schema.Column{Name: "nc", Type: schema.NChar, Length: 10}},
		{catalogColumn{Name: "nv", TypeName: "nvarchar", MaxLength: 440, Nullable: true}, schema.Column{Name: "nv", Type: schema.NVarChar, Length: 220, Nullable: true}},
		{catalogColumn{Name: "nv4k", TypeName: "nvarchar", MaxLength: 8000}, schema.Column{Name: "nv4k", Type: schema.NVarChar, Length: 4000}},
		{catalogColumn{Name: "nvm", TypeName: "nvarchar", MaxLength: -1}, schema.Column{Name: "nvm", Type: schema.NVarChar, Length: schema.Max}},
		// text, ntext and image report their 16-byte pointer; xml reports -1.
		{catalogColumn{Name: "tx", TypeName: "text", MaxLength: 16}, schema.Column{Name: "tx", Type: schema.Text, Length: schema.Max}},
		{catalogColumn{Name: "ntx", TypeName: "ntext", MaxLength: 16}, schema.Column{Name: "ntx", Type: schema.NText, Length: schema.Max}},
		{catalogColumn{Name: "img", TypeName: "image", MaxLength: 16}, schema.Column{Name: "img", Type: schema.Image, Length: schema.Max}},
		{catalogColumn{Name: "x", TypeName: "xml", MaxLength: -1}, schema.Column{Name: "x", Type: schema.XML, Length: schema.Max}},
		{catalogColumn{Name: "bn", TypeName: "binary", MaxLength: 16}, schema.Column{Name: "bn", Type: schema.Binary, Length: 16}},
		{catalogColumn{Name: "vb", TypeName: "varbinary", MaxLength: -1}, schema.Column{Name: "vb", Type: schema.VarBinary, Length: schema.Max}},
		{catalogColumn{Name: "u", TypeName: "uniqueidentifier", MaxLength: 16}, schema.Column{Name: "u", Type: schema.UniqueIdentifier}},
		// A partner's rowversion (sys.types names it timestamp) reads as the binary(8) the mirror keeps.
		{catalogColumn{Name: "rv", TypeName: "timestamp", MaxLength: 8}, schema.Column{Name: "rv", Type: schema.Binary, Length: 8}},
		{catalogColumn{Name: "v", TypeName: "sql_variant", MaxLength: 8016}, schema.Column{Name: "v", Type: "sql_variant"}},
	}
	for _, c := range cases {
		if got := columnFromCatalog(c.row); got != c.want {
			t.Errorf("columnFromCatalog(%+v) = %+v, want %+v", c.row, got, c.want)
		}
	}
}

// TestCatalogRoundTrip proves that every column the mirror creates reads back as itself, given
// the max_length SQL Server reports for its declared type.
func TestCatalogRoundTrip(t *testing.T) {
	tbl := goldenTable(t)
	for _, c := range tbl.Columns {
		r := catalogColumn{Name: c.Name, TypeName: string(c.Type), Precision: c.Precision, Scale: c.Scale, Nullable: c.Nullable, PrimaryKey: c.PrimaryKey}
		switch {
		case c.Length == schema.Max && (c.Type == schema.Text || c.Type == schema.NText || c.Type == schema.Image):
			r.MaxLength = 16
		case c.Length == schema.Max:
			r.MaxLength = -1
		case c.Type == schema.NChar || c.Type == schema.NVarChar:
			r.MaxLength = 2 * c.Length
		default:
			r.MaxLength = c.Length
		}
		want := c
		want.Default = "" // defaults read back from the state table, not the catalog
		if got := columnFromCatalog(r); got != want {
			t.Errorf("column %s: %+v reads back as %+v", c.Name, want, got)
		}
	}
}

func TestStageTypes(t *testing.T) {
	cases := []struct {
		col        schema.Column
		stage      string
		directSafe bool
	}{
		{schema.Column{Name: "m", Type: schema.Money}, "decimal(19,4)", false},
		{schema.Column{Name: "sm", Type: schema.SmallMoney}, "decimal(10,4)", false},
		{schema.Column{Name: "img", Type: schema.Image, Length: schema.Max}, "varbinary(max)", false},
		{schema.Column{Name: "c", Type: schema.Char, Length: 10}, "nchar(10) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "c", Type: schema.Char, Length: 8000}, "nvarchar(max) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "v", Type: schema.VarChar, Length: 50}, "nvarchar(50) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "v", Type: schema.VarChar, Length: 5000}, "nvarchar(max) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "k", Type: schema.VarChar, Length: 40, PrimaryKey: true}, "nvarchar(40) COLLATE Latin1_General_100_BIN2", true},
		{schema.Column{Name: "k", Type: schema.NVarChar, Length: 40, PrimaryKey: true}, "nvarchar(40) COLLATE Latin1_General_100_BIN2", true},
		{schema.Column{Name: "t", Type: schema.Text, Length: schema.Max}, "nvarchar(max) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "nt", Type: schema.NText, Length: schema.Max}, "nvarchar(max) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "x", Type: schema.XML, Length: schema.Max}, "nvarchar(max) COLLATE DATABASE_DEFAULT", true},
		{schema.Column{Name: "i", Type: schema.Int}, "int", true},
		{schema.Column{Name: "d", Type: schema.DateTimeOffset, Scale: 3}, "datetimeoffset(3)", true},
		{schema.Column{Name: "u", Type: schema.UniqueIdentifier}, "uniqueidentifier", true},
	}
	for _, c := range cases {
		coll, err := defaultCollations.columnCollations(schema.Table{Name: "t", Columns: []schema.Column{c.col}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := stageType(c.col, coll[c.col.Name]); got != c.stage {
			t.Errorf("stageType(%s) = %s, want %s", c.col.TypeString(), got, c.stage)
		}
		if got := directSafe(c.col); got != c.directSafe {
			t.Errorf("directSafe(%s) = %t, want %t", c.col.TypeString(), got, c.directSafe)
		}
	}
	// In a UTF-8 database a varchar key's staging column takes the key's UTF-8 BIN2 collation;
	// an nvarchar key keeps the Unicode one.
	utf8 := collations{database: "Latin1_General_100_CI_AS_SC_UTF8", key: "Latin1_General_100_BIN2_UTF8", legacy: "Latin1_General_100_CI_AS"}
	keys := schema.Table{Name: "t", Columns: []schema.Column{
		{Name: "v", Type: schema.VarChar, Length: 40, PrimaryKey: true},
		{Name: "n", Type: schema.NChar, Length: 3, PrimaryKey: true},
		{Name: "t", Type: schema.Text, Length: schema.Max, Nullable: true},
	}}
	coll, err := utf8.columnCollations(keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"nvarchar(40) COLLATE Latin1_General_100_BIN2_UTF8", "nchar(3) COLLATE Latin1_General_100_BIN2", "nvarchar(max) COLLATE DATABASE_DEFAULT"} {
		if got := stageType(keys.Columns[i], coll[keys.Columns[i].Name]); got != want {
			t.Errorf("UTF-8 database: stageType(%s) = %s, want %s", keys.Columns[i].TypeString(), got, want)
		}
	}
	for i, want := range []string{"varchar(40) COLLATE Latin1_General_100_BIN2_UTF8", "nchar(3) COLLATE Latin1_General_100_BIN2", "text COLLATE Latin1_General_100_CI_AS"} {
		if got := columnType(keys.Columns[i], coll[keys.Columns[i].Name]); got != want {
			t.Errorf("UTF-8 database: columnType(%s) = %s, want %s", keys.Columns[i].TypeString(), got, want)
		}
	}
}

func TestTenantDSN(t *testing.T) {
	base, err := parseDSN("sqlserver://sa:p%40ss@db.example:1433?database=master&packet+size=4096&guid+conversion=true&encrypt=true")
	if err != nil {
		t.Fatal(err)
	}
	got := tenantDSN(base, "Mirror_Cust1")
	for _, want := range []string{"database=Mirror_Cust1", "packet+size=32767", "guid+conversion=false", "encrypt=true", "sa:p%40ss@db.example:1433"} {
		if !strings.Contains(got, want) {
			t.Errorf("tenantDSN = %s, lacks %s", got, want)
		}
	}
	for _, bad := range []string{"postgres://x@y/z", "sqlserver://", "::"} {
		if _, err := parseDSN(bad); err == nil {
			t.Errorf("parseDSN(%q) accepted it", bad)
		}
	}
}

func TestDirectFallback(t *testing.T) {
	cases := []struct {
		state   int
		readErr error
		want    fallback
	}{
		{1, nil, replayChunk},
		{-1, nil, giveUpFresh},
		{0, nil, giveUpFresh},
		{1, io.EOF, giveUpFresh},
	}
	for _, c := range cases {
		if got := directFallback(c.state, c.readErr); got != c.want {
			t.Errorf("directFallback(%d, %v) = %d, want %d", c.state, c.readErr, got, c.want)
		}
	}
}

// TestSegmentDirectSafe: a segment may go straight into its table only if every column of it
// may; the traps table of TestDriverTraps never does (money, smallmoney, image), the table of
// TestDriverTrapsDirect always does, and a segment of the traps table without those columns does.
func TestSegmentDirectSafe(t *testing.T) {
	cases := []struct {
		table schema.Table
		cols  []int
		want  bool
	}{
		{trapsTable(t), []int{0, 1, 2, 3, 4}, false},
		{trapsTable(t), []int{0, 3}, false},
		{trapsTable(t), []int{0, 4}, true},
		{trapsDirectTable(t), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, true},
	}
	for _, c := range cases {
		a := &applier{table: c.table, keyed: true, segments: map[string]*segment{}, cur: bulk.Cursor{Rows: bulk.NewSliceRows(nil)}}
		seg, err := a.segment(c.cols)
		if err != nil {
			t.Fatal(err)
		}
		if seg.directSafe != c.want {
			t.Errorf("table %s, columns %v: directSafe %t, want %t", c.table.Name, c.cols, seg.directSafe, c.want)
		}
	}
}

// trapsTable is the table of TestDriverTraps: the types go-mssqldb's bulk copy gets wrong.
func trapsTable(t testing.TB) schema.Table {
	t.Helper()
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
	return tbl
}

// trapsDirectTable is the table of TestDriverTrapsDirect: every column may be copied straight in.
func trapsDirectTable(t testing.TB) schema.Table {
	t.Helper()
	tbl, err := schema.Table{Name: "traps_direct", Columns: []schema.Column{
		{Name: "ID", Type: schema.Int, PrimaryKey: true},
		{Name: "Name", Type: schema.VarChar, Length: 40, Nullable: true},
		{Name: "Note", Type: schema.Text, Nullable: true},
		{Name: "Memo", Type: schema.NText, Nullable: true},
		{Name: "Doc", Type: schema.XML, Nullable: true},
		{Name: "Amount", Type: schema.Decimal, Precision: 19, Scale: 4, Nullable: true},
		{Name: "At", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "Stamp", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
		{Name: "T", Type: schema.Time, Scale: 7, Nullable: true},
		{Name: "G", Type: schema.UniqueIdentifier, Nullable: true},
		{Name: "B", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
	}}.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}
