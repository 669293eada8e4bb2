package bulk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mirrord/mirrord/schema"
)

// Op is what a row does: insert, update or delete.
type Op byte

const (
	Insert Op = 'I'
	Update Op = 'U'
	Delete Op = 'D'
)

func (o Op) String() string {
	switch o {
	case Insert, Update, Delete:
		return string(rune(o))
	}
	return fmt.Sprintf("Op(%d)", byte(o))
}

// ParseOp reads the op attribute of a row: I, U or D.
func ParseOp(s string) (Op, error) {
	if len(s) == 1 {
		switch o := Op(s[0]); o {
		case Insert, Update, Delete:
			return o, nil
		}
	}
	return 0, fmt.Errorf("row op %q is not I, U or D", s)
}

// Decimal is an exact decimal number in plain notation: an optional minus sign, digits, and
// optionally a point and more digits ("-12.3400"). It never uses an exponent.
type Decimal string

// TimeOfDay is a time value: the time since midnight, under 24 hours.
type TimeOfDay time.Duration

// UUID is a uniqueidentifier's 16 bytes in the order of its text form
// xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (not SQL Server's mixed-endian storage order).
type UUID [16]byte

// Rows is a pull-style source of a table's rows, the shape of pgx's CopyFromSource, so that a
// decoder can stream rows into a loader with no slice of the whole batch in between.
//
// Columns names the table columns that Values carries, as indexes into the table's columns, and
// changes only between batches: a loader that needs a fixed column list starts a new segment when
// it changes. The slices Columns and Values return are valid until the next call of Next.
type Rows interface {
	Next() bool
	Op() Op
	Columns() []int
	Values() []Value
	Err() error
}

// Counts are the rows an apply changed in its table, by what each write really did: a row
// written under a key the table lacked counts as inserted and one under a key it held as
// updated, whatever the row's op tag said; a delete counts only when the key was there. A
// target may collapse the rows of one key within an apply to the key's last state first, so a
// key sent twice counts once or twice, but never as two inserts.
type Counts struct {
	Inserted, Updated, Deleted int64
}

// Any reports whether c counts any row.
func (c Counts) Any() bool { return c.Inserted != 0 || c.Updated != 0 || c.Deleted != 0 }

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Inserted += o.Inserted
	c.Updated += o.Updated
	c.Deleted += o.Deleted
}

// Count adds one row of op to c.
func (c *Counts) Count(op Op) {
	switch op {
	case Insert:
		c.Inserted++
	case Update:
		c.Updated++
	case Delete:
		c.Deleted++
	}
}

// NoLSN is the LSN of a table that holds no data: just created, recreated, wiped or invalidated.
const NoLSN int64 = -1

// TableState is a mirrored table as the mirror database holds it.
type TableState struct {
	// Table is read back from the database's catalog, with SQL Server types.
	Table schema.Table
	// Hash is the schema hash stored in the state table when the table was last migrated.
	Hash string
	// LSN is the table's Log Sequence Number, NoLSN when it holds no data.
	LSN int64
	// Changed is when the table's state row last changed (LSN or schema); zero when unknown.
	Changed time.Time
	// Cycle are the rows the table took since the tenant's cycle began (BeginCycle), as the
	// mirror counted them: every process that served the cycle adds to them.
	Cycle Counts
	// Rewind says the cycle in progress created or wiped the table, so that its LSN may go below
	// the stored one (a repopulation's LSNs need not rise); otherwise a lower LSN fails the apply
	// with an *LSNError. The mirror keeps it, so every process sees it the same.
	Rewind bool
	// KeptDefaults names the columns whose default the database cannot express (Tables only):
	// the state table keeps the SQL Server text, and the database applies no default there.
	KeptDefaults []string
}

// ApplyOptions say how to apply one table's rows.
type ApplyOptions struct {
	// LSN is called once, after Rows is exhausted without error (a batch's LSN arrives after its
	// rows on the wire), and before commit. When it reports ok, the LSN is stored in the same
	// transaction as the rows; otherwise, or when LSN is nil, the table keeps its LSN.
	LSN func() (lsn int64, ok bool)
	// Fresh says the table was created or wiped in this cycle and has taken only inserts
	// since, as during a repopulation: rows may be loaded straight into it. A duplicate key
	// there must fall back to staging and merge, so a wrong Fresh costs time, never data.
	Fresh bool
	// Hash is the stored schema hash of the table model the caller read with Tables. When it is
	// set, the apply checks it against the state table under the apply's lock before it writes
	// anything, and fails with ErrSchemaChanged when the mirror holds another schema: another
	// process migrated, recreated or dropped the table since the caller read it.
	Hash string
}

// Migration is a plan to carry out, and the state it was made from.
type Migration struct {
	schema.Plan
	// From is the schema hash the state table held for the table when the plan was made, empty
	// when it did not list the table. Migrate checks it under the migration's lock and changes
	// nothing, failing with ErrSchemaChanged, when another process changed the table meanwhile.
	From string
}

// Target is a database server (or folder) that holds one mirror per tenant.
type Target interface {
	// Open returns the tenant's mirror, creating its database (or file) and its state table
	// <tenant>_mirroring on first contact. The tenant name has passed schema.CheckName.
	Open(ctx context.Context, tenant string) (Mirror, error)
	// Ping reports whether the target answers.
	Ping(ctx context.Context) error
	Close() error
}

// Mirror is one tenant's mirror database. Its methods may be called concurrently for different
// tables. It only ever alters, wipes or drops tables that its state table lists as mirrored:
// the partner's own tables, views and indexes in the same database are left alone.
type Mirror interface {
	// Tables reads back every mirrored table: its catalog, stored hash and LSN, keyed by name.
	Tables(ctx context.Context) (map[string]TableState, error)
	// States reads the state table alone: each mirrored table's stored hash, LSN, last change
	// and cycle counts, keyed by name, with Table holding only the name. It is the cheap read
	// that tells a caller whether its catalog is still current.
	States(ctx context.Context) (map[string]TableState, error)
	// Migrate carries out a plan, if the table's state still is the one it was made from, and
	// records the desired table's hash in the state table. Create and Recreate set the LSN to
	// NoLSN; Alter keeps it. Alter keeps the partner's indexes on the table where the database
	// allows. Migrations of one mirror are serialized across processes.
	Migrate(ctx context.Context, m Migration) error
	// Wipe removes every row of the tables and sets their LSN to NoLSN, in one transaction.
	// The tables and their indexes stay.
	Wipe(ctx context.Context, tables []string) error
	// Drop drops the tables and their state rows.
	Drop(ctx context.Context, tables []string) error
	// Invalidate sets the tables' LSN to NoLSN without touching their rows, so that the next
	// cycle repopulates them (the documented manual fix). Empty tables means every table. While
	// a cycle is in progress it changes nothing and returns ErrCycleInProgress.
	Invalidate(ctx context.Context, tables []string) error
	// Apply writes rows into table (whose catalog the caller read with Tables) and, when
	// opts.LSN reports one, the new LSN, in one transaction: all of it commits or none. Within one apply
	// the last state of a key wins, an insert of an existing key updates it, an update of a
	// missing key inserts it, and a delete of a missing key does nothing. A table without a
	// primary key takes inserts only; an update or delete fails the apply with ErrNoKey. The
	// counts it returns are also added to the table's cycle counts in the same transaction.
	// Applies of one table are serialized across processes by the lock on its state row.
	Apply(ctx context.Context, table schema.Table, rows Rows, opts ApplyOptions) (Counts, error)
	// BeginCycle starts a cycle of the tenant (its Authenticate): every table's cycle counts go
	// to zero, and no table is named by the cycle yet. Inside a cycle that has not ended it
	// continues that cycle instead (the counts still start again): a second Authenticate never
	// makes the cycle's end drop a table that an earlier TableSchema call of it named.
	BeginCycle(ctx context.Context) error
	// NameTables records that a TableSchema call of the current cycle named the tables. A call
	// that names no table still counts: it means that no table is mirrored. Without a cycle in
	// progress it does nothing.
	NameTables(ctx context.Context, tables []string) error
	// EndCycle ends the current cycle (its ReplicationCompleted). When the cycle made a
	// TableSchema call, it drops the mirrored tables that none of the cycle's calls named and
	// returns their names. A cycle that made no TableSchema call, or no cycle in progress,
	// drops nothing.
	EndCycle(ctx context.Context) (dropped []string, err error)
	// RowCount counts the rows of a mirrored table.
	RowCount(ctx context.Context, table string) (int64, error)
	Close() error
}

// ErrNoKey is returned by Apply when a table without a primary key receives an update or delete.
var ErrNoKey = errors.New("the table has no primary key, so its rows can be inserted but not updated or deleted")

// ErrSchemaChanged is returned (wrapped) by Apply and Migrate when the table's stored schema is
// not the one the caller read: another process migrated, recreated or dropped it. Nothing was
// written; the caller reads the catalog again.
var ErrSchemaChanged = errors.New("the table's schema changed since mirrord read it (another mirrord process changed it)")

// ErrCycleInProgress is returned (wrapped) by Invalidate while a cycle is in progress: the cycle
// has read its tables' LSNs in TableSchema, and its RowData calls would write theirs over -1, so
// that the repopulation the invalidation asks for would never come.
var ErrCycleInProgress = errors.New("a cycle is in progress (from its Authenticate to its ReplicationCompleted); its RowData calls would write their LSNs over -1 and the repopulation would never come: invalidate after the cycle's ReplicationCompleted")

// ErrNotFresh is returned (wrapped) by Apply when rows loaded straight into a fresh table met a
// key that is there already and the target could not fall back to staging inside the same
// transaction. Nothing was written; the caller applies the table as not fresh from then on.
var ErrNotFresh = errors.New("a key was there already in a table loaded as fresh; nothing was written, and the next apply goes through staging")

// LSNError is returned by Apply when the LSN to store is below the table's stored one and the
// apply may not rewind it.
type LSNError struct {
	Table  string
	Stored int64 // the table's LSN in the state table
	Sent   int64 // the LSN the apply was to store
}

func (e *LSNError) Error() string {
	return fmt.Sprintf("table %s: LSN %d is lower than the mirror's LSN %d; an LSN may go back only after the table is wiped", e.Table, e.Sent, e.Stored)
}

// CheckLSN checks an LSN to store against the stored one: -1 (no data) or any LSN that is not
// negative, and never lower than stored unless rewind allows it.
func CheckLSN(table string, stored, sent int64, rewind bool) error {
	if sent < NoLSN {
		return fmt.Errorf("table %s: LSN %d is negative; only -1 (no data) may be", table, sent)
	}
	if sent < stored && !rewind {
		return &LSNError{Table: table, Stored: stored, Sent: sent}
	}
	return nil
}

// CycleRow is the name of the state table's row that holds the tenant's cycle rather than a
// table: it cannot be a table's name, since schema.CheckName refuses '#'.
const CycleRow = "#cycle"

// StateTable is the name of a tenant's state table.
func StateTable(tenant string) string { return tenant + "_mirroring" }

// MirrorName fills a name template's {ctx} with the tenant, checking the tenant and the result
// with check (schema.CheckName, or a database's stricter rule).
func MirrorName(template, tenant string, check func(kind, name string) error) (string, error) {
	if err := check("tenant", tenant); err != nil {
		return "", err
	}
	name := strings.ReplaceAll(template, "{ctx}", tenant)
	if err := check("database", name); err != nil {
		return "", fmt.Errorf("tenant %s: template %q: %w", tenant, template, err)
	}
	return name, nil
}

// Checker is implemented by targets that can check, before SuperOffice's first call, that the
// server answers and the login has what mirrord needs (creating databases, creating and
// altering tables, bulk loading). Check returns every check it made, failed or not, and ends
// within ctx's deadline.
type Checker interface {
	Check(ctx context.Context) []Check
}

// Check is one thing a Checker checked.
type Check struct {
	Name string // what was checked: "server", "create database", "bulk load", …
	OK   bool
	// Detail says what was found (a version, an edition) or, when not OK, what is wrong and
	// how to fix it (the grant to give).
	Detail string
}
