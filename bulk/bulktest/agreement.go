package bulktest

import (
	"errors"
	"slices"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// testSchemaAgreement checks that a caller holding a stale table model cannot write with it:
// another process (here, the same mirror used as one) migrated, recreated or dropped the table.
func (s *suite) testSchemaAgreement(t *testing.T, m bulk.Mirror) {
	ctx := t.Context()
	tbl := s.create(t, m, renamed(items, "agreement"))
	stale := tableState(t, m, tbl.Name)
	s.apply(t, m, tbl, bulk.ApplyOptions{LSN: fixedLSN(1), Hash: stale.Hash}, ins(itemCols, item(1, "a", 1, "x")...))
	before := fullRows(t, tbl, itemCols, item(1, "a", 1, "x"))

	// Another process changes the key: the old model would merge on the wrong key.
	rekeyed := table("agreement", "id int key", "name nvarchar(50) key", "qty int null", "note nvarchar(max) null")
	plan := schema.Diff(&stale.Table, rekeyed)
	if err := m.Migrate(ctx, bulk.Migration{Plan: plan, From: stale.Hash}); err != nil {
		t.Fatalf("Migrate recreate: %v", err)
	}
	rows := bulk.NewSliceRows(buildRows(t, tbl, ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(1, "b", 2, "y")...)))
	_, err := m.Apply(ctx, tbl, rows, bulk.ApplyOptions{LSN: fixedLSN(7), Hash: stale.Hash})
	if !errors.Is(err, bulk.ErrSchemaChanged) {
		t.Errorf("Apply with the model from before a recreate: error %v, want ErrSchemaChanged", err)
	}
	expectCount(t, m, tbl.Name, 0)
	expectLSN(t, m, tbl.Name, bulk.NoLSN)

	// A plan made from a state that is no longer there changes nothing.
	plan = schema.Diff(&stale.Table, renamed(items, "agreement"))
	err = m.Migrate(ctx, bulk.Migration{Plan: plan, From: stale.Hash})
	if !errors.Is(err, bulk.ErrSchemaChanged) {
		t.Errorf("Migrate from a stale hash: error %v, want ErrSchemaChanged", err)
	}
	if st := tableState(t, m, tbl.Name); st.Hash != rekeyed.Hash() {
		t.Errorf("a refused Migrate changed the table's hash to %.12s", st.Hash)
	}
	err = m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, rekeyed)})
	if !errors.Is(err, bulk.ErrSchemaChanged) {
		t.Errorf("Migrate create of a table another process created: error %v, want ErrSchemaChanged", err)
	}

	// With the current model the same rows go in under the new key.
	current := tableState(t, m, tbl.Name)
	counts := s.apply(t, m, current.Table, bulk.ApplyOptions{LSN: fixedLSN(7), Hash: current.Hash},
		ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(1, "b", 2, "y")...))
	expectCounts(t, counts, 2, 0, 0)
	expectCount(t, m, tbl.Name, 2)

	// A table another process dropped takes no rows from the old model.
	if err := m.Drop(ctx, []string{tbl.Name}); err != nil {
		t.Fatal(err)
	}
	rows = bulk.NewSliceRows(buildRows(t, tbl, ins(itemCols, item(2, "c", 3, "z")...)))
	if _, err := m.Apply(ctx, tbl, rows, bulk.ApplyOptions{LSN: fixedLSN(8), Hash: current.Hash}); !errors.Is(err, bulk.ErrSchemaChanged) {
		t.Errorf("Apply to a dropped table: error %v, want ErrSchemaChanged", err)
	}
	_ = before
}

// testLSNRules checks that an LSN never goes backwards unless the apply may rewind it, and that
// a refused LSN writes nothing.
func (s *suite) testLSNRules(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, renamed(items, "lsn_rules"))
	s.apply(t, m, tbl, withLSN(100), ins(itemCols, item(1, "a", 1, "x")...))
	kept := fullRows(t, tbl, itemCols, item(1, "a", 1, "x"))

	rows := bulk.NewSliceRows(buildRows(t, tbl, upd(itemCols, item(1, "b", 2, "y")...)))
	_, err := m.Apply(t.Context(), tbl, rows, withLSN(99))
	var lsnErr *bulk.LSNError
	if !errors.As(err, &lsnErr) || lsnErr.Stored != 100 || lsnErr.Sent != 99 {
		t.Errorf("Apply of LSN 99 over 100: error %v, want an LSNError naming both", err)
	}
	expectError(t, err, "Apply of a lower LSN", "lsn_rules", "99", "100")
	s.expectRows(t, m, tbl, kept)
	expectLSN(t, m, tbl.Name, 100)

	rows = bulk.NewSliceRows(buildRows(t, tbl, upd(itemCols, item(1, "b", 2, "y")...)))
	if _, err := m.Apply(t.Context(), tbl, rows, bulk.ApplyOptions{LSN: fixedLSN(-5)}); err == nil {
		t.Errorf("Apply of LSN -5: no error")
	}
	s.expectRows(t, m, tbl, kept)

	// The same LSN again is a resend. Once the cycle in progress wiped the table, its LSN may go
	// back across calls, as a repopulation's do; the next cycle ends that.
	s.apply(t, m, tbl, withLSN(100), upd(itemCols, item(1, "b", 2, "y")...))
	if err := m.BeginCycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.Wipe(t.Context(), []string{tbl.Name}); err != nil {
		t.Fatal(err)
	}
	if st := tableState(t, m, tbl.Name); !st.Rewind {
		t.Errorf("after a wipe in the cycle, the table's state does not allow its LSN back")
	}
	s.apply(t, m, tbl, emptyWithLSN(300), ins(itemCols, item(1, "c", 3, "z")...))
	s.apply(t, m, tbl, emptyWithLSN(200), ins(itemCols, item(2, "d", 4, "w")...))
	expectLSN(t, m, tbl.Name, 200)
	if _, err := m.EndCycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := m.BeginCycle(t.Context()); err != nil {
		t.Fatal(err)
	}
	rows = bulk.NewSliceRows(buildRows(t, tbl, upd(itemCols, item(1, "e", 5, "v")...)))
	if _, err := m.Apply(t.Context(), tbl, rows, withLSN(150)); !errors.As(err, &lsnErr) {
		t.Errorf("Apply of a lower LSN in the cycle after the wipe's: error %v, want an LSNError", err)
	}
}

// testCounts checks that counts say what the rows did, and that the cycle adds them up.
func (s *suite) testCounts(t *testing.T, m bulk.Mirror) {
	ctx := t.Context()
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatalf("BeginCycle: %v", err)
	}
	tbl := s.create(t, m, renamed(items, "counted"))
	var sum, freshSum bulk.Counts
	add := func(c bulk.Counts) bulk.Counts { sum.Add(c); return c }
	expectCounts(t, add(s.apply(t, m, tbl, withLSN(1), del("id", 1))), 0, 0, 0)
	// A key sent twice is one insert, then perhaps an update, never two inserts.
	twice := add(s.apply(t, m, tbl, withLSN(2), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(1, "a", 1, "x")...)))
	if twice.Inserted != 1 || twice.Updated > 1 || twice.Deleted != 0 {
		t.Errorf("Apply of one new key twice counted %+v, want one insert and at most one update", twice)
	}
	expectCounts(t, add(s.apply(t, m, tbl, withLSN(3), ins(itemCols, item(1, "b", 2, "y")...))), 0, 1, 0)
	expectCounts(t, add(s.apply(t, m, tbl, withLSN(4), upd(itemCols, item(2, "c", 3, "z")...))), 1, 0, 0)
	expectCounts(t, add(s.apply(t, m, tbl, withLSN(5), del("id", 2), del("id", 3))), 0, 0, 1)
	// Straight into a fresh table, a retried key is an update.
	fresh := s.create(t, m, renamed(items, "counted_fresh"))
	counts := s.apply(t, m, fresh, emptyWithLSN(1), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...))
	expectCounts(t, counts, 2, 0, 0)
	freshSum.Add(counts)
	counts = s.apply(t, m, fresh, emptyWithLSN(2), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...))
	expectCounts(t, counts, 1, 1, 0)
	freshSum.Add(counts)

	states, err := m.States(ctx)
	if err != nil {
		t.Fatalf("States: %v", err)
	}
	if got := states["counted"].Cycle; got != sum {
		t.Errorf("counted's cycle counts %+v, want %+v, the sum of its applies", got, sum)
	}
	if got := states["counted_fresh"].Cycle; got != freshSum {
		t.Errorf("counted_fresh's cycle counts %+v, want %+v, the sum of its applies", got, freshSum)
	}
	if st := states["counted"]; st.LSN != 5 || st.Hash != tbl.Hash() || st.Table.Name != "counted" {
		t.Errorf("States gives counted LSN %d hash %.12s name %q", st.LSN, st.Hash, st.Table.Name)
	}
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	states, err = m.States(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range states {
		if st.Cycle.Any() {
			t.Errorf("%s has cycle counts %+v after BeginCycle", name, st.Cycle)
		}
	}
}

// testCycle checks that a completed cycle drops exactly the tables none of its TableSchema calls
// named, whatever process recorded what, and that an unfinished cycle drops nothing.
func (s *suite) testCycle(t *testing.T) {
	ctx := t.Context()
	m := s.mirror(t, "CustCycle")
	names := []string{"c1", "c2", "c3", "c4"}
	for _, name := range names {
		s.create(t, m, renamed(items, name))
	}
	listed := func() []string {
		states, err := m.States(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return bulk.SortedNames(states)
	}
	endCycle := func(want ...string) {
		t.Helper()
		dropped, err := m.EndCycle(ctx)
		if err != nil {
			t.Fatalf("EndCycle: %v", err)
		}
		if !slices.Equal(dropped, want) {
			t.Errorf("EndCycle dropped %v, want %v", dropped, want)
		}
	}

	// No cycle yet, and a cycle that made no TableSchema call: nothing goes.
	endCycle()
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	endCycle()
	if got := listed(); !slices.Equal(got, names) {
		t.Fatalf("tables %v after cycles that named nothing, want %v", got, names)
	}

	// One TableSchema call per table, one of them creating a table: c3 and c4 go.
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"c1", "c2"} {
		if err := m.NameTables(ctx, []string{name}); err != nil {
			t.Fatal(err)
		}
	}
	s.create(t, m, renamed(items, "c5"))
	if err := m.NameTables(ctx, []string{"c5"}); err != nil {
		t.Fatal(err)
	}
	if got := listed(); len(got) != 5 {
		t.Errorf("tables %v before the cycle ends: nothing is dropped until then", got)
	}
	endCycle("c3", "c4")
	endCycle() // a repeated ReplicationCompleted drops nothing more
	if got := listed(); !slices.Equal(got, []string{"c1", "c2", "c5"}) {
		t.Errorf("tables %v after the cycle, want c1 c2 c5", got)
	}

	// A second Authenticate inside a cycle continues it: what its first TableSchema call named
	// stays named, and nothing goes until the cycle completes.
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.NameTables(ctx, []string{"c1", "c2"}); err != nil {
		t.Fatal(err)
	}
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.NameTables(ctx, []string{"c5"}); err != nil {
		t.Fatal(err)
	}
	// A TableSchema recorded through another process's handle counts the same.
	if s.h.Reopen != nil {
		other := s.h.Reopen(t, s.target)
		defer other.Close()
		om, err := other.Open(ctx, "CustCycle")
		if err != nil {
			t.Fatal(err)
		}
		if err := om.NameTables(ctx, nil); err != nil {
			t.Fatal(err)
		}
		om.Close()
	}
	endCycle()

	// A TableSchema that names no table means no table is mirrored.
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.NameTables(ctx, nil); err != nil {
		t.Fatal(err)
	}
	endCycle("c1", "c2", "c5")
	if got := listed(); len(got) != 0 {
		t.Errorf("tables %v after a cycle that named none", got)
	}
}

// reservedNames are legal SuperOffice table names that are also names the databases or mirrord
// use for themselves: staging and rebuild tables of earlier versions, catalog relations and
// views. Each must be mirrored like any other table.
var reservedNames = []string{"mirrord_stage_1", "mirrord_rebuild_items", "pg_class", "pg_attribute", "pg_temp", "objects", "columns", "sysobjects", "information_schema", "spool"}

func (s *suite) testReservedNames(t *testing.T, m bulk.Mirror) {
	for _, name := range reservedNames {
		t.Run(name, func(t *testing.T) {
			tbl := s.create(t, m, renamed(items, name))
			s.apply(t, m, tbl, emptyWithLSN(1), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...))
			counts := s.apply(t, m, tbl, withLSN(2), upd(itemCols, item(1, "a2", 10, "x2")...), del("id", 2), ins(itemCols, item(3, "c", 3, "z")...))
			expectCounts(t, counts, 1, 1, 1)
			s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(1, "a2", 10, "x2"), item(3, "c", 3, "z")))
			expectLSN(t, m, tbl.Name, 2)
			widened := table(name, "id int key", "name nvarchar(80) null", "qty bigint null", "note nvarchar(max) null")
			if err := migrate(t.Context(), m, schema.Diff(&tbl, widened)); err != nil {
				t.Fatalf("Migrate alter of %s: %v", name, err)
			}
			s.expectRows(t, m, widened, fullRows(t, widened, itemCols, item(1, "a2", 10, "x2"), item(3, "c", 3, "z")))
			if err := m.Wipe(t.Context(), []string{name}); err != nil {
				t.Fatalf("Wipe %s: %v", name, err)
			}
			expectCount(t, m, name, 0)
		})
	}
}
