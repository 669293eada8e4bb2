//go:build linux

package bench

// BenchmarkWholePath measures mirrord's whole path against the database's own bulk load of the
// same rows, side by side in one run. The whole path is a real soapfront.Server over an engine
// over the real target, behind a real HTTP listener (httptest), fed by an HTTP client that
// POSTs requests encoded before the clock starts (into a spool file, as mirrortask bench keeps
// them, so that this process's heap holds about what mirrord's would): calls of about 1 MB of
// XML, each with a token of its own (signed before the clock, spliced in as it is sent), in the
// order of mirrortask sync. Its clock runs from the first call of the cycle after Authenticate
// (which opens or creates the tenant's mirror, untimed like the raw load's fresh database) to
// the answer of ReplicationCompleted: TableSchema, Wipe when the cycle repopulates (the Task
// wipes every table whose mirror answers LSN -1), the RowData calls, ReplicationCompleted.
//
//	PostgreSQL/Repopulate   ROWS contact rows (bench/contact) into a new tenant's empty table,
//	                        against COPY … FROM STDIN (FORMAT csv) of a CSV file of the same
//	                        rows, written before the clock and streamed as psql's \copy sends
//	                        it, into an empty table made by the pgsql target's own DDL in a
//	                        fresh database: the database's own bulk load, with no client work.
//	PostgreSQL/Incremental  CHANGES changes, 60% updates, 25% inserts, 15% deletes, each key at
//	                        most once (incrementalChanges), to a table of BASE rows (loaded
//	                        through the engine before the clock, then VACUUM ANALYZE); sent as
//	                        the Task sends changes, live rows first in random order, deletes
//	                        last. Against COPY of a CSV file of CHANGES rows into an empty table, and
//	                        against the database's own upsert (wholepath_upsert_test.go): the
//	                        same changes in the same order as single-row INSERT … ON CONFLICT DO
//	                        UPDATE and DELETE statements, a pgx.Batch in a transaction of its
//	                        own per group of as many rows as one of mirrord's RowData calls
//	                        carries, into a copy of the base (loaded for both sides: a base of
//	                        the same rows, through an engine of its own, then VACUUM ANALYZE).
//	                        Random-key changes to a large table cost the database far more than
//	                        appending to an empty one, so ratio says little here; vs-upsert does.
//	SQLite/Repopulate       the same load into the engine's SQLite target (a temporary folder),
//	SQLite/Incremental      against one run of the sqlite3 shell (the whole process timed) doing
//	                        .import --csv of a CSV file of the same rows, written before the
//	                        clock, into a fresh file whose table mirrord's SQLite target made.
//	                        The shell sets mirrord's connection pragmas (journal_mode WAL,
//	                        synchronous NORMAL, foreign_keys off, busy_timeout) and .import runs
//	                        each file in one transaction. What CSV cannot carry (NULL, binary):
//	                        rawload_test.go. The incremental load also against one run of the
//	                        shell, with the same pragmas, executing the upsert baseline's
//	                        statements (BEGIN and COMMIT around each group) from a file written
//	                        before the clock, values as SQL literals of what mirrord stores
//	                        (NULL as NULL, binary as a BLOB), into a file holding the base,
//	                        loaded for it through an engine of its own.
//	Demo/SQLite             the synthetic demo tenant (bench/tenant, as make demo creates it:
//	Demo/PostgreSQL         seed 1, 31 tables, rows of about 1 KB; DEMO rows) mirrored from
//	                        empty as mirrortask sync's first cycle sends it: every table in
//	                        TableSchema (created inside the clock) and Wipe, RowData from 4 lanes
//	                        at once (its default --parallel; a table that ends before 1 MB leaves
//	                        the rest of the call to the next table). Against a raw load of the
//	                        same rows: COPY of a CSV file per table, one after another, into tables made by
//	                        the target's DDL; or one sqlite3 run with an .import per table.
//
// Each iteration makes fresh tenants for every load and runs them one after the other, the raw
// load first on even iterations and mirrord first on odd ones (the upsert baseline between). Before each come a collection of
// this process's heap and, on PostgreSQL, a CHECKPOINT, so that neither pays for what the other
// left; the raw load's rows are made or read (untimed) for each PostgreSQL load and let go after
// it. A single iteration's ratio moved by up to a third between runs on a shared 2-core machine:
// compare runs of several iterations. Afterwards every table's row count is checked in both databases, every RowData answer
// and the ReplicationCompleted summary against the rows sent; on the first iteration every row
// too (equal digests of the rows on PostgreSQL, equal values on SQLite), and in every
// incremental one the rows of the new generation. The upsert baseline's row count is checked in
// every iteration, and on the first its content against mirrord's (exactly, NULLs and all).
// Timings are only reported, never asserted.
// Metrics:
//
//	ns/op, MB/s     the whole path's cycle (b's timer runs for it only); MB are request bytes
//	mirrord-rows/s  rows of all iterations / summed whole-path time
//	raw-rows/s      rows of all iterations / summed raw-load time
//	ratio           mirrord-rows/s / raw-rows/s
//	schema-s        seconds per op of the whole path spent in TableSchema and Wipe, before the
//	                first RowData: creating (or checking) the tables, which the raw load does
//	                before its clock
//	rows-ratio      ratio with the whole path's time less schema-s: the rows alone
//	mirrord-cpu-s   CPU seconds of this process (getrusage: server, engine, target driver and
//	                the sending client) during the whole path, per op
//	MB/cpu-s        request bytes per CPU second of this process during the whole path
//	upsert-rows/s   incremental loads: rows of all iterations / summed time of the database's
//	                own upsert of the same changes
//	vs-upsert       mirrord-rows/s / upsert-rows/s
//	raw-calls-rows/s, ratio-calls
//	                repopulations: the raw load again, its CSV cut where mirrord's RowData
//	                calls cut the rows and each part loaded and committed on its own (a COPY in
//	                its own transaction; one .import each), as the protocol commits each call's
//	                rows: what a commit per call costs the database itself; and
//	                mirrord-rows/s over that rate
//	db-round-trips/call
//	                with MIRRORD_BENCH_PG_DELAY: the round trips to PostgreSQL during the whole
//	                path over its RowData calls (TableSchema, Wipe and ReplicationCompleted
//	                included), as internal/netproxy counts them
//	decode-MB/cpu-s RowData request bytes / the CPU time of decoding them inside the real cycle:
//	                a CPU profile of this process (runtime/pprof, 100 samples a second) runs
//	                for the whole path's span, and decoding is the samples whose stack runs
//	                through wire.(*Decoder).RowData but not through soapfront's batchSink.Add
//	                nor anything of package engine (what the decoder hands on is the engine's
//	                cost). The decoder's own reads of the request body and the collector's
//	                assists charged to its allocations count in; the collector's background
//	                workers are attributed to no stack, so the figure is an upper bound.
//	                Compare with BenchmarkDecode, the decoder alone on the same bytes. Not
//	                reported when go test's -cpuprofile holds the profiler.
//	decode-share    that CPU time / all CPU time profiled
//	first-million-rows/s, last-million-rows/s, last/first
//	                Repopulate of at least 2,000,000 rows: the rows of the RowData calls up to
//	                the one carrying row 1,000,000, over the time from the cycle's first call to
//	                that call's answer; the rows after the call carrying row ROWS-1,000,000,
//	                over the time from its answer to the answer of the call carrying the last
//	                row; and the second rate over the first. A load that slows as its table
//	                grows shows here.
//
// Sizes: MIRRORD_BENCH_WHOLE_ROWS (default 200000; 4000000 gives the per-million rates of one
// table of 4M rows, PostgreSQL and SQLite, in several minutes), MIRRORD_BENCH_WHOLE_BASE (1000000),
// MIRRORD_BENCH_WHOLE_CHANGES (100000), MIRRORD_BENCH_WHOLE_DEMO (50000). MIRRORD_BENCH_PG_DELAY
// (a Go duration, one way) puts every PostgreSQL connection, both sides', behind a proxy that
// holds each byte back that long (internal/netproxy): a database across a network. A sleep
// under a millisecond takes about one on Linux, so 250us gives a round trip of about 2.4 ms,
// and 1us one of about 0.2 ms (the proxy's own cost); the run logs the median. The PostgreSQL parts
// skip without MIRRORD_TEST_PG_DSN, the SQLite parts without the sqlite3 shell. On a 2-core
// machine the defaults take about 100 s with -benchtime 1x -count 1 (with BenchmarkDecode, on a
// stock server). The run below took 4.5 minutes before the upsert baselines, which add a base
// load of BASE rows per incremental iteration:
//
//	MIRRORD_TEST_PG_DSN=… go test ./bench -run '^$' -bench '^BenchmarkWholePath$' -benchtime 3x -count 3 -timeout 60m

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
)

func BenchmarkWholePath(b *testing.B) {
	rows := wholeSize(b, "MIRRORD_BENCH_WHOLE_ROWS", 200_000)
	base := wholeSize(b, "MIRRORD_BENCH_WHOLE_BASE", 1_000_000)
	changes := wholeSize(b, "MIRRORD_BENCH_WHOLE_CHANGES", 100_000)
	demo := wholeSize(b, "MIRRORD_BENCH_WHOLE_DEMO", 50_000)
	if changes*3 > base*2 {
		// 75% of the changes update or delete distinct existing keys, drawn at random.
		b.Fatalf("MIRRORD_BENCH_WHOLE_CHANGES %d is too many for a base of %d rows: at most two thirds of it", changes, base)
	}
	b.Run("PostgreSQL", func(b *testing.B) {
		b.Run("Repopulate", func(b *testing.B) { wholeRepopulate(b, newPGSide(b), rows) })
		b.Run("Incremental", func(b *testing.B) { wholeIncremental(b, newPGSide(b), base, changes) })
	})
	b.Run("SQLite", func(b *testing.B) {
		b.Run("Repopulate", func(b *testing.B) { wholeRepopulate(b, newSQLiteSide(b), rows) })
		b.Run("Incremental", func(b *testing.B) { wholeIncremental(b, newSQLiteSide(b), base, changes) })
	})
	b.Run("Demo", func(b *testing.B) {
		b.Run("SQLite", func(b *testing.B) { wholeDemo(b, newSQLiteSide(b), demo) })
		b.Run("PostgreSQL", func(b *testing.B) { wholeDemo(b, newPGSide(b), demo) })
	})
}

func wholeSize(b *testing.B, name string, def int64) int64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		b.Fatalf("%s=%q: want a positive number of rows", name, v)
	}
	return n
}

// wholeBench is one sub-benchmark: a server over the side's target, and the summed times.
type wholeBench struct {
	side   wholeSide
	srv    *memoryServer
	client *wholeClient

	iters              int
	raw, whole, cpu    time.Duration
	schema             time.Duration // of whole: TableSchema and Wipe, before the first RowData
	rowsPerOp, bytesOp int64

	// The upsert baseline's iterations and summed time.
	upsertIters int
	upsert      time.Duration
	// The raw load in calls: its iterations and summed time.
	callsIters int
	rawCalls   time.Duration
	// The database round trips of the whole path, and its calls, when a proxy counts them.
	roundTrips, counted int64
	// The CPU profile of the whole path: decoding's CPU, all of it, and the RowData bytes of
	// the profiled cycles.
	prof                  cpuProfiler
	decodeCPU, profileCPU time.Duration
	profiledBytes         int64
	// The first and last million rows of large loads: rows and times, summed over iterations.
	firstRows, lastRows int64
	first, last         time.Duration
}

func newWholeBench(b *testing.B, side wholeSide) *wholeBench {
	keys, err := auth.GenerateKeys(b.TempDir(), auth.KeygenOptions{})
	if err != nil {
		b.Fatal(err)
	}
	srv := newMemoryServer(b, keys, side.target(), 64<<20)
	client := newWholeClient(srv)
	b.Cleanup(client.client.CloseIdleConnections)
	return &wholeBench{side: side, srv: srv, client: client}
}

// wholeIteration is what one iteration loads, and what the databases must hold afterwards.
type wholeIteration struct {
	cycle *wholeCycle
	raw   []rawTable
	// rawCalls are the raw load's rows cut where mirrord's RowData calls cut them, each part
	// loaded and committed on its own, as each call's rows are: what the protocol's commit per
	// call costs the database itself. nil for none.
	rawCalls   []rawTable
	wantLSN    int64  // TableSchema's answer for every table
	wantChange string // and its SchemaChange
	// wantMirror and wantRaw are each table's row count after the loads.
	wantMirror, wantRaw map[string]int64
	// base loads mirrord's tenant before its cycle (untimed); nil when it starts empty.
	base func(ctx context.Context, tenant string) error
	// upsert is the database's own upsert of the same changes, a second baseline; nil for none.
	// wantUpsert is its table's row count afterwards, and upsertCheck whether to compare its
	// content with mirrord's.
	upsert      *upsertLoad
	wantUpsert  int64
	upsertCheck bool
	// perMillion asks for the rates of the first and the last million rows of the cycle.
	perMillion bool
	// check runs after the row counts; nil for none.
	check func(ctx context.Context, rawTenant, mirrorTenant string) (string, error)
	// after runs at the end of the iteration; nil for nothing.
	after func()
}

// iterate runs iteration i: both loads on fresh tenants, in alternating order, then the checks.
// b's timer is stopped on entry and on return.
func (w *wholeBench) iterate(b *testing.B, i int, it wholeIteration) {
	ctx := context.Background()
	rawTenant, mirrorTenant, upsertTenant := fmt.Sprintf("raw%d", i+1), fmt.Sprintf("whole%d", i+1), fmt.Sprintf("upsert%d", i+1)
	callsTenant := fmt.Sprintf("rawcalls%d", i+1)
	if err := w.side.prepareRaw(ctx, rawTenant, it.cycle.tables); err != nil {
		b.Fatal(err)
	}
	if it.rawCalls != nil {
		if err := w.side.prepareRaw(ctx, callsTenant, it.cycle.tables); err != nil {
			b.Fatal(err)
		}
	}
	if it.upsert != nil {
		// The upsert baseline's base is loaded as mirrord's is, through an engine of its own.
		if err := w.side.prepareUpsert(ctx, upsertTenant, it.upsert); err != nil {
			b.Fatalf("upsert baseline: %v", err)
		}
	}
	if it.base != nil {
		if err := it.base(ctx, mirrorTenant); err != nil {
			b.Fatalf("base load of tenant %s: %v", mirrorTenant, err)
		}
		if err := w.side.afterBase(ctx, mirrorTenant); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.client.authenticate(ctx, mirrorTenant); err != nil {
		b.Fatal(err)
	}
	// Before each timed load: the database settled, and this process's heap collected, so that
	// neither load pays for what the other left.
	settle := func() {
		if err := w.side.settle(ctx); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
	}
	raw := func() {
		settle()
		took, err := w.side.rawLoad(ctx, rawTenant, it.raw)
		if err != nil {
			b.Fatalf("raw load: %v", err)
		}
		w.raw += took
	}
	whole := func() {
		settle()
		counter, counts := w.side.(interface{ roundTrips() (int64, bool) })
		var before int64
		if counts {
			before, counts = counter.roundTrips()
		}
		run, err := w.client.run(b, mirrorTenant, it.cycle, it.wantLSN, it.wantChange, &w.prof)
		if counts {
			after, _ := counter.roundTrips()
			w.roundTrips += after - before
			w.counted += int64(it.cycle.calls)
		}
		if run.profiled {
			decode, total, perr := w.prof.sums()
			if perr != nil {
				b.Fatal(perr)
			}
			w.decodeCPU += decode
			w.profileCPU += total
			w.profiledBytes += it.cycle.bytes
		}
		if err != nil {
			b.Fatalf("whole path: %v", err)
		}
		w.whole += run.took
		w.schema += run.schema
		w.cpu += run.cpu
		if it.perMillion {
			w.addMillions(b, i, run, it.cycle.rows)
		}
	}
	upsert := func() {
		settle()
		took, err := w.side.upsertLoad(ctx, upsertTenant, it.upsert)
		if err != nil {
			b.Fatalf("upsert baseline: %v", err)
		}
		w.upsert += took
		w.upsertIters++
	}
	rawCalls := func() {
		settle()
		took, err := w.side.rawLoad(ctx, callsTenant, it.rawCalls)
		if err != nil {
			b.Fatalf("raw load in calls: %v", err)
		}
		w.rawCalls += took
		w.callsIters++
	}
	// mirrord and each baseline swap order from one iteration to the next.
	loads := []func(){raw}
	if it.rawCalls != nil {
		loads = append(loads, rawCalls)
	}
	if it.upsert != nil {
		loads = append(loads, upsert)
	}
	loads = append(loads, whole)
	if i%2 == 1 {
		slices.Reverse(loads)
	}
	for _, load := range loads {
		load()
	}
	for _, t := range it.cycle.tables {
		for _, side := range []struct {
			raw    bool
			tenant string
			want   int64
		}{{true, rawTenant, it.wantRaw[t.Name]}, {false, mirrorTenant, it.wantMirror[t.Name]}} {
			n, err := w.side.count(ctx, side.tenant, side.raw, t.Name, "")
			if err != nil {
				b.Fatal(err)
			}
			if n != side.want {
				b.Fatalf("tenant %s: table %s holds %d rows after the load, want %d", side.tenant, t.Name, n, side.want)
			}
		}
	}
	if it.check != nil {
		note, err := it.check(ctx, rawTenant, mirrorTenant)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(note)
	}
	drop := []string{rawTenant}
	if it.rawCalls != nil {
		drop = append(drop, callsTenant)
		for _, t := range it.cycle.tables {
			n, err := w.side.count(ctx, callsTenant, true, t.Name, "")
			if err != nil {
				b.Fatal(err)
			}
			if n != it.wantRaw[t.Name] {
				b.Fatalf("tenant %s: table %s holds %d rows after the raw load in calls, want %d", callsTenant, t.Name, n, it.wantRaw[t.Name])
			}
		}
	}
	if it.upsert != nil {
		drop = append(drop, upsertTenant)
		n, err := w.side.count(ctx, upsertTenant, true, it.upsert.table.Name, "")
		if err != nil {
			b.Fatal(err)
		}
		if n != it.wantUpsert {
			b.Fatalf("tenant %s: table %s holds %d rows after the upsert baseline, want %d", upsertTenant, it.upsert.table.Name, n, it.wantUpsert)
		}
		if it.upsertCheck {
			note, err := w.side.compareUpsert(ctx, upsertTenant, mirrorTenant, []schema.Table{it.upsert.table})
			if err != nil {
				b.Fatal(err)
			}
			b.Log(note)
		}
	}
	if err := w.side.drop(ctx, mirrorTenant, drop...); err != nil {
		b.Fatal(err)
	}
	w.iters++
	w.rowsPerOp, w.bytesOp = it.cycle.rows, it.cycle.bytes
	if it.after != nil {
		it.after()
	}
}

func (w *wholeBench) report(b *testing.B) {
	if w.iters == 0 || w.whole <= 0 || w.raw <= 0 || w.cpu <= 0 {
		return
	}
	n := float64(w.iters)
	rows := float64(w.rowsPerOp) * n
	b.ReportMetric(rows/w.whole.Seconds(), "mirrord-rows/s")
	b.ReportMetric(rows/w.raw.Seconds(), "raw-rows/s")
	b.ReportMetric(w.raw.Seconds()/w.whole.Seconds(), "ratio")
	b.ReportMetric(w.schema.Seconds()/n, "schema-s")
	b.ReportMetric(w.raw.Seconds()/(w.whole-w.schema).Seconds(), "rows-ratio")
	b.ReportMetric(w.cpu.Seconds()/n, "mirrord-cpu-s")
	b.ReportMetric(float64(w.bytesOp)*n/1e6/w.cpu.Seconds(), "MB/cpu-s")
	if w.upsertIters > 0 && w.upsert > 0 {
		upsertRate := float64(w.rowsPerOp) * float64(w.upsertIters) / w.upsert.Seconds()
		b.ReportMetric(upsertRate, "upsert-rows/s")
		b.ReportMetric(rows/w.whole.Seconds()/upsertRate, "vs-upsert")
	}
	if w.callsIters > 0 && w.rawCalls > 0 {
		callsRate := float64(w.rowsPerOp) * float64(w.callsIters) / w.rawCalls.Seconds()
		b.ReportMetric(callsRate, "raw-calls-rows/s")
		b.ReportMetric(rows/w.whole.Seconds()/callsRate, "ratio-calls")
	}
	if w.counted > 0 {
		b.ReportMetric(float64(w.roundTrips)/float64(w.counted), "db-round-trips/call")
	}
	if w.decodeCPU > 0 && w.profileCPU > 0 {
		b.ReportMetric(float64(w.profiledBytes)/1e6/w.decodeCPU.Seconds(), "decode-MB/cpu-s")
		b.ReportMetric(w.decodeCPU.Seconds()/w.profileCPU.Seconds(), "decode-share")
	}
	if w.first > 0 && w.last > 0 {
		first := float64(w.firstRows) / w.first.Seconds()
		last := float64(w.lastRows) / w.last.Seconds()
		b.ReportMetric(first, "first-million-rows/s")
		b.ReportMetric(last, "last-million-rows/s")
		b.ReportMetric(last/first, "last/first")
	}
}

// million is the span of a large load whose rates are reported.
const million = 1_000_000

// addMillions adds the first and the last million rows of a cycle of total rows: from the
// cycle's first call to the answer of the RowData call carrying row 1,000,000, and from the
// answer of the call carrying row total-1,000,000 to that of the call carrying the last row.
// The rows counted are those of the calls between, so a span is within a call of a million.
func (w *wholeBench) addMillions(b *testing.B, i int, run wholeRun, total int64) {
	answers := slices.Clone(run.answers)
	slices.SortFunc(answers, func(a, b rowAnswer) int { return cmp.Compare(a.at, b.at) })
	var rows, firstRows, lastFrom int64
	var first, lastStart time.Duration
	for _, a := range answers {
		rows += a.rows
		if first == 0 && rows >= million {
			firstRows, first = rows, a.at
		}
		if lastStart == 0 && rows >= total-million {
			lastFrom, lastStart = rows, a.at
		}
	}
	if rows != total || first == 0 || lastStart == 0 {
		b.Fatalf("the RowData answers carried %d rows, want %d (at least %d)", rows, total, 2*million)
	}
	end := answers[len(answers)-1].at
	w.firstRows += firstRows
	w.first += first
	w.lastRows += total - lastFrom
	w.last += end - lastStart
	b.Logf("iteration %d: first %d rows in %s, last %d rows in %s", i+1, firstRows, first.Round(time.Millisecond),
		total-lastFrom, (end - lastStart).Round(time.Millisecond))
}

// loop runs the iterations that next makes, under b.Loop, and reports.
func (w *wholeBench) loop(b *testing.B, next func(i int) wholeIteration) {
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		it := next(i)
		b.SetBytes(it.cycle.bytes)
		if i == 0 {
			b.Logf("%d rows in %d RowData calls, %.1f MB of requests", it.cycle.rows, it.cycle.calls, float64(it.cycle.bytes)/1e6)
		}
		w.iterate(b, i, it)
		b.StartTimer()
	}
	w.report(b)
}

// contactRows gives rows 1..n of generation gen of the contact table, each made as it is asked
// for: a load of millions of rows never holds them all.
func contactRows(n int64, gen int) func() (pgx.CopyFromSource, error) {
	return contactRange(1, n, gen)
}

// contactRange gives rows from..to of generation gen of the contact table.
func contactRange(from, to int64, gen int) func() (pgx.CopyFromSource, error) {
	return func() (pgx.CopyFromSource, error) { return &contactSource{id: from - 1, n: to, gen: gen}, nil }
}

type contactSource struct {
	id, n int64
	gen   int
}

func (s *contactSource) Next() bool             { s.id++; return s.id <= s.n }
func (s *contactSource) Values() ([]any, error) { return contact.Row(s.id, s.gen), nil }
func (s *contactSource) Err() error             { return nil }

// contactCycle encodes a cycle that repopulates the contact table with rows 1..n.
func contactCycle(dir string, n int64) (*wholeCycle, error) {
	return encodeCycle(dir, []tableLoad{{
		table: contact.Table,
		sent:  bulk.Counts{Inserted: n},
		rows: func(emit func(bulk.Op, int64, []any) error) error {
			for id := int64(1); id <= n; id++ {
				if err := emit(bulk.Insert, id, contact.Row(id, 0)); err != nil {
					return err
				}
			}
			return nil
		},
	}}, wholeLanes, n, true)
}

func wholeRepopulate(b *testing.B, side wholeSide, n int64) {
	cycle, err := contactCycle(b.TempDir(), n)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cycle.close)
	raw := side.rawTable(b, contact.Table, contactRows(n, 0))
	// The same rows cut as the cycle's calls carry them (one table: one lane, one part a call).
	var calls []rawTable
	from := int64(1)
	for _, r := range cycle.lanes[0] {
		to := from + r.parts[0].rows - 1
		calls = append(calls, side.rawTable(b, contact.Table, contactRange(from, to, 0)))
		from = to + 1
	}
	if from != n+1 {
		b.Fatalf("the cycle's calls carry %d rows, want %d", from-1, n)
	}
	want := map[string]int64{contact.Table.Name: n}
	w := newWholeBench(b, side)
	w.loop(b, func(i int) wholeIteration {
		it := wholeIteration{cycle: cycle, raw: []rawTable{raw}, rawCalls: calls, wantLSN: bulk.NoLSN, wantChange: "Created", wantMirror: want, wantRaw: want,
			perMillion: n >= 2*million}
		if i == 0 {
			it.check = func(ctx context.Context, rawTenant, mirrorTenant string) (string, error) {
				return side.compare(ctx, rawTenant, mirrorTenant, cycle.tables)
			}
		}
		return it
	})
}

func wholeIncremental(b *testing.B, side wholeSide, base, changes int64) {
	w := newWholeBench(b, side)
	dir := b.TempDir()
	w.loop(b, func(i int) wholeIteration {
		gen := i + 1
		next := base
		var live, deletes []change
		var sent bulk.Counts
		for _, c := range incrementalChanges(int(changes), base, &next, gen) {
			switch c.op {
			case bulk.Delete:
				deletes = append(deletes, c)
				sent.Deleted++
			case bulk.Update:
				live = append(live, c)
				sent.Updated++
			default:
				live = append(live, c)
				sent.Inserted++
			}
		}
		// As the Task sends a table's changes: live rows first, deletes last.
		ordered := append(live, deletes...)
		cycle, err := encodeCycle(dir, []tableLoad{{
			table: contact.Table,
			sent:  sent,
			rows: func(emit func(bulk.Op, int64, []any) error) error {
				for j, c := range ordered {
					if err := emit(c.op, base+int64(j)+1, c.vals); err != nil {
						return err
					}
				}
				return nil
			},
		}}, wholeLanes, base+changes, false)
		if err != nil {
			b.Fatal(err)
		}
		name := contact.Table.Name
		groups, err := callGroups(cycle)
		if err != nil {
			b.Fatal(err)
		}
		return wholeIteration{
			cycle: cycle, raw: []rawTable{side.rawTable(b, contact.Table, contactRows(changes, gen))},
			wantLSN: base, wantChange: "None",
			wantMirror: map[string]int64{name: base + sent.Inserted - sent.Deleted},
			wantRaw:    map[string]int64{name: changes},
			// The same changes in the same order, in transactions of one call's rows each.
			upsert:      &upsertLoad{table: contact.Table, base: base, changes: ordered, groups: groups},
			wantUpsert:  base + sent.Inserted - sent.Deleted,
			upsertCheck: i == 0,
			after:       cycle.close,
			base: func(ctx context.Context, tenant string) error {
				return engineLoad(ctx, w.srv.engine, tenant, base)
			},
			check: func(ctx context.Context, _, mirrorTenant string) (string, error) {
				// Every updated and inserted row carries the generation in its name.
				n, err := side.count(ctx, mirrorTenant, false, name, fmt.Sprintf("name LIKE '%%/%d'", gen))
				if err != nil {
					return "", err
				}
				if n != sent.Updated+sent.Inserted {
					return "", fmt.Errorf("tenant %s: %d rows of generation %d, want %d updated and inserted", mirrorTenant, n, gen, sent.Updated+sent.Inserted)
				}
				return fmt.Sprintf("iteration %d: %d updates, %d inserts, %d deletes: %d rows of the new generation in mirrord's table",
					i+1, sent.Updated, sent.Inserted, sent.Deleted, n), nil
			},
		}
	})
}

// engineLoad loads rows 1..n of the contact table into tenant through the engine, in one apply
// that brings the table to LSN n, as a cycle before the timed one would have left it.
func engineLoad(ctx context.Context, e *engine.Engine, tenant string, n int64) error {
	if _, err := e.SyncSchema(ctx, tenant, []schema.Table{contact.Table}); err != nil {
		return err
	}
	a, err := e.BeginApply(ctx, tenant)
	if err != nil {
		return err
	}
	w, err := a.Batch(contact.Table.Name, contactColumns)
	if err != nil {
		return err
	}
	var values []bulk.Value
	for id := int64(1); id <= n; id++ {
		if values, err = bulk.ValuesOf(values[:0], contact.Row(id, 0)...); err != nil {
			break
		}
		if err = w.Add(bulk.Insert, values); err != nil {
			break
		}
	}
	w.SetLSN(n)
	w.Close()
	res, ferr := a.Finish()
	switch {
	case err != nil:
		return err
	case ferr != nil:
		return ferr
	case len(res) != 1 || res[0].Err != nil:
		return fmt.Errorf("apply of %d rows: %+v", n, res)
	}
	return nil
}

func wholeDemo(b *testing.B, side wholeSide, scale int64) {
	d := loadDemo(b, scale)
	var raws []rawTable
	want := map[string]int64{}
	for _, t := range d.tables {
		raws = append(raws, side.rawTable(b, t, func() (pgx.CopyFromSource, error) {
			rows, err := d.rows(t.Name)
			return pgx.CopyFromRows(rows), err
		}))
		want[t.Name] = d.counts[t.Name]
	}
	w := newWholeBench(b, side)
	w.loop(b, func(i int) wholeIteration {
		it := wholeIteration{cycle: d.cycle, raw: raws, wantLSN: bulk.NoLSN, wantChange: "Created", wantMirror: want, wantRaw: want}
		if i == 0 {
			it.check = func(ctx context.Context, rawTenant, mirrorTenant string) (string, error) {
				return side.compare(ctx, rawTenant, mirrorTenant, d.tables)
			}
		}
		return it
	})
}

// demoTenant is the demo tenant, open for the raw loads to read, and its first cycle encoded.
type demoTenant struct {
	src    *tenant.Tenant
	tables []schema.Table
	counts map[string]int64
	cycle  *wholeCycle
}

// rows reads every row of a table of the tenant, in key order.
func (d *demoTenant) rows(table string) ([][]any, error) {
	rows, err := d.src.AllRows(context.Background(), table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		out = append(out, rows.Row().Values)
	}
	return out, rows.Err()
}

// loadDemo creates the demo tenant at scale in a temporary folder, as make demo does (seed 1,
// tenant Cust12020), and encodes its first cycle.
func loadDemo(b *testing.B, scale int64) *demoTenant {
	ctx := context.Background()
	dir := b.TempDir()
	start := time.Now()
	src, err := tenant.Create(ctx, filepath.Join(dir, "source.db"), tenant.Config{Scale: scale, Seed: 1, Name: "Cust12020"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })
	lsn, err := src.CurrentLSN(ctx)
	if err != nil {
		b.Fatal(err)
	}
	d := &demoTenant{src: src, tables: src.Tables(), counts: map[string]int64{}}
	var loads []tableLoad
	var total int64
	for _, t := range d.tables {
		n, err := src.RowCount(ctx, t.Name)
		if err != nil {
			b.Fatal(err)
		}
		d.counts[t.Name] = n
		total += n
		loads = append(loads, tableLoad{table: t, sent: bulk.Counts{Inserted: n},
			rows: func(emit func(bulk.Op, int64, []any) error) error {
				rows, err := src.AllRows(ctx, t.Name)
				if err != nil {
					return err
				}
				defer rows.Close()
				for rows.Next() {
					r := rows.Row()
					if err := emit(r.Op, r.LSN, r.Values); err != nil {
						return err
					}
				}
				return rows.Err()
			}})
	}
	if d.cycle, err = encodeCycle(dir, loads, wholeLanes, lsn, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(d.cycle.close)
	b.Logf("demo tenant: %d tables, %d rows, %.1f MB of requests in %d RowData calls over %d lanes; made and encoded in %s",
		len(d.tables), total, float64(d.cycle.bytes)/1e6, d.cycle.calls, len(d.cycle.lanes), time.Since(start).Round(time.Millisecond))
	return d
}
