/*
Package pgsql is the PostgreSQL 15+ mirror target: it implements bulk.Target and bulk.Mirror
with one database per tenant, binary COPY into temporary staging tables and MERGE, its own DDL,
and the type mapping of SQL Server types onto PostgreSQL's.

# What it maps

A tenant's mirror is the database that Options.NameTemplate names ("Mirror_{ctx}"), created on
first contact in the server that the DSN's maintenance database belongs to. The mirrored tables
and the state table <tenant>_mirroring live in the login's current schema, and every statement
names them with that schema, so that nothing earlier on the search path stands in for them.
Each column takes the PostgreSQL type TYPES.md lists, and a comment that keeps its exact SQL
Server type, from which Tables reads the table back. A default that PostgreSQL cannot express
is kept only in the state table (bulk.TableState.KeptDefaults). The state table lists the
tables that are the mirror's: the partner's own tables, views and indexes in the database are
never altered, emptied or dropped.

# How it loads

An Apply runs in one transaction on one connection. Rows go in segments of consecutive rows
with one column set. A keyless table takes inserts by COPY straight into it. A fresh table
(bulk.ApplyOptions.Fresh) takes COPY straight into it too, in chunks of Options.ChunkRows under
a savepoint, until a delete arrives or a chunk meets a key that is there already; from then on
the rows go through staging: COPY into a temporary table, then one MERGE of each key's last
state. A connection keeps the staging tables of its
last column sets in its session, emptied after each merge, since creating and dropping a
temporary table costs more than merging a few hundred rows. What each MERGE did is read from
PostgreSQL's per-transaction row statistics, or from the rows' op tags when track_counts is off.

Statements share round trips, since a database across a network pays each one: an apply on
every RowData call, a create once a cycle. An apply's BEGIN goes with the lock on the state row
(and, for a direct load, the column types and the first savepoint), the state row's update with
COMMIT, and a MERGE with its statistics: a RowData call into a fresh table is three round trips,
its COPY included (one more for each further chunk of Options.ChunkRows rows), and a staged one
four once the session holds its staging table. A create's BEGIN goes with the schema lock and
the state row, its CREATE TABLE and COMMENTs with the state row's update: three with COMMIT.

# Locks

Creates, alters, drops, wipes, invalidations and the cycle's bookkeeping of one mirror take a
transaction-level advisory lock of its database, so they run one at a time across processes.
An apply locks its table's state row (SELECT … FOR UPDATE) for its whole transaction: applies
of one table, and migrations of it, wait for each other, while applies of different tables run
side by side, up to Options.MaxConnsPerTenant connections per tenant.

# Limits

Names are at most 63 bytes (PostgreSQL's identifier limit) and pass schema.CheckName. Nothing
about a statement is cached, since DDL would make cached descriptions stale: arguments go as
text of unknown type, which the server types from where they stand (pgx.QueryExecModeExec).
Results come back as text too, so a tenant's connections set the session settings that shape
text (DateStyle, IntervalStyle, bytea_output, extra_float_digits) whatever the server's
defaults. Binary COPY does not convert: a segment checks once that the table's column types,
read from the catalog as the transaction begins, under the lock the COPY takes, are the ones its
codecs write, and an apply against a stale model fails instead of storing wrong bytes.
*/
package pgsql
