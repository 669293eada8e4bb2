// Package pgupsert writes PostgreSQL's own upsert and delete of a table's rows, one row a
// statement: the baseline mirrord's benchmarks measure their loads against.
package pgupsert

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/schema"
)

// SQL is a keyed table's upsert (INSERT … ON CONFLICT (key) DO UPDATE, the row's values as $1 to
// $n in column order) and delete (its key values as $1 to $k in key order).
func SQL(t schema.Table) (upsert, del string) {
	var cols, params, set, key, where []string
	for i, c := range t.Columns {
		q := pgx.Identifier{c.Name}.Sanitize()
		cols = append(cols, q)
		params = append(params, fmt.Sprintf("$%d", i+1))
		if !c.PrimaryKey {
			set = append(set, q+" = EXCLUDED."+q)
		}
	}
	for i, k := range t.Key() {
		q := pgx.Identifier{t.Columns[k].Name}.Sanitize()
		key = append(key, q)
		where = append(where, fmt.Sprintf("%s = $%d", q, i+1))
	}
	name := pgx.Identifier{t.Name}.Sanitize()
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s) ON CONFLICT (%s) DO UPDATE SET %s", name, strings.Join(cols, ", "),
			strings.Join(params, ", "), strings.Join(key, ", "), strings.Join(set, ", ")),
		fmt.Sprintf("DELETE FROM %s WHERE %s", name, strings.Join(where, " AND "))
}
