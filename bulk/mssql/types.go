package mssql

import (
	"fmt"

	"github.com/mirrord/mirrord/schema"
)

// The mirror keeps SQL Server's own types one to one (TYPES.md): a column is created as
// schema.Column.TypeString() spells it, and rowversion/timestamp, which cannot be written, is
// already binary(8) after schema normalization. Only staging tables use other types, for the
// values go-mssqldb's bulk copy cannot send as the column's own type.

// isCharacter reports whether t is a character type with a collation: every string type but xml.
func isCharacter(t schema.Type) bool {
	return t.Family() == schema.FamilyString && t != schema.XML
}

// columnType is the type of a mirrored column, with the collation columnCollations names for it
// ("" for none: the database's default).
func columnType(c schema.Column, collation string) string {
	if collation != "" {
		return c.TypeString() + " COLLATE " + collation
	}
	return c.TypeString()
}

// stageBaseType is the type a column's values are bulk-copied as into staging:
//   - money and smallmoney as decimal(19,4) and decimal(10,4): go-mssqldb has long lacked or
//     mishandled money in bulk copy (microsoft/go-mssqldb#98, denisenkom/go-mssqldb#460);
//   - image as varbinary(max) (denisenkom/go-mssqldb#741);
//   - char, varchar and text as nchar/nvarchar: go-mssqldb sends a Go string's UTF-8 bytes to a
//     varchar column as if they were the column's code page, which garbles every non-ASCII
//     character (microsoft/go-mssqldb#220, denisenkom/go-mssqldb#574); through nvarchar the
//     server converts UTF-16 to the column's code page itself;
//   - ntext and xml as nvarchar(max), the same UTF-16 on the wire without the legacy text
//     pointer framing (the driver sends xml as nvarchar anyway).
//
// The merge casts each back to the column's type.
func stageBaseType(c schema.Column) string {
	switch c.Type.Family() {
	case schema.FamilyDecimal:
		if _, _, money := c.Type.UnscaledRange(); money {
			p, s := c.Digits()
			return fmt.Sprintf("decimal(%d,%d)", p, s)
		}
	case schema.FamilyBinary:
		if c.Type == schema.Image {
			return "varbinary(max)"
		}
	case schema.FamilyString:
		switch {
		case c.Length == schema.Max || c.Length > schema.MaxUnicodeLength:
			return "nvarchar(max)"
		case c.Type == schema.Char || c.Type == schema.NChar:
			return fmt.Sprintf("nchar(%d)", c.Length)
		}
		return fmt.Sprintf("nvarchar(%d)", c.Length)
	}
	return c.TypeString()
}

// stageType is stageBaseType with the collation the comparison with the table needs: a #table
// lives in tempdb, whose collation may differ from the mirror's, and comparing or assigning
// across two column collations fails ("cannot resolve the collation conflict"). A key column
// takes the key column's own collation (keyCollation: its collation in the table), so that the
// merge compares like with like and ROW_NUMBER tells apart what the key does; other character
// columns take the database's.
func stageType(c schema.Column, keyCollation string) string {
	base := stageBaseType(c)
	switch {
	case c.PrimaryKey && isCharacter(c.Type) && keyCollation != "":
		return base + " COLLATE " + keyCollation
	case isCharacter(c.Type) || c.Type == schema.XML:
		return base + " COLLATE DATABASE_DEFAULT"
	}
	return base
}

// directSafe reports whether bulk copy can send a column's values straight into the table as
// its own type. money, smallmoney and image cannot (see stageBaseType); char, varchar and text
// can carry ASCII only, which the loader checks value by value.
func directSafe(c schema.Column) bool {
	switch c.Type {
	case schema.Money, schema.SmallMoney, schema.Image:
		return false
	}
	return true
}

// catalogColumn is one row of catalogSQL: a column as sys.columns and sys.types describe it.
type catalogColumn struct {
	Name       string
	TypeName   string // the base system type: nvarchar, timestamp, …
	MaxLength  int    // bytes; -1 for max
	Precision  int
	Scale      int
	Nullable   bool
	PrimaryKey bool
	Collation  string // the column's collation; empty for a type without one
}

// columnFromCatalog maps a catalog row back to the column the TableSchema message would give:
// lengths of nchar/nvarchar halved from bytes to characters, -1 kept as max, text, ntext, image
// and xml as max whatever their 16-byte pointer says, precision and scale kept only where the
// type uses them, timestamp and rowversion as binary(8). A type this package never creates
// (sql_variant, a partner's change by hand) is kept by name, so that the diff recreates the table.
func columnFromCatalog(r catalogColumn) schema.Column {
	c := schema.Column{Name: r.Name, Type: schema.Type(r.TypeName), Nullable: r.Nullable, PrimaryKey: r.PrimaryKey}
	switch {
	case c.Type.MaxLength() > 0:
		c.Length = r.MaxLength
		if c.Type.Unicode() && c.Length > 0 {
			c.Length /= 2
		}
	case c.Type.HasDigits():
		c.Precision, c.Scale = r.Precision, r.Scale
	case c.Type.HasFraction():
		c.Scale = r.Scale
	case c.Type == "timestamp" || c.Type == "rowversion":
		c.Type, c.Length = schema.Binary, 8
	}
	return c.Normalize()
}
