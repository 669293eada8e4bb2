package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

func TestOpenCachesOneMirrorPerTenant(t *testing.T) {
	target := openTarget(t, Options{NameTemplate: "{ctx}.sqlite"})
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]bulk.Mirror, 8)
	for i := range got {
		wg.Go(func() {
			m, err := target.Open(ctx, "Cust7")
			if err != nil {
				t.Error(err)
			}
			got[i] = m
		})
	}
	wg.Wait()
	for _, m := range got[1:] {
		if m != got[0] {
			t.Fatal("concurrent opens of one tenant returned different mirrors")
		}
	}
	path := got[0].(*Mirror).Path()
	if filepath.Base(path) != "Cust7.sqlite" {
		t.Errorf("file %s, want Cust7.sqlite", path)
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
	var mode string
	if err := got[0].(*Mirror).w.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	tables, err := got[0].Tables(ctx)
	if err != nil || len(tables) != 0 {
		t.Errorf("Tables of a new mirror = %v, %v; want none", tables, err)
	}
	if _, err := target.Open(ctx, "Cust 7"); err == nil {
		t.Error("a tenant name with a space was accepted")
	}
	if err := target.Ping(ctx); err != nil {
		t.Error(err)
	}
}

// Every type's catalog reads back exactly, and every value (edge values included) round-trips.
func TestEveryTypeRoundTrip(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust1")
	table := everyTypeTable()
	create(t, m, table)

	states, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, ok := states[table.Name]
	if !ok {
		t.Fatalf("Tables lacks %s: %v", table.Name, states)
	}
	if st.LSN != bulk.NoLSN || st.Hash != table.Hash() {
		t.Errorf("state = lsn %d hash %s; want -1, %s", st.LSN, st.Hash, table.Hash())
	}
	if diff := schema.Diff(&st.Table, table); diff.Action != schema.None {
		t.Errorf("catalog read back differs from the table: %+v", diff)
	}
	if st.Table.Hash() != table.Hash() {
		t.Errorf("catalog read back: %+v\nwant %+v", st.Table, table)
	}

	values := everyTypeValues(t)
	var rows []bulk.Row
	for _, v := range values {
		rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: all(table), Values: v})
	}
	counts, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(77)})
	if err != nil {
		t.Fatal(err)
	}
	if counts != (bulk.Counts{Inserted: 3}) {
		t.Errorf("counts %+v", counts)
	}
	got, err := readRows(ctx, m, table)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(values) {
		t.Fatalf("read %d rows, want %d", len(got), len(values))
	}
	for r := range values {
		for i, c := range table.Columns {
			if !bulk.EqualValues(got[r][i], values[r][i]) {
				t.Errorf("row %d, column %s: read %#v, wrote %#v", r+1, c.Name, got[r][i], values[r][i])
			}
		}
	}
	// The offset itself must survive, not only the instant.
	if _, off := got[0][18].(time.Time).Zone(); off != -(9*60+30)*60 {
		t.Errorf("datetimeoffset came back with offset %ds", off)
	}

	// Storage classes: exact text where an affinity would have rounded or reformatted.
	want := map[string]string{"c_decimal": "text", "c_money": "text", "c_bit": "integer", "c_float": "real",
		"c_binary": "blob", "c_uniqueidentifier": "text", "c_datetime2": "text", "c_bigint": "integer"}
	for col, class := range want {
		var got string
		if err := m.r.QueryRow(fmt.Sprintf(`SELECT typeof(%s) FROM every_type WHERE id = 1`, quote(col))).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != class {
			t.Errorf("column %s is stored as %s, want %s", col, got, class)
		}
	}
	var text string
	if err := m.r.QueryRow(`SELECT c_decimal FROM every_type WHERE id = 2`).Scan(&text); err != nil || text != "1.5000000000" {
		t.Errorf("decimal stored as %q, %v; want 1.5000000000", text, err)
	}
	if st, _ := m.Tables(ctx); st[table.Name].LSN != 77 {
		t.Errorf("LSN = %d, want 77", st[table.Name].LSN)
	}
}

func TestApplySemantics(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust2")
	table := mustValidate(t, pair)
	create(t, m, table)
	u := func(b byte) bulk.UUID { return bulk.UUID{15: b} }
	row := func(op bulk.Op, a int64, b byte, v any) bulk.Row {
		return bulk.Row{Op: op, Columns: []int{0, 1, 2}, Values: []any{a, u(b), v}}
	}
	apply := func(lsn int64, rows ...bulk.Row) bulk.Counts {
		t.Helper()
		c, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(lsn)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	expect := func(want ...[]any) {
		t.Helper()
		got, err := readRows(ctx, m, table)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
		for r := range want {
			for i := range want[r] {
				if !bulk.EqualValues(got[r][i], want[r][i]) {
					t.Fatalf("row %d: %v, want %v", r+1, got[r], want[r])
				}
			}
		}
	}

	c := apply(10, row('I', 1, 1, "a"), row('I', 2, 2, "b"), row('I', 3, 3, "c"))
	if c != (bulk.Counts{Inserted: 3}) {
		t.Errorf("counts %+v", c)
	}
	// Insert of an existing key updates; update of a missing key inserts; delete of a missing
	// key does nothing; the last state of a key wins, in order, across the multi-row batching.
	var many []bulk.Row
	for i := range 100 {
		many = append(many, row('U', 9, 9, fmt.Sprint(i)))
	}
	c = apply(11, append([]bulk.Row{row('I', 1, 1, "A"), row('U', 4, 4, "d"), row('D', 7, 7, nil),
		row('D', 2, 2, nil), row('I', 2, 2, "B2"), row('I', 3, 3, "x"), row('D', 3, 3, nil)}, many...)...)
	// Counted by what each row did: 4, 2 and 9 new; 1, 3 and 9 (99 times) updated; 2 and 3 deleted.
	if c != (bulk.Counts{Inserted: 3, Updated: 101, Deleted: 2}) {
		t.Errorf("counts %+v", c)
	}
	expect([]any{int64(1), u(1), "A"}, []any{int64(2), u(2), "B2"}, []any{int64(4), u(4), "d"}, []any{int64(9), u(9), "99"})

	// A batch that leaves out a column keeps it on update and sets it NULL on insert.
	keyOnly := func(op bulk.Op, a int64, b byte) bulk.Row {
		return bulk.Row{Op: op, Columns: []int{1, 0}, Values: []any{u(b), a}}
	}
	apply(12, keyOnly('U', 1, 1), keyOnly('I', 5, 5))
	expect([]any{int64(1), u(1), "A"}, []any{int64(2), u(2), "B2"}, []any{int64(4), u(4), "d"},
		[]any{int64(5), u(5), nil}, []any{int64(9), u(9), "99"})

	// Without an LSN the table keeps its LSN.
	if _, err := m.Apply(ctx, table, rowsOf(row('I', 6, 6, "f")), bulk.ApplyOptions{LSN: func() (int64, bool) { return 0, false }}); err != nil {
		t.Fatal(err)
	}
	if st, _ := m.Tables(ctx); st[table.Name].LSN != 12 {
		t.Errorf("LSN %d, want 12", st[table.Name].LSN)
	}

	// Bad input is refused with the table, row and column named, and nothing is written.
	for _, bad := range []bulk.Row{
		{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{"one", u(1), "x"}},
		{Op: 'I', Columns: []int{0, 2}, Values: []any{int64(1), "x"}},
		{Op: 'I', Columns: []int{0, 1, 7}, Values: []any{int64(1), u(1), "x"}},
		{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{int64(1), u(1)}},
		{Op: 'D', Columns: []int{0, 1, 2}, Values: []any{nil, u(1), nil}},
		{Op: 'X', Columns: []int{0, 1, 2}, Values: []any{int64(1), u(1), "x"}},
	} {
		_, err := m.Apply(ctx, table, rowsOf(row('I', 8, 8, "h"), bad), bulk.ApplyOptions{LSN: lsnFunc(99)})
		if err == nil {
			t.Errorf("row %+v was accepted", bad)
			continue
		}
		t.Logf("refused: %v", err)
	}
	if n, _ := m.RowCount(ctx, table.Name); n != 6 {
		t.Errorf("after refused applies the table has %d rows, want 6", n)
	}
	if st, _ := m.Tables(ctx); st[table.Name].LSN != 12 {
		t.Errorf("LSN %d after refused applies, want 12", st[table.Name].LSN)
	}
}

// TestNegativeZeroKeyCountsOnce: 0 and -0 are one key to SQLite, so the second of them in a
// call's 32-row group is an update of the first, not a second insert.
func TestNegativeZeroKeyCountsOnce(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "CustFloatKey")
	table := mustValidate(t, schema.Table{Name: "fkey", Columns: []schema.Column{
		{Name: "k", Type: schema.Float, PrimaryKey: true},
		{Name: "v", Type: schema.Int, Nullable: true},
	}})
	create(t, m, table)
	rows := []bulk.Row{
		{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{0.0, int64(1)}},
		{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{math.Copysign(0, -1), int64(2)}},
	}
	for i := 1; i <= 30; i++ {
		rows = append(rows, bulk.Row{Op: bulk.Insert, Columns: []int{0, 1}, Values: []any{float64(i), int64(i)}})
	}
	counts, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(1)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := m.RowCount(ctx, table.Name)
	if err != nil {
		t.Fatal(err)
	}
	if want := (bulk.Counts{Inserted: 31, Updated: 1}); counts != want || n != 31 {
		t.Errorf("counts %+v and %d rows, want %+v and 31 rows", counts, n, want)
	}
}

func TestApplyRollsBack(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust3")
	table := mustValidate(t, contact)
	create(t, m, table)
	many := func(n int) []bulk.Row {
		var rows []bulk.Row
		for i := range n {
			rows = append(rows, bulk.Row{Op: 'I', Columns: []int{0, 4, 6},
				Values: []any{int64(i), bulk.Decimal("1"), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}})
		}
		return rows
	}
	broken := errors.New("connection to the sender lost")
	if _, err := m.Apply(ctx, table, rowsOf(many(1000)...).FailAfter(900, broken), bulk.ApplyOptions{LSN: lsnFunc(5)}); !errors.Is(err, broken) {
		t.Errorf("Apply with a failing Rows: %v, want %v", err, broken)
	}
	cctx, cancel := context.WithCancel(ctx)
	rows := rowsOf(many(1000)...).BeforeRow(600, cancel)
	if _, err := m.Apply(cctx, table, rows, bulk.ApplyOptions{LSN: lsnFunc(6)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context: %v, want context.Canceled", err)
	}
	lsnCalled := false
	failing := bulk.ApplyOptions{LSN: func() (int64, bool) { lsnCalled = true; return 7, true }}
	if _, err := m.Apply(ctx, table, rowsOf(many(10)...).FailAfter(5, broken), failing); err == nil || lsnCalled {
		t.Errorf("a failed Apply asked for its LSN (err %v)", err)
	}
	if n, err := m.RowCount(ctx, table.Name); n != 0 || err != nil {
		t.Errorf("after failed applies the table has %d rows (%v), want 0", n, err)
	}
	if st, _ := m.Tables(ctx); st[table.Name].LSN != bulk.NoLSN {
		t.Errorf("LSN %d after failed applies, want -1", st[table.Name].LSN)
	}
	// The writer connection is usable afterwards.
	if _, err := m.Apply(ctx, table, rowsOf(many(3)...), bulk.ApplyOptions{LSN: lsnFunc(8)}); err != nil {
		t.Fatal(err)
	}
}

func TestKeylessTable(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust4")
	table := mustValidate(t, keyless)
	create(t, m, table)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.FixedZone("", 3600))
	ins := bulk.Row{Op: 'I', Columns: []int{0, 1}, Values: []any{at, "x"}}
	if _, err := m.Apply(ctx, table, rowsOf(ins, ins, ins), bulk.ApplyOptions{LSN: lsnFunc(1)}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []bulk.Op{bulk.Update, bulk.Delete} {
		_, err := m.Apply(ctx, table, rowsOf(ins, bulk.Row{Op: op, Columns: []int{0, 1}, Values: []any{at, "x"}}), bulk.ApplyOptions{LSN: lsnFunc(2)})
		if !errors.Is(err, bulk.ErrNoKey) {
			t.Errorf("%s on a keyless table: %v, want ErrNoKey", op, err)
		}
	}
	if n, _ := m.RowCount(ctx, table.Name); n != 3 {
		t.Errorf("%d rows, want 3 (duplicates kept, failed applies rolled back)", n)
	}
}

// The partner's own table is never created over, written, wiped, dropped or invalidated.
func TestPartnerTableUntouched(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust5")
	exec(t, m, `CREATE TABLE "contact" (id INT PRIMARY KEY, note VARCHAR(20))`)
	exec(t, m, `INSERT INTO "contact" VALUES (1, 'mine')`)
	exec(t, m, `CREATE VIEW "person" AS SELECT 1 AS x`)
	table := mustValidate(t, contact)
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, table)); err == nil {
		t.Error("Create over the partner's table succeeded")
	}
	person := table
	person.Name = "PERSON"
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, person)); err == nil {
		t.Error("Create over the partner's view (other case) succeeded")
	}
	if err := bulktest.Migrate(ctx, m, schema.Plan{Action: schema.Recreate, Desired: table}); err == nil {
		t.Error("Recreate of the partner's table succeeded")
	}
	if _, err := m.Apply(ctx, table, rowsOf(bulk.Row{Op: 'D', Columns: []int{0}, Values: []any{int64(1)}}), bulk.ApplyOptions{}); err == nil {
		t.Error("Apply into the partner's table succeeded")
	}
	for name, f := range map[string]func() error{
		"Wipe":       func() error { return m.Wipe(ctx, []string{"contact"}) },
		"Drop":       func() error { return m.Drop(ctx, []string{"contact"}) },
		"Invalidate": func() error { return m.Invalidate(ctx, []string{"contact"}) },
	} {
		if err := f(); err == nil {
			t.Errorf("%s of the partner's table succeeded", name)
		}
	}
	if err := m.Invalidate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var note string
	if err := m.r.QueryRow(`SELECT note FROM contact WHERE id = 1`).Scan(&note); err != nil || note != "mine" {
		t.Errorf("partner row = %q, %v", note, err)
	}
	if tables, _ := m.Tables(ctx); len(tables) != 0 {
		t.Errorf("Tables lists the partner's table: %v", tables)
	}
}

// A widening rebuilds the table: data, LSN, the partner's index, trigger and view survive.
func TestAlterRebuildKeepsPartnerObjects(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust6")
	table := mustValidate(t, contact)
	create(t, m, table)
	reg := time.Date(2024, 3, 1, 10, 22, 5, 123000000, time.UTC)
	var rows []bulk.Row
	for i := range 50 {
		rows = append(rows, bulk.Row{Op: 'I', Columns: all(table),
			Values: []any{int64(i), fmt.Sprint("name ", i), nil, 1.25, bulk.Decimal("12.3400"), []byte{byte(i)}, reg}})
	}
	if _, err := m.Apply(ctx, table, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(4242)}); err != nil {
		t.Fatal(err)
	}
	exec(t, m, `CREATE INDEX partner_name ON contact (name)`)
	exec(t, m, `CREATE TABLE audit (id INT, at TEXT)`)
	exec(t, m, `CREATE TRIGGER partner_audit AFTER UPDATE ON contact BEGIN INSERT INTO audit VALUES (new.contact_id, 'u'); END`)
	exec(t, m, `CREATE VIEW partner_view AS SELECT contact_id, name FROM contact WHERE balance > '0'`)

	wider := contact
	wider.Columns = []schema.Column{
		{Name: "contact_id", Type: schema.BigInt, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 250, Nullable: true},
		{Name: "rating", Type: schema.Float, Nullable: true},
		{Name: "balance", Type: schema.Decimal, Precision: 21, Scale: 6},
		{Name: "picture", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
		{Name: "registered", Type: schema.DateTime2, Scale: 7, Nullable: true},
		{Name: "added", Type: schema.Bit, Nullable: true},
	}
	wider = mustValidate(t, wider)
	states, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cur := states["contact"].Table
	plan := schema.Diff(&cur, wider)
	if plan.Action != schema.Alter || len(plan.Widen) == 0 {
		t.Fatalf("plan %+v, want an alter that widens", plan)
	}
	if err := bulktest.Migrate(ctx, m, plan); err != nil {
		t.Fatal(err)
	}
	states, err = m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := states["contact"]
	if st.LSN != 4242 || st.Hash != wider.Hash() || st.Table.Hash() != wider.Hash() {
		t.Errorf("after rebuild: lsn %d, hash ok %t, catalog %+v", st.LSN, st.Hash == wider.Hash(), st.Table)
	}
	var indexes, triggers int
	m.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'partner_name'`).Scan(&indexes)
	m.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name = 'partner_audit'`).Scan(&triggers)
	if indexes != 1 || triggers != 1 {
		t.Errorf("after rebuild: %d partner indexes, %d triggers; want 1 and 1", indexes, triggers)
	}
	var fromView int
	if err := m.r.QueryRow(`SELECT count(*) FROM partner_view`).Scan(&fromView); err != nil || fromView != 50 {
		t.Errorf("partner view reads %d rows (%v), want 50", fromView, err)
	}
	got, err := readRows(ctx, m, st.Table)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 || got[7][1] != "name 7" || !bulk.EqualValues(got[7][3], bulk.Decimal("12.340000")) {
		t.Fatalf("rows after rebuild: %d, row 8 = %v", len(got), got[7])
	}
	var stored string
	m.r.QueryRow(`SELECT balance FROM contact WHERE contact_id = 7`).Scan(&stored)
	if stored != "12.340000" {
		t.Errorf("decimal after widening its scale is stored as %q, want 12.340000", stored)
	}
	// The trigger still fires on the new table.
	if _, err := m.Apply(ctx, st.Table, rowsOf(bulk.Row{Op: 'U', Columns: []int{0, 1}, Values: []any{int64(7), "seven"}}), bulk.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	var audits int
	m.r.QueryRow(`SELECT count(*) FROM audit`).Scan(&audits)
	if audits != 1 {
		t.Errorf("partner trigger fired %d times, want 1", audits)
	}
	// An update of a missing key inserts it, which a batch without the NOT NULL balance cannot.
	_, err = m.Apply(ctx, st.Table, rowsOf(bulk.Row{Op: 'U', Columns: []int{0, 1}, Values: []any{int64(999), "new"}}), bulk.ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "balance") {
		t.Errorf("insert without a NOT NULL column: %v, want an error naming balance", err)
	}

	// Add and drop in place keep the LSN too; a column that a partner index uses cannot go.
	narrower := wider
	narrower.Columns = append([]schema.Column{}, wider.Columns[:4]...)
	narrower.Columns = append(narrower.Columns, schema.Column{Name: "extra", Type: schema.NVarChar, Length: 5, Nullable: true},
		wider.Columns[5], wider.Columns[6])
	narrower = mustValidate(t, narrower)
	plan = schema.Diff(&st.Table, narrower)
	if plan.Action != schema.Alter || len(plan.Widen) != 0 || len(plan.Add) != 1 || len(plan.Drop) != 1 {
		t.Fatalf("plan %+v, want add extra and drop picture", plan)
	}
	if err := bulktest.Migrate(ctx, m, plan); err != nil {
		t.Fatal(err)
	}
	dropName := narrower
	dropName.Columns = append([]schema.Column{narrower.Columns[0]}, narrower.Columns[2:]...)
	states, _ = m.Tables(ctx)
	cur = states["contact"].Table
	if err := bulktest.Migrate(ctx, m, schema.Diff(&cur, dropName)); err == nil {
		t.Error("dropping a column that the partner's index uses succeeded")
	} else {
		t.Logf("refused: %v", err)
	}
	states, _ = m.Tables(ctx)
	if st := states["contact"]; st.LSN != 4242 || st.Hash != narrower.Hash() {
		t.Errorf("after add/drop: lsn %d, hash %s; want 4242, %s", st.LSN, st.Hash, narrower.Hash())
	}

	// Recreate drops the data and sets the LSN to -1.
	if err := bulktest.Migrate(ctx, m, schema.Plan{Action: schema.Recreate, Desired: table}); err != nil {
		t.Fatal(err)
	}
	states, _ = m.Tables(ctx)
	if st := states["contact"]; st.LSN != bulk.NoLSN || st.Table.Hash() != table.Hash() {
		t.Errorf("after recreate: lsn %d, catalog %+v", st.LSN, st.Table)
	}
	if n, _ := m.RowCount(ctx, "contact"); n != 0 {
		t.Errorf("%d rows after recreate", n)
	}
}

func TestWipeDropInvalidate(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust8")
	a, b := mustValidate(t, pair), mustValidate(t, keyless)
	create(t, m, a)
	create(t, m, b)
	exec(t, m, `CREATE INDEX partner_v ON pair (v)`)
	row := bulk.Row{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{int64(1), bulk.UUID{}, "x"}}
	if _, err := m.Apply(ctx, a, rowsOf(row), bulk.ApplyOptions{LSN: lsnFunc(3)}); err != nil {
		t.Fatal(err)
	}
	if err := m.Invalidate(ctx, []string{"pair"}); err != nil {
		t.Fatal(err)
	}
	st, _ := m.Tables(ctx)
	if st["pair"].LSN != -1 {
		t.Errorf("LSN after Invalidate: %d", st["pair"].LSN)
	}
	if n, _ := m.RowCount(ctx, "pair"); n != 1 {
		t.Errorf("Invalidate touched the rows: %d left", n)
	}
	if _, err := m.Apply(ctx, a, rowsOf(row), bulk.ApplyOptions{LSN: lsnFunc(4)}); err != nil {
		t.Fatal(err)
	}
	if err := m.Wipe(ctx, []string{"pair", "travel_log"}); err != nil {
		t.Fatal(err)
	}
	st, _ = m.Tables(ctx)
	if n, _ := m.RowCount(ctx, "pair"); n != 0 || st["pair"].LSN != -1 {
		t.Errorf("after Wipe: %d rows, LSN %d", n, st["pair"].LSN)
	}
	var idx int
	m.r.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'partner_v'`).Scan(&idx)
	if idx != 1 {
		t.Error("Wipe lost the partner's index")
	}
	if err := m.Wipe(ctx, []string{"pair", "nosuch"}); err == nil {
		t.Error("Wipe of an unknown table succeeded")
	}
	if err := m.Drop(ctx, []string{"travel_log"}); err != nil {
		t.Fatal(err)
	}
	st, _ = m.Tables(ctx)
	if _, ok := st["travel_log"]; ok || len(st) != 1 {
		t.Errorf("after Drop: %v", st)
	}
	// A state row whose table an operator dropped is left out, and Create makes it again.
	exec(t, m, `DROP TABLE pair`)
	if st, _ = m.Tables(ctx); len(st) != 0 {
		t.Errorf("Tables lists a dropped table: %v", st)
	}
	create(t, m, a)
}

// Concurrent applies to several tables of one tenant never see SQLITE_BUSY, and readers run
// beside them.
func TestConcurrentApplies(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{BusyTimeout: 50 * time.Millisecond}, "Cust9")
	const tables, applies, rowsPerApply = 6, 10, 200
	var defs []schema.Table
	for i := range tables {
		tb := mustValidate(t, pair)
		tb.Name = fmt.Sprintf("t%d", i)
		create(t, m, tb)
		defs = append(defs, tb)
	}
	var wg sync.WaitGroup
	for i, tb := range defs {
		wg.Go(func() {
			for a := range applies {
				var rows []bulk.Row
				for r := range rowsPerApply {
					rows = append(rows, bulk.Row{Op: 'I', Columns: []int{0, 1, 2},
						Values: []any{int64(a*rowsPerApply + r), bulk.UUID{byte(i)}, "v"}})
				}
				if _, err := m.Apply(ctx, tb, rowsOf(rows...), bulk.ApplyOptions{LSN: lsnFunc(int64(a))}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := m.Tables(ctx); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	for _, tb := range defs {
		if n, err := m.RowCount(ctx, tb.Name); n != applies*rowsPerApply || err != nil {
			t.Errorf("table %s: %d rows (%v), want %d", tb.Name, n, err, applies*rowsPerApply)
		}
	}
}

func TestReopenKeepsState(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	target, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := target.Open(ctx, "Cust10")
	if err != nil {
		t.Fatal(err)
	}
	table := mustValidate(t, everyTypeTable())
	if err := bulktest.Migrate(ctx, m, schema.Diff(nil, table)); err != nil {
		t.Fatal(err)
	}
	target.Close()
	if _, err := m.Tables(ctx); err == nil {
		t.Error("a mirror of a closed target still works")
	}
	target, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	m, err = target.Open(ctx, "Cust10")
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.Tables(ctx)
	if err != nil || st[table.Name].Table.Hash() != table.Hash() {
		t.Errorf("after reopening: %v, %v", st, err)
	}
}

func mustValidate(t testing.TB, table schema.Table) schema.Table {
	t.Helper()
	v, err := table.Validate()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// everyTypeValues are rows of everyTypeTable with the edge values of each type.
func everyTypeValues(t testing.TB) [][]any {
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02T15:04:05.9999999", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	uuid := bulk.UUID{0x6F, 0x96, 0x19, 0xFF, 0x8B, 0x86, 0xD0, 0x11, 0xB4, 0x2D, 0x00, 0xC0, 0x4F, 0xC9, 0x64, 0xFF}
	return [][]any{
		{int64(1), true, int64(0), int64(-32768), int64(-2147483648), int64(math.MinInt64),
			bulk.Decimal("-9999999999999999999999999999.9999999999"), bulk.Decimal("99999"),
			bulk.Decimal("-922337203685477.5808"), bulk.Decimal("214748.3647"),
			math.Inf(-1), float64(float32(3.4028235e38)),
			utc("0001-01-01T00:00:00"), bulk.TimeOfDay(23*time.Hour + 59*time.Minute + 59*time.Second + 9999999*100),
			bulk.TimeOfDay(0), utc("1753-01-01T00:00:00.003"), utc("9999-12-31T23:59:59.999"),
			utc("2079-06-06T23:59:00"), time.Date(2024, 3, 1, 10, 22, 5, 1234500, time.FixedZone("", -(9*60+30)*60)),
			"a\r\nb\tc ", "x\x00y", "", "日本語 \U0001F600", "\x01\x1f\uFFFE", "line\rbreak", "t", "nt",
			[]byte{0, 1, 2, 3, 4, 5, 6, 7}, []byte{}, []byte{0xff, 0x00}, []byte{0}, uuid, "<a>&amp;</a>", []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{int64(2), false, int64(255), int64(32767), int64(2147483647), int64(math.MaxInt64),
			bulk.Decimal("1.5000000000"), bulk.Decimal("-1"), bulk.Decimal("0.0000"), bulk.Decimal("-0.0001"),
			math.NaN(), math.Inf(1),
			utc("9999-12-31T00:00:00"), bulk.TimeOfDay(100), bulk.TimeOfDay(time.Second),
			utc("2024-02-29T12:00:00"), utc("2024-02-29T12:00:00.123"), utc("1900-01-01T00:00:00"),
			time.Date(2024, 3, 1, 10, 22, 5, 0, time.FixedZone("", 14*3600)),
			"0", "1.50", "", "", "", "", "", "",
			[]byte{}, []byte{}, []byte{}, []byte{}, bulk.UUID{}, "", []byte{}},
		{int64(3), nil, nil, nil, nil, nil, nil, nil, nil, nil, float64(0), float64(-1.5), nil, nil, nil, nil, nil, nil,
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.FixedZone("", 0)), nil, nil, nil, nil, nil, nil, nil, nil,
			nil, nil, nil, nil, nil, nil, nil},
	}
}

// chanRows is Rows fed by a channel, as the engine feeds an Apply while it decodes a request.
type chanRows struct {
	ch   <-chan bulk.Row
	row  bulk.Row
	done func() // called once when the rows end
}

func (r *chanRows) Next() bool {
	row, ok := <-r.ch
	if !ok {
		if r.done != nil {
			r.done()
			r.done = nil
		}
		return false
	}
	r.row = row
	return true
}
func (r *chanRows) Op() bulk.Op    { return r.row.Op }
func (r *chanRows) Columns() []int { return r.row.Columns }
func (r *chanRows) Values() []bulk.Value {
	values, err := bulk.ValuesOf(nil, r.row.Values...)
	if err != nil {
		panic(err)
	}
	return values
}
func (r *chanRows) Err() error { return nil }

// A file has one writer: an Apply that starts while another table's Apply writes waits for
// it, then writes all its rows, which must round-trip exactly. (The engine never feeds two
// Applies of one file from its one decoder at once: MaxWriters is 1.)
func TestAppliesOfOneFileTakeTurns(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := openTestMirror(t, Options{}, "Cust11")
	if n := m.MaxWriters(); n != 1 {
		t.Fatalf("MaxWriters %d, want 1", n)
	}
	a, b := mustValidate(t, pair), everyTypeTable()
	create(t, m, a)
	create(t, m, b)

	chA := make(chan bulk.Row)
	var wg sync.WaitGroup
	var countsA, countsB bulk.Counts
	var errA, errB error
	wg.Go(func() {
		countsA, errA = m.Apply(ctx, a, &chanRows{ch: chA}, bulk.ApplyOptions{LSN: lsnFunc(1)})
	})
	// A's first row is taken: A holds the writer.
	chA <- bulk.Row{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{int64(1), bulk.UUID{1}, "first"}}
	chB := make(chan bulk.Row)
	wg.Go(func() {
		countsB, errB = m.Apply(ctx, b, &chanRows{ch: chB}, bulk.ApplyOptions{LSN: lsnFunc(2)})
	})
	values := everyTypeValues(t)
	first := slices.Clone(values[0])
	select {
	case chB <- bulk.Row{Op: 'I', Columns: all(b), Values: first}:
		t.Fatal("table B's Apply took a row while table A held the writer")
	case <-time.After(200 * time.Millisecond):
	}
	// B's rows come from a feeder of their own, as they would from another caller.
	wg.Go(func() {
		defer close(chB)
		for round := range 40 {
			for _, v := range values {
				row := slices.Clone(v)
				row[0] = int64(round*10) + v[0].(int64)
				select {
				case chB <- bulk.Row{Op: 'I', Columns: all(b), Values: row}:
				case <-ctx.Done():
					return
				}
			}
		}
		chB <- bulk.Row{Op: 'D', Columns: all(b), Values: append([]any{int64(3)}, make([]any, len(b.Columns)-1)...)}
		chB <- bulk.Row{Op: 'U', Columns: []int{4, 0}, Values: []any{int64(42), int64(11)}}
	})
	chA <- bulk.Row{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{int64(2), bulk.UUID{2}, "second"}}
	close(chA)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("A: %v; B: %v", errA, errB)
	}
	if countsA.Inserted != 2 || countsB != (bulk.Counts{Inserted: 120, Deleted: 1, Updated: 1}) {
		t.Errorf("counts A %+v, B %+v", countsA, countsB)
	}
	got, err := readRows(ctx, m, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 119 {
		t.Fatalf("table B has %d rows, want 119", len(got))
	}
	byID := map[int64][]any{}
	for _, r := range got {
		byID[r[0].(int64)] = r
	}
	for round := range 40 {
		for _, v := range values {
			id := int64(round*10) + v[0].(int64)
			r, ok := byID[id]
			if id == 3 {
				if ok {
					t.Error("the delete of row 3 did not happen")
				}
				continue
			}
			for i, c := range b.Columns {
				want := v[i]
				if i == 0 {
					want = id
				}
				if id == 11 && c.Name == "c_int" {
					want = int64(42)
				}
				if !bulk.EqualValues(r[i], want) {
					t.Errorf("row %d, column %s: read %#v, wrote %#v", id, c.Name, r[i], want)
				}
			}
		}
	}
	st, _ := m.Tables(ctx)
	if st[a.Name].LSN != 1 || st[b.Name].LSN != 2 {
		t.Errorf("LSNs %d and %d, want 1 and 2", st[a.Name].LSN, st[b.Name].LSN)
	}
}

// An Apply that waits for the writer gives up when its context ends, and an Apply that fails
// writes nothing.
func TestWaitingApplyEndsWithItsContext(t *testing.T) {
	ctx := context.Background()
	m := openTestMirror(t, Options{}, "Cust12")
	a, b := mustValidate(t, pair), mustValidate(t, keyless)
	create(t, m, a)
	create(t, m, b)
	chA := make(chan bulk.Row)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := m.Apply(ctx, a, &chanRows{ch: chA}, bulk.ApplyOptions{}); err != nil {
			t.Error(err)
		}
	})
	chA <- bulk.Row{Op: 'I', Columns: []int{0, 1, 2}, Values: []any{int64(1), bulk.UUID{1}, "x"}}
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err := m.Apply(short, b, rowsOf(bulk.Row{Op: 'I', Columns: []int{0, 1}, Values: []any{at, "late"}}), bulk.ApplyOptions{LSN: lsnFunc(9)})
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), b.Name) {
		t.Errorf("an Apply whose context ended while it waited for the writer: %v", err)
	}
	close(chA)
	wg.Wait()
	_, err = m.Apply(ctx, b, rowsOf(bulk.Row{Op: 'I', Columns: []int{0, 1}, Values: []any{at, "ok"}},
		bulk.Row{Op: 'U', Columns: []int{0, 1}, Values: []any{at, "no key"}}), bulk.ApplyOptions{LSN: lsnFunc(9)})
	if !errors.Is(err, bulk.ErrNoKey) {
		t.Errorf("update of a keyless table: %v, want ErrNoKey", err)
	}
	_, err = m.Apply(ctx, b, rowsOf(bulk.Row{Op: 'I', Columns: []int{0, 1}, Values: []any{at, "ok"}}).FailAfter(1, io.ErrUnexpectedEOF), bulk.ApplyOptions{LSN: lsnFunc(9)})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("apply with failing rows: %v", err)
	}
	if n, _ := m.RowCount(ctx, b.Name); n != 0 {
		t.Errorf("failed applies wrote %d rows", n)
	}
}
