package pgsql

import (
	"testing"

	"github.com/mirrord/mirrord/schema"
)

func TestPGType(t *testing.T) {
	cases := []struct {
		col  schema.Column
		want string
	}{
		{schema.Column{Type: schema.Bit}, "boolean"},
		{schema.Column{Type: schema.TinyInt}, "smallint"},
		{schema.Column{Type: schema.Int}, "integer"},
		{schema.Column{Type: schema.Decimal, Precision: 38, Scale: 10}, "numeric(38,10)"},
		{schema.Column{Type: schema.Money}, "numeric(19,4)"},
		{schema.Column{Type: schema.SmallMoney}, "numeric(10,4)"},
		{schema.Column{Type: schema.Float}, "double precision"},
		{schema.Column{Type: schema.Time, Scale: 7}, "time(6) without time zone"},
		{schema.Column{Type: schema.Time, Scale: 0}, "time(0) without time zone"},
		{schema.Column{Type: schema.DateTime}, "timestamp(3) without time zone"},
		{schema.Column{Type: schema.SmallDateTime}, "timestamp(0) without time zone"},
		{schema.Column{Type: schema.DateTime2, Scale: 2}, "timestamp(2) without time zone"},
		{schema.Column{Type: schema.DateTimeOffset, Scale: 7}, "timestamp(6) with time zone"},
		{schema.Column{Type: schema.Char, Length: 10}, "character varying(10)"},
		{schema.Column{Type: schema.VarChar, Length: schema.Max}, "text"},
		{schema.Column{Type: schema.XML, Length: schema.Max}, "text"},
		{schema.Column{Type: schema.Binary, Length: 8}, "bytea"},
		{schema.Column{Type: schema.UniqueIdentifier}, "uuid"},
	}
	for _, c := range cases {
		got, err := pgType(c.col)
		if err != nil || got != c.want {
			t.Errorf("pgType(%s) = %q, %v; want %q", c.col.TypeString(), got, err, c.want)
		}
	}
	if _, err := pgType(schema.Column{Name: "x", Type: "geography"}); err == nil {
		t.Error("pgType of an unknown type: no error")
	}
}

func TestParseTypeString(t *testing.T) {
	good := []string{"int", "bit", "nvarchar(220)", "varchar(max)", "decimal(19,4)", "numeric(38,0)",
		"datetime2(7)", "time(0)", "datetimeoffset(3)", "binary(8)", "varbinary(max)", "ntext", "xml", "money"}
	for _, s := range good {
		c, err := parseTypeString(s)
		if err != nil {
			t.Errorf("parseTypeString(%q): %v", s, err)
			continue
		}
		if c.TypeString() != s {
			t.Errorf("parseTypeString(%q) gives %s", s, c.TypeString())
		}
	}
	bad := []string{"", "integer", "nvarchar(", "nvarchar(x)", "decimal(19)", "time(1,2)", "NVARCHAR(10)", "nvarchar(-1)", "int(4)", "ntext(max)"}
	for _, s := range bad {
		if c, err := parseTypeString(s); err == nil {
			t.Errorf("parseTypeString(%q) = %+v, want an error", s, c)
		}
	}
}

func TestReverseType(t *testing.T) {
	cases := []struct {
		physical string
		want     string // TypeString, or the unknown type name
	}{
		{"boolean", "bit"},
		{"smallint", "smallint"},
		{"integer", "int"},
		{"bigint", "bigint"},
		{"numeric(19,4)", "decimal(19,4)"},
		{"numeric", "postgresql:numeric"},
		{"double precision", "float"},
		{"real", "real"},
		{"date", "date"},
		{"time(6) without time zone", "time(6)"},
		{"time without time zone", "time(6)"},
		{"timestamp(3) without time zone", "datetime2(3)"},
		{"timestamp without time zone", "datetime2(6)"},
		{"timestamp(0) with time zone", "datetimeoffset(0)"},
		{"character varying(220)", "nvarchar(220)"},
		{"character varying(8000)", "varchar(8000)"},
		{"character varying(9000)", "postgresql:character varying(9000)"},
		{"text", "nvarchar(max)"},
		{"bytea", "varbinary(max)"},
		{"uuid", "uniqueidentifier"},
		{"jsonb", "postgresql:jsonb"},
		{"character(10)", "postgresql:character(10)"},
	}
	for _, c := range cases {
		col := reverseType(c.physical)
		got := col.TypeString()
		if !schema.Known(col.Type) {
			got = string(col.Type)
		}
		if got != c.want {
			t.Errorf("reverseType(%q) = %s, want %s", c.physical, got, c.want)
		}
	}
}

func TestColumnFromCatalog(t *testing.T) {
	cases := []struct {
		name, physical, comment string
		want                    string
	}{
		{"comment agrees", "character varying(220)", "mirrord:varchar(220)", "varchar(220)"},
		{"datetime", "timestamp(3) without time zone", "mirrord:datetime", "datetime"},
		{"datetime2(7)", "timestamp(6) without time zone", "mirrord:datetime2(7)", "datetime2(7)"},
		{"money", "numeric(19,4)", "mirrord:money", "money"},
		{"altered by hand", "character varying(300)", "mirrord:varchar(220)", "nvarchar(300)"},
		{"type altered by hand", "bigint", "mirrord:int", "bigint"},
		{"no comment", "numeric(10,4)", "", "decimal(10,4)"},
		{"partner comment", "integer", "customer number", "int"},
		{"garbled comment", "integer", "mirrord:int(", "int"},
	}
	for _, c := range cases {
		col := columnFromCatalog("x", c.physical, c.comment, true, true)
		if got := col.TypeString(); got != c.want {
			t.Errorf("%s: got %s, want %s", c.name, got, c.want)
		}
		if col.Name != "x" || col.Nullable || !col.PrimaryKey {
			t.Errorf("%s: name, nullability or key lost: %+v", c.name, col)
		}
	}
	if col := columnFromCatalog("y", "text", "", false, false); !col.Nullable || col.PrimaryKey {
		t.Errorf("nullable column read as %+v", col)
	}
}

// TestMappingRoundTrip proves that every SQL Server type survives pgType, the comment and the
// read back, and that the comment is needed only where the mapping is not injective.
func TestMappingRoundTrip(t *testing.T) {
	for _, c := range goldenTable(t).Columns {
		physical, err := pgType(c)
		if err != nil {
			t.Fatal(err)
		}
		back := columnFromCatalog(c.Name, physical, typeComment(c), !c.Nullable, c.PrimaryKey)
		if back != c {
			t.Errorf("column %s: %+v came back as %+v", c.Name, c, back)
		}
	}
}
