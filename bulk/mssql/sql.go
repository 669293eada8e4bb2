package mssql

import (
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Every T-SQL text of the package is made in this file and the other *_sql.go files, by small
// pure functions that golden files test.
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
// quotes each part itself (quoteObjectName) and writes the name as given into
// the COLMETADATA of text, ntext and image columns ((*Bulk).createColMetadata): dbo.name,
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
