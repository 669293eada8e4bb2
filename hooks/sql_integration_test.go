package hooks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/hooks"
)

func sqlFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hook.sql")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSQLHooks: a table.before SQL hook runs in the tenant's mirror before each table's first
// rows of the cycle, with {{table}} and {{tenant}} replaced; one that fails refuses the table's
// rows; cycle.completed's runs after the answer.
func TestSQLHooks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		before := sqlFile(t, `CREATE TABLE IF NOT EXISTS partner_log (tenant varchar(50), what varchar(50));
CREATE INDEX IF NOT EXISTS partner_ix ON {{table}} (name);
INSERT INTO partner_log (tenant, what) VALUES ({{tenant}}, 'before');`)
		done := sqlFile(t, `INSERT INTO partner_log (tenant, what) VALUES ({{tenant}}, 'completed');`)
		fx := newFixture(t, b, hooks.Config{SQL: []hooks.SQLHook{{Event: hooks.TableBefore, File: before}, {Event: hooks.CycleCompleted, File: done}}})
		fx.authenticate("")
		fx.tableSchema("", contactTable())
		res := fx.rowData(batch{contactTable(), bulk.Insert, rows(1, 3, "c"), 10})
		if res["contact"].ErrorMessage != "" || res["contact"].Inserted != 3 {
			t.Fatalf("contact answered %+v", res["contact"])
		}
		fx.complete()
		waitFor(t, func() bool { return b.count(t, testTenant, "partner_log") == 2 })

		// A hook whose SQL fails refuses the table's rows, and says why.
		broken := newFixture(t, b, hooks.Config{SQL: []hooks.SQLHook{{Event: hooks.TableBefore, File: sqlFile(t, "INSERT INTO no_such_table VALUES (1);")}}})
		broken.authenticate("")
		broken.tableSchema("", personTable())
		res = broken.rowData(batch{personTable(), bulk.Insert, rows(1, 2, "p"), 20})
		if p := res["person"]; !strings.Contains(p.ErrorMessage, "no_such_table") || p.Inserted != 0 || p.LSN != -1 {
			t.Fatalf("person answered %+v under a failing SQL hook", p)
		}
		if n := b.count(t, testTenant, "person"); n != 0 {
			t.Fatalf("person has %d rows after its SQL hook failed", n)
		}
	})
}

func TestSQLHookRefusesTableWhereThereIsNone(t *testing.T) {
	file := sqlFile(t, "DELETE FROM {{table}};")
	_, err := hooks.New(hooks.Config{SQL: []hooks.SQLHook{{Event: hooks.CycleCompleted, File: file}},
		RunSQL: func(ctx context.Context, tenant, table, text string) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "{{table}} has no value") {
		t.Fatalf("a {{table}} for cycle.completed: %v", err)
	}
	if _, err := hooks.ParseSQLHook("table.before"); err == nil {
		t.Fatal("an SQL hook without a file was accepted")
	}
	if _, err := hooks.ParseSQLHook("table.after=x.sql"); err == nil {
		t.Fatal("an SQL hook of an unknown event was accepted")
	}
}
