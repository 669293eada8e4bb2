package sqlite

import (
	"context"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// readRows reads every row of a table (mirrored or not) through the mirror's Inspector.
func readRows(ctx context.Context, m *Mirror, table schema.Table) ([][]any, error) {
	return bulktest.ReadAll(ctx, m, table)
}

func openTarget(t testing.TB, opts Options) *Target {
	t.Helper()
	target, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := target.Close(); err != nil {
			t.Errorf("close target: %v", err)
		}
	})
	return target
}

func openTestMirror(t testing.TB, opts Options, tenant string) *Mirror {
	t.Helper()
	m, err := openTarget(t, opts).OpenMirror(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// create makes a mirrored table through Migrate, as the engine does.
func create(t testing.TB, m *Mirror, table schema.Table) {
	t.Helper()
	if err := bulktest.Migrate(context.Background(), m, schema.Diff(nil, table)); err != nil {
		t.Fatal(err)
	}
}

func exec(t testing.TB, m *Mirror, query string) {
	t.Helper()
	if _, err := m.w.Exec(query); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func lsnFunc(lsn int64) func() (int64, bool) { return func() (int64, bool) { return lsn, true } }

func rowsOf(rows ...bulk.Row) *bulk.SliceRows { return bulk.NewSliceRows(rows) }

func all(t schema.Table) []int {
	idx := make([]int, len(t.Columns))
	for i := range idx {
		idx[i] = i
	}
	return idx
}
