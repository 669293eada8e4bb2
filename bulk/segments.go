package bulk

import (
	"fmt"

	"github.com/mirrord/mirrord/schema"
)

// A column set is what a batch's rows carry: indexes into the table's columns (Rows.Columns).
// Every loader and the engine check it the same way, with the same words, here.

// CheckColumns checks a column set against its table: at least one column, each an index of one
// of t's columns, none twice, and every key column among them. It returns the position in cols
// of each key column, in key order. Its errors do not name the table: the caller does, once.
func CheckColumns(t schema.Table, cols []int) (keyPos []int, err error) {
	if len(cols) == 0 {
		return nil, fmt.Errorf("the batch names no columns")
	}
	seen := make([]int, len(t.Columns)) // position in cols + 1
	for i, ci := range cols {
		if ci < 0 || ci >= len(t.Columns) {
			return nil, fmt.Errorf("the batch names column index %d; the table has %d columns", ci, len(t.Columns))
		}
		if seen[ci] != 0 {
			return nil, fmt.Errorf("column %s is named twice in one batch", t.Columns[ci].Name)
		}
		seen[ci] = i + 1
	}
	for _, k := range t.Key() {
		if seen[k] == 0 {
			return nil, fmt.Errorf("the batch lacks key column %s", t.Columns[k].Name)
		}
		keyPos = append(keyPos, seen[k]-1)
	}
	return keyPos, nil
}

// ColumnIndexes turns the column names of a batch's header into its column set and checks it as
// CheckColumns does; a name that is no column of t is refused, and one that is no name at all
// (schema.CheckName) is refused as such, never echoed into a query. Its errors do not name the
// table.
func ColumnIndexes(t schema.Table, names []string) ([]int, error) {
	cols := make([]int, len(names))
	for i, name := range names {
		c := t.Column(name)
		if c < 0 {
			if err := schema.CheckName("column", name); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("there is no column %s", name)
		}
		cols[i] = c
	}
	if _, err := CheckColumns(t, cols); err != nil {
		return nil, err
	}
	return cols, nil
}

// Segments keeps a loader's plan (S) for each column set it meets in one apply, keyed by the
// column set: each is checked (CheckColumns) and built once, however often batches alternate
// between column sets. The zero value is ready to use.
type Segments[S any] map[string]S

// For returns the plan of a column set, checking the set against t and building its plan with
// build (given CheckColumns' key positions) the first time.
func (s *Segments[S]) For(t schema.Table, cols []int, build func(keyPos []int) (S, error)) (S, error) {
	key := ColumnSetKey(cols)
	if seg, ok := (*s)[key]; ok {
		return seg, nil
	}
	var zero S
	keyPos, err := CheckColumns(t, cols)
	if err != nil {
		return zero, err
	}
	seg, err := build(keyPos)
	if err != nil {
		return zero, err
	}
	if *s == nil {
		*s = Segments[S]{}
	}
	(*s)[key] = seg
	return seg, nil
}
