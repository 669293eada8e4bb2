package mssql

import (
	"slices"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// The T-SQL of an apply: transaction control, #staging tables and the MERGE from them, tested
// on its text by golden files like every statement of the package.

// Transaction control is plain T-SQL on one pinned session, so that bulk copy (a driver-level
// call on the same connection) runs inside the same transaction.
const (
	beginSQL    = "BEGIN TRANSACTION"
	commitSQL   = "COMMIT TRANSACTION"
	rollbackSQL = "IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION"
	// xactStateSQL is 1 for a live transaction, -1 for a doomed one that can only roll back.
	xactStateSQL = "SELECT XACT_STATE()"
)

func saveSQL(savepoint string) string       { return "SAVE TRANSACTION " + quote(savepoint) }
func rollbackToSQL(savepoint string) string { return "ROLLBACK TRANSACTION " + quote(savepoint) }
func dropStageSQL(stage string) string      { return "DROP TABLE " + quote(stage) }
func truncateStageSQL(stage string) string  { return "TRUNCATE TABLE " + quote(stage) }
func stageName(n int) string                { return "#mirrord_stage_" + strconv.Itoa(n) }
func dropStaleStageSQL(stage string) string {
	return "IF OBJECT_ID(" + literal("tempdb.."+quote(stage)) + ") IS NOT NULL DROP TABLE " + quote(stage)
}
func columnRef(alias string, c schema.Column) string { return alias + "." + quote(c.Name) }

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

// createStageSQL creates a session staging table for one segment: a sequence number, a delete
// flag and the segment's columns in their staging types. It is a heap with no index or
// constraint: bulk copy into it is the cheapest load SQL Server has, and since a #table belongs
// to its session, every connection loads its own at the same time as the others.
//
// coll names the collations of the table's columns (columnCollations): a key column's staging
// column takes the key column's.
func createStageSQL(stage string, t schema.Table, cols []int, coll map[string]string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE " + quote(stage) + " (" + seqColumn + " bigint NOT NULL, " + deleteColumn + " bit NOT NULL")
	for _, ci := range cols {
		c := t.Columns[ci]
		b.WriteString(", " + quote(c.Name) + " " + stageType(c, coll[c.Name]) + " NULL")
	}
	b.WriteString(")")
	return b.String()
}

// stageProjection selects a segment's columns from alias, converted from their staging types to
// the table's types, so that the key comparison is between like types (a varchar key compared
// with an nvarchar value would convert the table's column and scan instead of seek).
//
// A text or ntext column that coll gives a collation of its own (where the database's cannot
// hold them: legacyCollation) is not cast to text or ntext, which would take the database's
// collation and fail (error 4189): the staged value takes the column's collation and becomes
// varchar(max) or nvarchar(max) in it, and the write into the column converts it implicitly
// ("You can insert or update values in a text column whose collation is different from the code
// page of the default collation of the database. SQL Server implicitly converts the values to the
// collation of the column", Set or change the column collation).
func stageProjection(t schema.Table, cols []int, alias string, coll map[string]string) string {
	var b strings.Builder
	for i, ci := range cols {
		c := t.Columns[ci]
		if i > 0 {
			b.WriteString(", ")
		}
		switch legacy := coll[c.Name]; {
		case legacy != "" && c.Type == schema.Text:
			b.WriteString("CAST(" + columnRef(alias, c) + " COLLATE " + legacy + " AS varchar(max)) AS " + quote(c.Name))
		case legacy != "" && c.Type == schema.NText:
			b.WriteString("CAST(" + columnRef(alias, c) + " COLLATE " + legacy + " AS nvarchar(max)) AS " + quote(c.Name))
		case stageBaseType(c) == c.TypeString():
			b.WriteString(columnRef(alias, c))
		default:
			b.WriteString("CAST(" + columnRef(alias, c) + " AS " + c.TypeString() + ") AS " + quote(c.Name))
		}
	}
	return b.String()
}

// lastStateSQL selects the last row of each key from a staging table, its delete flag and its
// columns in the table's types: ROW_NUMBER over the key, newest sequence number first.
func lastStateSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	return "SELECT " + "s." + deleteColumn + ", " + stageProjection(t, cols, "s", coll) + "\n\tFROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY " +
		columnList(t, t.Key(), "") + " ORDER BY " + seqColumn + " DESC) AS " + rowNumber + " FROM " + quote(stage) + ") AS s\n\tWHERE s." + rowNumber + " = 1"
}

// keyMatch is the join condition of the key columns between two aliases.
func keyMatch(t schema.Table, a, b string) string {
	var parts []string
	for _, ki := range t.Key() {
		c := t.Columns[ki]
		parts = append(parts, columnRef(a, c)+" = "+columnRef(b, c))
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

// mergeSQL writes the last state of every key of a staging table into the table in one MERGE:
// deletes, updates of the segment's columns only, and inserts (columns the segment lacks take
// their default, NULL where they have none, as the source's row did when it was inserted
// without them).
//
// MERGE rather than DELETE + UPDATE + INSERT: one statement reads the staging table and probes
// the clustered key once per row, where the trio reads both three times; on PostgreSQL the same
// choice measured 0.80 s against 1.16 s (bulk/pgsql/apply_benchmark_test.go). MERGE's known
// faults on SQL Server concern triggers, filtered indexes with the target as source, and
// races without a serializable hint: mirrors have no triggers of ours, and HOLDLOCK takes the
// key-range locks that make a concurrent writer wait instead of breaking the key.
func mergeSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	var b strings.Builder
	b.WriteString("MERGE INTO " + qualified(t.Name) + " WITH (HOLDLOCK) AS dst\n")
	b.WriteString("USING (" + lastStateSQL(t, stage, cols, coll) + ") AS src\n")
	b.WriteString("ON " + keyMatch(t, "dst", "src") + "\n")
	b.WriteString("WHEN MATCHED AND src." + deleteColumn + " = 1 THEN DELETE\n")
	if rest := nonKey(t, cols); len(rest) > 0 {
		var set []string
		for _, ci := range rest {
			c := t.Columns[ci]
			set = append(set, quote(c.Name)+" = "+columnRef("src", c))
		}
		b.WriteString("WHEN MATCHED THEN UPDATE SET " + strings.Join(set, ", ") + "\n")
	}
	pad := omittedDefaults(t, cols)
	b.WriteString("WHEN NOT MATCHED BY TARGET AND src." + deleteColumn + " = 0 THEN INSERT (" + columnList(t, append(slices.Clone(cols), pad...), "") + ")\n")
	b.WriteString("\tVALUES (" + columnList(t, cols, "src") + strings.Repeat(", NULL", len(pad)) + ")\n")
	b.WriteString("OUTPUT LEFT($action, 1) INTO " + mergeActions + " (a);")
	return b.String()
}

// mergeActions is the session's table that a MERGE writes what it did to, a row per row changed:
// 'I', 'U' or 'D'. A #table and not a table variable: "An OUTPUT clause that returns results to
// the client, or table variable, always uses a serial plan" (OUTPUT clause (Transact-SQL),
// Parallelism), which would make every MERGE of a large staging table serial; into a temporary
// table the MERGE keeps a parallel plan where the optimizer chooses one. Whether it does for
// this MERGE has not been measured on a live server.
const mergeActions = "#mirrord_actions"

// countedMergeSQL is one batch that runs a MERGE and answers one row: the rows it inserted,
// updated and deleted, from the $action of each row it changed ($action names what each row
// really did, where @@ROWCOUNT gives only the sum). The session's actions table is created on
// its first merge and emptied before each (truncateStageSQL's caller empties it after, too).
func countedMergeSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	return "IF OBJECT_ID(N'tempdb.." + mergeActions + "') IS NULL CREATE TABLE " + mergeActions + " (a char(1) NOT NULL)\n" +
		"ELSE TRUNCATE TABLE " + mergeActions + ";\n" +
		mergeSQL(t, stage, cols, coll) + "\n" +
		"SELECT COUNT_BIG(CASE WHEN a = 'I' THEN 1 END), COUNT_BIG(CASE WHEN a = 'U' THEN 1 END), COUNT_BIG(CASE WHEN a = 'D' THEN 1 END)\n" +
		"\tFROM " + mergeActions
}

// emptyAfterMergeSQL empties a staging table and the actions table after a merge read its counts,
// in one round trip: rows whose columns alternate must not merge the same rows twice, and the
// actions of a large merge need not stay in tempdb until the session's next one.
func emptyAfterMergeSQL(stage string) string {
	return truncateStageSQL(stage) + ";\nTRUNCATE TABLE " + mergeActions
}

// insertFromStageSQL appends a staging table's rows to a keyless table, in load order.
func insertFromStageSQL(t schema.Table, stage string, cols []int, coll map[string]string) string {
	pad := omittedDefaults(t, cols)
	return "INSERT INTO " + qualified(t.Name) + " WITH (TABLOCK) (" + columnList(t, append(slices.Clone(cols), pad...), "") + ")\n\tSELECT " +
		stageProjection(t, cols, "s", coll) + strings.Repeat(", NULL", len(pad)) + " FROM " + quote(stage) + " AS s ORDER BY s." + seqColumn
}

// omittedDefaults are the nullable columns of t that cols leaves out and that have a default:
// every default is SQL Server's own, so each applies.
func omittedDefaults(t schema.Table, cols []int) []int {
	return bulk.OmittedDefaults(t, cols, func(c schema.Column) (string, bool) { return c.Default, true })
}
