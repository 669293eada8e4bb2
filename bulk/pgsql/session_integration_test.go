package pgsql

import (
	"bytes"
	"context"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// An apply that copies rows straight into its table holds the table from the moment it reads the
// column types, so a type changed by hand cannot slip in between the check and the COPY (whose
// binary rows would then be read as the new type): the ALTER waits, here until it gives up.
func TestApplyHoldsTheTableAgainstAnAlter(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustHold")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "log", Columns: []schema.Column{{Name: "n", Type: schema.Int, Nullable: true}}}.Validate()
	mustMigrate(t, m, nil, tbl)
	var alterErr error
	rows := bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0}, Values: []any{int64(1)}}}).
		BeforeRow(0, func() {
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			_, alterErr = m.pool.Exec(c, `SET lock_timeout = '300ms'; ALTER TABLE "log" ALTER COLUMN "n" TYPE real`)
		})
	if _, err := m.Apply(ctx, tbl, rows, withLSN(1)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !isCode(alterErr, "55P03") {
		t.Errorf("an ALTER of the table while the apply was open: %v, want it to wait for the apply's lock (55P03 once lock_timeout ran out)", alterErr)
	}
	var got string
	if err := m.pool.QueryRow(ctx, `SELECT string_agg(n::text, ',') || ' ' || pg_typeof(min(n))::text FROM "log"`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "1 integer" {
		t.Errorf("the table holds %s, want 1 integer", got)
	}
}

// A domain over a domain over integer holds integers: binary COPY writes them, and the type check
// takes the base type through both domains, as the server's own row descriptions do.
func TestCopyIntoANestedDomain(t *testing.T) {
	target := openTestTarget(t, Options{})
	m := openTestMirror(t, target, "CustDomains")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "log", Columns: []schema.Column{{Name: "n", Type: schema.Int, Nullable: true}}}.Validate()
	mustMigrate(t, m, nil, tbl)
	for _, sql := range []string{`CREATE DOMAIN inner_int AS integer`, `CREATE DOMAIN outer_int AS inner_int`, `ALTER TABLE "log" ALTER COLUMN "n" TYPE outer_int`} {
		if err := execSQL(ctx, m, sql); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0}, Values: []any{int64(7)}}}), withLSN(1)); err != nil {
		t.Fatalf("Apply into a domain over a domain over integer: %v", err)
	}
}

// Results come back as text, whose form for dates, bytea and floats follows session settings; a
// tenant's connections set their own, whatever the server, database, role or DSN says.
func TestTextResultsWhateverTheSessionDefaults(t *testing.T) {
	dsn := testDSN(t)
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Skipf("the test sets session defaults through a URL DSN, not %q", dsn)
	}
	q := u.Query()
	q.Set("datestyle", "SQL,DMY")
	q.Set("intervalstyle", "sql_standard")
	q.Set("bytea_output", "escape")
	q.Set("extra_float_digits", "0")
	u.RawQuery = q.Encode()
	target := openTargetAt(t, dsn, u.String(), Options{})
	m := openTestMirror(t, target, "CustStyles")
	ctx := t.Context()
	tbl, _ := schema.Table{Name: "v", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "at", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "f", Type: schema.Float, Nullable: true},
		{Name: "b", Type: schema.VarBinary, Length: 10, Nullable: true},
	}}.Validate()
	mustMigrate(t, m, nil, tbl)
	at := time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)
	f := math.Nextafter(0.3, 1) // 0.30000000000000004: exact only with extra_float_digits above 0
	b := []byte{0, 1, 0xfe, '\\'}
	if _, err := m.Apply(ctx, tbl, bulk.NewSliceRows([]bulk.Row{{Op: bulk.Insert, Columns: []int{0, 1, 2, 3}, Values: []any{int64(1), at, f, b}}}), withLSN(1)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	states, err := m.States(ctx)
	if err != nil {
		t.Fatalf("States (its changed_at is a timestamp): %v", err)
	}
	if states["v"].LSN != 1 {
		t.Errorf("LSN %d, want 1", states["v"].LSN)
	}
	got, err := readRows(ctx, m, tbl)
	if err != nil {
		t.Fatalf("ReadRows: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("%d rows, want 1", len(got))
	}
	if g, ok := got[0][1].(time.Time); !ok || !g.Equal(at) {
		t.Errorf("datetime2 read back as %v, stored %v", got[0][1], at)
	}
	if got[0][2] != f {
		t.Errorf("float read back as %v, stored %v", got[0][2], f)
	}
	if g, ok := got[0][3].([]byte); !ok || !bytes.Equal(g, b) {
		t.Errorf("varbinary read back as %v, stored %v", got[0][3], b)
	}
}
