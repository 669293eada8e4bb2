package pgsql

import (
	"context"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
)

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
		ExecSQL: func(ctx context.Context, m bulk.Mirror, sql string) error {
			return execSQL(ctx, m, sql)
		},
		// PostgreSQL keeps microseconds, the instant (not the offset) of a timestamptz, and -0.
		Limits: bulktest.Limits{TimePrecision: time.Microsecond, SignedZero: true, VarcharUnicode: true},
	})
}
