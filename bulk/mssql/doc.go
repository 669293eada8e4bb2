/*
Package mssql is the SQL Server mirror target: it implements bulk.Target and bulk.Mirror for
SQL Server 2014 or later, Azure SQL Database and Managed Instance, with one database per tenant,
TDS bulk copy into #staging tables and MERGE, T-SQL DDL, and the catalog read back.

# What it maps

A tenant's mirror is the database that Options.NameTemplate names ("Mirror_{ctx}"), created on
first contact with Options.CreateOptions and waited for until it is online. The mirrored tables
and the state table <tenant>_mirroring live in the dbo schema, and every statement names them
with it. A column keeps its SQL Server type and its default, as a named constraint; character
key columns take a binary collation, so that the mirror's key tells apart every pair of keys
the source does (collation.go). The state table lists the tables that are the mirror's: the
partner's own tables, views and indexes in the database are never altered, emptied or dropped,
and an Alter that would break a partner's index fails naming it.

# How it loads

An Apply runs in one T-SQL transaction on one pinned session. Rows go in segments of
consecutive rows with one column set. Keyed tables load each segment by bulk copy into a
#staging heap of the session and MERGE each key's last state into the table WITH (HOLDLOCK),
counting what it did from its OUTPUT. A fresh table (bulk.ApplyOptions.Fresh) takes bulk copy
straight into the table with TABLOCK, and a keyless table takes it without TABLOCK, until a
row arrives that cannot go that way (a delete, a value bulk copy would garble). A keyless
table keeps its rows from call to call, and TABLOCK takes a bulk update lock for the whole
transaction, which keeps "other processes that are not bulk importing data" out of the table
(SQL Server's "Controlling Locking Behavior for Bulk Import"): the partner's readers would
wait for the whole apply. A fresh keyed table's rows go in chunks of Options.ChunkRows under
a savepoint, and a chunk that meets a key that is there already is rolled back and replayed
through staging.

# Locks

Creates, alters, drops, wipes, invalidations and the cycle's bookkeeping of one mirror take an
application lock of the transaction (sp_getapplock on mirrord_schema), so they run one at a
time across processes. An apply holds its table's state row WITH (UPDLOCK, HOLDLOCK) for its
whole transaction: applies of one table, and migrations of it, wait for each other, while
applies of different tables run side by side, up to Options.MaxConnsPerTenant sessions.

# Limits

Names are at most 128 characters and pass schema.CheckName. UTF-8 collations need SQL Server
2019. No SQL Server runs where the package is built: its statements are small pure functions
tested on their exact text (the golden files in testdata), and the live tests run where
MIRRORD_TEST_MSSQL_DSN names a server.
*/
package mssql
