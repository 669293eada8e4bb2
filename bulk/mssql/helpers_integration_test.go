package mssql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
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

// readRows reads every row of a table as the Go values bulk documents, by way of their text form
// and bulk.ParseValue where the driver's own type differs.
func readRows(ctx context.Context, m bulk.Mirror, tbl schema.Table) ([][]any, error) {
	var out [][]any
	names := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		names[i] = quote(c.Name)
	}
	err := m.(*Mirror).withConn(ctx, func(c *sql.Conn) error {
		rows, err := c.QueryContext(ctx, "SELECT "+strings.Join(names, ", ")+" FROM "+qualified(tbl.Name))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			raw := make([]any, len(tbl.Columns))
			ptrs := make([]any, len(raw))
			for i := range raw {
				ptrs[i] = &raw[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			row := make([]any, len(raw))
			for i, col := range tbl.Columns {
				v, err := fromDriver(col.Normalize(), raw[i])
				if err != nil {
					return fmt.Errorf("column %s: %w", col.Name, err)
				}
				row[i] = v
			}
			out = append(out, row)
		}
		return rows.Err()
	})
	return out, err
}

// fromDriver turns what go-mssqldb returns for a column into the bulk Go type.
func fromDriver(col schema.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch col.Type {
	case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
		var text string
		switch d := v.(type) {
		case []byte:
			text = string(d)
		case string:
			text = d
		default:
			text = fmt.Sprint(d)
		}
		return bulk.ParseValue(col, text)
	case schema.Real:
		if f, ok := v.(float32); ok {
			return float64(f), nil
		}
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		switch i := v.(type) {
		case int64:
			return i, nil
		case uint8:
			return int64(i), nil
		case []byte:
			return strconv.ParseInt(string(i), 10, 64)
		}
	case schema.Date, schema.DateTime, schema.DateTime2, schema.SmallDateTime:
		if t, ok := v.(time.Time); ok {
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
		}
	case schema.Time:
		if t, ok := v.(time.Time); ok {
			return bulk.TimeOfDay(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())), nil
		}
	case schema.UniqueIdentifier:
		if b, ok := v.([]byte); ok {
			return guidFromWire(b)
		}
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		if b, ok := v.([]byte); ok {
			return string(b), nil
		}
	}
	return v, nil
}
