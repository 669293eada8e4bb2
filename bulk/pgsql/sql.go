package pgsql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/schema"
)

// Every SQL text of the package is made here, by small pure functions that golden files test.

// maxIdentifierLength is PostgreSQL's limit (NAMEDATALEN-1); longer names would be cut silently,
// and two names that differ only after it would collide.
const maxIdentifierLength = 63

// checkIdentifier checks a name with schema.CheckName and PostgreSQL's length limit.
func checkIdentifier(kind, name string) error {
	if err := schema.CheckName(kind, name); err != nil {
		return err
	}
	if len(name) > maxIdentifierLength {
		return fmt.Errorf("%s name %s is %d characters long; PostgreSQL allows at most %d", kind, name, len(name), maxIdentifierLength)
	}
	return nil
}

// checkTableNames checks the table's name and every column name as identifiers.
func checkTableNames(t schema.Table) error {
	if err := checkIdentifier("table", t.Name); err != nil {
		return err
	}
	for _, c := range t.Columns {
		if err := checkIdentifier("column", c.Name); err != nil {
			return fmt.Errorf("table %s: %w", t.Name, err)
		}
	}
	return nil
}

// quote double-quotes an identifier that has passed checkIdentifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal single-quotes a string constant.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// The staging table's own columns have names that schema.CheckName rejects, so that they can
// never collide with a mirrored column.
const (
	seqColumn    = `"#seq"`
	deleteColumn = `"#del"`
)

func createDatabaseSQL(database string) string {
	return "CREATE DATABASE " + quote(database)
}

func createStateTableSQL(state string) string {
	return "CREATE TABLE IF NOT EXISTS " + quote(state) + " (\n" +
		"\ttablename text PRIMARY KEY,\n" +
		"\tschemahash text NOT NULL,\n" +
		"\tlsn bigint NOT NULL,\n" +
		"\tchanged_at timestamptz\n)"
}

func stateSelectSQL(state string) string {
	return "SELECT tablename, schemahash, lsn, changed_at FROM " + quote(state) + " ORDER BY tablename"
}

// stateLockSQL reads the state rows of some tables ($1 text[]) and locks them for the transaction.
func stateLockSQL(state string) string {
	return "SELECT tablename, schemahash FROM " + quote(state) + " WHERE tablename = ANY($1) ORDER BY tablename FOR UPDATE"
}

// stateListedSQL says whether the state table lists a table ($1), without locking its row.
func stateListedSQL(state string) string {
	return "SELECT EXISTS (SELECT 1 FROM " + quote(state) + " WHERE tablename = $1)"
}

// stateUpsertSQL records a created table ($1 name, $2 hash) with no data.
func stateUpsertSQL(state string) string {
	return "INSERT INTO " + quote(state) + " (tablename, schemahash, lsn, changed_at) VALUES ($1, $2, -1, now())\n" +
		"ON CONFLICT (tablename) DO UPDATE SET schemahash = excluded.schemahash, lsn = excluded.lsn, changed_at = excluded.changed_at"
}

// stateSetHashSQL records a new hash ($2) of a table ($1), keeping its LSN.
func stateSetHashSQL(state string) string {
	return "UPDATE " + quote(state) + " SET schemahash = $2, changed_at = now() WHERE tablename = $1 AND schemahash IS DISTINCT FROM $2"
}

// stateSetLSNSQL records the LSN ($2) of a table ($1).
func stateSetLSNSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = $2, changed_at = now() WHERE tablename = $1"
}

// stateInvalidateSQL sets the LSN of some tables ($1 text[]) to -1.
func stateInvalidateSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = -1, changed_at = now() WHERE tablename = ANY($1)"
}

// stateInvalidateAllSQL sets the LSN of every table to -1.
func stateInvalidateAllSQL(state string) string {
	return "UPDATE " + quote(state) + " SET lsn = -1, changed_at = now()"
}

// stateDeleteSQL forgets some tables ($1 text[]).
func stateDeleteSQL(state string) string {
	return "DELETE FROM " + quote(state) + " WHERE tablename = ANY($1)"
}

// tableExistsSQL finds a relation of any kind ($1) in the current schema, since a partner's view
// or table of that name blocks a create just as well.
const tableExistsSQL = "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace)"

// catalogSQL reads the columns of every table the state table lists, in attnum order, with their
// physical type, nullability, primary key membership and comment.
func catalogSQL(state string) string {
	return `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	coalesce(a.attnum = ANY(p.conkey), false), coalesce(col_description(c.oid, a.attnum), '')
FROM ` + quote(state) + ` s
JOIN pg_class c ON c.relname = s.tablename AND c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'
ORDER BY c.relname, a.attnum`
}

// columnDefinition is a column's name, PostgreSQL type and nullability.
func columnDefinition(c schema.Column) (string, error) {
	t, err := pgType(c)
	if err != nil {
		return "", err
	}
	def := quote(c.Name) + " " + t
	if !c.Nullable {
		def += " NOT NULL"
	}
	return def, nil
}

// commentSQL records a column's SQL Server type on the column.
func commentSQL(table string, c schema.Column) string {
	return "COMMENT ON COLUMN " + quote(table) + "." + quote(c.Name) + " IS " + literal(typeComment(c))
}

// createTableSQL creates a table with its primary key and records each column's SQL Server type.
// The key constraint is left unnamed so that PostgreSQL picks a name no partner object holds.
func createTableSQL(t schema.Table) ([]string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quote(t.Name) + " (")
	for i, c := range t.Columns {
		def, err := columnDefinition(c)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", t.Name, err)
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n\t" + def)
	}
	if key := t.Key(); len(key) > 0 {
		b.WriteString(",\n\tPRIMARY KEY (" + columnList(t, key, "") + ")")
	}
	b.WriteString("\n)")
	stmts := []string{b.String()}
	for _, c := range t.Columns {
		stmts = append(stmts, commentSQL(t.Name, c))
	}
	return stmts, nil
}

func dropTableSQL(table string) string { return "DROP TABLE IF EXISTS " + quote(table) }

// physicalTypesSQL reads the physical type of each column of a table ($1).
const physicalTypesSQL = `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
WHERE a.attrelid = (SELECT oid FROM pg_class WHERE relname = $1 AND relnamespace = current_schema()::regnamespace)
	AND a.attnum > 0 AND NOT a.attisdropped`

// alterTableSQL renders an Alter plan as one ALTER TABLE (so the table is rewritten at most once)
// and the comments of the added and changed columns. A column whose PostgreSQL type (in
// physical, by name) does not change gets no ALTER COLUMN TYPE (varchar to nvarchar, tinyint to
// smallint), since that would still fail on a partner's view of it. ALTER COLUMN TYPE keeps the
// table's indexes (PostgreSQL rebuilds those on the column).
func alterTableSQL(plan schema.Plan, physical map[string]string) ([]string, error) {
	table := plan.Desired.Name
	var actions []string
	for _, c := range plan.Add {
		def, err := columnDefinition(c)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", table, err)
		}
		actions = append(actions, "ADD COLUMN "+def)
	}
	for _, c := range plan.Widen {
		t, err := pgType(c)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", table, err)
		}
		if physical[c.Name] != t {
			actions = append(actions, "ALTER COLUMN "+quote(c.Name)+" TYPE "+t)
		}
		if c.Nullable {
			actions = append(actions, "ALTER COLUMN "+quote(c.Name)+" DROP NOT NULL")
		}
	}
	for _, name := range plan.Drop {
		actions = append(actions, "DROP COLUMN "+quote(name))
	}
	var stmts []string
	if len(actions) > 0 {
		stmts = append(stmts, "ALTER TABLE "+quote(table)+"\n\t"+strings.Join(actions, ",\n\t"))
	}
	for _, c := range plan.Add {
		stmts = append(stmts, commentSQL(table, c))
	}
	for _, c := range plan.Widen {
		stmts = append(stmts, commentSQL(table, c))
	}
	return stmts, nil
}

// truncateSQL empties tables; their indexes stay.
func truncateSQL(tables []string) string {
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = quote(t)
	}
	return "TRUNCATE TABLE " + strings.Join(quoted, ", ")
}

func rowCountSQL(table string) string { return "SELECT count(*) FROM " + quote(table) }

// columnList is the quoted names of some columns, each prefixed with alias and a dot when given.
func columnList(t schema.Table, cols []int, alias string) string {
	var b strings.Builder
	for i, ci := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		if alias != "" {
			b.WriteString(alias + ".")
		}
		b.WriteString(quote(t.Columns[ci].Name))
	}
	return b.String()
}

// stageName is the name of the n-th staging table of a transaction.
func stageName(n int) string { return "mirrord_stage_" + strconv.Itoa(n) }

// createStageSQL creates a staging table for one segment: a sequence number, a delete flag and
// the segment's columns with their mirror types, without constraints or indexes, dropped at commit.
func createStageSQL(stage string, t schema.Table, cols []int) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TEMP TABLE " + quote(stage) + " (" + seqColumn + " bigint, " + deleteColumn + " boolean")
	for _, ci := range cols {
		ty, err := pgType(t.Columns[ci])
		if err != nil {
			return "", fmt.Errorf("table %s: %w", t.Name, err)
		}
		b.WriteString(", " + quote(t.Columns[ci].Name) + " " + ty)
	}
	b.WriteString(") ON COMMIT DROP")
	return b.String(), nil
}

// keyMatch is the join condition of the key columns between two aliases.
func keyMatch(t schema.Table, a, b string) string {
	var parts []string
	for _, ki := range t.Key() {
		q := quote(t.Columns[ki].Name)
		parts = append(parts, a+"."+q+" = "+b+"."+q)
	}
	return strings.Join(parts, " AND ")
}

// nonKey returns the segment's columns that are not part of the key.
func nonKey(t schema.Table, cols []int) []int {
	var out []int
	for _, ci := range cols {
		if !t.Columns[ci].PrimaryKey {
			out = append(out, ci)
		}
	}
	return out
}

// updateSet is "a" = src."a", … for the given columns.
func updateSet(t schema.Table, cols []int) string {
	var parts []string
	for _, ci := range cols {
		q := quote(t.Columns[ci].Name)
		parts = append(parts, q+" = src."+q)
	}
	return strings.Join(parts, ", ")
}

// lastStateSQL selects the last row of each key from a staging table: the row with the highest
// sequence number, via DISTINCT ON (a sort of the staging table).
func lastStateSQL(t schema.Table, stage string) string {
	keys := columnList(t, t.Key(), "")
	if lastStateByWindow {
		return "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY " + keys + " ORDER BY " + seqColumn + " DESC) AS \"#rn\" FROM " + quote(stage) + ") AS last WHERE \"#rn\" = 1"
	}
	return "SELECT DISTINCT ON (" + keys + ") * FROM " + quote(stage) + " ORDER BY " + keys + ", " + seqColumn + " DESC"
}

// mergeSQL writes the last state of every key of a staging table into the table in one MERGE:
// deletes, updates of the segment's columns only, and inserts (columns the segment lacks stay NULL).
func mergeSQL(t schema.Table, stage string, cols []int) string {
	var b strings.Builder
	b.WriteString("MERGE INTO " + quote(t.Name) + " AS dst\n")
	b.WriteString("USING (" + lastStateSQL(t, stage) + ") AS src\n")
	b.WriteString("ON " + keyMatch(t, "dst", "src") + "\n")
	b.WriteString("WHEN MATCHED AND src." + deleteColumn + " THEN DELETE\n")
	if rest := nonKey(t, cols); len(rest) > 0 {
		b.WriteString("WHEN MATCHED THEN UPDATE SET " + updateSet(t, rest) + "\n")
	}
	b.WriteString("WHEN NOT MATCHED AND NOT src." + deleteColumn + " THEN INSERT (" + columnList(t, cols, "") + ")\n")
	b.WriteString("\tVALUES (" + columnList(t, cols, "src") + ")")
	return b.String()
}

// threeStatementSQL is the alternative to mergeSQL: drop all but the last row of each key from
// the staging table, then DELETE, UPDATE and INSERT. Kept for the benchmark that compares them.
func threeStatementSQL(t schema.Table, stage string, cols []int) []string {
	dst, st := quote(t.Name), quote(stage)
	stmts := []string{
		"DELETE FROM " + st + " AS src USING " + st + " AS later WHERE " + keyMatch(t, "later", "src") + " AND later." + seqColumn + " > src." + seqColumn,
		"DELETE FROM " + dst + " AS dst USING " + st + " AS src WHERE " + keyMatch(t, "dst", "src") + " AND src." + deleteColumn,
	}
	if rest := nonKey(t, cols); len(rest) > 0 {
		stmts = append(stmts, "UPDATE "+dst+" AS dst SET "+updateSet(t, rest)+" FROM "+st+" AS src WHERE "+keyMatch(t, "dst", "src")+" AND NOT src."+deleteColumn)
	}
	stmts = append(stmts, "INSERT INTO "+dst+" ("+columnList(t, cols, "")+")\n\tSELECT "+columnList(t, cols, "src")+" FROM "+st+" AS src\n\tWHERE NOT src."+deleteColumn+" AND NOT EXISTS (SELECT 1 FROM "+dst+" AS dst WHERE "+keyMatch(t, "dst", "src")+")")
	return stmts
}

func analyzeSQL(stage string) string { return "ANALYZE " + quote(stage) }

// copyFromSQL starts a binary COPY of the columns into a table.
func copyFromSQL(table string, cols []string) string {
	return "COPY " + quote(table) + " (" + quotedList(cols) + ") FROM STDIN (FORMAT binary)"
}

// selectColumnsSQL selects the columns of a table; it is only described, for their types.
func selectColumnsSQL(table string, cols []string) string {
	return "SELECT " + quotedList(cols) + " FROM " + quote(table)
}

func quotedList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	return b.String()
}
