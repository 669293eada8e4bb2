package pgsql

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// BenchmarkStagingStrategies runs the staging path's variants side by side in one run: each
// iteration loads a new set of changes (60% updates, 25% inserts, 15% deletes) with every
// variant in turn, the first variant moving by one each iteration, against a raw COPY of the same
// number of rows into an empty table, so that the load of the shared machine falls on all alike.
// Each variant reports its rows/s and its ratio to the raw COPY of the same run.
//
//	MIRRORD_TEST_PG_DSN=… go test ./bulk/pgsql -run '^$' -bench StagingStrategies -benchtime 3x -count 3 -timeout 60m
//
// MIRRORD_BENCH_PG_BASE sets the table's rows (default 1,000,000), MIRRORD_BENCH_PG_CHANGES the
// changes per load (default 100,000) and MIRRORD_BENCH_PG_CALL the rows of one Apply (default
// 4,500, about one 1 MB RowData call; 0: the whole load in one Apply).
func BenchmarkStagingStrategies(b *testing.B) {
	base := envInt(b, "MIRRORD_BENCH_PG_BASE", 1_000_000)
	changes := envInt(b, "MIRRORD_BENCH_PG_CHANGES", 100_000)
	call := envInt(b, "MIRRORD_BENCH_PG_CALL", 4_500)
	if call <= 0 {
		call = changes
	}
	target := openTestTarget(b, Options{})
	m := openTestMirror(b, target, "CustStrategies")
	ctx := context.Background()
	tbl := benchTable()
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, tbl)); err != nil {
		b.Fatal(err)
	}
	for from := 0; from < base; from += 200_000 {
		if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows(insertRows(from, min(200_000, base-from))), bulk.ApplyOptions{Fresh: true}); err != nil {
			b.Fatal(err)
		}
	}
	for _, s := range []string{"VACUUM ANALYZE " + quote(tbl.Name), "CHECKPOINT"} {
		if _, err := m.pool.Exec(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	conn.Conn().TypeMap().RegisterType(&pgtype.Type{Name: "numeric", OID: pgtype.NumericOID, Codec: decimalCodec{}})
	names := make([]string, len(tbl.Columns))
	for i, c := range tbl.Columns {
		names[i] = c.Name
	}

	type variant struct {
		name                 string
		merge, keySet, reuse bool
		elapsed, server      time.Duration
	}
	variants := []*variant{
		{name: "RawCopy"},
		{name: "MergeDistinct", merge: true},
		{name: "MergeKeySet", merge: true, keySet: true},
		{name: "MergeReuse", merge: true, reuse: true},
		{name: "MergeKeySetReuse", merge: true, keySet: true, reuse: true},
		{name: "ThreeKeySet", keySet: true},
	}
	defer func(merge, keySet, reuse bool) { useMerge, distinctOnlyOnRepeats, reuseStage = merge, keySet, reuse }(useMerge, distinctOnlyOnRepeats, reuseStage)
	r := rand.New(rand.NewPCG(3, 4))
	next := base
	iterations := 0
	// Each variant is timed on its own; ns/op is the whole iteration, generation included.
	for b.Loop() {
		for i := range variants {
			v := variants[(i+iterations)%len(variants)]
			if v.name == "RawCopy" {
				rows := make([][]any, changes)
				for j := range rows {
					rows[j] = rawValues(benchValues(j, iterations))
				}
				for _, s := range []string{"DROP TABLE IF EXISTS contact_copy", "CREATE TABLE contact_copy (LIKE " + quote(tbl.Name) + " INCLUDING ALL)"} {
					if _, err := conn.Exec(ctx, s); err != nil {
						b.Fatal(err)
					}
				}
				server0, start := backendsCPU(b, conn), time.Now()
				if _, err := conn.CopyFrom(ctx, pgx.Identifier{"contact_copy"}, names, pgx.CopyFromRows(rows)); err != nil {
					b.Fatal(err)
				}
				v.elapsed += time.Since(start)
				v.server += backendsCPU(b, conn) - server0
				continue
			}
			rows := changeRows(r, changes, base, &next, iterations+1)
			useMerge, distinctOnlyOnRepeats, reuseStage = v.merge, v.keySet, v.reuse
			server0, start := backendsCPU(b, conn), time.Now()
			var counts bulk.Counts
			for from := 0; from < len(rows); from += call {
				c, err := m.Apply(ctx, tbl, bulk.NewSliceRows(rows[from:min(from+call, len(rows))]), bulk.ApplyOptions{})
				if err != nil {
					b.Fatalf("%s: %v", v.name, err)
				}
				counts.Add(c)
			}
			v.elapsed += time.Since(start)
			v.server += backendsCPU(b, conn) - server0
			if counts.Inserted+counts.Updated+counts.Deleted > int64(changes) {
				b.Fatalf("%s: counts %+v for %d changes", v.name, counts, changes)
			}
		}
		iterations++
	}
	limit := float64(changes) * float64(iterations) / variants[0].elapsed.Seconds()
	for _, v := range variants {
		rate := float64(changes) * float64(iterations) / v.elapsed.Seconds()
		b.ReportMetric(rate, v.name+"-rows/s")
		b.ReportMetric(float64(v.server.Microseconds())/float64(changes*iterations), v.name+"-server-cpu-µs/row")
		if v.name != "RawCopy" {
			b.ReportMetric(rate/limit, v.name+"/RawCopy")
		}
	}
}

// backendsCPU is the CPU time the server's backends connected to conn's database have used, read
// from /proc: the server must run on this machine. The database's backends stay connected
// through the benchmark (the pool keeps them), so differences are the work between two reads
// (plus the read itself, on conn's backend, which the raw COPY also uses).
func backendsCPU(b *testing.B, conn *pgxpool.Conn) time.Duration {
	rows, _ := conn.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue // a backend that ended, or a server elsewhere: its time is not counted
		}
		// utime and stime are the 12th and 13th fields after the command name's parenthesis.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 13 {
			b.Fatalf("/proc/%d/stat has %d fields after the name", pid, len(fields))
		}
		utime, _ := strconv.ParseInt(fields[11], 10, 64)
		stime, _ := strconv.ParseInt(fields[12], 10, 64)
		total += time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100
	}
	return total
}

// changeRows is n changes in random order: 60% updates and 15% deletes of keys below base, 25%
// inserts of new keys above next. Each key comes at most once, as in a RowData call, where a
// row changed several times is sent once in its final state.
func changeRows(r *rand.Rand, n, base int, next *int, version int) []bulk.Row {
	seen := make(map[int]bool, n)
	existing := func() int {
		for {
			if k := r.IntN(base); !seen[k] {
				seen[k] = true
				return k
			}
		}
	}
	rows := make([]bulk.Row, 0, n)
	for range n {
		switch p := r.IntN(100); {
		case p < 60:
			rows = append(rows, bulk.Row{Op: bulk.Update, Columns: benchColumns, Values: benchValues(existing(), version)})
		case p < 85:
			*next++
			rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: benchColumns, Values: benchValues(*next, version)})
		default:
			vals := make([]any, len(benchColumns))
			vals[0] = int64(existing())
			rows = append(rows, bulk.Row{Op: bulk.Delete, Columns: benchColumns, Values: vals})
		}
	}
	return rows
}

// rawValues converts bench values to what pgx's CopyFrom encodes for the table's columns.
func rawValues(v []any) []any {
	v[0], v[5], v[6], v[7] = int32(v[0].(int64)), int32(v[5].(int64)), int32(v[6].(int64)), int32(v[7].(int64))
	v[11] = [16]byte(v[11].(bulk.UUID))
	return v
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatal(fmt.Errorf("%s: %w", name, err))
	}
	return n
}
