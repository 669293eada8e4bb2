package mssql

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// Every T-SQL text of the package is made here, by small pure functions that golden files test.
// No SQL Server runs where this package is built, so the exact text is what the tests can hold.

// checkIdentifier checks a name with schema.CheckName, whose 128-character limit is SQL Server's.
func checkIdentifier(kind, name string) error { return schema.CheckName(kind, name) }

// checkTableNames checks the table's name and every column name as identifiers.
func checkTableNames(t schema.Table) error {
	if err := checkIdentifier("table", t.Name); err != nil {
		return err
	}
	for _, c := range t.Columns {
		if err := checkIdentifier("column", c.Name); err != nil {
			return bulk.ForTable(t.Name, err)
		}
	}
	return nil
}

// quote bracket-quotes an identifier, doubling any ]. Names reaching it have passed
// checkIdentifier, so the doubling is a second line of defence, not the first.
func quote(name string) string { return "[" + strings.ReplaceAll(name, "]", "]]") + "]" }

// qualified names a mirror table or the state table in the dbo schema: [dbo].[name].
//
// A one-part name resolves differently in DDL and in other statements ("Name resolution, default
// schema, implicit schema", SQL Server team blog): CREATE makes it in the user's default schema,
// while a reference looks in sys, then the default schema, then dbo. A login whose user has a
// default schema other than dbo (a partner's database, a Windows or Entra group principal)
// would create tables in one schema and find, or drop, another schema's; and a mirrored table
// named like a catalog view (sysobjects) would resolve to the view. Two parts remove both. The
// session's #staging tables are never qualified: # names always mean the session's temporary
// tables in tempdb.
func qualified(name string) string { return "[dbo]." + quote(name) }

// bulkTarget names a mirror table for go-mssqldb's bulk copy, which splits the name on dots and
// quotes each part itself (quoteObjectName, quoter.go:156-175) and writes the name as given into
// the COLMETADATA of text, ntext and image columns (bulkcopy.go createColMetadata): dbo.name,
// where the name has passed checkIdentifier (letters, digits, underscores).
func bulkTarget(name string) string { return "dbo." + name }

// literal is an N” string constant.
func literal(s string) string { return "N'" + strings.ReplaceAll(s, "'", "''") + "'" }

// params is @p1, @p2, … @pn starting at first, for IN lists of table names.
func params(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("@p" + strconv.Itoa(first+i))
	}
	return b.String()
}

// The staging table's own columns have names that schema.CheckName rejects, so that they can
// never collide with a mirrored column.
const (
	seqColumn    = "[#seq]"
	deleteColumn = "[#del]"
	rowNumber    = "[#rn]"
)

// sessionSetupSQL is run on every new connection. These are the settings that indexed views,
// filtered indexes and computed-column indexes (which a partner may add to a mirror) require
// for any write; XACT_ABORT stays OFF so that a duplicate key in a direct load can roll back to
// its savepoint instead of dooming the whole transaction; NOCOUNT stays OFF so that row counts
// come back.
const sessionSetupSQL = "SET ANSI_NULLS ON; SET ANSI_PADDING ON; SET ANSI_WARNINGS ON; SET ARITHABORT ON; " +
	"SET CONCAT_NULL_YIELDS_NULL ON; SET QUOTED_IDENTIFIER ON; SET NUMERIC_ROUNDABORT OFF; " +
	"SET XACT_ABORT OFF; SET NOCOUNT OFF"

// databaseStateSQL reads a database's (@p1) row of sys.databases on the admin connection: its
// state (ONLINE when it takes work; CREATE DATABASE may return, notably on Azure SQL, before it
// does) and its collation. Unlike DB_ID and DATABASEPROPERTYEX, it works for another database
// on Azure SQL Database too, for a login that may see the row (decideDatabase).
const databaseStateSQL = "SELECT state_desc, collation_name FROM sys.databases WHERE name = @p1"

// createDatabaseSQL creates a database, with the options Open checked (checkCreateOptions). It
// is sent alone: Azure SQL Database requires CREATE DATABASE to be the only statement of its
// batch.
func createDatabaseSQL(database, options string) string {
	if options = strings.TrimSpace(options); options != "" {
		return "CREATE DATABASE " + quote(database) + " " + options
	}
	return "CREATE DATABASE " + quote(database)
}

// createStateTableSQL creates the tenant's state table unless it exists: a row per mirrored
// table (its schema hash, LSN, the SQL Server defaults it keeps, the cycle that last named it and
// its counts in the current cycle) and the cycle row (bulk.CycleRow: the cycle's number in lsn
// and its stage in schemahash). Table names compare by the database's collation, as the
// catalog does.
func createStateTableSQL(state string) string {
	var b strings.Builder
	b.WriteString("IF OBJECT_ID(" + literal(qualified(state)) + ", N'U') IS NULL\n" +
		"CREATE TABLE " + qualified(state) + " (\n" +
		"\ttablename nvarchar(128) NOT NULL PRIMARY KEY,\n" +
		"\tschemahash varchar(64) NOT NULL,\n" +
		"\tlsn bigint NOT NULL,\n" +
		"\tchanged_at datetime2(3) NULL")
	for _, c := range statetable.Added {
		b.WriteString(",\n\t" + c.Name + " " + stateColumnType(c.Kind))
	}
	b.WriteString("\n)")
	return b.String()
}

// stateColumnType is SQL Server's type of a state table column that later versions added.
func stateColumnType(k statetable.Kind) string {
	switch k {
	case statetable.Text:
		return "nvarchar(max) NULL"
	case statetable.Number:
		return "bigint NULL"
	}
	return "bigint NOT NULL DEFAULT 0"
}

// upgradeStateTableSQL adds the columns a state table made by an earlier version lacks. A
// column added NOT NULL with a default takes the default in every existing row.
func upgradeStateTableSQL(state string) string {
	var parts []string
	for _, c := range statetable.Added {
		parts = append(parts, "IF COL_LENGTH("+literal(qualified(state))+", "+literal(c.Name)+") IS NULL ALTER TABLE "+qualified(state)+" ADD "+c.Name+" "+stateColumnType(c.Kind))
	}
	return strings.Join(parts, ";\n")
}

// notCycle leaves the cycle row out of a statement about tables.
const notCycle = "tablename <> N'" + bulk.CycleRow + "'"

func stateSelectSQL(state string) string {
	return "SELECT tablename, schemahash, lsn, changed_at, COALESCE(defaults, N''), inserted, updated, deleted, " + rewindSQL(state) + " FROM " + qualified(state) +
		" WHERE " + notCycle + " ORDER BY tablename"
}

// rewindSQL says whether the cycle in progress created or wiped a state row's table.
func rewindSQL(state string) string {
	return "CAST(CASE WHEN wiped_cycle = " + currentCycleSQL(state) + " THEN 1 ELSE 0 END AS bit)"
}

// stateLockSQL reads the state rows of n tables (@p1…@pn) and locks them (and the gaps where
// missing ones would go) until the transaction ends.
func stateLockSQL(state string, n int) string {
	return "SELECT tablename, schemahash FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (" + params(1, n) + ") ORDER BY tablename"
}

// stateApplyLockSQL reads one table's (@p1) hash and LSN and locks its row until the apply ends:
// applies of one table, and migrations of it, wait for each other across processes.
func stateApplyLockSQL(state string) string {
	return "SELECT schemahash, lsn, " + rewindSQL(state) + " FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename = @p1"
}

// stateListedSQL counts the state rows of a table (@p1), without locking.
func stateListedSQL(state string) string {
	return "SELECT COUNT(*) FROM " + qualified(state) + " WHERE tablename = @p1"
}

// currentCycleSQL is the number of the cycle in progress, NULL when none is.
func currentCycleSQL(state string) string {
	return "(SELECT lsn FROM " + qualified(state) + " WHERE tablename = N'" + bulk.CycleRow + "' AND schemahash <> 'ended')"
}

// stateUpsertSQL records a created table (@p1 name, @p2 hash, @p3 defaults) with no data, named
// by the cycle in progress. The caller holds the row's lock (stateLockSQL), so the check and the
// write cannot race.
func stateUpsertSQL(state string) string {
	q := qualified(state)
	return "UPDATE " + q + " SET schemahash = @p2, lsn = -1, changed_at = SYSUTCDATETIME(), defaults = NULLIF(@p3, N''), cycle = " + currentCycleSQL(state) +
		", wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename = @p1;\n" +
		"IF @@ROWCOUNT = 0 INSERT INTO " + q + " (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle) VALUES (@p1, @p2, -1, SYSUTCDATETIME(), NULLIF(@p3, N''), " +
		currentCycleSQL(state) + ", " + currentCycleSQL(state) + ")"
}

// stateSetHashSQL records a new hash (@p2) and defaults (@p3) of a table (@p1), keeping its LSN.
func stateSetHashSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = @p2, defaults = NULLIF(@p3, N''), changed_at = SYSUTCDATETIME() WHERE tablename = @p1"
}

// stateAppliedSQL records what an apply did to a table (@p1): the LSN (@p3) when @p2 is 1, and
// the rows it inserted (@p4), updated (@p5) and deleted (@p6), added to the cycle's counts.
func stateAppliedSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET lsn = CASE WHEN @p2 = 1 THEN @p3 ELSE lsn END,\n" +
		"\tchanged_at = CASE WHEN @p2 = 1 THEN SYSUTCDATETIME() ELSE changed_at END,\n" +
		"\tinserted = inserted + @p4, updated = updated + @p5, deleted = deleted + @p6\n" +
		"WHERE tablename = @p1"
}

// stateWipedSQL sets the LSN of n tables (@p1…@pn) to -1 and records that the cycle in progress
// wiped them.
func stateWipedSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME(), wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename IN (" + params(1, n) + ")"
}

// stateInvalidateSQL sets the LSN of n tables (@p1…@pn) to -1.
func stateInvalidateSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename IN (" + params(1, n) + ")"
}

// stateInvalidateAllSQL sets the LSN of every table to -1.
func stateInvalidateAllSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE " + notCycle
}

// stateDeleteSQL forgets n tables (@p1…@pn).
func stateDeleteSQL(state string, n int) string {
	return "DELETE FROM " + qualified(state) + " WHERE tablename IN (" + params(1, n) + ")"
}

// schemaLockSQL serializes the schema changes of one mirror database across processes until the
// transaction ends: an application lock owned by the transaction (sp_getapplock), waiting as
// long as the caller's context does. A negative result (timeout, deadlock victim) fails loudly.
const schemaLockSQL = "DECLARE @r int;\n" +
	"EXEC @r = sp_getapplock @Resource = N'mirrord_schema', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = -1;\n" +
	"IF @r < 0 THROW 50000, N'mirrord could not take the mirror''s schema lock', 1"

// beginCycleSQL starts the next cycle once the last one ended (its number goes up by one, and no
// table is named yet) and sets every table's cycle counts to zero. An Authenticate inside a cycle
// that has not ended continues it, so that what its TableSchema calls named so far stays named.
func beginCycleSQL(state string) string {
	q := qualified(state)
	return "UPDATE " + q + " SET lsn = CASE WHEN schemahash = 'ended' THEN lsn + 1 ELSE lsn END,\n" +
		"\tschemahash = CASE WHEN schemahash = 'ended' THEN 'open' ELSE schemahash END, changed_at = SYSUTCDATETIME() WHERE tablename = N'" + bulk.CycleRow + "';\n" +
		"IF @@ROWCOUNT = 0 INSERT INTO " + q + " (tablename, schemahash, lsn, changed_at) VALUES (N'" + bulk.CycleRow + "', 'open', 1, SYSUTCDATETIME());\n" +
		"UPDATE " + q + " SET inserted = 0, updated = 0, deleted = 0 WHERE " + notCycle + " AND (inserted <> 0 OR updated <> 0 OR deleted <> 0)"
}

// nameCycleSQL marks the cycle in progress as having made a TableSchema call and returns its number.
func nameCycleSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = 'named' OUTPUT inserted.lsn WHERE tablename = N'" + bulk.CycleRow + "' AND schemahash <> 'ended'"
}

// nameTablesSQL records that the cycle @p1 named n tables (@p2…).
func nameTablesSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET cycle = @p1 WHERE tablename IN (" + params(2, n) + ")"
}

// cycleLockSQL reads the cycle row (its number and stage) and locks it until the transaction ends.
func cycleLockSQL(state string) string {
	return "SELECT lsn, schemahash FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename = N'" + bulk.CycleRow + "'"
}

// unnamedSQL lists the tables the cycle @p1 did not name.
func unnamedSQL(state string) string {
	return "SELECT tablename FROM " + qualified(state) + " WHERE " + notCycle + " AND (cycle IS NULL OR cycle <> @p1) ORDER BY tablename"
}

// endCycleSQL marks the cycle as ended.
func endCycleSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = 'ended', changed_at = SYSUTCDATETIME() WHERE tablename = N'" + bulk.CycleRow + "'"
}

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

// Transaction control is plain T-SQL on one pinned session, so that bulk copy (a driver-level
// call on the same connection) runs inside the same transaction.
const (
	beginSQL    = "BEGIN TRANSACTION"
	commitSQL   = "COMMIT TRANSACTION"
	rollbackSQL = "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"
	// xactStateSQL is 1 for a live transaction, -1 for a doomed one that can only roll back.
	xactStateSQL = "SELECT XACT_STATE()"
)

func saveSQL(savepoint string) string       { return "SAVE TRANSACTION " + quote(savepoint) }
func rollbackToSQL(savepoint string) string { return "ROLLBACK TRANSACTION " + quote(savepoint) }
func dropStageSQL(stage string) string      { return "DROP TABLE " + quote(stage) }
func truncateStageSQL(stage string) string  { return "TRUNCATE TABLE " + quote(stage) }
func stageName(n int) string                { return "#mirrord_stage_" + strconv.Itoa(n) }
func dropStaleStageSQL(stage string) string {
	return "IF OBJECT_ID(" + literal("tempdb.."+quote(stage)) + ") IS NOT NULL DROP TABLE " + quote(stage)
}
func columnRef(alias string, c schema.Column) string { return alias + "." + quote(c.Name) }

// columnList is the quoted names of some columns, each prefixed with alias and a dot when given.
func columnList(t schema.Table, cols []int, alias string) string {
	var b strings.Builder
	for i, ci := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		if alias != "" {
			b.WriteString(alias + ".")
		}
		b.WriteString(quote(t.Columns[ci].Name))
	}
	return b.String()
}

// createStageSQL creates a session staging table for one segment: a sequence number, a delete
// flag and the segment's columns in their staging types. It is a heap with no index or
// constraint: bulk copy into it is the cheapest load SQL Server has, and since a #table belongs
// to its session, every connection loads its own at the same time as the others.
//
// coll names the collations of the table's columns (columnCollations): a key column's staging
// column takes the key column's.
func createStageSQL(stage string, t schema.Table, cols []int, coll map[string]string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quote(stage) + " (" + seqColumn + " bigint NOT NULL, " + deleteColumn + " bit NOT NULL")
	for _, ci := range cols {
		c := t.Columns[ci]
		b.WriteString(", " + quote(c.Name) + " " + stageType(c, coll[c.Name]) + " NULL")
	}
	b.WriteString(")")
	return b.String()
}

// stageProjection selects a segment's columns from alias, converted from their staging types to
// the table's types, so that the key comparison is between like types (a varchar key compared
// with an nvarchar value would convert the table's column and scan instead of seek).
//
// A text or ntext column that coll gives a collation of its own (where the database's cannot
// hold them: legacyCollation) is not cast to text or ntext, which would take the database's
// collation and fail (error 4189): the staged value takes the column's collation and becomes
// varchar(max) or nvarchar(max) in it, and the write into the column converts it implicitly
// ("You can insert or update values in a text column whose collation is different from the code
// page of the default collation of the database. SQL Server implicitly converts the values to the
// collation of the column", Set or change the column collation).
func stageProjection(t schema.Table, cols []int, alias string, coll map[string]string) string {
	var b strings.Builder
	for i, ci := range cols {
		c := t.Columns[ci]
		if i > 0 {
			b.WriteString(", ")
		}
		switch legacy := coll[c.Name]; {
		case legacy != "" && c.Type == schema.Text:
			b.WriteString("CAST(" + columnRef(alias, c) + " COLLATE " + legacy + " AS varchar(max)) AS " + quote(c.Name))
		case legacy != "" && c.Type == schema.NText:
			b.WriteString("CAST(" + columnRef(alias, c) + " COLLATE " + legacy + " AS nvarchar(max)) AS " + quote(c.Name))
		case stageBaseType(c) == c.TypeString():
			b.WriteString(columnRef(alias, c))
		default:
			b.WriteString("CAST(" + columnRef(alias, c) + " AS " + c.TypeString() + ") AS " + quote(c.Name))
		}
	}
	return b.String()
}

// lastStateSQL selects the last row of each key from a staging table, its delete flag and its
// columns in the table's types: ROW_NUMBER over the key, newest sequence number first.
func lastStateSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	return "SELECT " + "s." + deleteColumn + ", " + stageProjection(t, cols, "s", coll) + "\n\tFROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY " +
		columnList(t, t.Key(), "") + " ORDER BY " + seqColumn + " DESC) AS " + rowNumber + " FROM " + quote(stage) + ") AS s\n\tWHERE s." + rowNumber + " = 1"
}

// keyMatch is the join condition of the key columns between two aliases.
func keyMatch(t schema.Table, a, b string) string {
	var parts []string
	for _, ki := range t.Key() {
		c := t.Columns[ki]
		parts = append(parts, columnRef(a, c)+" = "+columnRef(b, c))
	}
	return strings.Join(parts, " AND ")
}

// nonKey returns the segment's columns that are not part of the key.
func nonKey(t schema.Table, cols []int) []int {
	var out []int
	for _, ci := range cols {
		if !t.Columns[ci].PrimaryKey {
			out = append(out, ci)
		}
	}
	return out
}

// mergeSQL writes the last state of every key of a staging table into the table in one MERGE:
// deletes, updates of the segment's columns only, and inserts (columns the segment lacks take
// their default, NULL where they have none, as the source's row did when it was inserted
// without them).
//
// MERGE rather than DELETE + UPDATE + INSERT: one statement reads the staging table and probes
// the clustered key once per row, where the trio reads both three times; on PostgreSQL the same
// choice measured 0.80 s against 1.16 s (bulk/pgsql/apply_benchmark_test.go). MERGE's known
// faults on SQL Server concern triggers, filtered indexes with the target as source, and
// races without a serializable hint: mirrors have no triggers of ours, and HOLDLOCK takes the
// key-range locks that make a concurrent writer wait instead of breaking the key.
func mergeSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	var b strings.Builder
	b.WriteString("MERGE INTO " + qualified(t.Name) + " WITH (HOLDLOCK) AS dst\n")
	b.WriteString("USING (" + lastStateSQL(t, stage, cols, coll) + ") AS src\n")
	b.WriteString("ON " + keyMatch(t, "dst", "src") + "\n")
	b.WriteString("WHEN MATCHED AND src." + deleteColumn + " = 1 THEN DELETE\n")
	if rest := nonKey(t, cols); len(rest) > 0 {
		var set []string
		for _, ci := range rest {
			c := t.Columns[ci]
			set = append(set, quote(c.Name)+" = "+columnRef("src", c))
		}
		b.WriteString("WHEN MATCHED THEN UPDATE SET " + strings.Join(set, ", ") + "\n")
	}
	pad := omittedDefaults(t, cols)
	b.WriteString("WHEN NOT MATCHED BY TARGET AND src." + deleteColumn + " = 0 THEN INSERT (" + columnList(t, append(slices.Clone(cols), pad...), "") + ")\n")
	b.WriteString("\tVALUES (" + columnList(t, cols, "src") + strings.Repeat(", NULL", len(pad)) + ")\n")
	b.WriteString("OUTPUT LEFT($action, 1) INTO " + mergeActions + " (a);")
	return b.String()
}

// mergeActions is the session's table that a MERGE writes what it did to, a row per row changed:
// 'I', 'U' or 'D'. A #table and not a table variable: "An OUTPUT clause that returns results to
// the client, or table variable, always uses a serial plan" (OUTPUT clause (Transact-SQL),
// Parallelism), which would make every MERGE of a large staging table serial; into a temporary
// table the MERGE keeps a parallel plan where the optimizer chooses one. Whether it does for
// this MERGE has not been measured on a live server.
const mergeActions = "#mirrord_actions"

// countedMergeSQL is one batch that runs a MERGE and answers one row: the rows it inserted,
// updated and deleted, from the $action of each row it changed ($action names what each row
// really did, where @@ROWCOUNT gives only the sum). The session's actions table is created on
// its first merge and emptied before each (truncateStageSQL's caller empties it after, too).
func countedMergeSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	return "IF OBJECT_ID(N'tempdb.." + mergeActions + "') IS NULL CREATE TABLE " + mergeActions + " (a char(1) NOT NULL)\n" +
		"ELSE TRUNCATE TABLE " + mergeActions + ";\n" +
		mergeSQL(t, stage, cols, coll) + "\n" +
		"SELECT COUNT_BIG(CASE WHEN a = 'I' THEN 1 END), COUNT_BIG(CASE WHEN a = 'U' THEN 1 END), COUNT_BIG(CASE WHEN a = 'D' THEN 1 END)\n" +
		"\tFROM " + mergeActions
}

// emptyAfterMergeSQL empties a staging table and the actions table after a merge read its counts,
// in one round trip: rows whose columns alternate must not merge the same rows twice, and the
// actions of a large merge need not stay in tempdb until the session's next one.
func emptyAfterMergeSQL(stage string) string {
	return truncateStageSQL(stage) + ";\nTRUNCATE TABLE " + mergeActions
}

// insertFromStageSQL appends a staging table's rows to a keyless table, in load order.
func insertFromStageSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	pad := omittedDefaults(t, cols)
	return "INSERT INTO " + qualified(t.Name) + " WITH (TABLOCK) (" + columnList(t, append(slices.Clone(cols), pad...), "") + ")\n\tSELECT " +
		stageProjection(t, cols, "s", coll) + strings.Repeat(", NULL", len(pad)) + " FROM " + quote(stage) + " AS s ORDER BY s." + seqColumn
}

// omittedDefaults are the nullable columns of t that cols leaves out and that have a default:
// every default is SQL Server's own, so each applies.
func omittedDefaults(t schema.Table, cols []int) []int {
	return bulk.OmittedDefaults(t, cols, func(c schema.Column) (string, bool) { return c.Default, true })
}

// serverIdentitySQL reads what mirrord check reports of a server: version, level, edition,
// engine edition (5 is Azure SQL Database), collation, the login and the database.
const serverIdentitySQL = "SELECT CONVERT(nvarchar(128), SERVERPROPERTY('ProductVersion')), CONVERT(nvarchar(128), SERVERPROPERTY('ProductLevel')),\n" +
	"\tCONVERT(nvarchar(128), SERVERPROPERTY('Edition')), CONVERT(int, SERVERPROPERTY('EngineEdition')),\n" +
	"\tCONVERT(nvarchar(128), SERVERPROPERTY('Collation')), SUSER_SNAME(), DB_NAME()"

// createDatabasePermsSQL reads whether the login may create databases: on SQL Server the
// server permission and the two server roles that carry it; on Azure SQL Database (engine
// edition 5), in master, the database permission, dbmanager and ##MS_DatabaseManager##.
func createDatabasePermsSQL(engineEdition int) string {
	if engineEdition == 5 {
		return "SELECT HAS_PERMS_BY_NAME(NULL, N'DATABASE', N'CREATE DATABASE'), IS_ROLEMEMBER(N'dbmanager'), IS_SRVROLEMEMBER(N'##MS_DatabaseManager##')"
	}
	return "SELECT HAS_PERMS_BY_NAME(NULL, NULL, N'CREATE ANY DATABASE'), IS_SRVROLEMEMBER(N'dbcreator'), IS_SRVROLEMEMBER(N'sysadmin')"
}

// listDatabasesSQL lists the databases the login sees.
const listDatabasesSQL = "SELECT name FROM sys.databases ORDER BY name"

// checkProbeSQL is the probe of mirrord check in a mirror database: a table created and altered
// in a transaction that is rolled back (the bulk load runs between CREATE and ALTER).
func checkProbeSQL(table string) []string {
	return []string{
		beginSQL,
		"CREATE TABLE " + qualified(table) + " (id int NOT NULL PRIMARY KEY, s nvarchar(10) NULL)",
		"ALTER TABLE " + qualified(table) + " ADD x int NULL",
		"ROLLBACK TRANSACTION",
	}
}
