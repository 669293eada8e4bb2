package mssql

import (
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
)

// The T-SQL of the state table and the cycle (state.go runs it), tested on its text by golden
// files like every statement of the package.

// createStateTableSQL creates the tenant's state table unless it exists: a row per mirrored
// table (its schema hash, LSN, the SQL Server defaults it keeps, the cycle that last named it and
// its counts in the current cycle) and the cycle row (bulk.CycleRow: the cycle's number in lsn
// and its stage in schemahash). Table names compare by the database's collation, as the
// catalog does.
func createStateTableSQL(state string) string {
	var b strings.Builder
	b.WriteString("IF OBJECT_ID(" + literal(qualified(state)) + ", N'U') IS NULL\n" +
		"CREATE TABLE " + qualified(state) + " (\n" +
		"\ttablename nvarchar(128) NOT NULL PRIMARY KEY,\n" +
		"\tschemahash varchar(64) NOT NULL,\n" +
		"\tlsn bigint NOT NULL,\n" +
		"\tchanged_at datetime2(3) NULL")
	for _, c := range statetable.Added {
		b.WriteString(",\n\t" + c.Name + " " + stateColumnType(c.Kind))
	}
	b.WriteString("\n)")
	return b.String()
}

// stateColumnType is SQL Server's type of a state table column that later versions added.
func stateColumnType(k statetable.Kind) string {
	switch k {
	case statetable.Text:
		return "nvarchar(max) NULL"
	case statetable.Number:
		return "bigint NULL"
	}
	return "bigint NOT NULL DEFAULT 0"
}

// upgradeStateTableSQL adds the columns a state table made by an earlier version lacks. A
// column added NOT NULL with a default takes the default in every existing row.
func upgradeStateTableSQL(state string) string {
	var parts []string
	for _, c := range statetable.Added {
		parts = append(parts, "IF COL_LENGTH("+literal(qualified(state))+", "+literal(c.Name)+") IS NULL ALTER TABLE "+qualified(state)+" ADD "+c.Name+" "+stateColumnType(c.Kind))
	}
	return strings.Join(parts, ";\n")
}

// notCycle leaves the cycle row out of a statement about tables.
const notCycle = "tablename <> N'" + bulk.CycleRow + "'"

func stateSelectSQL(state string) string {
	return "SELECT tablename, schemahash, lsn, changed_at, COALESCE(defaults, N''), inserted, updated, deleted, " + rewindSQL(state) + " FROM " + qualified(state) +
		" WHERE " + notCycle + " ORDER BY tablename"
}

// rewindSQL says whether the cycle in progress created or wiped a state row's table.
func rewindSQL(state string) string {
	return "CAST(CASE WHEN wiped_cycle = " + currentCycleSQL(state) + " THEN 1 ELSE 0 END AS bit)"
}

// stateLockSQL reads the state rows of n tables (@p1…@pn) and locks them (and the gaps where
// missing ones would go) until the transaction ends.
func stateLockSQL(state string, n int) string {
	return "SELECT tablename, schemahash FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename IN (" + params(1, n) + ") ORDER BY tablename"
}

// stateApplyLockSQL reads one table's (@p1) hash and LSN and locks its row until the apply ends:
// applies of one table, and migrations of it, wait for each other across processes.
func stateApplyLockSQL(state string) string {
	return "SELECT schemahash, lsn, " + rewindSQL(state) + " FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename = @p1"
}

// stateListedSQL counts the state rows of a table (@p1), without locking.
func stateListedSQL(state string) string {
	return "SELECT COUNT(*) FROM " + qualified(state) + " WHERE tablename = @p1"
}

// currentCycleSQL is the number of the cycle in progress, NULL when none is.
func currentCycleSQL(state string) string {
	return "(SELECT lsn FROM " + qualified(state) + " WHERE tablename = N'" + bulk.CycleRow + "' AND schemahash <> 'ended')"
}

// stateUpsertSQL records a created table (@p1 name, @p2 hash, @p3 defaults) with no data, named
// by the cycle in progress. The caller holds the row's lock (stateLockSQL), so the check and the
// write cannot race.
func stateUpsertSQL(state string) string {
	q := qualified(state)
	return "UPDATE " + q + " SET schemahash = @p2, lsn = -1, changed_at = SYSUTCDATETIME(), defaults = NULLIF(@p3, N''), cycle = " + currentCycleSQL(state) +
		", wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename = @p1;\n" +
		"IF @@ROWCOUNT = 0 INSERT INTO " + q + " (tablename, schemahash, lsn, changed_at, defaults, cycle, wiped_cycle) VALUES (@p1, @p2, -1, SYSUTCDATETIME(), NULLIF(@p3, N''), " +
		currentCycleSQL(state) + ", " + currentCycleSQL(state) + ")"
}

// stateSetHashSQL records a new hash (@p2) and defaults (@p3) of a table (@p1), keeping its LSN.
func stateSetHashSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = @p2, defaults = NULLIF(@p3, N''), changed_at = SYSUTCDATETIME() WHERE tablename = @p1"
}

// stateAppliedSQL records what an apply did to a table (@p1): the LSN (@p3) when @p2 is 1, and
// the rows it inserted (@p4), updated (@p5) and deleted (@p6), added to the cycle's counts.
func stateAppliedSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET lsn = CASE WHEN @p2 = 1 THEN @p3 ELSE lsn END,\n" +
		"\tchanged_at = CASE WHEN @p2 = 1 THEN SYSUTCDATETIME() ELSE changed_at END,\n" +
		"\tinserted = inserted + @p4, updated = updated + @p5, deleted = deleted + @p6\n" +
		"WHERE tablename = @p1"
}

// stateWipedSQL sets the LSN of n tables (@p1…@pn) to -1 and records that the cycle in progress
// wiped them.
func stateWipedSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME(), wiped_cycle = " + currentCycleSQL(state) + " WHERE tablename IN (" + params(1, n) + ")"
}

// stateInvalidateSQL sets the LSN of n tables (@p1…@pn) to -1.
func stateInvalidateSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE tablename IN (" + params(1, n) + ")"
}

// stateInvalidateAllSQL sets the LSN of every table to -1.
func stateInvalidateAllSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET lsn = -1, changed_at = SYSUTCDATETIME() WHERE " + notCycle
}

// stateDeleteSQL forgets n tables (@p1…@pn).
func stateDeleteSQL(state string, n int) string {
	return "DELETE FROM " + qualified(state) + " WHERE tablename IN (" + params(1, n) + ")"
}

// schemaLockSQL serializes the schema changes of one mirror database across processes until the
// transaction ends: an application lock owned by the transaction (sp_getapplock), waiting as
// long as the caller's context does. A negative result (timeout, deadlock victim) fails loudly.
const schemaLockSQL = "DECLARE @r int;\n" +
	"EXEC @r = sp_getapplock @Resource = N'mirrord_schema', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = -1;\n" +
	"IF @r < 0 THROW 50000, N'mirrord could not take the mirror''s schema lock', 1"

// beginCycleSQL starts the next cycle once the last one ended (its number goes up by one, and no
// table is named yet) and sets every table's cycle counts to zero. An Authenticate inside a cycle
// that has not ended continues it, so that what its TableSchema calls named so far stays named.
func beginCycleSQL(state string) string {
	q := qualified(state)
	return "UPDATE " + q + " SET lsn = CASE WHEN schemahash = 'ended' THEN lsn + 1 ELSE lsn END,\n" +
		"\tschemahash = CASE WHEN schemahash = 'ended' THEN 'open' ELSE schemahash END, changed_at = SYSUTCDATETIME() WHERE tablename = N'" + bulk.CycleRow + "';\n" +
		"IF @@ROWCOUNT = 0 INSERT INTO " + q + " (tablename, schemahash, lsn, changed_at) VALUES (N'" + bulk.CycleRow + "', 'open', 1, SYSUTCDATETIME());\n" +
		"UPDATE " + q + " SET inserted = 0, updated = 0, deleted = 0 WHERE " + notCycle + " AND (inserted <> 0 OR updated <> 0 OR deleted <> 0)"
}

// nameCycleSQL marks the cycle in progress as having made a TableSchema call and returns its number.
func nameCycleSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = 'named' OUTPUT inserted.lsn WHERE tablename = N'" + bulk.CycleRow + "' AND schemahash <> 'ended'"
}

// nameTablesSQL records that the cycle @p1 named n tables (@p2…).
func nameTablesSQL(state string, n int) string {
	return "UPDATE " + qualified(state) + " SET cycle = @p1 WHERE tablename IN (" + params(2, n) + ")"
}

// cycleLockSQL reads the cycle row (its number and stage) and locks it until the transaction ends.
func cycleLockSQL(state string) string {
	return "SELECT lsn, schemahash FROM " + qualified(state) + " WITH (UPDLOCK, HOLDLOCK) WHERE tablename = N'" + bulk.CycleRow + "'"
}

// unnamedSQL lists the tables the cycle @p1 did not name.
func unnamedSQL(state string) string {
	return "SELECT tablename FROM " + qualified(state) + " WHERE " + notCycle + " AND (cycle IS NULL OR cycle <> @p1) ORDER BY tablename"
}

// endCycleSQL marks the cycle as ended.
func endCycleSQL(state string) string {
	return "UPDATE " + qualified(state) + " SET schemahash = 'ended', changed_at = SYSUTCDATETIME() WHERE tablename = N'" + bulk.CycleRow + "'"
}
