package pgsql

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
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
			return bulk.ForTable(t.Name, err)
		}
	}
	return nil
}

// quote double-quotes an identifier that has passed checkIdentifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// literal single-quotes a string constant.
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// rel is a relation named with its schema. Every statement names the mirror's tables this way,
// so that nothing found earlier on the search path (the staging tables in pg_temp, a catalog
// relation in pg_catalog such as pg_class) can stand in for a mirrored table of the same name.
type rel struct{ schema, name string }

func (r rel) String() string { return quote(r.schema) + "." + quote(r.name) }

// stageRel is the n-th staging table of a transaction. Temporary tables live in pg_temp, and
// staging names are made of characters schema.CheckName refuses, so no mirrored table can be one.
func stageRel(n int) rel { return rel{"pg_temp", "#stage_" + strconv.Itoa(n)} }

// advisoryLockSQL serializes the schema changes of one mirror database across processes until
// the transaction ends (advisory locks are per database). The key spells "mirrord".
const advisoryLockSQL = "SELECT pg_advisory_xact_lock(30787349775495780)"

// The staging table's own columns have names that schema.CheckName rejects, so that they can
// never collide with a mirrored column.
const (
	seqColumn    = `"#seq"`
	deleteColumn = `"#del"`
)

func createDatabaseSQL(database string) string {
	return "CREATE DATABASE " + quote(database)
}

// createStateTableSQL creates the state table: a row per mirrored table (its schema hash, LSN,
// the SQL Server defaults it keeps, the cycle that last named it and its counts in the current
// cycle) and the cycle row (bulk.CycleRow: the cycle's number in lsn and its stage in schemahash).
func createStateTableSQL(state rel) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE IF NOT EXISTS " + state.String() + " (\n" +
		"\ttablename text PRIMARY KEY,\n" +
		"\tschemahash text NOT NULL,\n" +
		"\tlsn bigint NOT NULL,\n" +
		"\tchanged_at timestamptz")
	for _, c := range statetable.Added {
		b.WriteString(",\n\t" + c.Name + " " + stateColumnType(c.Kind))
	}
	b.WriteString("\n)")
	return b.String()
}

// stateColumnType is PostgreSQL's type of a state table column that later versions added.
func stateColumnType(k statetable.Kind) string {
	switch k {
	case statetable.Text:
		return "text"
	case statetable.Number:
		return "bigint"
	}
	return "bigint NOT NULL DEFAULT 0"
}

// stateColumnsSQL lists the state table's columns ($1 schema, $2 table).
const stateColumnsSQL = `SELECT attname FROM pg_attribute
WHERE attrelid = (SELECT c.oid FROM pg_class c WHERE c.relname = $2 AND c.relnamespace = $1::regnamespace)
	AND attnum > 0 AND NOT attisdropped`

// upgradeStateTableSQL adds the columns a state table made by an earlier version lacks.
func upgradeStateTableSQL(state rel) string {
	parts := make([]string, len(statetable.Added))
	for i, c := range statetable.Added {
		parts[i] = "ADD COLUMN IF NOT EXISTS " + c.Name + " " + stateColumnType(c.Kind)
	}
	return "ALTER TABLE " + state.String() + "\n\t" + strings.Join(parts, ",\n\t")
}

// notCycle leaves the cycle row out of a statement about tables.
const notCycle = "tablename <> '" + bulk.CycleRow + "'"

func stateSelectSQL(state rel) string {
	return "SELECT tablename, schemahash, lsn, changed_at, coalesce(defaults, ''), inserted, updated, deleted, " + rewindSQL(state) + " FROM " + state.String() +
		" WHERE " + notCycle + " ORDER BY tablename"
}

// rewindSQL says whether the cycle in progress created or wiped a state row's table.
func rewindSQL(state rel) string {
	return "coalesce(wiped_cycle = " + currentCycleSQL(state) + ", false)"
}

// stateLockSQL reads the state rows of some tables ($1 text[]) and locks them for the transaction.
func stateLockSQL(state rel) string {
	return "SELECT tablename, schemahash FROM " + state.String() + " WHERE tablename = ANY($1) ORDER BY tablename FOR UPDATE"
}

// stateApplyLockSQL reads one table's ($1) hash and LSN and locks its row until the apply ends:
// applies of one table, and migrations of it, wait for each other across processes.
func stateApplyLockSQL(state rel) string {
	return "SELECT schemahash, lsn, " + rewindSQL(state) + " FROM " + state.String() + " WHERE tablename = $1 FOR UPDATE"
}

// stateListedSQL says whether the state table lists a table ($1), without locking its row.
func stateListedSQL(state rel) string {
	return "SELECT EXISTS (SELECT 1 FROM " + state.String() + " WHERE tablename = $1)"
}

// currentCycleSQL is the number of the cycle in progress, NULL when none is.
func currentCycleSQL(state rel) string {
	return "(SELECT lsn FROM " + state.String() + " WHERE tablename = '" + bulk.CycleRow + "' AND schemahash <> 'ended')"
}

// stateUpsertSQL records a created table ($1 name, $2 hash, $3 defaults) with no data, named by
// the cycle in progress.
func stateUpsertSQL(state rel) string {
	return "INSERT INTO " + state.String() + " (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle)\n" +
		"\tVALUES ($1, $2, -1, now(), nullif($3, ''), " + currentCycleSQL(state) + ", " + currentCycleSQL(state) + ")\n" +
		"ON CONFLICT (tablename) DO UPDATE SET schemahash = excluded.schemahash, lsn = excluded.lsn, changed_at = excluded.changed_at,\n" +
		"\tdefaults = excluded.defaults, cycle = excluded.cycle, wiped_cycle = excluded.wiped_cycle"
}

// stateSetHashSQL records a new hash ($2) and defaults ($3) of a table ($1), keeping its LSN.
func stateSetHashSQL(state rel) string {
	return "UPDATE " + state.String() + " SET schemahash = $2, defaults = nullif($3, ''), changed_at = now()\n" +
		"WHERE tablename = $1 AND (schemahash IS DISTINCT FROM $2 OR defaults IS DISTINCT FROM nullif($3, ''))"
}

// stateAppliedSQL records what an apply did to a table ($1): the LSN ($3) when $2, and the
// rows it inserted ($4), updated ($5) and deleted ($6), added to the cycle's counts.
func stateAppliedSQL(state rel) string {
	return "UPDATE " + state.String() + " SET lsn = CASE WHEN $2 THEN $3 ELSE lsn END,\n" +
		"\tchanged_at = CASE WHEN $2 THEN now() ELSE changed_at END,\n" +
		"\tinserted = inserted + $4, updated = updated + $5, deleted = deleted + $6\n" +
		"WHERE tablename = $1"
}

// stateWipedSQL sets the LSN of some tables ($1 text[]) to -1 and records that the cycle in
// progress wiped them.
func stateWipedSQL(state rel) string {
	return "UPDATE " + state.String() + " SET lsn = -1, changed_at = now(), wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename = ANY($1)"
}

// stateInvalidateSQL sets the LSN of some tables ($1 text[]) to -1.
func stateInvalidateSQL(state rel) string {
	return "UPDATE " + state.String() + " SET lsn = -1, changed_at = now() WHERE tablename = ANY($1)"
}

// stateInvalidateAllSQL sets the LSN of every table to -1.
func stateInvalidateAllSQL(state rel) string {
	return "UPDATE " + state.String() + " SET lsn = -1, changed_at = now() WHERE " + notCycle
}

// stateDeleteSQL forgets some tables ($1 text[]).
func stateDeleteSQL(state rel) string {
	return "DELETE FROM " + state.String() + " WHERE tablename = ANY($1)"
}

// beginCycleSQL starts the next cycle once the last one ended: its number goes up by one, and no
// table is named yet. An Authenticate inside a cycle that has not ended continues it, so that
// what its TableSchema calls named so far stays named.
func beginCycleSQL(state rel) string {
	s := state.String()
	return "INSERT INTO " + s + " (tablename, schemahash, lsn, changed_at) VALUES ('" + bulk.CycleRow + "', 'open', 1, now())\n" +
		"ON CONFLICT (tablename) DO UPDATE SET lsn = CASE WHEN " + s + ".schemahash = 'ended' THEN " + s + ".lsn + 1 ELSE " + s + ".lsn END,\n" +
		"\tschemahash = CASE WHEN " + s + ".schemahash = 'ended' THEN 'open' ELSE " + s + ".schemahash END, changed_at = now()"
}

// resetCountsSQL sets every table's cycle counts to zero.
func resetCountsSQL(state rel) string {
	return "UPDATE " + state.String() + " SET inserted = 0, updated = 0, deleted = 0\n" +
		"WHERE " + notCycle + " AND (inserted <> 0 OR updated <> 0 OR deleted <> 0)"
}

// nameCycleSQL marks the cycle in progress as having made a TableSchema call and returns its number.
func nameCycleSQL(state rel) string {
	return "UPDATE " + state.String() + " SET schemahash = 'named' WHERE tablename = '" + bulk.CycleRow + "' AND schemahash <> 'ended' RETURNING lsn"
}

// nameTablesSQL records that the cycle $2 named some tables ($1 text[]).
func nameTablesSQL(state rel) string {
	return "UPDATE " + state.String() + " SET cycle = $2 WHERE tablename = ANY($1)"
}

// cycleLockSQL reads the cycle row (its number and stage) and locks it until the transaction ends.
func cycleLockSQL(state rel) string {
	return "SELECT lsn, schemahash FROM " + state.String() + " WHERE tablename = '" + bulk.CycleRow + "' FOR UPDATE"
}

// unnamedSQL lists the tables the cycle $1 did not name.
func unnamedSQL(state rel) string {
	return "SELECT tablename FROM " + state.String() + " WHERE " + notCycle + " AND cycle IS DISTINCT FROM $1 ORDER BY tablename FOR UPDATE"
}

// endCycleSQL marks the cycle as ended.
func endCycleSQL(state rel) string {
	return "UPDATE " + state.String() + " SET schemahash = 'ended', changed_at = now() WHERE tablename = '" + bulk.CycleRow + "'"
}

// tableExistsSQL finds a relation of any kind ($2) in the mirror's schema ($1), since a
// partner's view or table of that name blocks a create just as well.
const tableExistsSQL = "SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = $2 AND relnamespace = $1::regnamespace)"

// catalogSQL reads the columns of every table the state table lists, in attnum order, with their
// physical type, nullability, primary key membership and comment.
func catalogSQL(state rel) string {
	return `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
	coalesce(a.attnum = ANY(p.conkey), false), coalesce(col_description(c.oid, a.attnum), '')
FROM ` + state.String() + ` s
JOIN pg_class c ON c.relname = s.tablename AND s.tablename <> '` + bulk.CycleRow + `' AND c.relnamespace = ` + literal(state.schema) + `::regnamespace AND c.relkind IN ('r', 'p')
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_constraint p ON p.conrelid = c.oid AND p.contype = 'p'
ORDER BY c.relname, a.attnum`
}

// columnDefinition is a column's name, PostgreSQL type and nullability, and with withDefault its
// default where PostgreSQL can express it.
func columnDefinition(c schema.Column, withDefault bool) (string, error) {
	t, err := pgType(c)
	if err != nil {
		return "", err
	}
	def := quote(c.Name) + " " + t
	if expr, _ := columnDefault(c); withDefault && expr != "" {
		def += " DEFAULT " + expr
	}
	if !c.Nullable {
		def += " NOT NULL"
	}
	return def, nil
}

// commentSQL records a column's SQL Server type on the column.
func commentSQL(table rel, c schema.Column) string {
	return "COMMENT ON COLUMN " + table.String() + "." + quote(c.Name) + " IS " + literal(typeComment(c))
}

// createTableSQL creates a table with its primary key and records each column's SQL Server type.
// The key constraint is left unnamed so that PostgreSQL picks a name no partner object holds.
func createTableSQL(table rel, t schema.Table) ([]string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + table.String() + " (")
	for i, c := range t.Columns {
		def, err := columnDefinition(c, true)
		if err != nil {
			return nil, bulk.ForTable(t.Name, err)
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
		stmts = append(stmts, commentSQL(table, c))
	}
	return stmts, nil
}

func dropTableSQL(table rel) string { return "DROP TABLE IF EXISTS " + table.String() }

// physicalTypesSQL reads the physical type of each column of a table ($2) in a schema ($1).
const physicalTypesSQL = `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
WHERE a.attrelid = (SELECT oid FROM pg_class WHERE relname = $2 AND relnamespace = $1::regnamespace)
	AND a.attnum > 0 AND NOT a.attisdropped`

// alterTableSQL renders an Alter plan as one ALTER TABLE (so the table is rewritten at most once)
// and the comments of the added and changed columns. An added column is added without its
// default and takes it by SET DEFAULT after: the rows already there stay NULL in it, as in SQL
// Server, where ADD COLUMN … DEFAULT would fill them. A changed default is set or dropped; one
// PostgreSQL cannot express is dropped, and the state table keeps its text. A column whose PostgreSQL type (in
// physical, by name) does not change gets no ALTER COLUMN TYPE (varchar to nvarchar, tinyint to
// smallint), since that would still fail on a partner's view of it. ALTER COLUMN TYPE keeps the
// table's indexes (PostgreSQL rebuilds those on the column).
func alterTableSQL(table rel, plan schema.Plan, physical map[string]string) ([]string, error) {
	var actions []string
	for _, c := range plan.Add {
		def, err := columnDefinition(c, false)
		if err != nil {
			return nil, bulk.ForTable(table.name, err)
		}
		actions = append(actions, "ADD COLUMN "+def)
		if expr, _ := columnDefault(c); expr != "" {
			actions = append(actions, "ALTER COLUMN "+quote(c.Name)+" SET DEFAULT "+expr)
		}
	}
	for _, c := range plan.Defaults {
		if expr, _ := columnDefault(c); expr != "" {
			actions = append(actions, "ALTER COLUMN "+quote(c.Name)+" SET DEFAULT "+expr)
		} else {
			actions = append(actions, "ALTER COLUMN "+quote(c.Name)+" DROP DEFAULT")
		}
	}
	for _, c := range plan.Widen {
		t, err := pgType(c)
		if err != nil {
			return nil, bulk.ForTable(table.name, err)
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
		stmts = append(stmts, "ALTER TABLE "+table.String()+"\n\t"+strings.Join(actions, ",\n\t"))
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
func truncateSQL(tables []rel) string {
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = t.String()
	}
	return "TRUNCATE TABLE " + strings.Join(quoted, ", ")
}

// lockTablesSQL takes the lock TRUNCATE takes, in the same order: once it is held, no other
// transaction has a change of the tables in flight.
func lockTablesSQL(tables []rel) string {
	quoted := make([]string, len(tables))
	for i, t := range tables {
		quoted[i] = t.String()
	}
	return "LOCK TABLE " + strings.Join(quoted, ", ") + " IN ACCESS EXCLUSIVE MODE"
}

// nonEmptySQL lists, by position from 1, the tables that hold a row, reading one page of each.
func nonEmptySQL(tables []rel) string {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = "SELECT " + strconv.Itoa(i+1) + " WHERE EXISTS (SELECT FROM " + t.String() + ")"
	}
	return strings.Join(parts, "\nUNION ALL ")
}

func rowCountSQL(table rel) string { return "SELECT count(*) FROM " + table.String() }

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

// createStageSQL creates a staging table for one segment: a sequence number, a delete flag and
// the segment's columns with their mirror types, without constraints or indexes, dropped at commit.
func createStageSQL(stage rel, t schema.Table, cols []int) (string, error) {
	def, err := stageColumns(t, cols)
	if err != nil {
		return "", err
	}
	return "CREATE TEMP TABLE " + quote(stage.name) + " (" + def + ") ON COMMIT DROP", nil
}

// createSessionStageSQL names the staging table of a segment that stays in the session, and
// creates it unless the session has it: its name is a hash of its columns and their types, so
// that a table whose types change gets another one. Each merge empties it by TRUNCATE, not ON
// COMMIT DELETE ROWS: that empties every such table of the session at every commit, each at
// the cost of a TRUNCATE.
func createSessionStageSQL(t schema.Table, cols []int) (rel, string, error) {
	def, err := stageColumns(t, cols)
	if err != nil {
		return rel{}, "", err
	}
	sum := sha256.Sum256([]byte(def))
	stage := rel{"pg_temp", "#stage_" + hex.EncodeToString(sum[:16])}
	return stage, "CREATE TEMP TABLE IF NOT EXISTS " + quote(stage.name) + " (" + def + ")", nil
}

// stageColumns defines a staging table's columns.
func stageColumns(t schema.Table, cols []int) (string, error) {
	var b strings.Builder
	b.WriteString(seqColumn + " bigint, " + deleteColumn + " boolean")
	for _, ci := range cols {
		ty, err := pgType(t.Columns[ci])
		if err != nil {
			return "", bulk.ForTable(t.Name, err)
		}
		b.WriteString(", " + quote(t.Columns[ci].Name) + " " + ty)
	}
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
// sequence number, via DISTINCT ON (a sort of the staging table). With unique (no key was staged
// twice) every row is its key's last state, and the rows are only sorted by key: a MERGE that
// visits the table's index and pages in key order touches each page once, where the staging
// table's order would visit them at random.
func lastStateSQL(t schema.Table, stage rel, unique bool) string {
	keys := columnList(t, t.Key(), "")
	if unique {
		return "SELECT * FROM " + stage.String() + " ORDER BY " + keys
	}
	if lastStateByWindow {
		return "SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY " + keys + " ORDER BY " + seqColumn + " DESC) AS \"#rn\" FROM " + stage.String() + ") AS last WHERE \"#rn\" = 1"
	}
	return "SELECT DISTINCT ON (" + keys + ") * FROM " + stage.String() + " ORDER BY " + keys + ", " + seqColumn + " DESC"
}

// mergeSQL writes the last state of every key of a staging table into the table in one MERGE:
// deletes, updates of the segment's columns only, and inserts (columns the segment lacks stay NULL:
// pad names those with a default, which an insert would take otherwise). unique says no key
// was staged twice (lastStateSQL).
func mergeSQL(table rel, t schema.Table, stage rel, cols, pad []int, unique bool) string {
	var b strings.Builder
	b.WriteString("MERGE INTO " + table.String() + " AS dst\n")
	b.WriteString("USING (" + lastStateSQL(t, stage, unique) + ") AS src\n")
	b.WriteString("ON " + keyMatch(t, "dst", "src") + "\n")
	b.WriteString("WHEN MATCHED AND src." + deleteColumn + " THEN DELETE\n")
	if rest := nonKey(t, cols); len(rest) > 0 {
		b.WriteString("WHEN MATCHED THEN UPDATE SET " + updateSet(t, rest) + "\n")
	}
	b.WriteString("WHEN NOT MATCHED AND NOT src." + deleteColumn + " THEN INSERT (" + columnList(t, append(slices.Clone(cols), pad...), "") + ")\n")
	b.WriteString("\tVALUES (" + columnList(t, cols, "src") + strings.Repeat(", NULL", len(pad)) + ")")
	return b.String()
}

// threeStatementSQL is the alternative to mergeSQL: drop all but the last row of each key from
// the staging table (unless unique), then DELETE, UPDATE and INSERT … ON CONFLICT DO NOTHING.
// Kept for the benchmark that compares them.
func threeStatementSQL(table rel, t schema.Table, stage rel, cols, pad []int, unique bool) []string {
	dst, st := table.String(), stage.String()
	var stmts []string
	if !unique {
		stmts = append(stmts, "DELETE FROM "+st+" AS src USING "+st+" AS later WHERE "+keyMatch(t, "later", "src")+" AND later."+seqColumn+" > src."+seqColumn)
	}
	stmts = append(stmts, "DELETE FROM "+dst+" AS dst USING "+st+" AS src WHERE "+keyMatch(t, "dst", "src")+" AND src."+deleteColumn)
	if rest := nonKey(t, cols); len(rest) > 0 {
		stmts = append(stmts, "UPDATE "+dst+" AS dst SET "+updateSet(t, rest)+" FROM "+st+" AS src WHERE "+keyMatch(t, "dst", "src")+" AND NOT src."+deleteColumn)
	}
	stmts = append(stmts, "INSERT INTO "+dst+" ("+columnList(t, append(slices.Clone(cols), pad...), "")+")\n\tSELECT "+columnList(t, cols, "src")+strings.Repeat(", NULL", len(pad))+" FROM "+st+" AS src\n\tWHERE NOT src."+deleteColumn+"\nON CONFLICT DO NOTHING")
	return stmts
}

func analyzeSQL(stage rel) string { return "ANALYZE " + stage.String() }

// copyFromSQL starts a binary COPY of the columns into a table.
func copyFromSQL(table rel, cols []string) string {
	return "COPY " + table.String() + " (" + quotedList(cols) + ") FROM STDIN (FORMAT binary)"
}

// columnTypesSQL lists the columns of a table ($1, its qualified name) with the type each holds,
// a domain's base type for a domain (through domains over domains, as the server's own row
// descriptions do): what a binary COPY into the table must write.
const columnTypesSQL = "WITH RECURSIVE col(name, typ) AS (\n" +
	"\tSELECT attname, atttypid FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped\n" +
	"\tUNION ALL\n" +
	"\tSELECT col.name, t.typbasetype FROM col JOIN pg_type t ON t.oid = col.typ WHERE t.typtype = 'd'\n" +
	")\n" +
	"SELECT col.name, col.typ FROM col JOIN pg_type t ON t.oid = col.typ WHERE t.typtype <> 'd'"

// lockForCopySQL takes the lock a COPY into table takes, ahead of it.
func lockForCopySQL(table rel) string {
	return "LOCK TABLE " + table.String() + " IN ROW EXCLUSIVE MODE"
}

// The savepoint a direct chunk is copied under, so that a duplicate key rolls back that chunk
// only.
const (
	savepointSQL           = "SAVEPOINT direct_chunk"
	releaseSavepointSQL    = "RELEASE SAVEPOINT direct_chunk"
	rollbackToSavepointSQL = "ROLLBACK TO SAVEPOINT direct_chunk"
)

// changesSQL reads the rows this transaction has inserted, updated and deleted in a table ($1,
// its qualified name) so far, from PostgreSQL's own per-transaction statistics: read before
// and after a MERGE, they tell what it really did to each row, which its command tag does not.
const changesSQL = "SELECT pg_stat_get_xact_tuples_inserted($1::regclass), pg_stat_get_xact_tuples_updated($1::regclass), pg_stat_get_xact_tuples_deleted($1::regclass)"

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
