package pgsql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
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
	prefix := uniquePrefix()
	if opts.NameTemplate == "" {
		opts.NameTemplate = prefix + "{ctx}"
	} else {
		opts.NameTemplate = prefix + opts.NameTemplate
	}
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

// readRows reads every row of a table as the Go values bulk.go documents for the column types.
func readRows(ctx context.Context, bm bulk.Mirror, table schema.Table) ([][]any, error) {
	m := bm.(*Mirror)
	var sel []string
	for _, c := range table.Columns {
		q := quote(c.Name)
		switch c.Type {
		case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
			q += "::text"
		}
		sel = append(sel, q)
	}
	rows, err := m.pool.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+m.rel(table.Name).String())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		raw, err := rows.Values()
		if err != nil {
			return nil, err
		}
		row := make([]any, len(raw))
		for i, v := range raw {
			if row[i], err = goValue(table.Columns[i], v); err != nil {
				return nil, fmt.Errorf("table %s, column %s: %w", table.Name, table.Columns[i].Name, err)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
}

// goValue turns what pgx decodes into the bulk value of the column's type.
func goValue(c schema.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	if s, ok := v.(string); ok && (c.Type == schema.Decimal || c.Type == schema.Numeric || c.Type == schema.Money || c.Type == schema.SmallMoney) {
		return bulk.Decimal(s), nil
	}
	switch x := v.(type) {
	case bool, string, []byte, float64:
		return x, nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float32:
		return float64(x), nil
	case time.Time:
		if c.Type == schema.DateTimeOffset {
			return x, nil
		}
		return x.UTC(), nil
	case pgtype.Time:
		return bulk.TimeOfDay(time.Duration(x.Microseconds) * time.Microsecond), nil
	case [16]byte:
		return bulk.UUID(x), nil
	}
	return nil, fmt.Errorf("unexpected %T from the database", v)
}
