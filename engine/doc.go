/*
Package engine applies mirroring calls to a bulk.Target: tenants, per-table lanes, schema sync,
wipes, streamed row applies, LSN bookkeeping and per-cycle counts.

An Engine serves any number of tenants at once, each with its mirror opened on first contact. Its
methods follow the Task's cycle: Authenticate begins (or continues) a cycle in the mirror's state
table; SyncSchema diffs each table against the catalog the mirror reads back and migrates it,
recording which tables the cycle named; Wipe empties tables and lets their LSN start again;
BeginApply streams one RowData call into its tables; Complete ends the cycle, drops the tables no
TableSchema call of the cycle named, and returns what each table's rows did.

What the engine promises its caller:
  - a table's rows and its LSN commit together or not at all, and a table that fails rolls back
    alone; a call whose body fails rolls back every table of it (Apply.Abort);
  - two calls never write one table at once (its lane), a tenant never has more tables written
    at once than its mirror takes (bulk.WriterLimiter) or MaxAppliesPerTenant, and the process
    never more than MaxApplies: tables waiting for their turn spool to disk, so memory stays
    bounded (MaxInflightBytes) and no call deadlocks against the caps;
  - the catalog it plans with is the mirror's: when the state table's hashes show that another
    process migrated a table, it reads the catalog again, and a migration that lost such a race
    is planned again (ErrBusy after a few tries);
  - errors that are the caller's wrap ErrBadRequest, errors that go away when the call is sent
    again wrap ErrBusy; anything else is the server's.

Options.Hooks, when set, hears each table before its first rows of a cycle are written (and can
refuse them) and after each wipe.
*/
package engine
