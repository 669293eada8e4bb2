package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
)

// twoProcesses runs f with two engines over two targets on the same folder or server, each with
// its own connections and catalog cache: two mirrord processes behind one load balancer.
func twoProcesses(t *testing.T, f func(t *testing.T, b backend, a, z *engine.Engine)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.target == nil {
				t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run")
			}
			opts := engine.Options{ChunkRows: 7, Wait: 5 * time.Second}
			f(t, b, engine.New(b.target, opts), engine.New(b.another(t), opts))
		})
	}
}

func keyedBy(name string, cols ...schema.Column) schema.Table {
	return schema.Table{Name: name, Columns: cols}
}

var (
	idKey   = schema.Column{Name: "id", Type: schema.Int, PrimaryKey: true}
	kKey    = schema.Column{Name: "k", Type: schema.Int, PrimaryKey: true}
	kPlain  = schema.Column{Name: "k", Type: schema.Int, Nullable: true}
	aText   = schema.Column{Name: "a", Type: schema.NVarChar, Length: 5, Nullable: true}
	aWide   = schema.Column{Name: "a", Type: schema.NVarChar, Length: 50, Nullable: true}
	bAdded  = schema.Column{Name: "b", Type: schema.NVarChar, Length: 20, Nullable: true}
	aRetype = schema.Column{Name: "a", Type: schema.BigInt, Nullable: true}
)

// TestTwoProcessesAgreeOnSchema: process Z read the catalog, then process A changed the table;
// Z's next RowData must see the change, for every kind of DDL, and never write with the model
// it read before.
func TestTwoProcessesAgreeOnSchema(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustTwo"
		if err := a.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, a, tenant, keyedBy("t", idKey, kPlain, aText))
		if err := z.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}

		// The key changes from (id) to (id, k): with the old key the two rows would be one.
		sync_(t, a, tenant, keyedBy("t", idKey, kKey, aText))
		res := apply(t, z, tenant, batch{table: "t", cols: []string{"id", "k", "a"}, rows: []row{
			{bulk.Insert, []any{int64(1), int64(1), "a"}}, {bulk.Insert, []any{int64(1), int64(2), "b"}}}, lsn: lsn(7)})
		if res[0].Err != nil || res[0].Counts != (bulk.Counts{Inserted: 2}) || res[0].LSN != 7 {
			t.Fatalf("after a key change by the other process: %+v", res[0])
		}
		if c := contents(t, b, tenant, `SELECT id, k, a FROM t ORDER BY k`); c != "1|1|a\n1|2|b" {
			t.Fatalf("rows after a key change: %q", c)
		}

		// A column added by the other process can be written at once.
		sync_(t, a, tenant, keyedBy("t", idKey, kKey, aText, bAdded))
		res = apply(t, z, tenant, batch{table: "t", cols: []string{"id", "k", "a", "b"}, rows: []row{
			{bulk.Update, []any{int64(1), int64(1), "a", "added"}}}, lsn: lsn(8)})
		if res[0].Err != nil || res[0].Counts != (bulk.Counts{Updated: 1}) {
			t.Fatalf("after a column was added by the other process: %+v", res[0])
		}

		// A widened column takes values that fit its new length.
		sync_(t, a, tenant, keyedBy("t", idKey, kKey, aWide, bAdded))
		res = apply(t, z, tenant, batch{table: "t", cols: []string{"id", "k", "a"}, rows: []row{
			{bulk.Update, []any{int64(1), int64(2), "longer than five"}}}, lsn: lsn(9)})
		if res[0].Err != nil {
			t.Fatalf("after a widen by the other process: %+v", res[0])
		}
		if c := contents(t, b, tenant, `SELECT a, b FROM t ORDER BY k`); c != "a|added\nlonger than five|NULL" {
			t.Fatalf("rows after widen: %q", c)
		}

		// A retype recreates the table: Z parses the new type, and the old rows are gone.
		sync_(t, a, tenant, keyedBy("t", idKey, kKey, aRetype, bAdded))
		res = apply(t, z, tenant, batch{table: "t", cols: []string{"id", "k", "a"}, rows: []row{
			{bulk.Insert, []any{int64(5), int64(5), int64(42)}}}, lsn: lsn(1)})
		if res[0].Err != nil || res[0].Counts != (bulk.Counts{Inserted: 1}) {
			t.Fatalf("after a recreate by the other process: %+v", res[0])
		}
		if c := contents(t, b, tenant, `SELECT id, a FROM t`); c != "5|42" {
			t.Fatalf("rows after recreate: %q", c)
		}

		// A wipe by the other process: Z's next rows land in the empty table.
		if err := a.Wipe(ctx, tenant, []string{"t"}); err != nil {
			t.Fatal(err)
		}
		res = apply(t, z, tenant, batch{table: "t", cols: []string{"id", "k", "a"}, rows: []row{
			{bulk.Insert, []any{int64(6), int64(6), int64(7)}}}, lsn: lsn(2)})
		if res[0].Err != nil || res[0].LSN != 2 {
			t.Fatalf("after a wipe by the other process: %+v", res[0])
		}
		if c := contents(t, b, tenant, `SELECT id FROM t`); c != "6" {
			t.Fatalf("rows after wipe: %q", c)
		}

		// A cycle through A that no longer names t drops it at its end; Z then refuses rows
		// for it as the caller's mistake rather than writing anywhere.
		if _, err := a.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}
		if err := a.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, z, tenant, keyedBy("other", idKey))
		done, err := a.Complete(ctx, tenant, nil)
		if err != nil || !slices.Equal(done.Dropped, []string{"t"}) {
			t.Fatalf("Complete through the other process: %+v, %v", done, err)
		}
		ap, err := z.BeginApply(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ap.Batch("t", []string{"id", "k", "a"})
		ap.Abort(err)
		if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), "not mirrored") {
			t.Fatalf("rows for a table the other process dropped: %v", err)
		}
	})
}

// TestSchemaChangeDuringApply: another process recreates the table after this call read the
// catalog but before its table's transaction: the table's rows are refused whole with an error
// that says to send them again, and nothing is written. (Once a table's transaction has begun,
// its state row's lock makes the other process's migration wait for it instead.)
func TestSchemaChangeDuringApply(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustRace"
		sync_(t, a, tenant, keyedBy("t", idKey, aText))
		res := apply(t, z, tenant, batch{table: "t", cols: []string{"id", "a"}, rows: []row{{bulk.Insert, []any{int64(1), "x"}}}, lsn: lsn(3)})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
		ap, err := z.BeginApply(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		sync_(t, a, tenant, keyedBy("t", idKey, kKey, aText)) // recreated under the call
		w, err := ap.Batch("t", []string{"id", "a"})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add(bulk.Insert, values(int64(2), "y")); err != nil {
			t.Fatal(err)
		}
		if err := w.SetLSN(4); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := ap.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if !errors.Is(out[0].Err, engine.ErrBusy) || !strings.Contains(out[0].Err.Error(), "send them again") || !strings.Contains(out[0].Err.Error(), "table t") {
			t.Fatalf("a call whose table was recreated under it: %+v", out[0])
		}
		if c := contents(t, b, tenant, `SELECT count(*) FROM t`); c != "0" {
			t.Fatalf("rows written with the old model: %s", c)
		}
		if l := stateLSN(t, b, tenant, "t"); l != "-1" {
			t.Fatalf("LSN %s after the refused apply", l)
		}
	})
}

// TestConcurrentFirstContact: two processes run the same tenant's first TableSchema at once.
// Each succeeds or fails with a retryable error, never a catalog error, and the mirror ends
// with the tables.
func TestConcurrentFirstContact(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustFirst"
		tables := []schema.Table{contact(), person(), keyedBy("third", idKey, aText)}
		for round := range 3 {
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, e := range []*engine.Engine{a, z} {
				wg.Go(func() {
					if err := e.Authenticate(ctx, tenant); err != nil {
						errs[i] = err
						return
					}
					_, errs[i] = e.SyncSchema(ctx, tenant, tables)
				})
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil && !errors.Is(err, engine.ErrBusy) {
					t.Fatalf("round %d, process %d: %v", round, i, err)
				}
			}
		}
		got := contents(t, b, tenant, `SELECT tablename FROM "CustFirst_mirroring" WHERE tablename <> '#cycle' ORDER BY tablename`)
		if got != "contact\nperson\nthird" {
			t.Fatalf("state rows: %q", got)
		}
	})
}

// TestLSNRules: an LSN below -1, or below the mirror's, is the caller's mistake and writes
// nothing; after a wipe in the cycle it may go back.
func TestLSNRules(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "CustLSN"
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, e, tenant, contact())
		apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(100)})
		// The next cycle did not create or wipe the table: its LSN only goes forward.
		if _, err := e.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []int64{99, -2} {
			ap, err := e.BeginApply(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			w, err := ap.Batch("contact", []string{"contact_id"})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Add(bulk.Insert, values(int64(2))); err != nil {
				t.Fatal(err)
			}
			err = w.SetLSN(bad)
			ap.Abort(err)
			if !errors.Is(err, engine.ErrBadRequest) || !strings.Contains(err.Error(), "contact") {
				t.Fatalf("LSN %d over 100: %v", bad, err)
			}
			if bad == 99 && !strings.Contains(err.Error(), "100") {
				t.Fatalf("the error does not name the mirror's LSN: %v", err)
			}
		}
		if c := contents(t, b, tenant, `SELECT count(*) FROM contact`); c != "1" {
			t.Fatalf("rows after refused LSNs: %s", c)
		}
		if err := e.Wipe(ctx, tenant, []string{"contact"}); err != nil {
			t.Fatal(err)
		}
		res := apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(3)}}}, lsn: lsn(50)})
		if res[0].Err != nil || res[0].LSN != 50 {
			t.Fatalf("an LSN going back after a wipe: %+v", res[0])
		}
	})
}

// downTarget is a real target that can be made to fail every Open and every catalog read: the
// database server stopped.
type downTarget struct {
	bulk.Target
	down *atomic.Bool
}

func (d downTarget) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	if d.down.Load() {
		return nil, errors.New("injected fault: the target is down")
	}
	m, err := d.Target.Open(ctx, tenant)
	return downMirror{Mirror: m, down: d.down}, err
}

type downMirror struct {
	bulk.Mirror
	down *atomic.Bool
}

func (d downMirror) Tables(ctx context.Context) (map[string]bulk.TableState, error) {
	if d.down.Load() {
		return nil, errors.New("injected fault: the target is down")
	}
	return d.Mirror.Tables(ctx)
}

// TestAuthenticateWhileTargetDown: an Authenticate that finds the target down reopens the mirror
// and fails; a call already in flight for the tenant then fails cleanly instead of panicking,
// and the tenant works again once the target is back.
func TestAuthenticateWhileTargetDown(t *testing.T) {
	b := sqliteBackend(t)
	var down atomic.Bool
	e := engine.New(downTarget{Target: b.target, down: &down}, engine.Options{Wait: 5 * time.Second})
	const tenant = "CustDown"
	sync_(t, e, tenant, contact())
	ap, err := e.BeginApply(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	down.Store(true)
	if err := e.Authenticate(ctx, tenant); err == nil {
		t.Fatal("Authenticate with the target down: no error")
	}
	w, err := ap.Batch("contact", []string{"contact_id"})
	if err == nil {
		err = w.Add(bulk.Insert, values(int64(1)))
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		var res []engine.TableApplyResult
		res, err = ap.Finish()
		if err == nil {
			err = res[0].Err
		}
	} else {
		ap.Abort(err)
	}
	if err == nil || !strings.Contains(err.Error(), "not open") {
		t.Fatalf("a call in flight while the mirror could not be reopened: %v", err)
	}
	down.Store(false)
	if err := e.Authenticate(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	res := apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(1)})
	if res[0].Err != nil {
		t.Fatalf("after the target came back: %+v", res[0])
	}
}

// TestTwoProcessesSameKeys: two processes apply rows of the same keys to one table at once, as a
// caller that breaks the promise not to overlap a table's calls would: the state row's lock
// makes them take turns, so neither fails on a duplicate key and the last one's rows stand.
func TestTwoProcessesSameKeys(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustSame"
		sync_(t, a, tenant, keyedBy("t", idKey, aText))
		sync_(t, z, tenant, keyedBy("t", idKey, aText))
		rows := func(tag string) []row {
			var out []row
			for i := range 300 {
				out = append(out, row{bulk.Insert, []any{int64(i), tag}})
			}
			return out
		}
		for round := range 5 {
			var wg sync.WaitGroup
			results := make([][]engine.TableApplyResult, 2)
			for i, e := range []*engine.Engine{a, z} {
				tag := fmt.Sprintf("p%d", i)
				wg.Go(func() {
					results[i] = apply(t, e, tenant, batch{table: "t", cols: []string{"id", "a"}, rows: rows(tag), lsn: lsn(int64(10 + round))})
				})
			}
			wg.Wait()
			for i, res := range results {
				if res[0].Err != nil {
					t.Fatalf("round %d, process %d: %v", round, i, res[0].Err)
				}
			}
		}
		if c := contents(t, b, tenant, `SELECT count(*), count(DISTINCT a) FROM t`); c != "300|1" {
			t.Fatalf("rows after overlapping applies: %q", c)
		}
	})
}

// TestRewindIsTheMirrors: whether a table's LSN may go back is the mirror's to say, not the
// process's that wiped it: a repopulation spread over two processes goes through, and a stale
// call to the process that wiped the table a cycle ago is refused.
func TestRewindIsTheMirrors(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustRewind"
		cols := []string{"id", "a"}
		if err := a.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, a, tenant, keyedBy("t", idKey, aText))
		apply(t, a, tenant, batch{table: "t", cols: cols, rows: []row{{bulk.Insert, []any{int64(1), "x"}}}, lsn: lsn(900)})
		if _, err := a.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}

		// Cycle 2: Z wipes; the repopulation's calls go to A, then Z, with LSNs going down.
		if err := a.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, a, tenant, keyedBy("t", idKey, aText))
		if err := z.Wipe(ctx, tenant, []string{"t"}); err != nil {
			t.Fatal(err)
		}
		apply(t, a, tenant, batch{table: "t", cols: cols, rows: []row{{bulk.Insert, []any{int64(1), "new"}}}, lsn: lsn(300)})
		apply(t, z, tenant, batch{table: "t", cols: cols, rows: []row{{bulk.Insert, []any{int64(2), "new"}}}, lsn: lsn(200)})
		if _, err := a.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}

		// Cycle 3 begins through A: a stale call with a lower LSN to Z, which wiped the table a
		// cycle ago, is refused and writes nothing.
		if err := a.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		ap, err := z.BeginApply(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		w, err := ap.Batch("t", cols)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Add(bulk.Update, values(int64(1), "OLD")); err != nil {
			t.Fatal(err)
		}
		err = w.SetLSN(150)
		ap.Abort(err)
		if !errors.Is(err, engine.ErrBadRequest) {
			t.Fatalf("a stale LSN to the process that wiped the table last cycle: %v", err)
		}
		if c := contents(t, b, tenant, `SELECT id, a FROM t ORDER BY id`); c != "1|new\n2|new" {
			t.Fatalf("rows: %q", c)
		}
	})
}

// TestHandDroppedTableIsCreatedAgain: a mirrored table dropped by hand, its state row left, is
// created again by the next TableSchema rather than blocking it.
func TestHandDroppedTableIsCreatedAgain(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "CustHand"
		sync_(t, e, tenant, contact())
		b.exec(t, tenant, `DROP TABLE contact`)
		got := sync_(t, e, tenant, contact())
		if got["contact"].LSN != bulk.NoLSN || got["contact"].Change != engine.ChangeCreated {
			t.Fatalf("TableSchema after the table was dropped by hand: %+v", got["contact"])
		}
		res := apply(t, e, tenant, batch{table: "contact", cols: []string{"contact_id"}, rows: []row{{bulk.Insert, []any{int64(1)}}}, lsn: lsn(1)})
		if res[0].Err != nil {
			t.Fatal(res[0].Err)
		}
	})
}

// TestHandDroppedThenRenamedInCase: a table dropped by hand (its state row left) whose source
// renames it in case. The cycle creates and fills the new spelling; neither its end nor a second
// TableSchema may drop it. On SQLite, whose names ignore case, the old name's state row was
// dropped at the cycle's end, and with it the new table and its rows.
func TestHandDroppedThenRenamedInCase(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "CustCase"
		cols := []string{"id", "a"}
		cycle := func(tables ...schema.Table) map[string]engine.TableResult {
			t.Helper()
			if err := e.Authenticate(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			return sync_(t, e, tenant, tables...)
		}
		complete := func() []string {
			t.Helper()
			done, err := e.Complete(ctx, tenant, nil)
			if err != nil {
				t.Fatal(err)
			}
			return done.Dropped
		}
		cycle(keyedBy("contact", idKey, aText))
		apply(t, e, tenant, batch{table: "contact", cols: cols, rows: []row{{bulk.Insert, []any{int64(1), "x"}}}, lsn: lsn(5)})
		complete()
		b.exec(t, tenant, `DROP TABLE contact`)

		upper := keyedBy("Contact", idKey, aText)
		if got := cycle(upper); got["Contact"].LSN != bulk.NoLSN || got["Contact"].Change != engine.ChangeCreated {
			t.Fatalf("TableSchema of the new spelling: %+v", got["Contact"])
		}
		res := apply(t, e, tenant, batch{table: "Contact", cols: cols, rows: []row{
			{bulk.Insert, []any{int64(1), "x"}}, {bulk.Insert, []any{int64(2), "y"}}}, lsn: lsn(10)})
		if res[0].Err != nil || res[0].LSN != 10 {
			t.Fatalf("RowData: %+v", res[0])
		}
		// A second TableSchema in the same cycle, then its end.
		if got := sync_(t, e, tenant, upper); got["Contact"].LSN != 10 || got["Contact"].Change != engine.ChangeNone {
			t.Fatalf("second TableSchema: %+v", got["Contact"])
		}
		if dropped := complete(); len(dropped) != 0 {
			t.Errorf("the cycle's end dropped %v", dropped)
		}
		if got := contents(t, b, tenant, `SELECT id, a FROM "Contact" ORDER BY id`); got != "1|x\n2|y" {
			t.Errorf("Contact holds %q after the cycle", got)
		}
		if got := cycle(upper); got["Contact"].LSN != 10 {
			t.Errorf("the next cycle's TableSchema: %+v", got["Contact"])
		}
	})
}

// TestTheCycleKeepsWhatItNamed: a table whose TableSchema call was refused, and one named before
// a second Authenticate of the same cycle, are not dropped at the cycle's end.
func TestTheCycleKeepsWhatItNamed(t *testing.T) {
	forEach(t, func(t *testing.T, b backend, e *engine.Engine) {
		const tenant = "CustKeep"
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		sync_(t, e, tenant, contact(), person(), keyedBy("third", idKey))
		if _, err := e.Complete(ctx, tenant, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Authenticate(ctx, tenant); err != nil {
			t.Fatal(err)
		}
		bad := person()
		bad.Columns = append(bad.Columns, schema.Column{Name: "shape", Type: "geography", Nullable: true})
		if _, err := e.SyncSchema(ctx, tenant, []schema.Table{bad}); !errors.Is(err, engine.ErrBadRequest) {
			t.Fatalf("a TableSchema with a type mirrord refuses: %v", err)
		}
		sync_(t, e, tenant, contact())
		if err := e.Authenticate(ctx, tenant); err != nil { // a second Authenticate mid-cycle
			t.Fatal(err)
		}
		sync_(t, e, tenant, keyedBy("third", idKey))
		done, err := e.Complete(ctx, tenant, nil)
		if err != nil || len(done.Dropped) != 0 {
			t.Fatalf("the cycle's end dropped %v (%v); every table was named", done.Dropped, err)
		}
	})
}

// TestFailedTableAnswersTheMirrorsLSN: a table the call did not move answers the LSN the mirror
// holds, even when another process moved it since this one read its catalog.
func TestFailedTableAnswersTheMirrorsLSN(t *testing.T) {
	twoProcesses(t, func(t *testing.T, b backend, a, z *engine.Engine) {
		const tenant = "CustAnswer"
		sync_(t, a, tenant, keyedBy("t", idKey, aText))
		apply(t, z, tenant, batch{table: "t", cols: []string{"id", "a"}, rows: []row{{bulk.Insert, []any{int64(1), "x"}}}, lsn: lsn(500)})
		if err := a.Wipe(ctx, tenant, []string{"t"}); err != nil {
			t.Fatal(err)
		}
		res := apply(t, z, tenant, batch{table: "t", cols: []string{"id", "a"}, rows: []row{{bulk.Insert, []any{int64(2), "y"}}}})
		if res[0].LSN != bulk.NoLSN {
			t.Fatalf("a call without an LSN after the other process's wipe answers LSN %d, want -1", res[0].LSN)
		}
	})
}
