package sqlite

import (
	"context"
	"fmt"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
	"github.com/mirrord/mirrord/schema"
)

// readRows reads every row of a table (mirrored or not) as the Go values bulk documents, in
// key order, through the mirror's read pool.
func readRows(ctx context.Context, m *Mirror, table schema.Table) ([][]any, error) {
	if err := schema.CheckName("table", table.Name); err != nil {
		return nil, err
	}
	for _, c := range table.Columns {
		if err := schema.CheckName("column", c.Name); err != nil {
			return nil, fmt.Errorf("table %s: %w", table.Name, err)
		}
	}
	rows, err := m.r.QueryContext(ctx, selectRowsSQL(table))
	if err != nil {
		return nil, fmt.Errorf("read table %s: %w", table.Name, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		raw := make([]any, len(table.Columns))
		ptrs := make([]any, len(raw))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("read table %s: %w", table.Name, err)
		}
		row := make([]any, len(raw))
		for i, c := range table.Columns {
			if row[i], err = decodeValue(c.Normalize(), raw[i]); err != nil {
				return nil, fmt.Errorf("table %s, row %d: %w", table.Name, len(out)+1, err)
			}
		}
		out = append(out, row)
	}
	return out, rows.Err()
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
