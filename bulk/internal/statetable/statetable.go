// Package statetable is the logic of a mirror's state table <tenant>_mirroring once for every
// target: the bookkeeping of Wipe, Drop and Invalidate, the cycle (BeginCycle, NameTables,
// EndCycle and the stages of the bulk.CycleRow row), how state rows become bulk.TableState, and
// the columns later versions added. Each target gives it its SQL and its locks through Tx and DB.
package statetable

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// The stages of a cycle, which the cycle row keeps in its schemahash column (its lsn column
// holds the cycle's number). A cycle is open from BeginCycle, named once a TableSchema call
// named tables, and ended by EndCycle; the next BeginCycle after an ended one starts the next
// number. The targets' SQL spells the same words.
const (
	Open  = "open"
	Named = "named"
	Ended = "ended"
)

// Tx is one transaction of a mirror database that holds the mirror's schema lock, in a
// target's SQL. Table names reaching it have passed the target's name check.
type Tx interface {
	// Listed reads which of the tables the state table lists, locking their state rows until
	// the transaction ends, and returns their stored schema hashes by name.
	Listed(ctx context.Context, tables []string) (map[string]string, error)
	// Empty removes every row of the tables, all of them listed; their indexes stay.
	Empty(ctx context.Context, tables []string) error
	// DropTables drops the tables, all of them listed.
	DropTables(ctx context.Context, tables []string) error
	// Forget deletes the state rows of the tables.
	Forget(ctx context.Context, tables []string) error
	// SetWiped sets the tables' LSN to bulk.NoLSN and records that the cycle in progress wiped
	// them (so that their LSN may go back: bulk.TableState.Rewind).
	SetWiped(ctx context.Context, tables []string) error
	// SetInvalid sets the tables' LSN to bulk.NoLSN.
	SetInvalid(ctx context.Context, tables []string) error
	// SetInvalidAll sets the LSN of every table (not of the cycle row) to bulk.NoLSN.
	SetInvalidAll(ctx context.Context) error
	// BeginCycle starts the next cycle once the last one ended, or continues the one that has
	// not, and sets every table's cycle counts to zero.
	BeginCycle(ctx context.Context) error
	// NameCycle marks the cycle in progress as Named and returns its number; ok is false when
	// no cycle is in progress.
	NameCycle(ctx context.Context) (cycle int64, ok bool, err error)
	// NameTables records that the cycle named the tables (never none).
	NameTables(ctx context.Context, cycle int64, tables []string) error
	// LockCycle reads the cycle row, locking it until the transaction ends: the cycle's number
	// and stage; ok is false when there is no cycle row.
	LockCycle(ctx context.Context) (cycle int64, stage string, ok bool, err error)
	// Unnamed lists the tables the cycle did not name, in name order.
	Unnamed(ctx context.Context, cycle int64) ([]string, error)
	// EndCycle marks the cycle as Ended.
	EndCycle(ctx context.Context) error
}

// DB is a target's way into one mirror database.
type DB interface {
	// Update runs fn in one transaction that holds the mirror's schema lock (so that the
	// schema changes and the cycle's bookkeeping of one mirror run one at a time across
	// processes) and commits it.
	Update(ctx context.Context, fn func(Tx) error) error
}

// Table is one mirror's state table and what error messages call it.
type Table struct {
	Tenant string
	// Database is what holds the mirror: "database Mirror_Cust1", "file /srv/Mirror_Cust1.db".
	Database string
	// Name is the state table's name.
	Name string
	// CheckName checks a table name that a caller gave, by the target's rule for identifiers.
	CheckName func(kind, name string) error
	// RefuseUnlisted makes Drop fail on a table the state table does not list; otherwise Drop
	// skips it (it is not the mirror's to drop). Wipe and Invalidate always refuse one.
	RefuseUnlisted bool
	DB             DB
}

// Ops are the bulk.Mirror methods that are the state table's alone: Wipe, Drop, Invalidate and
// the cycle's. A target embeds the Ops of its Table (Table.Ops) in its Mirror, so that each is
// written once, here.
type Ops struct{ table *Table }

// Ops returns the Mirror methods of t.
func (t *Table) Ops() Ops { return Ops{t} }

func (s *Table) checkNames(tables []string) error {
	for _, t := range tables {
		if err := s.CheckName("table", t); err != nil {
			return err
		}
	}
	return nil
}

// RequireListed fails when some of the tables are not in listed (as Tx.Listed returns it): a
// table the state table does not list is the partner's, and is left alone.
func (s *Table) RequireListed(listed map[string]string, tables []string) error {
	var missing []string
	for _, t := range tables {
		if _, ok := listed[t]; !ok {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not mirrored in %s (the state table %s does not list them)", strings.Join(missing, ", "), s.Database, s.Name)
	}
	return nil
}

// listed reads and locks the tables' state rows and requires every one of them.
func (s *Table) listed(ctx context.Context, tx Tx, tables []string) error {
	listed, err := tx.Listed(ctx, tables)
	if err != nil {
		return err
	}
	return s.RequireListed(listed, tables)
}

// Wipe empties the tables and sets their LSN to bulk.NoLSN in one transaction; the tables and
// their indexes stay. Every table must be listed.
func (o Ops) Wipe(ctx context.Context, tables []string) error {
	s := o.table
	if len(tables) == 0 {
		return nil
	}
	if err := s.checkNames(tables); err != nil {
		return err
	}
	// Under the schema lock, as the cycle's statements that lock state rows run: taking them in
	// another order than those would deadlock against them.
	err := s.DB.Update(ctx, func(tx Tx) error {
		if err := s.listed(ctx, tx, tables); err != nil {
			return err
		}
		if err := tx.Empty(ctx, tables); err != nil {
			return err
		}
		return tx.SetWiped(ctx, tables)
	})
	if err != nil {
		return fmt.Errorf("wipe %s: %w", strings.Join(tables, ", "), err)
	}
	return nil
}

// Drop drops the tables the state table lists, and their state rows, in one transaction.
func (o Ops) Drop(ctx context.Context, tables []string) error {
	s := o.table
	if len(tables) == 0 {
		return nil
	}
	if err := s.checkNames(tables); err != nil {
		return err
	}
	err := s.DB.Update(ctx, func(tx Tx) error { return s.drop(ctx, tx, tables) })
	if err != nil {
		return fmt.Errorf("drop %s: %w", strings.Join(tables, ", "), err)
	}
	return nil
}

func (s *Table) drop(ctx context.Context, tx Tx, tables []string) error {
	listed, err := tx.Listed(ctx, tables)
	if err != nil {
		return err
	}
	if s.RefuseUnlisted {
		if err := s.RequireListed(listed, tables); err != nil {
			return err
		}
	}
	var drop []string
	for _, t := range tables {
		if _, ok := listed[t]; ok {
			drop = append(drop, t)
		}
	}
	if len(drop) > 0 {
		if err := tx.DropTables(ctx, drop); err != nil {
			return err
		}
	}
	return tx.Forget(ctx, tables)
}

// Invalidate sets the tables' LSN to bulk.NoLSN (every table's when tables is empty), leaving
// their rows. Every table named must be listed. While a cycle is in progress it refuses
// (bulk.ErrCycleInProgress), holding the cycle row's lock so that no cycle begins meanwhile: a
// cycle that begins after it reads -1 in its TableSchema.
func (o Ops) Invalidate(ctx context.Context, tables []string) error {
	s := o.table
	if err := s.checkNames(tables); err != nil {
		return err
	}
	what := "every table"
	if len(tables) > 0 {
		what = strings.Join(tables, ", ")
	}
	err := s.DB.Update(ctx, func(tx Tx) error {
		cycle, stage, ok, err := tx.LockCycle(ctx)
		if err != nil {
			return err
		}
		if ok && stage != Ended {
			return fmt.Errorf("cycle %d: %w", cycle, bulk.ErrCycleInProgress)
		}
		if len(tables) == 0 {
			return tx.SetInvalidAll(ctx)
		}
		if err := s.listed(ctx, tx, tables); err != nil {
			return err
		}
		return tx.SetInvalid(ctx, tables)
	})
	if err != nil {
		return fmt.Errorf("invalidate %s: %w", what, err)
	}
	return nil
}

// BeginCycle starts the next cycle, or continues the one that has not ended, and sets every
// table's cycle counts to zero.
func (o Ops) BeginCycle(ctx context.Context) error {
	s := o.table
	if err := s.DB.Update(ctx, func(tx Tx) error { return tx.BeginCycle(ctx) }); err != nil {
		return fmt.Errorf("tenant %s: begin a cycle: %w", s.Tenant, err)
	}
	return nil
}

// NameTables records that the cycle in progress named the tables. A call that names none still
// marks the cycle Named: it means that no table is mirrored. Without a cycle in progress it does
// nothing.
func (o Ops) NameTables(ctx context.Context, tables []string) error {
	s := o.table
	err := s.DB.Update(ctx, func(tx Tx) error {
		cycle, ok, err := tx.NameCycle(ctx)
		if err != nil || !ok || len(tables) == 0 {
			return err
		}
		return tx.NameTables(ctx, cycle, tables)
	})
	if err != nil {
		return fmt.Errorf("tenant %s: record the tables the cycle named: %w", s.Tenant, err)
	}
	return nil
}

// EndCycle ends the cycle in progress. When it is Named, the tables none of its TableSchema
// calls named are dropped first, and returned.
func (o Ops) EndCycle(ctx context.Context) ([]string, error) {
	s := o.table
	var dropped []string
	err := s.DB.Update(ctx, func(tx Tx) error {
		dropped = nil
		cycle, stage, ok, err := tx.LockCycle(ctx)
		if err != nil || !ok {
			return err
		}
		if stage == Named {
			unnamed, err := tx.Unnamed(ctx, cycle)
			if err != nil {
				return err
			}
			// The names come from the state table, which a hand may have edited.
			if err := s.checkNames(unnamed); err != nil {
				return fmt.Errorf("state row: %w", err)
			}
			if len(unnamed) > 0 {
				if err := s.drop(ctx, tx, unnamed); err != nil {
					return err
				}
			}
			dropped = unnamed
		}
		return tx.EndCycle(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("tenant %s: end the cycle: %w", s.Tenant, err)
	}
	return dropped, nil
}

// CheckFrom checks, under the migration's lock, that the table's stored schema hash (empty when
// the state table does not list it) is the one a migration was planned from (bulk.Migration.From):
// otherwise another process changed the table meanwhile, and the migration changes nothing.
func CheckFrom(stored, from string) error {
	if stored != from {
		return fmt.Errorf("its state holds schema %.12s where the plan was made from %.12s: %w", stored, from, bulk.ErrSchemaChanged)
	}
	return nil
}

// Row is a table's row of the state table, as a target reads it.
type Row struct {
	Name     string
	Hash     string
	LSN      int64
	Changed  time.Time // zero when unknown
	Defaults string    // bulk.EncodeDefaults text
	Cycle    bulk.Counts
	Rewind   bool
}

// State is the row as a bulk.TableState whose Table holds only the name.
func (r Row) State() bulk.TableState {
	st := bulk.TableState{Table: schema.Table{Name: r.Name}, Hash: r.Hash, LSN: r.LSN, Cycle: r.Cycle, Rewind: r.Rewind}
	if !r.Changed.IsZero() {
		st.Changed = r.Changed.UTC()
	}
	return st
}

// States keys the rows' states by name (bulk.Mirror.States). A name that schema.CheckName
// refuses (the state table was edited by hand) fails the read, here and in Tables: no such
// table can be mirrored, and a target must not put it into SQL.
func States(rows []Row) (map[string]bulk.TableState, error) {
	out := make(map[string]bulk.TableState, len(rows))
	for _, r := range rows {
		if err := schema.CheckName("table", r.Name); err != nil {
			return nil, fmt.Errorf("state row: %w", err)
		}
		out[r.Name] = r.State()
	}
	return out, nil
}

// Tables puts the state rows and the tables read back from the catalog together
// (bulk.Mirror.Tables): each table's state, its columns with the defaults its row keeps, and,
// when express is given, the defaults the database cannot express. A state row whose table the
// catalog lacks (dropped by hand) is left out, so that the next schema call creates it; a table
// the catalog has but the state table does not list is not the mirror's, and left out too.
func Tables(rows []Row, catalog map[string]schema.Table, express bulk.Expressor) (map[string]bulk.TableState, error) {
	out := make(map[string]bulk.TableState, len(rows))
	for _, r := range rows {
		if err := schema.CheckName("table", r.Name); err != nil {
			return nil, fmt.Errorf("state row: %w", err)
		}
		table, ok := catalog[r.Name]
		if !ok {
			continue
		}
		st := r.State()
		st.Table = table
		st.Table.Name = r.Name
		if err := bulk.DecodeDefaults(&st.Table, r.Defaults); err != nil {
			return nil, err
		}
		if express != nil {
			st.KeptDefaults = bulk.KeptDefaults(st.Table, express)
		}
		out[r.Name] = st
	}
	return out, nil
}

// Kind is the kind of value a state table column holds; each target spells it in its own SQL.
type Kind int

const (
	Text    Kind = iota // nullable text
	Number              // a nullable 64-bit integer
	Counter             // a 64-bit integer, NOT NULL DEFAULT 0
)

// Column is a column of the state table that a version after the first added.
type Column struct {
	Name string
	Kind Kind
}

// Added are the state table's columns that versions after the first added, in order: a target
// creates the state table with them, and adds those an older state table lacks (Missing).
var Added = []Column{
	{"defaults", Text},      // the SQL Server defaults the table keeps (bulk.EncodeDefaults)
	{"cycle", Number},       // the cycle that last named the table
	{"inserted", Counter},   // the rows the current cycle inserted,
	{"updated", Counter},    // updated
	{"deleted", Counter},    // and deleted
	{"wiped_cycle", Number}, // the cycle that last created or wiped the table
}

// Missing returns the columns of Added that have (a state table's columns) lacks.
func Missing(have []string) []Column {
	var out []Column
	for _, c := range Added {
		if !slices.Contains(have, c.Name) {
			out = append(out, c)
		}
	}
	return out
}
