package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/mirrord/mirrord/bench/contact"
)

// BenchmarkParallelStreams measures what splitting one table's repopulation over several COPY
// streams into the same empty table could give on PostgreSQL, which mirrord does not do: each
// stream is a connection of its own and so a transaction of its own, and a RowData call's rows
// and LSN must commit together (nothing of a failed table written), which one transaction
// across connections cannot give without prepared transactions (max_prepared_transactions is 0
// on a stock server). The figures say what that rule costs a single large table.
//
// Each iteration loads the same 200,000 contact rows into the emptied table in each way, in an
// order that rotates between iterations, with a CHECKPOINT before each:
//
//	copy-1     one COPY of all rows: the database's own bulk load
//	copy-2     two COPYs of half the rows each, at once
//	calls-1    calls of 4,500 rows (about 1 MB of RowData), one COPY and commit each, in turn:
//	           the database's own load as the protocol's commit per call cuts it
//	calls-2/4  the same calls, each call's rows split over 2 or 4 connections at once, the
//	           next call starting when every part has committed
//
//	MIRRORD_TEST_PG_DSN=… go test ./bench -run '^$' -bench ParallelStreams -benchtime 3x -count 3
//
// Metrics: rows/s of each way, and each over copy-1 of the same run.
func BenchmarkParallelStreams(b *testing.B) {
	p := setupPG(b)
	ctx := context.Background()
	rows := make([][]any, repopulateRows)
	for i := range rows {
		rows[i] = contact.Row(int64(i+1), 0)
	}
	conns := []*pgx.Conn{p.conn}
	for len(conns) < 4 {
		c, err := pgx.ConnectConfig(ctx, p.conn.Config())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close(ctx) })
		conns = append(conns, c)
	}
	// copyParts copies each part on a connection of its own, at once, each COPY its own
	// transaction, and returns when all have committed.
	copyParts := func(parts [][][]any) error {
		var g errgroup.Group
		for i, part := range parts {
			g.Go(func() error {
				n, err := conns[i].CopyFrom(ctx, pgx.Identifier{"contact"}, contactColumns, pgx.CopyFromRows(part))
				if err == nil && n != int64(len(part)) {
					err = fmt.Errorf("copied %d rows of %d", n, len(part))
				}
				return err
			})
		}
		return g.Wait()
	}
	split := func(rows [][]any, n int) [][][]any {
		parts := make([][][]any, n)
		for i := range parts {
			parts[i] = rows[len(rows)*i/n : len(rows)*(i+1)/n]
		}
		return parts
	}
	inCalls := func(streams int) func() error {
		return func() error {
			for from := 0; from < len(rows); from += engineCallRows {
				if err := copyParts(split(rows[from:min(from+engineCallRows, len(rows))], streams)); err != nil {
					return err
				}
			}
			return nil
		}
	}
	ways := []struct {
		name string
		load func() error
	}{
		{"copy-1", func() error { return copyParts(split(rows, 1)) }},
		{"copy-2", func() error { return copyParts(split(rows, 2)) }},
		{"calls-1", inCalls(1)},
		{"calls-2", inCalls(2)},
		{"calls-4", inCalls(4)},
	}
	spent := make([]time.Duration, len(ways))
	b.ResetTimer()
	for iter := 0; b.Loop(); iter++ {
		for k := range ways {
			w := (k + iter) % len(ways)
			p.exec(b, "TRUNCATE contact")
			p.exec(b, "CHECKPOINT")
			start := time.Now()
			if err := ways[w].load(); err != nil {
				b.Fatalf("%s: %v", ways[w].name, err)
			}
			spent[w] += time.Since(start)
			var n int64
			if err := p.conn.QueryRow(ctx, "SELECT count(*) FROM contact").Scan(&n); err != nil || n != int64(len(rows)) {
				b.Fatalf("%s: %d rows in the table, want %d (%v)", ways[w].name, n, len(rows), err)
			}
		}
	}
	for w, way := range ways {
		rate := float64(len(rows)*b.N) / spent[w].Seconds()
		b.ReportMetric(rate, way.name+"-rows/s")
		if w > 0 {
			b.ReportMetric(spent[0].Seconds()/spent[w].Seconds(), way.name+"/copy-1")
		}
	}
}
