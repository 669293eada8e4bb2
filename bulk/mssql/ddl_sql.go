package mssql

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// The T-SQL of the catalog and of creating, altering, emptying and dropping mirrored tables,
// tested on its text by golden files like every statement of the package.

// databaseCollationSQL reads the current database's collation and its code page
// (DATABASEPROPERTYEX of the current database works on Azure SQL Database too).
const databaseCollationSQL = "SELECT CONVERT(nvarchar(128), DATABASEPROPERTYEX(DB_NAME(), N'Collation')),\n" +
	"\tCONVERT(int, COLLATIONPROPERTY(CONVERT(nvarchar(128), DATABASEPROPERTYEX(DB_NAME(), N'Collation')), N'CodePage'))"

// binaryCollationsSQL lists the BIN2 collations of a code page (@p1), for chooseKeyCollation.
const binaryCollationsSQL = "SELECT name FROM sys.fn_helpcollations()\n" +
	"WHERE CONVERT(int, COLLATIONPROPERTY(name, N'CodePage')) = @p1 AND (name LIKE N'%[_]BIN2' OR name LIKE N'%[_]BIN2[_]UTF8')\n" +
	"ORDER BY name"

// collationExistsSQL is 1 when the server knows a collation (@p1).
const collationExistsSQL = "SELECT CAST(CASE WHEN COLLATIONPROPERTY(@p1, N'CodePage') IS NULL THEN 0 ELSE 1 END AS bit)"

// columnCollationsSQL reads the collation of every column of a table (@p1, qualified) that has one.
const columnCollationsSQL = "SELECT c.name, c.collation_name FROM sys.columns AS c WHERE c.object_id = OBJECT_ID(@p1, N'U') AND c.collation_name IS NOT NULL"

// objectExistsSQL finds an object of any kind (@p1, qualified) in the dbo schema, since
// a partner's view or synonym of that name blocks a create just as well as a table.
const objectExistsSQL = "SELECT CASE WHEN OBJECT_ID(@p1) IS NULL THEN 0 ELSE 1 END"

// catalogSQL reads the columns of every table the state table lists, in column order: the base
// system type (so that an alias type reads as what it stores), max_length in bytes (-1 for max),
// precision, scale, nullability, primary key membership and collation (empty for a type without).
//
// sys.tables.name is in the catalog collation, which on Azure SQL Database is
// SQL_Latin1_General_CP1_CI_AS whatever the database's is (CATALOG_COLLATION, CREATE DATABASE
// (Azure SQL Database)); compared with the state table's column, in the database's collation,
// it fails with error 468 (collation conflict) in a database of another collation. The explicit
// COLLATE decides the comparison.
func catalogSQL(state string) string {
	return `SELECT t.name, c.name, ty.name, c.max_length, c.precision, c.scale, c.is_nullable,
	CAST(CASE WHEN ic.column_id IS NULL THEN 0 ELSE 1 END AS bit), COALESCE(c.collation_name, N'')
FROM ` + qualified(state) + ` AS s
JOIN sys.tables AS t ON t.name = s.tablename COLLATE DATABASE_DEFAULT AND t.schema_id = SCHEMA_ID(N'dbo')
JOIN sys.columns AS c ON c.object_id = t.object_id
JOIN sys.types AS ty ON ty.user_type_id = c.system_type_id
LEFT JOIN sys.indexes AS i ON i.object_id = t.object_id AND i.is_primary_key = 1
LEFT JOIN sys.index_columns AS ic ON ic.object_id = t.object_id AND ic.index_id = i.index_id AND ic.column_id = c.column_id
ORDER BY t.name, c.column_id`
}

// indexColumnsSQL lists, for a table (@p1, qualified), every index with the columns it uses
// (keys and included columns): the primary key to drop and re-add around a widened key column,
// and the partner's indexes that block ALTER COLUMN or DROP COLUMN.
const indexColumnsSQL = `SELECT i.name, i.is_primary_key, c.name
FROM sys.indexes AS i
JOIN sys.index_columns AS ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
WHERE i.object_id = OBJECT_ID(@p1)
ORDER BY i.index_id, ic.key_ordinal, ic.index_column_id`

// columnDefinition is a column's name, type (with its collation, from coll by name:
// columnCollations) and nullability.
func columnDefinition(c schema.Column, coll map[string]string) string {
	def := quote(c.Name) + " " + columnType(c, coll[c.Name])
	if c.Nullable {
		return def + " NULL"
	}
	return def + " NOT NULL"
}

// createTableSQL creates a table with a clustered primary key (a heap when the table has none)
// and each column's default as a named constraint (defaultName). The primary key constraint is
// left unnamed, so that SQL Server picks a name no partner object holds.
func createTableSQL(t schema.Table, coll map[string]string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + qualified(t.Name) + " (")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n\t" + newColumnDefinition(t.Name, c, coll))
	}
	if key := t.Key(); len(key) > 0 {
		b.WriteString(",\n\tPRIMARY KEY CLUSTERED (" + columnList(t, key, "") + ")")
	}
	b.WriteString("\n)")
	return b.String()
}

// dropTableSQL drops a table if it exists. OBJECT_ID rather than DROP TABLE IF EXISTS keeps
// SQL Server 2014 and databases at an older compatibility level working.
func dropTableSQL(table string) string {
	return "IF OBJECT_ID(" + literal(qualified(table)) + ", N'U') IS NOT NULL DROP TABLE " + qualified(table)
}

// tableIndex is one index of a table as indexColumnsSQL reads it.
type tableIndex struct {
	name       string
	primaryKey bool
	columns    []string
}

// alterTableSQL renders an Alter plan: one ADD of every new column (with its default), one
// ALTER COLUMN per widened column (T-SQL allows one per statement), one DROP COLUMN of every
// dropped column, and the defaults that change (plan.Defaults) dropped and added in place.
// constraints names the default constraint of each column that has one, as the catalog shows
// it.
//
// ALTER COLUMN fails on a column that an index uses, and so does DROP COLUMN. A widened key
// column is handled here: the primary key constraint is dropped before and added back (same
// name, clustered) after, in the caller's transaction. A partner's own index on a widened or
// dropped column is not dropped behind the partner's back (its definition, filters and options
// would have to be scripted and rebuilt): the plan fails with an error naming the index and the
// column, so that the partner drops it and re-creates it after the cycle. The one case SQL
// Server allows with an index in place, a longer varchar, nvarchar or varbinary of the same type
// (not to max) and the same nullability, needs nothing.
//
// coll names the columns' collations (columnCollations, with the catalog's for the columns that
// exist: a widened column keeps its own).
func alterTableSQL(plan schema.Plan, current schema.Table, indexes []tableIndex, coll map[string]string, constraints map[string]string) ([]string, error) {
	t := plan.Desired
	table := qualified(t.Name)
	var pk *tableIndex
	for i := range indexes {
		if indexes[i].primaryKey {
			pk = &indexes[i]
		}
	}
	widenKey := false
	for _, c := range plan.Widen {
		if c.PrimaryKey {
			widenKey = true
		}
		for _, ix := range indexes {
			if ix.primaryKey || !ix.uses(c.Name) {
				continue
			}
			if old := current.Column(c.Name); old >= 0 && growsInPlace(current.Columns[old], c) {
				continue
			}
			return nil, bulk.ForTable(t.Name, fmt.Errorf("column %s cannot be widened to %s while the index %s uses it; drop that index and re-create it after the cycle", c.Name, c.TypeString(), ix.name))
		}
	}
	for _, name := range plan.Drop {
		for _, ix := range indexes {
			if ix.uses(name) {
				return nil, bulk.ForTable(t.Name, fmt.Errorf("column %s cannot be dropped while the index %s uses it; drop that index first", name, ix.name))
			}
		}
	}
	if widenKey && pk == nil {
		return nil, bulk.ForTable(t.Name, errors.New("a key column is widened but the table has no primary key constraint to drop and re-add"))
	}

	// Defaults first come off the columns to drop, widen or give another default: SQL Server
	// refuses to drop a column that a default constraint is bound to, and to change its type
	// (error 5074, "The object … is dependent on column …"; ALTER TABLE: ALTER COLUMN allows a
	// column with a default only a new length, precision or scale; DROP COLUMN not at all). A
	// widened column gets its default back after.
	var stmts []string
	dropped := map[string]bool{}
	dropDefault := func(column string) {
		if name, ok := constraints[column]; ok && !dropped[column] {
			stmts = append(stmts, dropConstraintSQL(t.Name, name))
			dropped[column] = true
		}
	}
	for _, name := range plan.Drop {
		dropDefault(name)
	}
	for _, c := range plan.Widen {
		dropDefault(c.Name)
	}
	for _, c := range plan.Defaults {
		dropDefault(c.Name)
	}
	if len(plan.Add) > 0 {
		defs := make([]string, len(plan.Add))
		for i, c := range plan.Add {
			defs[i] = newColumnDefinition(t.Name, c, coll)
		}
		stmts = append(stmts, "ALTER TABLE "+table+" ADD "+strings.Join(defs, ", "))
	}
	if widenKey {
		stmts = append(stmts, "ALTER TABLE "+table+" DROP CONSTRAINT "+quote(pk.name))
	}
	for _, c := range plan.Widen {
		stmts = append(stmts, "ALTER TABLE "+table+" ALTER COLUMN "+columnDefinition(c, coll))
	}
	if widenKey {
		stmts = append(stmts, "ALTER TABLE "+table+" ADD CONSTRAINT "+quote(pk.name)+" PRIMARY KEY CLUSTERED ("+columnList(t, t.Key(), "")+")")
	}
	if len(plan.Drop) > 0 {
		names := make([]string, len(plan.Drop))
		for i, n := range plan.Drop {
			names[i] = quote(n)
		}
		stmts = append(stmts, "ALTER TABLE "+table+" DROP COLUMN "+strings.Join(names, ", "))
	}
	added := map[string]bool{}
	for _, c := range append(slices.Clone(plan.Widen), plan.Defaults...) {
		if c.Default != "" && !added[c.Name] {
			stmts = append(stmts, addDefaultSQL(t.Name, c))
			added[c.Name] = true
		}
	}
	return stmts, nil
}

// defaultName is the name of the default constraint mirrord gives a column: "DF_", the table,
// the column, and 8 hex digits of a hash of both, cut to SQL Server's 128 characters (the names
// are ASCII: checkIdentifier). Named, not left to SQL Server, so that the DDL is the same on
// every server and in the golden files; the hash keeps "a_b"."c" and "a"."b_c" apart, and makes
// a name no partner object is likely to hold. A default is dropped by the name the catalog
// shows (defaultConstraintsSQL), whoever named it.
func defaultName(table, column string) string {
	sum := sha256.Sum256([]byte(table + "\x00" + column))
	suffix := "_" + hex.EncodeToString(sum[:4])
	name := "DF_" + table + "_" + column
	if len(name)+len(suffix) > schema.MaxNameLength {
		name = name[:schema.MaxNameLength-len(suffix)]
	}
	return name + suffix
}

// defaultClause is a column's default as a named constraint, for CREATE TABLE and ALTER TABLE
// ADD; empty when it has none. The text is SQL Server's own catalog text of the default
// (schema.Column.Default: "((0))", "(getdate())"), written as it is.
func defaultClause(table string, c schema.Column) string {
	if c.Default == "" {
		return ""
	}
	return " CONSTRAINT " + quote(defaultName(table, c.Name)) + " DEFAULT " + c.Default
}

// newColumnDefinition is a column's definition with its default, for a column that does not
// exist yet. A nullable column added with a default keeps NULL in the rows already there (no
// WITH VALUES: "If WITH VALUES isn't specified for columns that allow nulls, NULL is stored in
// the new column in existing rows", ALTER TABLE), as schema.Plan.Add says.
func newColumnDefinition(table string, c schema.Column, coll map[string]string) string {
	return columnDefinition(c, coll) + defaultClause(table, c)
}

// addDefaultSQL gives an existing column its default.
func addDefaultSQL(table string, c schema.Column) string {
	return "ALTER TABLE " + qualified(table) + " ADD CONSTRAINT " + quote(defaultName(table, c.Name)) + " DEFAULT " + c.Default + " FOR " + quote(c.Name)
}

// dropConstraintSQL drops a constraint of a table by name.
func dropConstraintSQL(table, constraint string) string {
	return "ALTER TABLE " + qualified(table) + " DROP CONSTRAINT " + quote(constraint)
}

// defaultConstraintsSQL lists the default constraints of a table (@p1, qualified): the column
// and the constraint's name.
const defaultConstraintsSQL = `SELECT c.name, dc.name
FROM sys.default_constraints AS dc
JOIN sys.columns AS c ON c.object_id = dc.parent_object_id AND c.column_id = dc.parent_column_id
WHERE dc.parent_object_id = OBJECT_ID(@p1, N'U')`

func (ix tableIndex) uses(column string) bool {
	for _, c := range ix.columns {
		if strings.EqualFold(c, column) {
			return true
		}
	}
	return false
}

// growsInPlace reports whether SQL Server alters a column from a to b with an index on it:
// same variable-length type, longer but not max, same nullability.
func growsInPlace(a, b schema.Column) bool {
	switch a.Type {
	case schema.VarChar, schema.NVarChar, schema.VarBinary:
	default:
		return false
	}
	return a.Type == b.Type && a.Nullable == b.Nullable && a.Length != schema.Max && b.Length != schema.Max && b.Length >= a.Length
}

// truncateSQL empties a table and keeps its indexes. SQL Server refuses it on a table that a
// foreign key references or that an indexed view uses (and without ALTER permission): then
// deleteAllSQL does it row by row.
func truncateSQL(table string) string { return "TRUNCATE TABLE " + qualified(table) }

func deleteAllSQL(table string) string { return "DELETE FROM " + qualified(table) }

func rowCountSQL(table string) string { return "SELECT COUNT_BIG(*) FROM " + qualified(table) }
