package pgsql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// testDSN is the PostgreSQL server the integration tests use.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("MIRRORD_TEST_PG_DSN is not set; set it to a PostgreSQL 15+ superuser DSN (e.g. postgres://mirrord@127.0.0.1:5433/postgres?sslmode=disable) or run scripts/with-postgres.sh")
	}
	return dsn
}

// uniquePrefix is a database name prefix of its own for one test, so that tests sharing the
// server never meet each other's databases.
func uniquePrefix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "mt" + hex.EncodeToString(b) + "_"
}

// openTestTarget opens a Target whose databases carry a unique prefix, and drops them when the
// test ends.
func openTestTarget(t testing.TB, opts Options) *Target {
	t.Helper()
	dsn := testDSN(t)
	return openTargetAt(t, dsn, dsn, opts)
}

// openTargetAt opens a target on connect, a DSN of the test server (through a proxy, say), and
// drops its databases at the end through dsn, the server's own.
func openTargetAt(t testing.TB, dsn, connect string, opts Options) *Target {
	t.Helper()
	prefix := uniquePrefix()
	if opts.NameTemplate == "" {
		opts.NameTemplate = prefix + "{ctx}"
	} else {
		opts.NameTemplate = prefix + opts.NameTemplate
	}
	target, err := Open(context.Background(), connect, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		_ = target.Close()
		dropDatabases(t, dsn, prefix)
	})
	return target
}

// dropDatabases drops every database whose name starts with prefix.
func dropDatabases(t testing.TB, dsn, prefix string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Errorf("dropping test databases: %v", err)
		return
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
	if err != nil {
		t.Errorf("dropping test databases: %v", err)
		return
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Errorf("dropping test databases: %v", err)
		return
	}
	for _, name := range names {
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	}
}

func openTestMirror(t testing.TB, target *Target, tenant string) *Mirror {
	t.Helper()
	m, err := target.open(context.Background(), tenant)
	if err != nil {
		t.Fatalf("Open(%s): %v", tenant, err)
	}
	return m
}

// execSQL runs one statement in the mirror's database.
func execSQL(ctx context.Context, m bulk.Mirror, sql string) error {
	_, err := m.(*Mirror).pool.Exec(ctx, sql)
	return err
}

// readRows reads every row of a table through the mirror's Inspector.
func readRows(ctx context.Context, m bulk.Mirror, table schema.Table) ([][]any, error) {
	return bulktest.ReadAll(ctx, m, table)
}
