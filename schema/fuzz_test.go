package schema

import (
	"maps"
	"slices"
	"testing"
)

// fuzzNames are few, so that two fuzzed tables share columns; "A" and "B" collide with "a" and
// "b" without case.
var fuzzNames = []string{"id", "a", "b", "c", "d", "e", "A", "B"}

// fuzzTypes are the known types in a fixed order, their aliases, and spellings in other case.
var fuzzTypes = append(slices.Sorted(maps.Keys(typeRules)), "rowversion", "timestamp", "INT", "NVarChar", "Decimal")

var fuzzLengths = []int{1, 2, 10, 50, 450, 4000, 8000, Max}

// fuzzDefaults are few, so that two fuzzed columns often share a default. The first is none, so
// that a name byte below len(fuzzNames) makes a column without a default, as before defaults were
// fuzzed; the others differ in value, in case only, or in surrounding whitespace only.
var fuzzDefaults = []string{"", "((0))", "((1))", " ((0))\t", "(getdate())", "(GETDATE())", "(N'')", "(NULL)"}

// fuzzTable reads a table from data, four bytes a column: name (and default), type, size, flags.
// The sizes are chosen from each type's range, so most inputs make valid tables.
func fuzzTable(data []byte) Table {
	table := Table{Name: "t"}
	for len(data) >= 4 && len(table.Columns) < 12 {
		name, typ, size, flags := data[0], data[1], data[2], data[3]
		data = data[4:]
		c := Column{
			Name:       fuzzNames[int(name)%len(fuzzNames)],
			Type:       Type(fuzzTypes[int(typ)%len(fuzzTypes)]),
			Nullable:   flags&1 != 0,
			PrimaryKey: flags&2 != 0,
			Default:    fuzzDefaults[int(name)/len(fuzzNames)%len(fuzzDefaults)],
		}
		rule := typeRules[c.Normalize().Type]
		switch {
		case rule.decimal:
			c.Precision = 1 + int(size)%38
			c.Scale = int(flags>>2) % (c.Precision + 1)
		case rule.fraction:
			c.Scale = int(size) % 8 // 7 is the largest valid scale: 8 tests the checks.
		case rule.maxLength > 0:
			c.Length = fuzzLengths[int(size)%len(fuzzLengths)]
		default:
			c.Length = int(size) // Not used by the type: Normalize must drop it.
		}
		table.Columns = append(table.Columns, c)
	}
	return table
}

// widenings are the type changes that may keep the data, as DESIGN.md lists them.
var widenings = map[[2]Type]bool{
	{TinyInt, SmallInt}: true, {TinyInt, Int}: true, {TinyInt, BigInt}: true,
	{SmallInt, Int}: true, {SmallInt, BigInt}: true, {Int, BigInt}: true,
	{Real, Float}: true, {VarChar, NVarChar}: true,
}

func FuzzDiff(f *testing.F) {
	// Types by index: 0 bigint, 8 decimal, 11 int, 16 nvarchar, 22 time, 23 tinyint, 25 varbinary,
	// 26 varchar, 28 rowversion, 29 timestamp, 30 INT.
	f.Add([]byte{0, 11, 0, 2, 1, 26, 2, 1}, []byte{0, 11, 0, 2, 1, 26, 3, 1, 2, 11, 0, 1})             // widen, add
	f.Add([]byte{0, 11, 0, 2, 1, 8, 30, 9}, []byte{0, 11, 0, 2, 1, 8, 33, 13})                         // decimal(31,2) to (34,3)
	f.Add([]byte{0, 11, 0, 2, 1, 16, 7, 0}, []byte{1, 16, 7, 1, 0, 11, 0, 2})                          // reorder, relax
	f.Add([]byte{0, 11, 0, 2, 1, 11, 0, 2}, []byte{1, 11, 0, 2, 0, 30, 4, 2})                          // composite key reordered
	f.Add([]byte{0, 11, 0, 2, 1, 26, 2, 1}, []byte{0, 11, 0, 2, 6, 26, 2, 1})                          // rename by case
	f.Add([]byte{0, 11, 0, 2, 2, 28, 0, 0}, []byte{0, 11, 0, 2, 2, 29, 0, 0, 3, 22, 5, 1})             // rowversion, timestamp
	f.Add([]byte{0, 11, 0, 2, 3, 11, 0, 0}, []byte{0, 11, 0, 0, 3, 11, 0, 2})                          // key moves
	f.Add([]byte{0, 11, 0, 2, 4, 25, 2, 1, 5, 23, 0, 1}, []byte{0, 11, 0, 2, 4, 25, 7, 1, 5, 0, 0, 1}) // varbinary max, tinyint to bigint
	f.Add([]byte{0, 11, 0, 2, 1, 22, 7, 1}, []byte{0, 11, 0, 2, 1, 22, 3, 1})                          // time(7) to time(3)
	// A name byte of 8k+i is name i with default k: 9 is "a" with ((0)), 17 "a" with ((1)).
	f.Add([]byte{0, 11, 0, 2, 1, 11, 0, 0}, []byte{0, 11, 0, 2, 9, 11, 0, 0})                 // default added
	f.Add([]byte{0, 11, 0, 2, 9, 11, 0, 0}, []byte{0, 11, 0, 2, 17, 11, 0, 0})                // default changed
	f.Add([]byte{0, 11, 0, 2, 9, 11, 0, 1}, []byte{0, 11, 0, 2, 25, 11, 0, 1})                // whitespace only
	f.Add([]byte{0, 11, 0, 2, 33, 26, 2, 1}, []byte{0, 11, 0, 2, 41, 26, 3, 1, 50, 11, 0, 1}) // case only, widen, add with default
	f.Add([]byte{0, 11, 0, 2, 9, 11, 0, 0, 10, 11, 0, 1}, []byte{8, 11, 0, 0, 17, 11, 0, 2})  // key change with defaults
	f.Fuzz(func(t *testing.T, currentData, desiredData []byte) {
		current, err := fuzzTable(currentData).Validate()
		if err != nil {
			return
		}
		desired, err := fuzzTable(desiredData).Validate()
		if err != nil {
			return
		}
		if p := Diff(nil, desired); p.Action != Create || !equalTables(p.Desired, desired) || p.Reason != "" {
			t.Fatalf("Diff(nil, %v) = %+v, want a create plan", desired, p)
		}
		if p := Diff(&desired, desired); p.Action != None {
			t.Fatalf("Diff(t, t) = %+v for t = %v, want none", p, desired)
		}
		plan := Diff(&current, desired)
		checkPlan(t, current, desired, plan)
		checkDefaultsDecideNothing(t, current, desired, plan)
	})
}

// checkDefaultsDecideNothing checks that defaults never change how a table is migrated: the plan
// without them has the same action (or none instead of an alter of defaults alone) and adds,
// widens and drops the same columns for the same reason.
func checkDefaultsDecideNothing(t *testing.T, current, desired Table, plan Plan) {
	t.Helper()
	bare := Diff(ptr(withoutDefaults(current)), withoutDefaults(desired))
	names := func(cols []Column) []string {
		var n []string
		for _, c := range cols {
			n = append(n, c.Name)
		}
		return n
	}
	action := plan.Action
	if action == Alter && len(plan.Add)+len(plan.Widen)+len(plan.Drop) == 0 {
		action = None
	}
	if action != bare.Action || plan.Reason != bare.Reason || !slices.Equal(names(plan.Add), names(bare.Add)) ||
		!slices.Equal(names(plan.Widen), names(bare.Widen)) || !slices.Equal(plan.Drop, bare.Drop) {
		t.Fatalf("defaults change the plan from %v to %v: without them %+v, with them %+v", current, desired, bare, plan)
	}
}

func withoutDefaults(t Table) Table {
	cols := slices.Clone(t.Columns)
	for i := range cols {
		cols[i].Default = ""
	}
	return Table{Name: t.Name, Columns: cols}
}

func ptr[T any](v T) *T { return &v }

// checkPlan checks what every plan from current to desired must satisfy.
func checkPlan(t *testing.T, current, desired Table, plan Plan) {
	t.Helper()
	if !equalTables(plan.Desired, desired) {
		t.Fatalf("plan.Desired = %v, want %v", plan.Desired, desired)
	}
	if plan.Action == Recreate {
		if plan.Reason == "" || plan.Add != nil || plan.Widen != nil || plan.Drop != nil || plan.Defaults != nil {
			t.Fatalf("recreate plan %+v: want a reason and nothing to add, widen, drop or change the default of", plan)
		}
		return
	}
	if plan.Action != None && plan.Action != Alter {
		t.Fatalf("Diff(%v, %v) = %s, want none, alter or recreate", current, desired, plan.Action)
	}
	if plan.Reason != "" {
		t.Fatalf("%s plan has reason %q", plan.Action, plan.Reason)
	}
	changes := len(plan.Add) + len(plan.Widen) + len(plan.Drop) + len(plan.Defaults)
	if plan.Action == None && changes > 0 {
		t.Fatalf("none plan %+v has changes", plan)
	}
	if plan.Action == Alter && changes == 0 {
		t.Fatalf("alter plan %+v has no changes", plan)
	}
	if !sameKey(keyNames(current), keyNames(desired)) {
		t.Fatalf("%s plan from key %v to key %v", plan.Action, keyNames(current), keyNames(desired))
	}
	before := columnsByName(current.Columns)
	for _, c := range plan.Add {
		if !c.Nullable {
			t.Fatalf("plan adds NOT NULL column %s", c.Name)
		}
		if _, ok := before[c.Name]; ok {
			t.Fatalf("plan adds column %s, which exists", c.Name)
		}
	}
	for _, d := range plan.Widen {
		c, ok := before[d.Name]
		if !ok {
			t.Fatalf("plan widens column %s, which does not exist", d.Name)
		}
		checkWidening(t, c, d)
	}
	for _, d := range plan.Defaults {
		c, ok := before[d.Name]
		if !ok {
			t.Fatalf("plan changes the default of column %s, which does not exist", d.Name)
		}
		if c.Default == d.Default {
			t.Fatalf("plan changes the default of column %s to %q, which it already has", d.Name, d.Default)
		}
	}

	after := applyPlan(current, plan)
	if want := columnsByName(desired.Columns); !maps.Equal(after, want) {
		t.Fatalf("applying %+v to %v gives columns %v, want %v", plan, current, after, want)
	}
	applied := Table{Name: desired.Name}
	for _, c := range current.Columns {
		if a, ok := after[c.Name]; ok {
			applied.Columns = append(applied.Columns, a)
		}
	}
	applied.Columns = append(applied.Columns, plan.Add...)
	if again := Diff(&applied, desired); again.Action != None {
		t.Fatalf("after applying %+v, Diff plans %+v again", plan, again)
	}
}

// checkWidening checks that the change of c to d cannot lose a value: no attribute shrinks.
func checkWidening(t *testing.T, c, d Column) {
	t.Helper()
	if c.Nullable && !d.Nullable {
		t.Fatalf("column %s is altered in place from NULL to NOT NULL", d.Name)
	}
	if c.Type != d.Type && !widenings[[2]Type{c.Type, d.Type}] {
		t.Fatalf("column %s is altered in place from %s to %s", d.Name, c.TypeString(), d.TypeString())
	}
	if c.Length == Max && d.Length != Max || d.Length != Max && d.Length < c.Length {
		t.Fatalf("column %s shrinks from %s to %s", d.Name, c.TypeString(), d.TypeString())
	}
	if (c.Type == Char || c.Type == NChar || c.Type == Binary) && d.Length != c.Length {
		t.Fatalf("fixed-length column %s changes length from %s to %s", d.Name, c.TypeString(), d.TypeString())
	}
	integerDigits := func(c Column) int {
		if typeRules[c.Type].decimal {
			return c.Precision - c.Scale
		}
		return 0
	}
	if d.Scale < c.Scale || integerDigits(d) < integerDigits(c) {
		t.Fatalf("column %s loses digits from %s to %s", d.Name, c.TypeString(), d.TypeString())
	}
}

func columnsByName(cols []Column) map[string]Column {
	m := make(map[string]Column, len(cols))
	for _, c := range cols {
		m[c.Name] = c
	}
	return m
}

// applyPlan does to current's columns what an Alter plan asks, by name, as the targets do it:
// widening changes a column's type and nullability and keeps its default; only Defaults change
// defaults.
func applyPlan(current Table, plan Plan) map[string]Column {
	cols := columnsByName(current.Columns)
	for _, c := range plan.Add {
		cols[c.Name] = c
	}
	for _, c := range plan.Widen {
		c.Default = cols[c.Name].Default
		cols[c.Name] = c
	}
	for _, c := range plan.Defaults {
		col := cols[c.Name]
		col.Default = c.Default
		cols[c.Name] = col
	}
	for _, name := range plan.Drop {
		delete(cols, name)
	}
	return cols
}

// TestDiffCasesKeepInvariants runs the fuzz checks on every case of the case file too.
func TestDiffCasesKeepInvariants(t *testing.T) {
	for _, tc := range readDiffCases(t) {
		if tc.Current == nil {
			continue
		}
		current := parseTable(t, "contact", tc.Current)
		if _, err := current.Validate(); err != nil {
			continue
		}
		desired, err := parseTable(t, "contact", tc.Desired).Validate()
		if err != nil {
			t.Fatalf("%s: %v", tc.Name, err)
		}
		t.Run(tc.Name, func(t *testing.T) {
			plan := Diff(&current, desired)
			checkPlan(t, current.Normalize(), desired, plan)
			checkDefaultsDecideNothing(t, current.Normalize(), desired, plan)
		})
	}
}
