package mssql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// testDSN is the SQL Server the live tests use.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MIRRORD_TEST_MSSQL_DSN")
	if dsn == "" {
		t.Skip("MIRRORD_TEST_MSSQL_DSN is not set; set it to a SQL Server login that may CREATE DATABASE, e.g. sqlserver://sa:Passw0rd!@127.0.0.1:1433?database=master")
	}
	return dsn
}

// uniquePrefix is a database name prefix of its own for one test.
func uniquePrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "mt" + hex.EncodeToString(b) + "_"
}

// dropDatabases drops every database whose name starts with prefix. The callers close their
// targets first, so that no session of mirrord holds a database.
func dropDatabases(t testing.TB, dsn, prefix string) {
	t.Helper()
	base, err := parseDSN(dsn)
	if err != nil {
		t.Errorf("drop test databases: %v", err)
		return
	}
	db, err := openDB(base, queryValue(base.Query(), "database"))
	if err != nil {
		t.Errorf("drop test databases: %v", err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	var edition int
	if err := db.QueryRowContext(ctx, engineEditionSQL).Scan(&edition); err != nil {
		t.Errorf("drop test databases: %v", err)
		return
	}
	rows, err := db.QueryContext(ctx, testDatabasesSQL, prefix)
	if err != nil {
		t.Errorf("drop test databases: %v", err)
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	rows.Close()
	for _, n := range names {
		for _, stmt := range dropStatements(n, edition) {
			if err := execRetryInUse(ctx, db, stmt); err != nil {
				t.Errorf("drop database %s: %v", n, err)
				break
			}
		}
	}
}

// engineEditionSQL is SERVERPROPERTY('EngineEdition'): 5 is Azure SQL Database.
const engineEditionSQL = "SELECT CONVERT(int, SERVERPROPERTY('EngineEdition'))"

// testDatabasesSQL lists the databases whose names start with @p1. Not LIKE: the prefix holds
// '_', a LIKE wildcard.
const testDatabasesSQL = "SELECT name FROM sys.databases WHERE LEFT(name, LEN(@p1)) = @p1"

// dropStatements drops a database, each statement its own batch. Azure SQL Database (engine
// edition 5) has no SINGLE_USER ("<db_user_access_option> ::= { RESTRICTED_USER | MULTI_USER }",
// ALTER DATABASE (Azure SQL Database)) and takes DROP DATABASE only alone in its batch,
// connected to master (DROP DATABASE, Azure SQL Database section); on SQL Server SINGLE_USER
// WITH ROLLBACK IMMEDIATE first ends every other session of the database.
func dropStatements(database string, engineEdition int) []string {
	var stmts []string
	if engineEdition != 5 {
		stmts = append(stmts, "ALTER DATABASE "+quote(database)+" SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
	}
	return append(stmts, "DROP DATABASE "+quote(database))
}

// execRetryInUse runs stmt, again while it fails with 3702 (the database is in use: on Azure a
// session just closed may take a moment to go), for up to 30 seconds.
func execRetryInUse(ctx context.Context, db *sql.DB, stmt string) error {
	deadline := time.Now().Add(30 * time.Second)
	for delay := 200 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		_, err := db.ExecContext(ctx, stmt)
		if err == nil || !isError(err, 3702) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(delay)
	}
}

func openTestTarget(t testing.TB, opts Options) *Target {
	t.Helper()
	dsn := testDSN(t)
	prefix := uniquePrefix()
	opts.NameTemplate = prefix + "{ctx}"
	target, err := Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = target.Close()
		dropDatabases(t, dsn, prefix)
	})
	return target
}

func execSQL(ctx context.Context, m bulk.Mirror, stmt string) error {
	return m.(*Mirror).withConn(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, stmt)
		return err
	})
}

// readRows reads every row of a table through the mirror's Inspector.
func readRows(ctx context.Context, m bulk.Mirror, tbl schema.Table) ([][]any, error) {
	return bulktest.ReadAll(ctx, m, tbl)
}
