package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
)

// The strategy matrix of BENCHMARKS.md: the same rows of a 12-column contact-like table loaded
// by raw COPY (the database's limit), row-by-row upsert, pipelined batched upsert and the engine.
//
//	go test ./bench -run '^$' -bench 'Repopulate|Incremental' -benchtime 3x

const (
	repopulateRows  = 200_000
	incrementalBase = 1_000_000
	incrementalRows = 100_000
)

var contactColumns = contact.Columns()

type change struct {
	op     bulk.Op
	vals   []any
	values []bulk.Value // vals as the engine takes them, made before any clock
}

func newChange(op bulk.Op, vals []any) change {
	values, err := bulk.ValuesOf(nil, vals...)
	if err != nil {
		panic(err)
	}
	return change{op, vals, values}
}

// incrementalChanges is a deterministic mix of 60% updates, 25% inserts and 15% deletes
// against keys 1..base, inserting above next. Each key comes at most once, as in a RowData
// call, where a row changed several times is sent once in its final state.
func incrementalChanges(n int, base int64, next *int64, gen int) []change {
	r := rand.New(rand.NewPCG(uint64(gen), 7))
	seen := make(map[int64]bool, n)
	existing := func() int64 {
		for {
			if k := 1 + r.Int64N(base); !seen[k] {
				seen[k] = true
				return k
			}
		}
	}
	out := make([]change, 0, n)
	for range n {
		switch p := r.IntN(100); {
		case p < 60:
			out = append(out, newChange(bulk.Update, contact.Row(existing(), gen)))
		case p < 85:
			*next++
			out = append(out, newChange(bulk.Insert, contact.Row(*next, gen)))
		default:
			vals := make([]any, len(contactColumns))
			vals[0] = existing()
			out = append(out, newChange(bulk.Delete, vals))
		}
	}
	return out
}

type pgBench struct {
	target *pgsql.Target
	conn   *pgx.Conn
	tenant string
	mirror bulk.Mirror
}

// setupPG opens a fresh tenant database on the server of MIRRORD_TEST_PG_DSN holding the
// contact table, and drops it when the benchmark ends.
func setupPG(b *testing.B) *pgBench {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		b.Skip("MIRRORD_TEST_PG_DSN is not set; the strategy benchmarks need PostgreSQL")
	}
	ctx := context.Background()
	prefix := fmt.Sprintf("bench%d_", rand.Uint32())
	target, err := pgsql.Open(ctx, dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		b.Fatal(err)
	}
	const tenant = "Bench"
	m, err := target.Open(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, contact.Table)}); err != nil {
		b.Fatal(err)
	}
	cfg, _ := pgx.ParseConfig(dsn)
	admin := cfg.Copy()
	cfg.Database = prefix + tenant
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Close(ctx)
		m.Close()
		target.Close()
		if c, err := pgx.ConnectConfig(ctx, admin); err == nil {
			c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{prefix + tenant}.Sanitize()+" WITH (FORCE)")
			c.Close(ctx)
		}
	})
	return &pgBench{target: target, conn: conn, tenant: tenant, mirror: m}
}

func (p *pgBench) exec(b *testing.B, sql string) {
	if _, err := p.conn.Exec(context.Background(), sql); err != nil {
		b.Fatalf("%s: %v", sql, err)
	}
}

func (p *pgBench) rawCopy(b *testing.B, table string, rows [][]any) {
	n, err := p.conn.CopyFrom(context.Background(), pgx.Identifier{table}, contactColumns, pgx.CopyFromRows(rows))
	if err != nil || n != int64(len(rows)) {
		b.Fatalf("copy: %d rows, %v", n, err)
	}
}

var upsertSQL = func() string {
	var set []string
	var params []string
	for i, c := range contactColumns {
		params = append(params, fmt.Sprintf("$%d", i+1))
		if i > 0 {
			set = append(set, fmt.Sprintf("%q = EXCLUDED.%q", c, c))
		}
	}
	return fmt.Sprintf(`INSERT INTO contact (%s) VALUES (%s) ON CONFLICT (contact_id) DO UPDATE SET %s`,
		`"`+strings.Join(contactColumns, `", "`)+`"`, strings.Join(params, ", "), strings.Join(set, ", "))
}()

const deleteSQL = `DELETE FROM contact WHERE contact_id = $1`

// rowByRow is what a generic receiver does: one statement per change, one round trip each.
func (p *pgBench) rowByRow(b *testing.B, changes []change) {
	ctx := context.Background()
	tx, err := p.conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range changes {
		if c.op == bulk.Delete {
			_, err = tx.Exec(ctx, deleteSQL, c.vals[0])
		} else {
			_, err = tx.Exec(ctx, upsertSQL, c.vals...)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// batchedUpsert is what generic CDC sinks do: the same statements pipelined 1000 at a time.
func (p *pgBench) batchedUpsert(b *testing.B, changes []change) {
	ctx := context.Background()
	tx, err := p.conn.Begin(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for start := 0; start < len(changes); start += 1000 {
		batch := &pgx.Batch{}
		for _, c := range changes[start:min(start+1000, len(changes))] {
			if c.op == bulk.Delete {
				batch.Queue(deleteSQL, c.vals[0])
			} else {
				batch.Queue(upsertSQL, c.vals...)
			}
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		b.Fatal(err)
	}
}

// viaEngine sends the changes as one RowData call through the engine.
func viaEngine(b *testing.B, e *engine.Engine, tenant string, changes []change, lsn int64) {
	a, err := e.BeginApply(context.Background(), tenant)
	if err != nil {
		b.Fatal(err)
	}
	w, err := a.Batch("contact", contactColumns)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range changes {
		if err := w.Add(c.op, c.values); err != nil {
			b.Fatal(err)
		}
	}
	w.SetLSN(lsn)
	w.Close()
	res, err := a.Finish()
	if err != nil || res[0].Err != nil {
		b.Fatalf("engine apply: %v %v", err, res[0].Err)
	}
}

func reportRows(b *testing.B, rowsPerOp int) {
	b.ReportMetric(float64(rowsPerOp)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkRepopulate(b *testing.B) {
	rows := make([][]any, repopulateRows)
	changes := make([]change, repopulateRows)
	for i := range rows {
		rows[i] = contact.Row(int64(i+1), 0)
		changes[i] = newChange(bulk.Insert, rows[i])
	}
	run := func(name string, load func(b *testing.B, p *pgBench, e *engine.Engine, gen int)) {
		b.Run(name, func(b *testing.B) {
			p := setupPG(b)
			e := engine.New(p.target, engine.Options{})
			defer e.Close()
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				// Wipe through the engine so that it knows the table is empty, as after a real Wipe.
				if err := e.Wipe(ctx, p.tenant, []string{"contact"}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				load(b, p, e, i)
			}
			reportRows(b, repopulateRows)
		})
	}
	run("RawCopy", func(b *testing.B, p *pgBench, _ *engine.Engine, _ int) { p.rawCopy(b, "contact", rows) })
	run("RowByRowUpsert", func(b *testing.B, p *pgBench, _ *engine.Engine, _ int) { p.rowByRow(b, changes) })
	run("BatchedUpsert", func(b *testing.B, p *pgBench, _ *engine.Engine, _ int) { p.batchedUpsert(b, changes) })
	run("Engine", func(b *testing.B, p *pgBench, e *engine.Engine, i int) {
		viaEngine(b, e, p.tenant, changes, int64(i+1))
	})
}

func BenchmarkIncremental(b *testing.B) {
	incremental(b, incrementalBase, incrementalRows, true)
}

// BenchmarkIncrementalLarge is the incremental load at the size of a large tenant's table: 10%
// of a 4,000,000-row table changed in one load, with the same mix. Each strategy loads its own
// table first (about 30 s each), so it runs only when MIRRORD_BENCH_LARGE is set:
//
//	MIRRORD_BENCH_LARGE=1 MIRRORD_TEST_PG_DSN=… go test ./bench -run '^$' -bench IncrementalLarge -benchtime 3x -count 3 -timeout 60m
func BenchmarkIncrementalLarge(b *testing.B) {
	if os.Getenv("MIRRORD_BENCH_LARGE") == "" {
		b.Skip("MIRRORD_BENCH_LARGE is not set; this benchmark loads a 4M-row table per strategy")
	}
	incremental(b, 4_000_000, 400_000, false)
}

// incremental runs the strategies of an incremental load of changes rows against a table of
// base rows; row by row only with rowByRow, since it takes minutes on large loads.
func incremental(b *testing.B, base, changes int, rowByRow bool) {
	run := func(name string, load func(b *testing.B, p *pgBench, e *engine.Engine, changes []change, gen int)) {
		b.Run(name, func(b *testing.B) {
			p := setupPG(b)
			e := engine.New(p.target, engine.Options{})
			defer e.Close()
			rows := make([][]any, 0, 50_000)
			for id := int64(1); id <= int64(base); id++ {
				rows = append(rows, contact.Row(id, 0))
				if len(rows) == cap(rows) || id == int64(base) {
					p.rawCopy(b, "contact", rows)
					rows = rows[:0]
				}
			}
			p.exec(b, "VACUUM ANALYZE contact")
			p.exec(b, "CHECKPOINT")
			next := int64(base)
			gen := 0
			for b.Loop() {
				b.StopTimer()
				gen++
				changes := incrementalChanges(changes, int64(base), &next, gen)
				b.StartTimer()
				load(b, p, e, changes, gen)
			}
			reportRows(b, changes)
		})
	}
	run("RawCopy", func(b *testing.B, p *pgBench, _ *engine.Engine, changes []change, gen int) {
		// The limit: the same number of rows copied into an empty copy of the table.
		b.StopTimer()
		p.exec(b, "DROP TABLE IF EXISTS contact_copy")
		p.exec(b, "CREATE TABLE contact_copy (LIKE contact INCLUDING ALL)")
		rows := make([][]any, len(changes))
		for i := range changes {
			rows[i] = contact.Row(int64(i+1), gen)
		}
		b.StartTimer()
		p.rawCopy(b, "contact_copy", rows)
	})
	if rowByRow {
		run("RowByRowUpsert", func(b *testing.B, p *pgBench, _ *engine.Engine, changes []change, _ int) { p.rowByRow(b, changes) })
	}
	run("BatchedUpsert", func(b *testing.B, p *pgBench, _ *engine.Engine, changes []change, _ int) { p.batchedUpsert(b, changes) })
	run("Engine", func(b *testing.B, p *pgBench, e *engine.Engine, changes []change, gen int) {
		viaEngine(b, e, p.tenant, changes, int64(gen))
	})
	// The changes in calls of 4,500 rows, about 1 MB of RowData each, as the Task sends them.
	run("EngineCalls", func(b *testing.B, p *pgBench, e *engine.Engine, changes []change, gen int) {
		for from := 0; from < len(changes); from += engineCallRows {
			viaEngine(b, e, p.tenant, changes[from:min(from+engineCallRows, len(changes))], int64(gen)*1_000_000+int64(from))
		}
	})
}

// engineCallRows is about the rows of one 1 MB RowData call of the contact table.
const engineCallRows = 4_500
