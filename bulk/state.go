package bulk

import (
	"encoding/json"
	"fmt"
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
