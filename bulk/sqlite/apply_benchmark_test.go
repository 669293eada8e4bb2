package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// benchTable is a 12-column table shaped like a SuperOffice one: an int key, text of several
// lengths, integers, a decimal, a float, a bit and dates.
var benchTable = schema.Table{Name: "bench_contact", Columns: []schema.Column{
	{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
	{Name: "name", Type: schema.NVarChar, Length: 220},
	{Name: "department", Type: schema.NVarChar, Length: 60, Nullable: true},
	{Name: "orgnr", Type: schema.VarChar, Length: 20, Nullable: true},
	{Name: "number1", Type: schema.NVarChar, Length: 40, Nullable: true},
	{Name: "category_idx", Type: schema.Int},
	{Name: "business_idx", Type: schema.SmallInt},
	{Name: "turnover", Type: schema.Decimal, Precision: 19, Scale: 4, Nullable: true},
	{Name: "rating", Type: schema.Float, Nullable: true},
	{Name: "deleted", Type: schema.Bit},
	{Name: "registered", Type: schema.DateTime},
	{Name: "updated", Type: schema.DateTime2, Scale: 7, Nullable: true},
}}

func benchRows(n int, op bulk.Op) []bulk.Row {
	cols := all(benchTable)
	reg := time.Date(2019, 5, 4, 10, 22, 5, 123000000, time.UTC)
	rows := make([]bulk.Row, n)
	for i := range rows {
		rows[i] = bulk.Row{Op: op, Columns: cols, Values: []any{
			int64(i + 1), fmt.Sprintf("Fjord & Co %d AS", i), "Sales", fmt.Sprintf("NO%09d", i), fmt.Sprint(10000 + i),
			int64(i % 17), int64(i % 9), bulk.Decimal(fmt.Sprintf("%d.%04d", i*37, i%10000)), float64(i) / 7, i%50 == 0,
			reg.Add(time.Duration(i) * time.Second), reg.Add(time.Duration(i) * time.Millisecond),
		}}
	}
	return rows
}

// BenchmarkApply writes 100k rows of a 12-column table in one Apply: "load" into an empty
// table (a repopulation) and "upsert" over rows that are all there (a cycle of updates), each
// for several rows per INSERT statement and for WITHOUT ROWID and rowid tables.
func BenchmarkApply(b *testing.B) {
	const n = 100_000
	table, err := benchTable.Validate()
	if err != nil {
		b.Fatal(err)
	}
	inserts, updates := benchRows(n, bulk.Insert), benchRows(n, bulk.Update)
	for _, rowid := range []bool{false, true} {
		for _, perWrite := range []int{1, 8, 32, 128} {
			for _, mode := range []string{"load", "upsert"} {
				name := fmt.Sprintf("%s/rows=%d/%s", map[bool]string{false: "without_rowid", true: "rowid"}[rowid], perWrite, mode)
				b.Run(name, func(b *testing.B) {
					ctx := context.Background()
					m := openTestMirror(b, Options{}, "Bench")
					m.withoutRowID = func(schema.Table) bool { return !rowid }
					m.rowsPerWrite = perWrite
					create(b, m, table)
					if mode == "upsert" {
						if _, err := m.Apply(ctx, table, rowsOf(inserts...), bulk.ApplyOptions{}); err != nil {
							b.Fatal(err)
						}
					}
					var elapsed time.Duration
					for b.Loop() {
						if mode != "upsert" {
							b.StopTimer()
							if err := m.Wipe(ctx, []string{table.Name}); err != nil {
								b.Fatal(err)
							}
							b.StartTimer()
						}
						rows := inserts
						if mode == "upsert" {
							rows = updates
						}
						start := time.Now()
						// After a wipe the engine applies as fresh, as a repopulation does.
						if _, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(1), Fresh: mode != "upsert"}); err != nil {
							b.Fatal(err)
						}
						elapsed += time.Since(start)
					}
					b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "rows/s")
				})
			}
		}
	}
}

// BenchmarkRowSize loads rows of about 1 KB, the size of a demo tenant's rows, into a WITHOUT
// ROWID table and into a rowid table, and reports the speed and the file's bytes per row after a
// checkpoint: SQLite advises WITHOUT ROWID only for rows under about a twentieth of a page.
func BenchmarkRowSize(b *testing.B) {
	const n = 30_000
	wide := benchTable
	wide.Name = "bench_wide"
	wide.Columns = append(append([]schema.Column(nil), benchTable.Columns...), schema.Column{Name: "notes", Type: schema.NVarChar, Length: 2000, Nullable: true})
	table, err := wide.Validate()
	if err != nil {
		b.Fatal(err)
	}
	rows := benchRows(n, bulk.Insert)
	cols := all(table)
	notes := strings.Repeat("Kunden ønsker tilbud på årsavtale; ring tilbake etter lunsj. ", 14) // ~880 bytes
	for i := range rows {
		rows[i].Columns = cols
		rows[i].Values = append(rows[i].Values, notes[:len(notes)-i%64])
	}
	for _, rowid := range []bool{false, true} {
		b.Run(map[bool]string{false: "without_rowid", true: "rowid"}[rowid], func(b *testing.B) {
			ctx := context.Background()
			m := openTestMirror(b, Options{}, "Wide")
			m.withoutRowID = func(schema.Table) bool { return !rowid }
			create(b, m, table)
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := m.Wipe(ctx, []string{table.Name}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				if _, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(1), Fresh: true}); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
			}
			b.StopTimer()
			if _, err := m.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE); VACUUM"); err != nil {
				b.Fatal(err)
			}
			fi, err := os.Stat(m.path)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N*n)/elapsed.Seconds(), "rows/s")
			b.ReportMetric(float64(fi.Size())/n, "file-bytes/row")
		})
	}
}
