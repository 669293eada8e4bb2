package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var (
	_ bulk.Inspector = (*Mirror)(nil)
	_ bulk.Locator   = (*Target)(nil)
)

// ReadRows reads every row of a table (mirrored or not) through the mirror's read connections,
// decoding each value as Apply stored it (TYPES.md).
func (m *Mirror) ReadRows(ctx context.Context, table schema.Table, fn func(values []any) error) error {
	// Names are quoted without escaping: only names that CheckName passes may reach the SQL.
	if err := schema.CheckName("table", table.Name); err != nil {
		return err
	}
	for _, c := range table.Columns {
		if err := schema.CheckName("column", c.Name); err != nil {
			return fmt.Errorf("table %s: %w", table.Name, err)
		}
	}
	rows, err := m.r.QueryContext(ctx, selectRowsSQL(table))
	if err != nil {
		return fmt.Errorf("read table %s: %w", table.Name, err)
	}
	defer rows.Close()
	return bulk.ScanRows(rows, table, decodeValue, fn)
}

// Kept is v as the file gives it back: every value the same, but a float's -0, which SQLite
// stores as 0.
func (m *Mirror) Kept(c schema.Column, v any) any {
	if f, ok := v.(float64); ok && f == 0 {
		return 0.0
	}
	return v
}

// Locate names the tenant's file and reports whether it is there.
func (t *Target) Locate(ctx context.Context, tenant string) (string, bool, error) {
	path, err := t.Path(tenant)
	if err != nil {
		return "", false, err
	}
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return path, false, nil
		}
		return path, false, fmt.Errorf("mirror %s: %w", path, err)
	}
	return path, true, ctx.Err()
}

// selectRowsSQL reads every column of a table in key order (in no set order without a key).
func selectRowsSQL(t schema.Table) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	quoteList(&b, columnNames(t.Columns))
	b.WriteString(" FROM ")
	b.WriteString(quote(t.Name))
	if key := keyColumns(t); len(key) > 0 {
		b.WriteString(" ORDER BY ")
		quoteList(&b, columnNames(key))
	}
	return b.String()
}
