package bulk

import (
	"context"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// SQLRunner is implemented by mirrors that run a partner's own SQL in the tenant's mirror
// database, for the --hook-sql hooks: drop the partner's indexes before a table is repopulated,
// say, and create them again when the cycle completes.
type SQLRunner interface {
	// RunSQL runs text, which may hold several statements, in one transaction of the mirror
	// database, with {{table}} replaced by table's quoted name (as the mirror names it: schema
	// and all) and {{tenant}} by the tenant as a quoted string literal; nothing else of text is
	// touched. table is empty for an event of no table, and must then not appear in text.
	RunSQL(ctx context.Context, text, table string) error
}

// ExpandSQL replaces {{table}} in text with table's name as quoteTable quotes it, and
// {{tenant}} with tenant as quoteLiteral quotes it, in one pass, so that neither replacement is
// read again. table is checked as a name first (schema.CheckName): only such names are quoted
// into SQL. An empty table replaces {{table}} with nothing.
func ExpandSQL(text, table, tenant string, quoteTable, quoteLiteral func(string) string) (string, error) {
	quotedTable := ""
	if table != "" {
		if err := schema.CheckName("table", table); err != nil {
			return "", err
		}
		quotedTable = quoteTable(table)
	}
	return strings.NewReplacer("{{table}}", quotedTable, "{{tenant}}", quoteLiteral(tenant)).Replace(text), nil
}
