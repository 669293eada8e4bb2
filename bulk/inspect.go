package bulk

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/schema"
)

// Inspector is implemented by mirrors that can read their tables back as the bulk value model
// (the Go types listed beside Values), which is how tools and tests prove a mirror equal to
// what was applied to it.
type Inspector interface {
	// ReadRows calls fn with every row of table, each holding the columns of table in the
	// order of table.Columns, nil for NULL. Rows come in the order of the table's primary key
	// when it has one. The table need not be mirrored (a partner's own table reads alike);
	// its columns say which to read and the types to read them as. The slice fn gets is
	// reused for the next row, its values are fn's to keep. An error from fn ends the read
	// and is returned as it is.
	ReadRows(ctx context.Context, table schema.Table, fn func(values []any) error) error
	// Kept returns what the mirror keeps of v, a value of column c, so that a value sent
	// compares equal (EqualValues) to the value read back: a finer time truncated to the
	// database's precision, a float's -0 that the database turns into 0, and so on. Kept
	// of a kept value is that value.
	Kept(c schema.Column, v any) any
}

// Locator is implemented by targets that can tell where a tenant's mirror lives and whether
// it is there, without creating anything (Target.Open creates what is missing).
type Locator interface {
	// Locate names the tenant's mirror for messages (its file, or its server and database,
	// never a secret) and reports whether it exists.
	Locate(ctx context.Context, tenant string) (where string, exists bool, err error)
}

// RowScanner is what ScanRows reads: *sql.Rows, and pgx's Rows, are one.
type RowScanner interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// ScanRows is ReadRows' loop: it scans each row of rows (every column of table, in order, each
// into an any), turns each raw value into the bulk value of its column with decode, and calls
// fn. The caller closes rows.
func ScanRows(rows RowScanner, table schema.Table, decode func(c schema.Column, raw any) (any, error), fn func(values []any) error) error {
	cols := make([]schema.Column, len(table.Columns))
	for i, c := range table.Columns {
		cols[i] = c.Normalize()
	}
	raw := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	values := make([]any, len(cols))
	for n := 1; rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("read table %s: %w", table.Name, err)
		}
		for i, c := range cols {
			var err error
			if values[i], err = decode(c, raw[i]); err != nil {
				return fmt.Errorf("table %s, row %d, column %s: %w", table.Name, n, c.Name, err)
			}
		}
		if err := fn(values); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read table %s: %w", table.Name, err)
	}
	return nil
}

// ScanStrings reads the one text column of every row a query returned; it takes the query's
// results as they are, so that a caller writes ScanStrings(conn.QueryContext(…)).
func ScanStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
