package bulk

import "testing"

func TestExpandSQL(t *testing.T) {
	quoteTable := func(s string) string { return `"s"."` + s + `"` }
	quoteLiteral := func(s string) string { return "'" + s + "'" }
	for _, tc := range []struct {
		text, table, tenant, want, err string
	}{
		{text: "DROP INDEX IF EXISTS ix ON {{table}};", table: "contact", want: `DROP INDEX IF EXISTS ix ON "s"."contact";`},
		{text: "INSERT INTO log VALUES ({{tenant}}, {{tenant}})", tenant: "Cust1", want: "INSERT INTO log VALUES ('Cust1', 'Cust1')"},
		// A replacement is never read again, and nothing else is substituted.
		{text: "{{table}} {{ table }} {{Table}} $1 %s", table: "x{{tenant}}", err: "table"},
		{text: "{{table}}", table: "con tact", err: "table"},
		{text: "SELECT '{{tenant}}'", tenant: "{{table}}", want: "SELECT ''{{table}}''"},
		{text: "{{table}};", want: ";"},
	} {
		got, err := ExpandSQL(tc.text, tc.table, tc.tenant, quoteTable, quoteLiteral)
		if tc.err != "" {
			if err == nil {
				t.Errorf("%q with table %q: no error", tc.text, tc.table)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: got %q, %v; want %q", tc.text, got, err, tc.want)
		}
	}
}
