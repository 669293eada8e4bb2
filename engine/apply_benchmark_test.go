package engine_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
)

// BenchmarkApplySQLite sends one RowData call of 200,000 rows through the engine into a SQLite
// file, as a repopulation does (every table wiped first): in one table, and spread over eight
// tables, whose loaders all want the file's one writer at once, so that every table but one
// waits with its rows spooled. The bytes are the decoded values' sizes.
//
//	go test ./engine -run '^$' -bench ApplySQLite -benchmem -benchtime 3x -count 3
func BenchmarkApplySQLite(b *testing.B) {
	const rowsPerCall = 200_000
	at := time.Date(2024, 3, 1, 10, 22, 5, 123456700, time.UTC)
	for _, n := range []int{1, 8} {
		b.Run(fmt.Sprintf("tables=%d", n), func(b *testing.B) {
			target, err := sqlite.Open(b.TempDir(), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			e := engine.New(target, engine.Options{SpoolDir: b.TempDir()})
			defer e.Close()
			const tenant = "Bench"
			var tables []schema.Table
			var names []string
			for i := range n {
				name := fmt.Sprintf("t%02d", i)
				names = append(names, name)
				tables = append(tables, schema.Table{Name: name, Columns: []schema.Column{
					{Name: "id", Type: schema.BigInt, PrimaryKey: true},
					{Name: "name", Type: schema.NVarChar, Length: 100, Nullable: true},
					{Name: "number", Type: schema.Int, Nullable: true},
					{Name: "updated", Type: schema.DateTime2, Scale: 7, Nullable: true},
				}})
			}
			if _, err := e.SyncSchema(ctx, tenant, tables); err != nil {
				b.Fatal(err)
			}
			each := rowsPerCall / n
			var size int64
			vals := make([][]any, each)
			for i := range vals {
				vals[i] = []any{int64(i), fmt.Sprintf("contact number %d of the benchmark", i), int64(i % 1000), at}
				for _, v := range vals[i] {
					size += int64(bulk.ValueSize(values(v)[0]))
				}
			}
			b.SetBytes(size * int64(n))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if err := e.Wipe(ctx, tenant, names); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				callSQLite(b, e, tenant, names, vals, int64(i+1))
			}
			b.ReportMetric(float64(b.N*rowsPerCall)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func callSQLite(b *testing.B, e *engine.Engine, tenant string, tables []string, vals [][]any, lsn int64) {
	a, err := e.BeginApply(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}
	for _, table := range tables {
		w, err := a.Batch(table, []string{"id", "name", "number", "updated"})
		if err != nil {
			a.Abort(err)
			b.Fatal(err)
		}
		for _, v := range vals {
			if err := w.Add(bulk.Insert, values(v...)); err != nil {
				a.Abort(err)
				b.Fatal(err)
			}
		}
		if err := w.SetLSN(lsn); err != nil {
			a.Abort(err)
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			a.Abort(err)
			b.Fatal(err)
		}
	}
	res, err := a.Finish()
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			b.Fatalf("table %s: %v", r.Name, r.Err)
		}
	}
}
