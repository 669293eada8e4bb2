// Package bulk is the batch model (rows tagged insert, update or delete with typed values) and the Target interface that every mirror database implements.
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

// Values of a row are Go values chosen by the column's SQL Server type. nil is NULL.
//
//	bit                                         bool
//	tinyint, smallint, int, bigint              int64
//	float, real                                 float64 (a real holds a float32 value)
//	decimal, numeric, money, smallmoney         Decimal
//	char, varchar, nchar, nvarchar, text, ntext, xml   string
//	binary, varbinary, image (and rowversion)   []byte
//	date                                        time.Time, midnight UTC
//	datetime, datetime2, smalldatetime          time.Time in UTC: the wall clock as stored, no zone
//	datetimeoffset                              time.Time in a fixed zone of the stored offset
//	time                                        TimeOfDay
//	uniqueidentifier                            UUID

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
	Values() []any
	Err() error
}

// Counts are the rows of each kind that an apply committed, by their op tags.
type Counts struct {
	Inserted, Updated, Deleted int64
}

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
	// Migrate carries out a plan and records the desired table's hash in the state table.
	// Create and Recreate set the LSN to NoLSN; Alter keeps it. Alter keeps the partner's
	// indexes on the table where the database allows.
	Migrate(ctx context.Context, plan schema.Plan) error
	// Wipe removes every row of the tables and sets their LSN to NoLSN, in one transaction.
	// The tables and their indexes stay.
	Wipe(ctx context.Context, tables []string) error
	// Drop drops the tables and their state rows.
	Drop(ctx context.Context, tables []string) error
	// Invalidate sets the tables' LSN to NoLSN without touching their rows, so that the next
	// cycle repopulates them (the documented manual fix). Empty tables means every table.
	Invalidate(ctx context.Context, tables []string) error
	// Apply writes rows into table (whose catalog the caller read with Tables) and, when
	// opts.LSN reports one, the new LSN, in one transaction: all of it commits or none. Within one apply
	// the last state of a key wins, an insert of an existing key updates it, an update of a
	// missing key inserts it, and a delete of a missing key does nothing. A table without a
	// primary key takes inserts only; an update or delete fails the apply with ErrNoKey.
	Apply(ctx context.Context, table schema.Table, rows Rows, opts ApplyOptions) (Counts, error)
	// RowCount counts the rows of a mirrored table.
	RowCount(ctx context.Context, table string) (int64, error)
	Close() error
}

// ErrNoKey is returned by Apply when a table without a primary key receives an update or delete.
var ErrNoKey = errors.New("the table has no primary key, so its rows can be inserted but not updated or deleted")

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
