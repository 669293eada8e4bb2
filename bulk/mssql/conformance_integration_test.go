package mssql

import (
	"context"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// TestConformance runs the shared target suite against MIRRORD_TEST_MSSQL_DSN. SQL Server's float
// cannot hold INF, -INF or NaN, which the suite's round trip sends and Limits cannot declare yet:
// Apply refuses them with an error naming the table and column, so RoundTrip fails there until the
// suite learns that limit.
func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	templates := map[bulk.Target]Options{}
	bulktest.Run(t, bulktest.Harness{
		Open: func(t *testing.T) bulk.Target {
			prefix := uniquePrefix()
			opts := Options{NameTemplate: prefix + "{ctx}"}
			target, err := Open(t.Context(), dsn, opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			templates[target] = opts
			t.Cleanup(func() { dropDatabases(t, dsn, prefix) })
			return target
		},
		Reopen: func(t *testing.T, old bulk.Target) bulk.Target {
			opts := templates[old]
			target, err := Open(t.Context(), dsn, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			templates[target] = opts
			return target
		},
		ReadRows: func(ctx context.Context, m bulk.Mirror, table schema.Table) ([][]any, error) {
			return readRows(ctx, m, table)
		},
		ExecSQL: execSQL,
		// SQL Server keeps 100 ns, the offset of a datetimeoffset and U+0000 in strings; whether a
		// float keeps -0 has not been measured against a live server.
		Limits: bulktest.Limits{KeepsOffset: true, NulInText: true, NoFloatSpecials: true},
	})
}
