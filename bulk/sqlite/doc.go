/*
Package sqlite is the embedded mirror target: it implements bulk.Target and bulk.Mirror with
one SQLite file per tenant in a folder, written through modernc.org/sqlite (pure Go, no cgo).

# What it maps

A tenant's mirror is the file that Options.NameTemplate names in the folder
("Mirror_{ctx}.db"), created on first contact in WAL mode, with its state table
<tenant>_mirroring. Each column is declared with a type name that carries its exact SQL Server
type and gives it the affinity its values need (TYPES.md), so that the catalog reads the table
back without a side table. A keyed table whose declared row is narrow (at most 400 characters of
text and binary, none of them max) is a WITHOUT ROWID table, a wider one a rowid table, and
Options.RowIDTables makes every one a rowid table. A default that SQLite cannot express is kept only in the state table
(bulk.TableState.KeptDefaults). The state table lists the tables that are the mirror's: the
partner's own tables, views, indexes and triggers in the file are never altered, emptied or
dropped, and Drop refuses to touch one.

# How it loads

An Apply writes its rows in one transaction on the file's single writer connection: inserts and
updates as multi-row upserts of the batch's columns (INSERT … ON CONFLICT DO UPDATE), deletes by
key, in order, so that the last state of a key wins. A fresh table takes plain inserts until
one meets a key that is there already. Reads (Tables, States, RowCount) go through a small pool
of read-only connections, which WAL keeps from waiting for the writer.

# Locks

A write transaction takes the file's write lock at BEGIN (BEGIN IMMEDIATE) and holds it until
it ends, so migrations, applies, wipes and the cycle's bookkeeping run one at a time across
processes and the state a change was planned from is checked under the same lock. A statement
waits Options.BusyTimeout for a lock another process holds.

# Limits

Names pass schema.CheckName; names starting with sqlite_ are SQLite's own and refused. Changing a
column's type or default rebuilds the table (SQLite's documented procedure, the partner's
indexes and triggers made again), inside the migration's transaction. Writes of all tables of a
tenant share one writer, so a tenant's applies do not run in parallel.
*/
package sqlite
