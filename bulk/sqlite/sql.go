package sqlite

// Every SQL text the target runs is made here, by small pure functions that golden files test.
// Names reaching these functions have passed schema.CheckName (letters, digits, underscore), so
// double quotes around them are a complete quoting.

import (
	"slices"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

func quote(name string) string { return `"` + name + `"` }

func quoteList(b *strings.Builder, names []string) {
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
}

func columnNames(cols []schema.Column) []string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
	}
	return names
}

func keyColumns(t schema.Table) []schema.Column {
	var key []schema.Column
	for _, i := range t.Key() {
		key = append(key, t.Columns[i])
	}
	return key
}

// nowText is the UTC time of a state change, as SQLite itself writes it.
const nowText = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`

// createStateTableSQL creates the state table: a row per mirrored table (its schema hash, LSN,
// the SQL Server defaults it keeps, the cycle that last named it and its counts in the current
// cycle) and the cycle row (bulk.CycleRow: the cycle's number in lsn and its stage in schemahash).
func createStateTableSQL(state string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + quote(state) + " (tablename TEXT PRIMARY KEY, schemahash TEXT NOT NULL, lsn INTEGER NOT NULL, changed_at TEXT")
	for _, c := range stateColumns {
		b.WriteString(", " + c.name + " " + c.definition)
	}
	b.WriteString(")")
	return b.String()
}

// stateColumns are the state table's columns that later versions added (statetable.Added), as
// state tables made before them lack them, with their SQLite definitions.
var stateColumns = func() []struct{ name, definition string } {
	out := make([]struct{ name, definition string }, len(statetable.Added))
	for i, c := range statetable.Added {
		out[i].name = c.Name
		switch c.Kind {
		case statetable.Text:
			out[i].definition = "TEXT"
		case statetable.Number:
			out[i].definition = "INTEGER"
		default:
			out[i].definition = "INTEGER NOT NULL DEFAULT 0"
		}
	}
	return out
}()

func stateColumnsSQL(state string) string {
	return "SELECT name FROM pragma_table_info(" + literal(state) + ")"
}

func addStateColumnSQL(state, name, definition string) string {
	return "ALTER TABLE " + quote(state) + " ADD COLUMN " + name + " " + definition
}

// notCycle leaves the cycle row out of a statement about tables.
const notCycle = "tablename <> '" + bulk.CycleRow + "'"

func stateListSQL(state string) string {
	return "SELECT tablename, schemahash, lsn, changed_at, coalesce(defaults, ''), inserted, updated, deleted, " + rewindSQL(state) + " FROM " + quote(state) +
		" WHERE " + notCycle + " ORDER BY tablename"
}

// rewindSQL says whether the cycle in progress created or wiped a state row's table.
func rewindSQL(state string) string {
	return "coalesce(wiped_cycle = " + currentCycleSQL(state) + ", 0)"
}

func stateLookupSQL(state string) string {
	return "SELECT lsn FROM " + quote(state) + " WHERE tablename = ?"
}

// stateApplySQL reads one table's hash and LSN for an apply, in its write transaction.
func stateApplySQL(state string) string {
	return "SELECT schemahash, lsn, " + rewindSQL(state) + " FROM " + quote(state) + " WHERE tablename = ?"
}

// stateHashSQL reads one table's hash, for a migration made from it.
func stateHashSQL(state string) string {
	return "SELECT schemahash FROM " + quote(state) + " WHERE tablename = ?"
}

// currentCycleSQL is the number of the cycle in progress, NULL when none is.
func currentCycleSQL(state string) string {
	return "(SELECT lsn FROM " + quote(state) + " WHERE tablename = '" + bulk.CycleRow + "' AND schemahash <> 'ended')"
}

// stateSetSQL records a created table's hash, LSN and defaults, named by the cycle in progress,
// whether or not it has a state row yet.
func stateSetSQL(state string) string {
	return "INSERT INTO " + quote(state) + " (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle) VALUES (?, ?, ?, " + nowText + ", nullif(?, ''), " +
		currentCycleSQL(state) + ", " + currentCycleSQL(state) + ")" +
		" ON CONFLICT (tablename) DO UPDATE SET schemahash = excluded.schemahash, lsn = excluded.lsn, changed_at = excluded.changed_at," +
		" defaults = excluded.defaults, cycle = excluded.cycle, wiped_cycle = excluded.wiped_cycle"
}

func stateSetHashSQL(state string) string {
	return "UPDATE " + quote(state) + " SET schemahash = ?, defaults = nullif(?, ''), changed_at = " + nowText + " WHERE tablename = ?"
}

// stateWipedSQL sets a table's LSN to -1 and records that the cycle in progress wiped it.
func stateWipedSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = -1, changed_at = " + nowText + ", wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename = ?"
}

func stateSetLSNSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = ?, changed_at = " + nowText + " WHERE tablename = ?"
}

// stateAppliedSQL records what an apply did: the LSN when the first argument is true, and the
// rows it inserted, updated and deleted, added to the cycle's counts.
func stateAppliedSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = CASE WHEN ?1 THEN ?2 ELSE lsn END," +
		" changed_at = CASE WHEN ?1 THEN " + nowText + " ELSE changed_at END," +
		" inserted = inserted + ?3, updated = updated + ?4, deleted = deleted + ?5 WHERE tablename = ?6"
}

func stateInvalidateAllSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = -1, changed_at = " + nowText + " WHERE " + notCycle
}

func stateDeleteSQL(state string) string {
	return "DELETE FROM " + quote(state) + " WHERE tablename = ?"
}

// beginCycleSQL starts the next cycle once the last one ended: its number goes up by one, and no
// table is named yet. An Authenticate inside a cycle that has not ended continues it, so that
// what its TableSchema calls named so far stays named.
func beginCycleSQL(state string) string {
	return "INSERT INTO " + quote(state) + " (tablename, schemahash, lsn, changed_at) VALUES ('" + bulk.CycleRow + "', 'open', 1, " + nowText + ")" +
		" ON CONFLICT (tablename) DO UPDATE SET lsn = CASE WHEN schemahash = 'ended' THEN lsn + 1 ELSE lsn END," +
		" schemahash = CASE WHEN schemahash = 'ended' THEN 'open' ELSE schemahash END, changed_at = excluded.changed_at"
}

// resetCountsSQL sets every table's cycle counts to zero.
func resetCountsSQL(state string) string {
	return "UPDATE " + quote(state) + " SET inserted = 0, updated = 0, deleted = 0 WHERE " + notCycle +
		" AND (inserted <> 0 OR updated <> 0 OR deleted <> 0)"
}

// nameCycleSQL marks the cycle in progress as having made a TableSchema call and returns its number.
func nameCycleSQL(state string) string {
	return "UPDATE " + quote(state) + " SET schemahash = 'named' WHERE tablename = '" + bulk.CycleRow + "' AND schemahash <> 'ended' RETURNING lsn"
}

// nameTableSQL records that the cycle named a table.
func nameTableSQL(state string) string {
	return "UPDATE " + quote(state) + " SET cycle = ? WHERE tablename = ?"
}

// cycleSQL reads the cycle row: its number and stage.
func cycleSQL(state string) string {
	return "SELECT lsn, schemahash FROM " + quote(state) + " WHERE tablename = '" + bulk.CycleRow + "'"
}

// unnamedSQL lists the tables the cycle did not name.
func unnamedSQL(state string) string {
	return "SELECT tablename FROM " + quote(state) + " WHERE " + notCycle + " AND cycle IS NOT ? ORDER BY tablename"
}

// endCycleSQL marks the cycle as ended.
func endCycleSQL(state string) string {
	return "UPDATE " + quote(state) + " SET schemahash = 'ended', changed_at = " + nowText + " WHERE tablename = '" + bulk.CycleRow + "'"
}

func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// schemaObjectSQL finds any table, view, index or trigger that already has a name; SQLite
// compares names without case.
const schemaObjectSQL = "SELECT type FROM sqlite_schema WHERE name = ? COLLATE NOCASE"

// dependentsSQL reads the partner's indexes and triggers on a table (automatic indexes of
// PRIMARY KEY and UNIQUE constraints have no SQL and are made again with the table).
const dependentsSQL = "SELECT type, name, sql FROM sqlite_schema" +
	" WHERE type IN ('index', 'trigger') AND tbl_name = ? COLLATE NOCASE AND sql IS NOT NULL ORDER BY type, name"

const tableInfoSQL = `SELECT name, type, "notnull", pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid`

// createTableSQL declares each column with its type name from the type table, NOT NULL where
// narrowRowChars is the most declared characters of text and binary a table's row may hold and
// still be stored WITHOUT ROWID. SQLite advises WITHOUT ROWID only for rows under about a
// twentieth of a page (about 200 bytes of 4 KiB), since the whole row then sits in the key's
// B-tree: for rows of about 1 KB, a WITHOUT ROWID table measured twice the file and half the
// load speed of a rowid one (BenchmarkRowSize, TYPES.md). Declared lengths are upper bounds that
// real rows rarely fill, so the bound is set above the advice: a table of a few short names and
// codes stays WITHOUT ROWID, where loads and upserts by key measured faster.
const narrowRowChars = 400

// narrowRow reports whether t's rows are small enough, by their declared lengths, to be stored
// WITHOUT ROWID (narrowRowChars).
func narrowRow(t schema.Table) bool {
	chars := 0
	for _, c := range t.Columns {
		switch c.Type.Family() {
		case schema.FamilyString, schema.FamilyBinary:
			if c.Length == schema.Max || c.Length <= 0 {
				return false
			}
			chars += c.Length
		}
	}
	return chars <= narrowRowChars
}

// the source has it, and the primary key in column order. withoutRowID stores a keyed table in
// its key's B-tree, so that upserts and deletes by key need one lookup instead of two.
func createTableSQL(name string, t schema.Table, withoutRowID bool) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quote(name))
	b.WriteString(" (")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(columnDefinition(c))
	}
	key := keyColumns(t)
	if len(key) > 0 {
		b.WriteString(", PRIMARY KEY (")
		quoteList(&b, columnNames(key))
		b.WriteString(")")
	}
	b.WriteString(")")
	if len(key) > 0 && withoutRowID {
		b.WriteString(" WITHOUT ROWID")
	}
	return b.String()
}

// columnDefinition is a column's name, declared type, default (where SQLite can express it) and
// nullability.
func columnDefinition(c schema.Column) string {
	def := quote(c.Name) + " " + declaredType(c)
	if expr, _ := columnDefault(c); expr != "" {
		def += " DEFAULT " + expr
	}
	if !c.Nullable {
		def += " NOT NULL"
	}
	return def
}

// addColumnSQL adds a column that has no default: SQLite gives the rows already there a new
// column's default, where SQL Server leaves them NULL, so a column with one is added by a rebuild.
func addColumnSQL(table string, c schema.Column) string {
	return "ALTER TABLE " + quote(table) + " ADD COLUMN " + columnDefinition(c)
}

func dropColumnSQL(table, column string) string {
	return "ALTER TABLE " + quote(table) + " DROP COLUMN " + quote(column)
}

func dropTableSQL(table string) string { return "DROP TABLE IF EXISTS " + quote(table) }

func renameTableSQL(from, to string) string {
	return "ALTER TABLE " + quote(from) + " RENAME TO " + quote(to)
}

func deleteAllSQL(table string) string { return "DELETE FROM " + quote(table) }

func countSQL(table string) string { return "SELECT count(*) FROM " + quote(table) }

// rebuildName is the name a table is rebuilt under before it takes the old one's place. It holds
// a character schema.CheckName refuses, so that no mirrored table can have it.
func rebuildName(table string) string { return "#rebuild_" + table }

// copyRowsSQL copies the rows of src into dst for the columns both have; a column only dst has
// is NULL in them, not its default. A decimal whose scale grows gets zeros appended, because
// stored decimals are text at exactly the column's scale.
func copyRowsSQL(dst, src string, current, desired schema.Table) string {
	var names, exprs []string
	for _, d := range desired.Columns {
		i := current.Column(d.Name)
		if i < 0 {
			if hasDefault(d) {
				names, exprs = append(names, d.Name), append(exprs, "NULL")
			}
			continue
		}
		names = append(names, d.Name)
		exprs = append(exprs, copyExpression(current.Columns[i], d))
	}
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(quote(dst))
	b.WriteString(" (")
	quoteList(&b, names)
	b.WriteString(") SELECT ")
	b.WriteString(strings.Join(exprs, ", "))
	b.WriteString(" FROM ")
	b.WriteString(quote(src))
	return b.String()
}

func copyExpression(from, to schema.Column) string {
	col := quote(from.Name)
	if from.Type.HasDigits() && to.Type == from.Type && to.Scale > from.Scale {
		pad := strings.Repeat("0", to.Scale-from.Scale)
		if from.Scale == 0 {
			pad = "." + pad
		}
		// NULL || text stays NULL.
		return col + " || '" + pad + "'"
	}
	return col
}

// writeSQL is the statement that writes rowCount rows of cols (a batch's columns) into table:
// with a key, an upsert that updates only the batch's non-key columns, so that a column the
// batch leaves out keeps its value; without a key, a plain insert. Several rows in one
// statement are applied in order, so a key seen twice keeps its last state.
//
// pad names columns the batch leaves out that have a default: an insert writes NULL into them,
// as into the other columns it leaves out.
func writeSQL(table string, cols, pad, key []schema.Column, rowCount int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(quote(table))
	b.WriteString(" (")
	quoteList(&b, columnNames(append(slices.Clone(cols), pad...)))
	b.WriteString(") VALUES ")
	for r := 0; r < rowCount; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(")
		for i := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
		}
		b.WriteString(strings.Repeat(", NULL", len(pad)))
		b.WriteString(")")
	}
	if len(key) == 0 {
		return b.String()
	}
	b.WriteString(" ON CONFLICT (")
	quoteList(&b, columnNames(key))
	b.WriteString(") DO ")
	first := true
	for _, c := range cols {
		if c.PrimaryKey {
			continue
		}
		if first {
			b.WriteString("UPDATE SET ")
			first = false
		} else {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
		b.WriteString(" = excluded.")
		b.WriteString(quote(c.Name))
	}
	if first {
		b.WriteString("NOTHING")
	}
	return b.String()
}

// updateRowSQL updates the set columns of the row with the key; with no columns to set it
// assigns the first key column to itself, so that the count of changed rows still says whether
// the key exists.
func updateRowSQL(table string, set, key []schema.Column) string {
	var b strings.Builder
	b.WriteString("UPDATE ")
	b.WriteString(quote(table))
	b.WriteString(" SET ")
	if len(set) == 0 {
		b.WriteString(quote(key[0].Name) + " = " + quote(key[0].Name))
	}
	for i, c := range set {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
		b.WriteString(" = ?")
	}
	b.WriteString(" WHERE ")
	for i, c := range key {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(quote(c.Name))
		b.WriteString(" = ?")
	}
	return b.String()
}

func deleteRowSQL(table string, key []schema.Column) string {
	var b strings.Builder
	b.WriteString("DELETE FROM ")
	b.WriteString(quote(table))
	b.WriteString(" WHERE ")
	for i, c := range key {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(quote(c.Name))
		b.WriteString(" = ?")
	}
	return b.String()
}

// pragmaSQL sets a connection pragma; value is one of this package's constants.
func pragmaSQL(name, value string) string { return "PRAGMA " + name + " = " + value }

// existingKeysSQL counts the rows of table whose key is one of rowCount keys: how many of a
// group of upserts will update rather than insert.
func existingKeysSQL(table string, key []schema.Column, rowCount int) string {
	var b strings.Builder
	b.WriteString("SELECT count(*) FROM ")
	b.WriteString(quote(table))
	b.WriteString(" WHERE ")
	one := "?"
	if len(key) == 1 {
		b.WriteString(quote(key[0].Name))
		b.WriteString(" IN (")
	} else {
		b.WriteString("(")
		quoteList(&b, columnNames(key))
		b.WriteString(") IN (VALUES ")
		one = "(" + strings.TrimSuffix(strings.Repeat("?, ", len(key)), ", ") + ")"
	}
	for r := 0; r < rowCount; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	b.WriteString(")")
	return b.String()
}
