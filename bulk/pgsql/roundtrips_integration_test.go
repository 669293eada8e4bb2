package pgsql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/internal/netproxy"
	"github.com/mirrord/mirrord/schema"
)

// A create and an apply share round trips among their statements, since a database across a
// network pays each round trip: a create once a cycle, an apply on every RowData call. A
// create: BEGIN with the schema lock, the state row and whether the table exists; the DDL with
// the state row; COMMIT. An apply: BEGIN with the state row's lock (and, for rows copied
// straight into the table, the column types and the first savepoint); the COPY; the state
// row's update with COMMIT. COPY streams its rows without waiting for the server's go-ahead;
// when that answer arrives while rows are still being sent, the proxy counts one turn more, so
// the staged calls allow one.
func TestApplyRoundTrips(t *testing.T) {
	dsn := testDSN(t)
	proxy, proxied, err := netproxy.StartURL(dsn, 5432, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	target := openTargetAt(t, dsn, proxied, Options{MaxConnsPerTenant: 1})
	m := openTestMirror(t, target, "CustTrips")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 50, Nullable: true},
	}}.Validate()
	before := proxy.RoundTrips()
	if err := m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, tbl)}); err != nil {
		t.Fatal(err)
	}
	// BEGIN+schema lock+state row+exists, CREATE TABLE+COMMENTs+state row, COMMIT.
	if n := proxy.RoundTrips() - before; n > 3 {
		t.Errorf("a create took %d round trips to the server, want at most 3", n)
	}
	rows := func(op bulk.Op, from, to int64) *bulk.SliceRows {
		var out []bulk.Row
		for id := from; id <= to; id++ {
			out = append(out, bulk.Row{Op: op, Columns: []int{0, 1}, Values: []any{id, fmt.Sprint("p", id)}})
		}
		return bulk.NewSliceRows(out)
	}
	apply := func(what string, r bulk.Rows, opts bulk.ApplyOptions, most int64) {
		t.Helper()
		before := proxy.RoundTrips()
		if _, err := m.Apply(ctx, tbl, r, opts); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := proxy.RoundTrips() - before; n > most {
			t.Errorf("%s took %d round trips to the server, want at most %d", what, n, most)
		} else {
			t.Logf("%s: %d round trips", what, n)
		}
	}
	fresh := withLSN(1)
	fresh.Fresh = true
	// Straight into the empty table: BEGIN+lock+types+savepoint, COPY, update+COMMIT.
	apply("a fresh table's rows", rows(bulk.Insert, 1, 100), fresh, 4)
	// Through staging, once the session has its staging table: BEGIN+lock, COPY, the merge with
	// its counts and the truncate, update+COMMIT. The first call also lists and creates it.
	apply("changes, first call", rows(bulk.Update, 50, 150), withLSN(2), 8)
	apply("changes, next call", rows(bulk.Update, 100, 200), withLSN(3), 5)
}

// A table dropped by hand while its state row stays fails an apply of rows copied straight into
// it with an error that says so, and writes nothing.
func TestApplyToATableDroppedByHand(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustDropped")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "person", Columns: []schema.Column{{Name: "id", Type: schema.Int, PrimaryKey: true}}}.Validate()
	mustMigrate(t, m, nil, tbl)
	if err := execSQL(ctx, m, `DROP TABLE "person"`); err != nil {
		t.Fatal(err)
	}
	opts := withLSN(5)
	opts.Fresh = true
	_, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0}, Values: []any{int64(1)}}}), opts)
	if err == nil || !strings.Contains(err.Error(), "is not in database") {
		t.Fatalf("got %v, want the table missing from the database", err)
	}
	states, err := m.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st := states["person"]; st.LSN != bulk.NoLSN {
		t.Errorf("the failed apply moved the LSN to %d", st.LSN)
	}
}
