package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
)

// backend is a real target plus a way to look at a tenant's mirror with plain SQL.
type backend struct {
	name   string
	target bulk.Target
	// query runs SQL in the tenant's mirror database and returns every value as text ("NULL" for NULL).
	query func(t *testing.T, tenant, q string) [][]string
	// exec runs SQL in the tenant's mirror database.
	exec func(t *testing.T, tenant, q string)
	// deleteMirror deletes the tenant's mirror database (or file) behind mirrord's back.
	deleteMirror func(t *testing.T, tenant string)
	// another opens a second target on the same folder or server, with its own connections:
	// what a second mirrord process sees.
	another func(t *testing.T) bulk.Target
}

func backends(t *testing.T) []backend {
	return []backend{sqliteBackend(t), pgBackend(t)}
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { target.Close() })
	db := func(t *testing.T, tenant string) *sql.DB {
		db, err := sql.Open("sqlite", filepath.Join(dir, "Mirror_"+tenant+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return backend{
		name:   "sqlite",
		target: target,
		query: func(t *testing.T, tenant, q string) [][]string {
			rows, err := db(t, tenant).Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out [][]string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				out = append(out, texts(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
		exec: func(t *testing.T, tenant, q string) {
			if _, err := db(t, tenant).Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		another: func(t *testing.T) bulk.Target {
			other, err := sqlite.Open(dir, sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return other
		},
		deleteMirror: func(t *testing.T, tenant string) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if err := os.Remove(filepath.Join(dir, "Mirror_"+tenant+".db"+suffix)); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		},
	}
}

func pgBackend(t *testing.T) backend {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		return backend{name: "postgres"}
	}
	prefix := fmt.Sprintf("engt%d_", rand.Uint32())
	target, err := pgsql.Open(context.Background(), dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tenants := map[string]bool{}
	conn := func(t *testing.T, tenant string) *pgx.Conn {
		c := cfg.Copy()
		c.Database = prefix + tenant
		conn, err := pgx.ConnectConfig(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		mu.Lock()
		tenants[tenant] = true
		mu.Unlock()
		return conn
	}
	t.Cleanup(func() {
		target.Close()
		admin, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			return
		}
		defer admin.Close(context.Background())
		rows, _ := admin.Query(context.Background(), "SELECT datname FROM pg_database WHERE datname LIKE $1", prefix+"%")
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, name := range names {
			admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
	})
	return backend{
		name:   "postgres",
		target: target,
		query: func(t *testing.T, tenant, q string) [][]string {
			rows, err := conn(t, tenant).Query(context.Background(), q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var out [][]string
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, texts(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return out
		},
		exec: func(t *testing.T, tenant, q string) {
			if _, err := conn(t, tenant).Exec(context.Background(), q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		},
		another: func(t *testing.T) bulk.Target {
			other, err := pgsql.Open(context.Background(), dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Close() })
			return other
		},
		deleteMirror: func(t *testing.T, tenant string) {
			admin, err := pgx.ConnectConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer admin.Close(context.Background())
			if _, err := admin.Exec(context.Background(), "DROP DATABASE "+pgx.Identifier{prefix + tenant}.Sanitize()+" WITH (FORCE)"); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func texts(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			out[i] = "NULL"
		case []byte:
			out[i] = string(v)
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// forEach runs f once per backend, skipping PostgreSQL when MIRRORD_TEST_PG_DSN is unset.
func forEach(t *testing.T, f func(t *testing.T, b backend, e *engine.Engine)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.target == nil {
				t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run")
			}
			e := engine.New(b.target, engine.Options{ChunkRows: 7, Wait: 5 * time.Second})
			f(t, b, e)
		})
	}
}

var ctx = context.Background()

func contact() schema.Table {
	return schema.Table{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
		{Name: "number", Type: schema.Int, Nullable: true},
	}}
}

func person() schema.Table {
	return schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "person_id", Type: schema.Int, PrimaryKey: true},
		{Name: "firstname", Type: schema.NVarChar, Length: 50, Nullable: true},
	}}
}

func keyless() schema.Table {
	return schema.Table{Name: "eventlog", Columns: []schema.Column{
		{Name: "event", Type: schema.NVarChar, Length: 100, Nullable: true},
	}}
}

type row struct {
	op   bulk.Op
	vals []any
}

type batch struct {
	table string
	cols  []string
	rows  []row
	lsn   *int64
}

func lsn(v int64) *int64 { return &v }

// apply sends the batches as one RowData call and returns its results.
func apply(t *testing.T, e *engine.Engine, tenant string, batches ...batch) []engine.TableApplyResult {
	t.Helper()
	a, err := e.BeginApply(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		w, err := a.Batch(b.table, b.cols)
		if err != nil {
			a.Abort(err)
			t.Fatalf("batch %s: %v", b.table, err)
		}
		for _, r := range b.rows {
			if err := w.Add(r.op, values(r.vals...)); err != nil {
				a.Abort(err)
				t.Fatal(err)
			}
		}
		if b.lsn != nil {
			if err := w.SetLSN(*b.lsn); err != nil {
				a.Abort(err)
				t.Fatalf("batch %s: LSN %d: %v", b.table, *b.lsn, err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := a.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func sync_(t *testing.T, e *engine.Engine, tenant string, tables ...schema.Table) map[string]engine.TableResult {
	t.Helper()
	res, err := e.SyncSchema(ctx, tenant, tables)
	if err != nil {
		t.Fatalf("SyncSchema: %v", err)
	}
	out := map[string]engine.TableResult{}
	for _, r := range res {
		out[r.Name] = r
	}
	return out
}

func stateLSN(t *testing.T, b backend, tenant, table string) string {
	t.Helper()
	rows := b.query(t, tenant, fmt.Sprintf(`SELECT lsn FROM "%s_mirroring" WHERE tablename = '%s'`, tenant, table))
	if len(rows) != 1 {
		t.Fatalf("state of %s: %d rows", table, len(rows))
	}
	return rows[0][0]
}

func contents(t *testing.T, b backend, tenant, q string) string {
	t.Helper()
	var lines []string
	for _, r := range b.query(t, tenant, q) {
		lines = append(lines, strings.Join(r, "|"))
	}
	return strings.Join(lines, "\n")
}

func TestSyncSchemaChanges(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust1"
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		got := sync_(t, e, tenant, contact(), person())
		if got["contact"] != (engine.TableResult{Name: "contact", LSN: -1, Change: engine.ChangeCreated}) {
			t.Fatalf("create: %+v", got["contact"])
		}
		apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id", "name", "number"},
			rows: []row{{bulk.Insert, []any{int64(1), "Fjord & Co", int64(7)}}}, lsn: lsn(40)})

		got = sync_(t, e, tenant, contact(), person())
		if got["contact"] != (engine.TableResult{Name: "contact", LSN: 40, Change: engine.ChangeNone}) {
			t.Fatalf("unchanged: %+v", got["contact"])
		}

		// Add a nullable column and widen another: in place, LSN and rows kept.
		altered := contact()
		altered.Columns[1].Length = 400
		altered.Columns = append(altered.Columns, schema.Column{Name: "department", Type: schema.NVarChar, Length: 60, Nullable: true})
		got = sync_(t, e, tenant, altered, person())
		if got["contact"] != (engine.TableResult{Name: "contact", LSN: 40, Change: engine.ChangeAltered}) {
			t.Fatalf("alter: %+v", got["contact"])
		}
		if c := contents(t, b, tenant, `SELECT contact_id, name, department FROM contact`); c != "1|Fjord & Co|NULL" {
			t.Fatalf("rows after alter: %q", c)
		}

		// A type change that cannot keep the data: recreated, empty, LSN -1.
		retyped := altered
		retyped.Columns = slices.Clone(altered.Columns)
		retyped.Columns[2].Type = schema.NVarChar
		retyped.Columns[2].Length = 10
		got = sync_(t, e, tenant, retyped, person())
		if got["contact"] != (engine.TableResult{Name: "contact", LSN: -1, Change: engine.ChangeRecreated}) {
			t.Fatalf("recreate: %+v", got["contact"])
		}
		if c := contents(t, b, tenant, `SELECT count(*) FROM contact`); c != "0" {
			t.Fatalf("rows after recreate: %s", c)
		}

		// person is absent from the next cycle's call: it stays until the cycle completes,
		// then goes with its state row.
		if _, err := e.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		got = sync_(t, e, tenant, retyped)
		if len(got) != 1 {
			t.Fatalf("results: %+v", got)
		}
		const stateRows = `SELECT tablename FROM "Cust1_mirroring" WHERE tablename <> '#cycle' ORDER BY tablename`
		if c := contents(t, b, tenant, stateRows); c != "contact\nperson" {
			t.Fatalf("state rows before the cycle completes: %q", c)
		}
		done, err := e.Complete(ctx, tenant, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(done.Dropped, []string{"person"}) {
			t.Fatalf("dropped at the end of the cycle: %v", done.Dropped)
		}
		if c := contents(t, b, tenant, stateRows); c != "contact" {
			t.Fatalf("state rows: %q", c)
		}
	})
}

func TestPartnerTablesAreLeftAlone(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust2"
		sync_(t, e, tenant, contact())
		b.exec(t, tenant, `CREATE TABLE partner_notes (id integer primary key, note text)`)
		b.exec(t, tenant, `INSERT INTO partner_notes VALUES (1, 'mine')`)
		b.exec(t, tenant, `CREATE INDEX partner_contact_name ON contact (name)`)

		sync_(t, e, tenant, contact(), person()) // partner_notes is absent but not mirrored
		if c := contents(t, b, tenant, `SELECT note FROM partner_notes`); c != "mine" {
			t.Fatalf("partner table: %q", c)
		}
		if err := e.Wipe(ctx, tenant, []string{"partner_notes"}); !errors.Is(err, engine.ErrBadRequest) {
			t.Fatalf("wipe of a partner table: %v", err)
		}
		// A mirrored table of the same name as the partner's cannot take it over.
		notes := schema.Table{Name: "partner_notes", Columns: []schema.Column{{Name: "id", Type: schema.Int, PrimaryKey: true}}}
		if _, err := e.SyncSchema(ctx, tenant, []schema.Table{contact(), notes}); err == nil {
			t.Fatal("SyncSchema took over a partner's table")
		}
		if c := contents(t, b, tenant, `SELECT note FROM partner_notes`); c != "mine" {
			t.Fatalf("partner table after refused takeover: %q", c)
		}
		// In-place changes and wipes keep the partner's index on a mirrored table.
		altered := contact()
		altered.Columns = append(altered.Columns, schema.Column{Name: "extra", Type: schema.Int, Nullable: true})
		sync_(t, e, tenant, altered)
		if err := e.Wipe(ctx, tenant, []string{"contact"}); err != nil {
			t.Fatal(err)
		}
		var q string
		if b.name == "sqlite" {
			q = `SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'partner_contact_name'`
		} else {
			q = `SELECT indexname FROM pg_indexes WHERE indexname = 'partner_contact_name'`
		}
		if c := contents(t, b, tenant, q); c != "partner_contact_name" {
			t.Fatalf("partner index after alter and wipe: %q", c)
		}
	})
}

func TestApplySemantics(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust3"
		sync_(t, e, tenant, contact(), person())
		cols := []string{"contact_id", "name", "number"}
		// Rows span several chunks (ChunkRows is 7) and two batches of the same table.
		var first []row
		for i := 1; i <= 20; i++ {
			first = append(first, row{bulk.Insert, []any{int64(i), fmt.Sprintf("c%d", i), int64(i)}})
		}
		res := apply(t, e, tenant,
			batch{table: "contact", cols: cols, rows: first[:10]},
			batch{table: "contact", cols: cols, rows: first[10:], lsn: lsn(100)})
		if len(res) != 1 || res[0].Err != nil || res[0].LSN != 100 || res[0].Counts.Inserted != 20 {
			t.Fatalf("first call: %+v", res)
		}

		res = apply(t, e, tenant,
			batch{table: "contact", cols: cols, rows: []row{
				{bulk.Insert, []any{int64(21), "new", nil}},
				{bulk.Update, []any{int64(21), "new, then updated", int64(1)}}, // last state wins
				{bulk.Update, []any{int64(2), "two", int64(22)}},
				{bulk.Delete, []any{int64(3), nil, nil}},
				{bulk.Insert, []any{int64(4), "insert of an existing key updates", int64(4)}},
				{bulk.Update, []any{int64(50), "update of a missing key inserts", nil}},
				{bulk.Delete, []any{int64(99), nil, nil}}, // delete of a missing key: nothing
				{bulk.Delete, []any{int64(5), nil, nil}},
				{bulk.Insert, []any{int64(5), "deleted then inserted", int64(5)}},
			}},
			// No <Lsn> on this table's batch: its rows commit, its LSN stays.
			batch{table: "person", cols: []string{"person_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}},
			// A partial column list: the update keeps the omitted column.
			batch{table: "contact", cols: []string{"contact_id", "number"}, rows: []row{
				{bulk.Update, []any{int64(6), int64(600)}},
			}, lsn: lsn(101)},
		)
		if res[0].Err != nil || res[0].LSN != 101 || res[1].Err != nil || res[1].LSN != -1 {
			t.Fatalf("second call: %+v", res)
		}
		got := contents(t, b, tenant, `SELECT contact_id, name, number FROM contact WHERE contact_id IN (2,3,4,5,6,21,50,99) ORDER BY contact_id`)
		want := strings.Join([]string{
			"2|two|22", "4|insert of an existing key updates|4", "5|deleted then inserted|5", "6|c6|600",
			"21|new, then updated|1", "50|update of a missing key inserts|NULL",
		}, "\n")
		if got != want {
			t.Fatalf("rows:\n%s\nwant:\n%s", got, want)
		}
		if l := stateLSN(t, b, tenant, "contact"); l != "101" {
			t.Fatalf("contact LSN %s", l)
		}
		if l := stateLSN(t, b, tenant, "person"); l != "-1" {
			t.Fatalf("person LSN %s, want -1 (no batch carried one)", l)
		}
	})
}

func TestFailingTableLeavesOthersCommitted(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust4"
		sync_(t, e, tenant, contact(), keyless())
		res := apply(t, e, tenant,
			batch{table: "eventlog", cols: []string{"event"}, rows: []row{{bulk.Insert, []any{"a"}}}, lsn: lsn(5)},
			batch{table: "contact", cols: []string{"contact_id", "name"}, rows: []row{{bulk.Insert, []any{int64(1), "x"}}}, lsn: lsn(6)})
		if res[0].Err != nil || res[1].Err != nil {
			t.Fatalf("setup: %+v", res)
		}
		// An update of a keyless table fails that table only.
		res = apply(t, e, tenant,
			batch{table: "eventlog", cols: []string{"event"}, rows: []row{
				{bulk.Insert, []any{"b"}}, {bulk.Update, []any{"c"}}}, lsn: lsn(9)},
			batch{table: "contact", cols: []string{"contact_id", "name"}, rows: []row{{bulk.Insert, []any{int64(2), "y"}}}, lsn: lsn(10)})
		if !errors.Is(res[0].Err, bulk.ErrNoKey) || res[0].LSN != 5 {
			t.Fatalf("keyless table: %+v", res[0])
		}
		if res[1].Err != nil || res[1].LSN != 10 {
			t.Fatalf("other table: %+v", res[1])
		}
		if c := contents(t, b, tenant, `SELECT event FROM eventlog`); c != "a" {
			t.Fatalf("keyless rows: %q", c)
		}
		if l := stateLSN(t, b, tenant, "eventlog"); l != "5" {
			t.Fatalf("keyless LSN %s", l)
		}
		if c := contents(t, b, tenant, `SELECT count(*) FROM contact`); c != "2" {
			t.Fatalf("contact rows: %s", c)
		}
	})
}

func TestAbortWritesNothing(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust5"
		sync_(t, e, tenant, contact(), person())
		a, err := e.BeginApply(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"contact", "person"} {
			cols := []string{table + "_id"}
			w, err := a.Batch(table, cols)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 30 { // several chunks reach the loaders before the abort
				if err := w.Add(bulk.Insert, values(int64(i))); err != nil {
					t.Fatal(err)
				}
			}
			w.SetLSN(77)
			w.Close()
		}
		a.Abort(errors.New("the body was truncated"))
		for _, table := range []string{"contact", "person"} {
			if c := contents(t, b, tenant, "SELECT count(*) FROM "+table); c != "0" {
				t.Fatalf("%s has %s rows after abort", table, c)
			}
			if l := stateLSN(t, b, tenant, table); l != "-1" {
				t.Fatalf("%s LSN %s after abort", table, l)
			}
		}
	})
}

func TestBadRequests(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust6"
		sync_(t, e, tenant, contact())
		bad := []struct {
			name string
			err  func() error
		}{
			{"tenant name", func() error { return e.Authenticate(ctx, "Cust6;drop") }},
			{"table name", func() error {
				_, err := e.SyncSchema(ctx, tenant, []schema.Table{{Name: `a]b`, Columns: contact().Columns}})
				return err
			}},
			{"unknown type", func() error {
				_, err := e.SyncSchema(ctx, tenant, []schema.Table{{Name: "t", Columns: []schema.Column{{Name: "a", Type: "geography"}}}})
				return err
			}},
			{"state table name", func() error {
				_, err := e.SyncSchema(ctx, tenant, []schema.Table{{Name: "Cust6_mirroring", Columns: contact().Columns}})
				return err
			}},
			{"table twice", func() error {
				other := contact()
				other.Name = "CONTACT"
				_, err := e.SyncSchema(ctx, tenant, []schema.Table{contact(), other})
				return err
			}},
			{"wipe of unknown table", func() error { return e.Wipe(ctx, tenant, []string{"nosuch"}) }},
			{"rows for unknown table", func() error { return batchErr(e, tenant, "nosuch", []string{"id"}) }},
			{"unknown column", func() error { return batchErr(e, tenant, "contact", []string{"contact_id", "nosuch"}) }},
			{"column twice", func() error { return batchErr(e, tenant, "contact", []string{"contact_id", "name", "name"}) }},
			{"missing key column", func() error { return batchErr(e, tenant, "contact", []string{"name"}) }},
			{"hostile column", func() error {
				return batchErr(e, tenant, "contact", []string{"contact_id", `x"; DROP TABLE contact; --`})
			}},
		}
		for _, c := range bad {
			err := c.err()
			if !errors.Is(err, engine.ErrBadRequest) {
				t.Errorf("%s: got %v, want a bad request", c.name, err)
			}
		}
		if c := contents(t, b, tenant, `SELECT tablename FROM "Cust6_mirroring"`); c != "contact" {
			t.Fatalf("state after bad requests: %q", c)
		}
	})
}

func batchErr(e *engine.Engine, tenant, table string, cols []string) error {
	a, err := e.BeginApply(ctx, tenant)
	if err != nil {
		return err
	}
	_, err = a.Batch(table, cols)
	a.Abort(err)
	return err
}

func TestWipeAndCounts(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust7"
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, e, tenant, contact(), person())
		cols := []string{"contact_id", "name"}
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{
			{bulk.Insert, []any{int64(1), "a"}}, {bulk.Insert, []any{int64(2), "b"}}}, lsn: lsn(3)})
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{
			{bulk.Update, []any{int64(1), "a2"}}, {bulk.Delete, []any{int64(2), nil}}}, lsn: lsn(4)},
			batch{table: "person", cols: []string{"person_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(4)})
		done, err := e.Complete(ctx, tenant, nil)
		if err != nil {
			t.Fatal(err)
		}
		counts := done.Counts
		want := []engine.TableCounts{
			{Name: "contact", Counts: bulk.Counts{Inserted: 2, Updated: 1, Deleted: 1}},
			{Name: "person", Counts: bulk.Counts{Inserted: 1}},
		}
		if !slices.Equal(counts, want) {
			t.Fatalf("counts %+v, want %+v", counts, want)
		}

		if err := e.Wipe(ctx, tenant, []string{"contact"}); err != nil {
			t.Fatal(err)
		}
		if c := contents(t, b, tenant, `SELECT count(*) FROM contact`); c != "0" {
			t.Fatalf("rows after wipe: %s", c)
		}
		if l := stateLSN(t, b, tenant, "contact"); l != "-1" {
			t.Fatalf("LSN after wipe: %s", l)
		}
		if got := sync_(t, e, tenant, contact(), person()); got["contact"].LSN != -1 || got["person"].LSN != 4 {
			t.Fatalf("LSNs after wipe: %+v", got)
		}
		// Repopulation after a wipe takes the empty path; a repeated key still ends in its last state.
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{
			{bulk.Insert, []any{int64(1), "a"}}, {bulk.Insert, []any{int64(2), "b"}}, {bulk.Insert, []any{int64(1), "again"}}}, lsn: lsn(8)})
		if c := contents(t, b, tenant, `SELECT contact_id, name FROM contact ORDER BY contact_id`); c != "1|again\n2|b" {
			t.Fatalf("repopulated: %q", c)
		}

		// A new Authenticate starts the counts again.
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		if done, _ := e.Complete(ctx, tenant, nil); len(done.Counts) != 0 || len(done.Dropped) != 0 {
			t.Fatalf("after Authenticate: %+v", done)
		}
	})
}

func TestConcurrentCallsAndBackpressure(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, _ *engine.Engine) {
		// A tiny in-flight budget and few apply slots: calls must still all complete.
		e := engine.New(b.target, engine.Options{ChunkRows: 50, MaxInflightBytes: 4 << 10, MaxApplies: 2, Wait: 30 * time.Second})
		tenants := []string{"Cust8", "Cust9"}
		for _, tenant := range tenants {
			// A cycle creates the tables, so the two calls' LSNs may come in either order.
			if err := e.Authenticate(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			sync_(t, e, tenant, contact(), person())
		}
		var wg sync.WaitGroup
		errs := make(chan error, 16)
		for _, tenant := range tenants {
			for _, table := range []string{"contact", "person"} {
				for call := range 2 { // two calls on the same (tenant, table): the lane serializes them
					wg.Add(1)
					go func() {
						defer wg.Done()
						a, err := e.BeginApply(ctx, tenant)
						if err != nil {
							errs <- err
							return
						}
						w, err := a.Batch(table, []string{table + "_id"})
						if err != nil {
							errs <- err
							return
						}
						for i := range 1000 {
							if err := w.Add(bulk.Insert, values(int64(call*1000+i))); err != nil {
								errs <- err
								return
							}
						}
						w.SetLSN(int64(call))
						w.Close()
						res, err := a.Finish()
						if err == nil && res[0].Err != nil {
							err = res[0].Err
						}
						if err != nil {
							errs <- err
						}
					}()
				}
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		for _, tenant := range tenants {
			for _, table := range []string{"contact", "person"} {
				if c := contents(t, b, tenant, "SELECT count(*) FROM "+table); c != "2000" {
					t.Errorf("%s.%s: %s rows, want 2000", tenant, table, c)
				}
			}
		}
	})
}

func TestCallWithMoreTablesThanSlots(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, _ *engine.Engine) {
		// One apply slot, and a call whose twelve tables each span many chunks: the tables
		// that wait for the slot are spooled, and the call still completes in order.
		e := engine.New(b.target, engine.Options{MaxApplies: 1, MaxAppliesPerTenant: 1, ChunkRows: 10, SpoolDir: t.TempDir(), Wait: 20 * time.Second})
		const tenant = "Cust10"
		var tables []schema.Table
		for i := range 12 {
			tables = append(tables, schema.Table{Name: fmt.Sprintf("t%02d", i), Columns: []schema.Column{
				{Name: "id", Type: schema.BigInt, PrimaryKey: true},
				{Name: "v", Type: schema.NVarChar, Length: 50, Nullable: true},
				{Name: "at", Type: schema.DateTimeOffset, Scale: 7, Nullable: true},
			}})
		}
		sync_(t, e, tenant, tables...)
		at := time.Date(2024, 3, 1, 10, 22, 5, 123456700, time.FixedZone("", 2*3600))
		var batches []batch
		for _, tab := range tables {
			var rows []row
			for i := range 95 {
				rows = append(rows, row{bulk.Insert, []any{int64(i), fmt.Sprintf("%s-%d\r\n", tab.Name, i), at}})
			}
			rows = append(rows, row{bulk.Update, []any{int64(0), "last state wins", nil}}, row{bulk.Delete, []any{int64(1), nil, nil}})
			batches = append(batches, batch{table: tab.Name, cols: []string{"id", "v", "at"}, rows: rows, lsn: lsn(9)})
		}
		res := apply(t, e, tenant, batches...)
		for _, r := range res {
			// 95 keys sent, one of them deleted: whether the target counts the rows of a key
			// one by one or collapsed, inserts less deletes is 94.
			if r.Err != nil || r.LSN != 9 || r.Counts.Inserted-r.Counts.Deleted != 94 {
				t.Fatalf("%+v", r)
			}
		}
		for _, tab := range tables {
			if c := contents(t, b, tenant, "SELECT count(*) FROM "+tab.Name); c != "94" {
				t.Fatalf("%s: %s rows", tab.Name, c)
			}
			if c := contents(t, b, tenant, "SELECT v FROM "+tab.Name+" WHERE id = 0"); c != "last state wins" {
				t.Fatalf("%s: row 0 is %q", tab.Name, c)
			}
		}
	})
}

// holdLane starts a call that holds contact's lane while its body is still arriving: five rows
// sent, the batch open.
func holdLane(t *testing.T, e *engine.Engine, tenant string) (*engine.Apply, *engine.Batch) {
	t.Helper()
	sync_(t, e, tenant, contact())
	first, err := e.BeginApply(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	w, err := first.Batch("contact", []string{"contact_id"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.Add(bulk.Insert, values(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // let the first loader take the lane
	// A test that fails before it ends the call must not leave it holding a connection, which
	// closing the target would wait for.
	t.Cleanup(func() { first.Abort(errors.New("the test ended")) })
	return first, w
}

func TestLaneSerializesAndTimesOut(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, _ *engine.Engine) {
		e := engine.New(b.target, engine.Options{Wait: 300 * time.Millisecond, ChunkRows: 2})
		const tenant = "Cust11"
		first, w := holdLane(t, e, tenant)
		// A second call for the same table waits for the lane, then fails clearly.
		res := apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(100)}}}, lsn: lsn(3)})
		if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "lane held by another call") || res[0].LSN != -1 {
			t.Fatalf("second call: %+v", res[0])
		}
		w.SetLSN(2)
		w.Close()
		res, err := first.Finish()
		if err != nil || res[0].Err != nil || res[0].LSN != 2 {
			t.Fatalf("first call: %+v %v", res, err)
		}
		if c := contents(t, b, tenant, "SELECT count(*) FROM contact"); c != "5" {
			t.Fatalf("rows: %s", c)
		}
	})
}

// A call whose table waits for another call's lane, with none of its own tables being written,
// holds its body where it is (the decoder waits) instead of spooling its rows, and goes on once
// the lane is free.
func TestWaitingTableHoldsTheBody(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, _ *engine.Engine) {
		e := engine.New(b.target, engine.Options{Wait: 10 * time.Second, ChunkRows: 2})
		const tenant = "Cust11b"
		first, w := holdLane(t, e, tenant)

		second, err := e.BeginApply(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		w2, err := second.Batch("contact", []string{"contact_id"})
		if err != nil {
			t.Fatal(err)
		}
		added := make(chan error, 1)
		go func() {
			// The second row fills a chunk of two: sending it must wait for the lane.
			for i := range 4 {
				if err := w2.Add(bulk.Insert, values(int64(100+i))); err != nil {
					added <- err
					return
				}
			}
			added <- nil
		}()
		select {
		case err := <-added:
			t.Fatalf("the second call's rows were taken while its table waited for the lane (err %v): they were spooled", err)
		case <-time.After(300 * time.Millisecond):
		}

		w.SetLSN(2)
		w.Close()
		if res, err := first.Finish(); err != nil || res[0].Err != nil || res[0].LSN != 2 {
			t.Fatalf("first call: %+v %v", res, err)
		}
		select {
		case err := <-added:
			if err != nil {
				t.Fatalf("second call's rows: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the second call's rows still wait after the first call ended")
		}
		w2.SetLSN(3)
		w2.Close()
		if res, err := second.Finish(); err != nil || res[0].Err != nil || res[0].LSN != 3 {
			t.Fatalf("second call: %+v %v", res, err)
		}
		if c := contents(t, b, tenant, "SELECT count(*) FROM contact"); c != "9" {
			t.Fatalf("rows: %s, want 9", c)
		}
	})
}

// When a table's wait runs out before the body ends, that table fails as busy, and a table the
// body reaches afterwards, whose lane is free, is still written: it has not waited yet. (On
// SQLite the first call holds the tenant's one writer, so the later table waits too.)
func TestLaterTableAfterAWaitRanOut(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, _ *engine.Engine) {
		if b.name == "sqlite" {
			t.Skip("one writer per SQLite file: the later table waits for it as well")
		}
		e := engine.New(b.target, engine.Options{Wait: 300 * time.Millisecond, ChunkRows: 2})
		const tenant = "Cust11c"
		sync_(t, e, tenant, person())
		first, w := holdLane(t, e, tenant)
		res := apply(t, e, tenant,
			batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(100)}}, {bulk.Insert, []any{int64(101)}}}, lsn: lsn(3)},
			batch{table: "person", cols: []string{"person_id", "firstname"}, rows: []row{{bulk.Insert, []any{int64(1), "Ada"}}}, lsn: lsn(5)})
		if res[0].Err == nil || !strings.Contains(res[0].Err.Error(), "lane held by another call") {
			t.Fatalf("contact, whose lane the first call holds: %+v", res[0])
		}
		if res[1].Err != nil || res[1].LSN != 5 {
			t.Fatalf("person, reached after contact's wait ran out: %+v", res[1])
		}
		w.SetLSN(2)
		w.Close()
		if res, err := first.Finish(); err != nil || res[0].Err != nil {
			t.Fatalf("first call: %+v %v", res, err)
		}
		if c := contents(t, b, tenant, "SELECT count(*) FROM person"); c != "1" {
			t.Fatalf("person rows: %s, want 1", c)
		}
	})
}

func TestMirrorDeletedBetweenCycles(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust12"
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, e, tenant, contact())
		apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id", "name"}, rows: []row{{bulk.Insert, []any{int64(1), "a"}}}, lsn: lsn(5)})

		b.deleteMirror(t, tenant)

		// The next cycle finds the mirror gone, creates it anew and asks for a repopulation.
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatalf("Authenticate after the mirror was deleted: %v", err)
		}
		got := sync_(t, e, tenant, contact())
		if got["contact"] != (engine.TableResult{Name: "contact", LSN: -1, Change: engine.ChangeCreated}) {
			t.Fatalf("after the mirror was deleted: %+v", got["contact"])
		}
		apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id", "name"}, rows: []row{{bulk.Insert, []any{int64(1), "again"}}}, lsn: lsn(6)})
		if c := contents(t, b, tenant, "SELECT name FROM contact"); c != "again" {
			t.Fatalf("repopulated mirror: %q", c)
		}
	})
}

func TestRepopulationAcrossCalls(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "Cust13"
		sync_(t, e, tenant, contact())
		cols := []string{"contact_id", "name"}
		ins := func(id int64, name string) row { return row{bulk.Insert, []any{id, name}} }
		// Each call of a repopulation loads straight in; a key sent again in a later call (a
		// resent batch) still ends in its last state.
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{ins(1, "a"), ins(2, "b"), ins(3, "c")}})
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{ins(3, "c again"), ins(4, "d")}})
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{ins(5, "e")}, lsn: lsn(20)})
		// Then an incremental call with an update and a delete.
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{
			{bulk.Update, []any{int64(1), "a2"}}, {bulk.Delete, []any{int64(2), nil}}, ins(6, "f")}, lsn: lsn(21)})
		want := "1|a2\n3|c again\n4|d\n5|e\n6|f"
		if c := contents(t, b, tenant, "SELECT contact_id, name FROM contact ORDER BY contact_id"); c != want {
			t.Fatalf("rows:\n%s\nwant:\n%s", c, want)
		}
		if l := stateLSN(t, b, tenant, "contact"); l != "21" {
			t.Fatalf("LSN %s", l)
		}
	})
}

// panickyTarget is a real target whose mirrors panic in Apply for one table: fault injection
// for the loader's panic path.
type panickyTarget struct {
	bulk.Target
	table string
}

func (p panickyTarget) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	m, err := p.Target.Open(ctx, tenant)
	return panickyMirror{Mirror: m, table: p.table}, err
}

type panickyMirror struct {
	bulk.Mirror
	table string
}

func (p panickyMirror) Apply(ctx context.Context, t schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	if t.Name == p.table {
		panic("injected fault in " + t.Name)
	}
	return p.Mirror.Apply(ctx, t, rows, opts)
}

func TestLoaderPanicFailsItsTableOnly(t *testing.T) {
	b := sqliteBackend(t)
	e := engine.New(panickyTarget{Target: b.target, table: "person"}, engine.Options{Wait: 5 * time.Second})
	const tenant = "Cust14"
	sync_(t, e, tenant, contact(), person())
	res := apply(t, e, tenant,
		batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(3)},
		batch{table: "person", cols: []string{"person_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(3)})
	if res[0].Err != nil || res[0].LSN != 3 {
		t.Fatalf("the table that did not panic: %+v", res[0])
	}
	if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "injected fault in person") || res[1].LSN != -1 {
		t.Fatalf("the table whose loader panicked: %+v", res[1])
	}
	if c := contents(t, b, tenant, "SELECT count(*) FROM contact"); c != "1" {
		t.Fatalf("contact rows: %s", c)
	}
}

// writersTarget is a real target whose mirrors take only so many Applies at once, and count the
// most that ran together.
type writersTarget struct {
	bulk.Target
	writers int
	active  *atomic.Int64
	most    *atomic.Int64
}

func (w writersTarget) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	m, err := w.Target.Open(ctx, tenant)
	return writersMirror{Mirror: m, t: w}, err
}

type writersMirror struct {
	bulk.Mirror
	t writersTarget
}

func (w writersMirror) MaxWriters() int { return w.t.writers }

func (w writersMirror) Apply(ctx context.Context, t schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	n := w.t.active.Add(1)
	defer w.t.active.Add(-1)
	for most := w.t.most.Load(); n > most && !w.t.most.CompareAndSwap(most, n); most = w.t.most.Load() {
	}
	return w.Mirror.Apply(ctx, t, rows, opts)
}

// A mirror that takes one writer gets one table of a call at a time, whatever the per-tenant
// cap says: the other tables wait in the engine, their rows spooled, and the call completes.
func TestMirrorsWritersCapTheTenantsApplies(t *testing.T) {
	b := sqliteBackend(t)
	target := writersTarget{Target: b.target, writers: 1, active: new(atomic.Int64), most: new(atomic.Int64)}
	e := engine.New(target, engine.Options{MaxAppliesPerTenant: 4, ChunkRows: 5, SpoolDir: t.TempDir(), Wait: 10 * time.Second})
	const tenant = "CustWriters"
	var tables []schema.Table
	var batches []batch
	for i := range 6 {
		name := fmt.Sprintf("w%d", i)
		tables = append(tables, schema.Table{Name: name, Columns: []schema.Column{{Name: "id", Type: schema.Int, PrimaryKey: true}}})
		var rows []row
		for id := range 40 {
			rows = append(rows, row{bulk.Insert, []any{int64(id)}})
		}
		batches = append(batches, batch{table: name, cols: []string{"id"}, rows: rows, lsn: lsn(4)})
	}
	sync_(t, e, tenant, tables...)
	for _, r := range apply(t, e, tenant, batches...) {
		if r.Err != nil || r.LSN != 4 || r.Counts.Inserted != 40 {
			t.Fatalf("%+v", r)
		}
	}
	if most := target.most.Load(); most != 1 {
		t.Fatalf("%d Applies ran at once on a mirror that takes one writer", most)
	}
}

// values is vs as a row's values; a value of another Go type than bulk's panics.
func values(vs ...any) []bulk.Value {
	values, err := bulk.ValuesOf(nil, vs...)
	if err != nil {
		panic(err)
	}
	return values
}
