package bulk

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"github.com/mirrord/mirrord/schema"
)

// EncodeDefaults is the text a state table keeps of a table's column defaults: a JSON object of
// column name to SQL Server default text, keys sorted; empty when no column has a default. The
// state table keeps every default, so that a database that cannot express one still diffs and
// reports it, and every target reads defaults back the same way.
func EncodeDefaults(t schema.Table) string {
	defaults := map[string]string{}
	for _, c := range t.Columns {
		if c.Default != "" {
			defaults[c.Name] = c.Default
		}
	}
	if len(defaults) == 0 {
		return ""
	}
	b, _ := json.Marshal(defaults) // a map of strings always marshals; keys come out sorted
	return string(b)
}

// DecodeDefaults sets the Default of t's columns from a state table's text. A name that is not a
// column of t (a partner dropped it by hand) is ignored.
func DecodeDefaults(t *schema.Table, text string) error {
	if text == "" {
		return nil
	}
	var defaults map[string]string
	if err := json.Unmarshal([]byte(text), &defaults); err != nil {
		return fmt.Errorf("table %s: the state table's defaults do not parse: %w", t.Name, err)
	}
	for i := range t.Columns {
		t.Columns[i].Default = defaults[t.Columns[i].Name]
	}
	return nil
}

// SortedNames returns the keys of a state map in order.
func SortedNames(states map[string]TableState) []string {
	names := make([]string, 0, len(states))
	for name := range states {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Expressor is a target's rendering of a column's default in its own SQL: the expression, ""
// when the column has none (or NULL), and ok false when the database cannot express it.
type Expressor func(c schema.Column) (expr string, ok bool)

// KeptDefaults names the columns of t whose default express cannot render: the state table
// keeps them, the database applies none (TableState.KeptDefaults).
func KeptDefaults(t schema.Table, express Expressor) []string {
	var kept []string
	for _, c := range t.Columns {
		if _, ok := express(c); !ok {
			kept = append(kept, c.Name)
		}
	}
	return kept
}

// OmittedDefaults returns the nullable columns of t that cols leaves out and that have a default
// in the database: an insert names them with NULL, since a column a batch leaves out is NULL on
// insert, not its default (PROTOCOL.md). A NOT NULL column left out takes its default, as at the
// source, where NULL would fail.
func OmittedDefaults(t schema.Table, cols []int, express Expressor) []int {
	var out []int
	for i, c := range t.Columns {
		if expr, _ := express(c); expr != "" && c.Nullable && !slices.Contains(cols, i) {
			out = append(out, i)
		}
	}
	return out
}
