package bulktest

// Applying rows: merges, loads into empty tables, tables without a key, and all or nothing.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
)

var items = table("items", "id int key", "name nvarchar(50) null", "qty int null", "note nvarchar(max) null")

const itemCols = "id,name,qty,note"

func item(id int, name string, qty int, note string) []any { return []any{id, name, qty, note} }

func (s *suite) testApply(t *testing.T, m bulk.Mirror) {
	t.Run("InsertUpdateDelete", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_basic"))
		counts := s.apply(t, m, tbl, withLSN(10),
			ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...))
		expectCounts(t, counts, 3, 0, 0)
		expectLSN(t, m, tbl.Name, 10)
		counts = s.apply(t, m, tbl, withLSN(11),
			upd(itemCols, item(1, "a2", 10, "x2")...), del("id", 2), ins(itemCols, item(4, "d", 4, "w")...))
		expectCounts(t, counts, 1, 1, 1)
		expectLSN(t, m, tbl.Name, 11)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(1, "a2", 10, "x2"), item(3, "c", 3, "z"), item(4, "d", 4, "w")))

		// Re-delivery rules, and no LSN: the table keeps 11.
		counts = s.apply(t, m, tbl, bulk.ApplyOptions{},
			ins(itemCols, item(3, "c2", 30, "z2")...), // insert of an existing key updates it
			upd(itemCols, item(9, "i", 9, "v")...),    // update of a missing key inserts it
			del("id", 42),                             // delete of a missing key does nothing
		)
		expectCounts(t, counts, 1, 1, 0) // what the rows did, not their tags
		expectLSN(t, m, tbl.Name, 11)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols,
			item(1, "a2", 10, "x2"), item(3, "c2", 30, "z2"), item(4, "d", 4, "w"), item(9, "i", 9, "v")))
		expectCount(t, m, tbl.Name, 4)

		// An LSN that reports no value leaves the table's LSN as it is, too.
		noValue := bulk.ApplyOptions{LSN: func() (int64, bool) { return 99, false }}
		s.apply(t, m, tbl, noValue, del("id", 9))
		expectLSN(t, m, tbl.Name, 11)
		expectCount(t, m, tbl.Name, 3)
	})

	t.Run("LastStateWins", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_last"))
		s.apply(t, m, tbl, withLSN(1), ins(itemCols, item(6, "f", 6, "old")...), ins(itemCols, item(7, "g", 7, "old")...))
		counts := s.apply(t, m, tbl, withLSN(2),
			ins(itemCols, item(5, "e", 5, "")...), upd(itemCols, item(5, "e2", 5, "")...), del("id", 5), // I U D: gone
			del("id", 6), ins(itemCols, item(6, "f2", 60, "new")...), // D I: the insert
			upd(itemCols, item(7, "g1", 71, "")...), upd(itemCols, item(7, "g2", 72, "")...), upd(itemCols, item(7, "g3", 73, "new")...),
			ins(itemCols, item(8, "h", 8, "")...), del("id", 8), ins(itemCols, item(8, "h2", 80, "back")...),
		)
		// Whether the rows of a key collapse to its last state first is the target's choice, so
		// only what holds either way is asserted: one row more, keys 6 and 7 changed.
		expectNetCounts(t, counts, 1, 11)
		if counts.Updated+counts.Inserted < 2 {
			t.Errorf("Apply counted %+v: keys 6 and 7 were both written", counts)
		}
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(6, "f2", 60, "new"), item(7, "g3", 73, "new"), item(8, "h2", 80, "back")))
		expectLSN(t, m, tbl.Name, 2)
	})

	t.Run("PartialColumns", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_partial"))
		s.apply(t, m, tbl, withLSN(1), ins(itemCols, item(1, "a", 1, "x")...))
		s.apply(t, m, tbl, withLSN(2),
			upd("id,qty", 1, 99),   // update keeps the columns it leaves out
			ins("id,name", 2, "b"), // insert makes them NULL
		)
		s.expectRows(t, m, tbl, append(fullRows(t, tbl, itemCols, item(1, "a", 99, "x")), fullRows(t, tbl, "id,name", []any{2, "b"})...))
	})

	t.Run("ColumnListChanges", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_segments"))
		counts := s.apply(t, m, tbl, withLSN(3),
			ins(itemCols, item(30, "a", 1, "x")...), ins(itemCols, item(31, "b", 2, "y")...),
			upd("id,qty", 30, 99), upd("id,qty", 31, 98),
			upd("note,id", "z", 31),
			ins("id,name", 32, "c"),
			upd("name,id", "Z", 30),
		)
		expectCounts(t, counts, 3, 4, 0)
		want := fullRows(t, tbl, itemCols, item(30, "Z", 99, "x"), item(31, "b", 98, "z"))
		want = append(want, fullRows(t, tbl, "id,name", []any{32, "c"})...)
		s.expectRows(t, m, tbl, want)
	})
}

func (s *suite) testEmptyLoad(t *testing.T, m bulk.Mirror) {
	empty := emptyWithLSN(5)
	t.Run("Straight", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "empty_straight"))
		var rows []rowText
		var want [][]any
		for i := 1; i <= 100; i++ {
			r := item(i, "n"+strconv.Itoa(i), i, strings.Repeat("x", i))
			rows, want = append(rows, ins(itemCols, r...)), append(want, r)
		}
		counts := s.apply(t, m, tbl, empty, rows...)
		expectCounts(t, counts, 100, 0, 0)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, want...))
		expectLSN(t, m, tbl.Name, 5)
		// A retried batch hits its own keys and must end the same: each row now updates.
		counts = s.apply(t, m, tbl, emptyWithLSN(6), rows...)
		expectCounts(t, counts, 0, 100, 0)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, want...))
		expectLSN(t, m, tbl.Name, 6)
	})
	t.Run("RepeatedKeys", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "empty_repeated"))
		counts := s.apply(t, m, tbl, empty,
			ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...),
			ins(itemCols, item(1, "a2", 10, "x2")...), upd(itemCols, item(2, "b2", 20, "y2")...), del("id", 3),
			ins(itemCols, item(4, "d", 4, "w")...),
		)
		expectNetCounts(t, counts, 3, 7)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(1, "a2", 10, "x2"), item(2, "b2", 20, "y2"), item(4, "d", 4, "w")))
		expectLSN(t, m, tbl.Name, 5)
	})
}

var noKey = table("log_nokey", "at datetime2(7) null", "msg nvarchar(100) null", "n int")

func (s *suite) testNoKey(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, noKey)
	cols := "at,msg,n"
	row := []any{"2024-03-01T10:22:05.1234567", "same", 1}
	counts := s.apply(t, m, tbl, withLSN(1), ins(cols, row...), ins(cols, row...), ins("n", 2))
	expectCounts(t, counts, 3, 0, 0)
	want := fullRows(t, tbl, cols, row, row)
	want = append(want, fullRows(t, tbl, "n", []any{2})...)
	s.expectRows(t, m, tbl, want)
	for _, opts := range []bulk.ApplyOptions{withLSN(2), emptyWithLSN(2)} {
		for _, bad := range []rowText{upd(cols, row...), del(cols, row...)} {
			rows := bulk.NewSliceRows(buildRows(t, tbl, ins("n", 3), bad, ins("n", 4)))
			_, err := m.Apply(t.Context(), tbl, rows, opts)
			if !errors.Is(err, bulk.ErrNoKey) {
				t.Errorf("Apply of %v to a table without a key (Fresh %t): error %v, want ErrNoKey", bad.op, opts.Fresh, err)
			}
		}
	}
	s.expectRows(t, m, tbl, want)
	expectLSN(t, m, tbl.Name, 1)
}

func (s *suite) testAtomicity(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, renamed(items, "atomic"))
	s.apply(t, m, tbl, withLSN(5), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...))
	before := fullRows(t, tbl, itemCols, item(1, "a", 1, "x"), item(2, "b", 2, "y"), item(3, "c", 3, "z"))
	changes := func(n int) []bulk.Row {
		texts := []rowText{upd(itemCols, item(1, "A", 100, "X")...), del("id", 2)}
		for i := 10; len(texts) < n; i++ {
			texts = append(texts, ins(itemCols, item(i, "new", i, "")...))
		}
		return buildRows(t, tbl, texts...)
	}

	t.Run("RowsFail", func(t *testing.T) {
		rows := bulk.NewSliceRows(changes(10)).FailAfter(6, errRowsFailed)
		opts, lsnCalls := countCalls(withLSN(6))
		_, err := m.Apply(t.Context(), tbl, rows, opts)
		if !errors.Is(err, errRowsFailed) {
			t.Errorf("Apply with failing rows: error %v, want one that wraps the rows' error", err)
		}
		if n := lsnCalls.Load(); n != 0 {
			t.Errorf("Apply with failing rows called ApplyOptions.LSN %d times; it is for rows that ended without error", n)
		}
		s.expectRows(t, m, tbl, before)
		expectLSN(t, m, tbl.Name, 5)
	})
	t.Run("ContextCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rows := bulk.NewSliceRows(changes(60)).BeforeRow(30, cancel)
		if _, err := m.Apply(ctx, tbl, rows, withLSN(7)); err == nil {
			t.Errorf("Apply whose context was cancelled midway: no error")
		}
		s.expectRows(t, m, tbl, before)
		expectLSN(t, m, tbl.Name, 5)
	})
	t.Run("EmptyLoadFails", func(t *testing.T) {
		fresh := s.create(t, m, renamed(items, "atomic_empty"))
		var texts []rowText
		for i := 1; i <= 20; i++ {
			texts = append(texts, ins(itemCols, item(i, "n", i, "")...))
		}
		rows := bulk.NewSliceRows(buildRows(t, fresh, texts...)).FailAfter(15, errRowsFailed)
		if _, err := m.Apply(t.Context(), fresh, rows, emptyWithLSN(3)); !errors.Is(err, errRowsFailed) {
			t.Errorf("Apply straight into an empty table with failing rows: error %v, want the rows' error", err)
		}
		expectCount(t, m, fresh.Name, 0)
		expectLSN(t, m, fresh.Name, bulk.NoLSN)
	})
	t.Run("UsableAfterFailures", func(t *testing.T) {
		counts, err := m.Apply(t.Context(), tbl, bulk.NewSliceRows(changes(5)), withLSN(8))
		if err != nil {
			t.Fatalf("Apply after failed applies: %v", err)
		}
		expectCounts(t, counts, 3, 1, 1)
		expectLSN(t, m, tbl.Name, 8)
		expectCount(t, m, tbl.Name, 5)
	})
}
