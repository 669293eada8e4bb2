package schema

import (
	"fmt"
	"slices"
	"strings"
)

// Action is what a plan does to a table.
type Action int

const (
	// None: the mirror already holds the desired schema.
	None Action = iota
	// Create: the table does not exist yet.
	Create
	// Alter: columns are added, widened or dropped, or defaults changed, in place; the data stays.
	Alter
	// Recreate: the change cannot keep the data; the table is dropped, created anew and its LSN set to -1.
	Recreate
)

func (a Action) String() string {
	switch a {
	case None:
		return "none"
	case Create:
		return "create"
	case Alter:
		return "alter"
	case Recreate:
		return "recreate"
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// Plan is what it takes to turn a mirror table into the desired one.
type Plan struct {
	Action Action
	// Desired is the normalized table the plan ends with.
	Desired Table
	// Add are columns to add, in desired order (Alter only). Each carries its default, which
	// applies to rows inserted later: the rows already in the table get NULL in the new column,
	// as they do in SQL Server when a nullable column is added with a default.
	Add []Column
	// Widen are columns changed in place to their desired definition: a larger type, a longer
	// length, more precision or fractional digits, or NOT NULL relaxed to NULL (Alter only).
	// Widening changes the type and nullability alone; a column whose default changes as well is
	// also in Defaults.
	Widen []Column
	// Drop are names of columns to drop (Alter only).
	Drop []string
	// Defaults are existing columns, none of them in Add, whose default changes, in desired
	// order (Alter only). Each is the desired column: its Default is the new one, "" meaning
	// drop the default. A change of default changes no row.
	Defaults []Column
	// Reason says why a Recreate cannot keep the data.
	Reason string
}

// Diff plans how to turn current (nil when the mirror has no such table) into desired. Both are
// normalized first; desired must have passed Validate. Columns are matched by exact name; a
// change of column order alone needs nothing, not even when it reorders a composite key.
//
// In place: adding a nullable column, dropping a column, widening (tinyint < smallint < int <
// bigint, real to float, a longer varchar, nvarchar or varbinary up to max, varchar to nvarchar
// of no fewer characters, decimal with no fewer integer or fraction digits, more fractional second
// digits), relaxing NOT NULL, and adding, changing or dropping a default. Everything else
// recreates: another type, a shorter length, a fixed-length char or binary column of another
// length, NULL tightened to NOT NULL, a new NOT NULL column (the source's existing rows hold
// values the mirror cannot know; a default does not change that, since the source's rows need
// not hold the default), a column renamed by a change of case, or any change of the set of
// primary key columns. A default never decides between Alter and Recreate: two tables that
// differ only in defaults make an Alter with Defaults alone, and under Recreate the desired
// table carries its defaults.
//
// Defaults compare as text, exactly, case and all: SQL Server writes the catalog text itself
// (sys.default_constraints.definition), so one server writes one default the same way each
// time, and two texts that differ mean the default was defined anew. Telling "(GETDATE())" from
// "(getdate())" costs at most one needless in-place change; reading two different texts as
// equal could miss a real one.
func Diff(current *Table, desired Table) Plan {
	desired = desired.Normalize()
	if current == nil {
		return Plan{Action: Create, Desired: desired}
	}
	cur := current.Normalize()
	recreate := func(format string, args ...any) Plan {
		return Plan{Action: Recreate, Desired: desired, Reason: fmt.Sprintf(format, args...)}
	}
	if a, b := keyNames(cur), keyNames(desired); !sameKey(a, b) {
		return recreate("primary key changes from (%s) to (%s)", strings.Join(a, ","), strings.Join(b, ","))
	}
	var plan Plan
	for _, d := range desired.Columns {
		i := cur.Column(d.Name)
		if i < 0 {
			// SQL Server and SQLite compare column names without case, so adding "name" beside
			// "Name" fails there; with no rename in a plan, a change of case alone recreates.
			if j := columnFold(cur, d.Name); j >= 0 {
				return recreate("column %s is renamed to %s", cur.Columns[j].Name, d.Name)
			}
			if !d.Nullable {
				return recreate("column %s is added as NOT NULL, and the values of existing rows are unknown", d.Name)
			}
			plan.Add = append(plan.Add, d)
			continue
		}
		c := cur.Columns[i]
		if c.Default != d.Default {
			plan.Defaults = append(plan.Defaults, d)
		}
		// What remains to compare is the type and nullability: a default changes in place alone.
		c.Default = d.Default
		if c == d {
			continue
		}
		if !c.Nullable && d.Nullable || c.Nullable == d.Nullable {
			if sameType(c, d) || widens(c, d) {
				plan.Widen = append(plan.Widen, d)
				continue
			}
			return recreate("column %s changes type from %s to %s", d.Name, c.TypeString(), d.TypeString())
		}
		return recreate("column %s changes from NULL to NOT NULL", d.Name)
	}
	for _, c := range cur.Columns {
		if desired.Column(c.Name) < 0 {
			plan.Drop = append(plan.Drop, c.Name)
		}
	}
	if len(plan.Add)+len(plan.Widen)+len(plan.Drop)+len(plan.Defaults) == 0 {
		return Plan{Action: None, Desired: desired}
	}
	plan.Action, plan.Desired = Alter, desired
	return plan
}

// keyNames lists the primary key columns in column order.
func keyNames(t Table) []string {
	var names []string
	for _, i := range t.Key() {
		names = append(names, t.Columns[i].Name)
	}
	return names
}

// sameKey compares keys as sets: the message marks key columns without an order, so a change of
// column order alone must not look like a new key.
func sameKey(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// columnFold returns the index of the column whose name equals name without case, or -1.
func columnFold(t Table, name string) int {
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func sameType(a, b Column) bool {
	return a.Type == b.Type && a.Length == b.Length && a.Precision == b.Precision && a.Scale == b.Scale
}

// widens reports whether every value of column a fits column b unchanged, so that the column
// can be altered in place.
func widens(a, b Column) bool {
	if alo, ahi, ok := a.Type.IntegerRange(); ok {
		blo, bhi, ok := b.Type.IntegerRange()
		return ok && a.Type != b.Type && blo <= alo && bhi >= ahi
	}
	switch {
	case a.Type == Real && b.Type == Float:
		return true
	case a.Type.HasDigits() && a.Type == b.Type:
		return b.Scale >= a.Scale && b.Precision-b.Scale >= a.Precision-a.Scale
	case a.Type.HasFraction() && a.Type == b.Type:
		return b.Scale >= a.Scale
	case a.Type == VarChar && (b.Type == VarChar || b.Type == NVarChar),
		a.Type == NVarChar && b.Type == NVarChar,
		a.Type == VarBinary && b.Type == VarBinary:
		return longer(a.Length, b.Length)
	}
	return false
}

func longer(a, b int) bool {
	if b == Max {
		return true
	}
	return a != Max && b >= a
}
