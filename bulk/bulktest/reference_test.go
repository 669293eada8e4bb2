package bulktest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// The suite cannot meet a real database here (each target runs it from its own package), so it
// is checked against a reference model: the Mirror contract written as plainly as possible, in
// memory. Limits make the model lossy the way targets are, to prove the suite asserts each
// declared limit and rejects an undeclared one.

type refLimits struct {
	precision  time.Duration
	dropOffset bool
	rejectNul  bool
	unsignZero bool
	foldKeys   bool // keys compare without case, as a case-insensitive collation does
}

type refStore struct {
	mu      sync.Mutex
	tenants map[string]*refDB
}

type refTarget struct {
	store  *refStore
	limits refLimits
}

type refDB struct {
	mu     sync.Mutex
	tables map[string]*refTable
	cycle  int64  // the number of the last cycle begun
	stage  string // "open", "named" or "ended"
}

type refTable struct {
	def    schema.Table
	hash   string
	lsn    int64
	rows   [][]any
	cycle  int64 // the cycle that last named it
	wiped  int64 // the cycle that created or wiped it
	counts bulk.Counts
}

type refMirror struct {
	db     *refDB
	limits refLimits
}

func (r *refTarget) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	if err := schema.CheckName("tenant", tenant); err != nil {
		return nil, err
	}
	r.store.mu.Lock()
	defer r.store.mu.Unlock()
	db := r.store.tenants[tenant]
	if db == nil {
		db = &refDB{tables: map[string]*refTable{}}
		r.store.tenants[tenant] = db
	}
	return &refMirror{db: db, limits: r.limits}, nil
}

func (r *refTarget) Ping(context.Context) error { return nil }
func (r *refTarget) Close() error               { return nil }

func (m *refMirror) Close() error { return nil }

func (m *refMirror) Tables(context.Context) (map[string]bulk.TableState, error) {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	out := map[string]bulk.TableState{}
	for name, t := range m.db.tables {
		out[name] = bulk.TableState{Table: renamed(t.def, t.def.Name), Hash: t.hash, LSN: t.lsn, Cycle: t.counts, Rewind: m.rewind(t)}
	}
	return out, nil
}

// rewind says whether the cycle in progress created or wiped the table.
func (m *refMirror) rewind(t *refTable) bool {
	return m.db.stage != "" && m.db.stage != "ended" && t.wiped == m.db.cycle
}

func (m *refMirror) States(ctx context.Context) (map[string]bulk.TableState, error) {
	out, err := m.Tables(ctx)
	for name, st := range out {
		st.Table = schema.Table{Name: name}
		out[name] = st
	}
	return out, err
}

func (m *refMirror) Migrate(_ context.Context, mig bulk.Migration) error {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	plan := mig.Plan
	name := plan.Desired.Name
	cur := m.db.tables[name]
	stored := ""
	if cur != nil {
		stored = cur.hash
	}
	if stored != mig.From {
		return fmt.Errorf("table %s: %w", name, bulk.ErrSchemaChanged)
	}
	switch plan.Action {
	case schema.None:
		if cur != nil {
			cur.hash = plan.Desired.Hash()
		}
		return nil
	case schema.Create, schema.Recreate:
		if plan.Action == schema.Create && cur != nil {
			return fmt.Errorf("table %s exists", name)
		}
		cycle := int64(0)
		if m.db.stage != "ended" {
			cycle = m.db.cycle
		}
		m.db.tables[name] = &refTable{def: plan.Desired, hash: plan.Desired.Hash(), lsn: bulk.NoLSN, cycle: cycle, wiped: cycle}
	case schema.Alter:
		if cur == nil {
			return fmt.Errorf("table %s is not mirrored", name)
		}
		rows := make([][]any, len(cur.rows))
		for i, old := range cur.rows {
			row := make([]any, len(plan.Desired.Columns))
			for j, c := range plan.Desired.Columns {
				if k := cur.def.Column(c.Name); k >= 0 {
					row[j] = old[k]
				}
			}
			rows[i] = row
		}
		cur.def, cur.hash, cur.rows = plan.Desired, plan.Desired.Hash(), rows
	}
	return nil
}

func (m *refMirror) each(tables []string, f func(*refTable)) error {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	if len(tables) == 0 {
		tables = slices.Collect(maps.Keys(m.db.tables))
	}
	for _, name := range tables {
		if m.db.tables[name] == nil {
			return fmt.Errorf("table %s is not mirrored", name)
		}
	}
	for _, name := range tables {
		f(m.db.tables[name])
	}
	return nil
}

func (m *refMirror) Wipe(_ context.Context, tables []string) error {
	return m.each(tables, func(t *refTable) {
		t.rows, t.lsn = nil, bulk.NoLSN
		if m.db.stage != "" && m.db.stage != "ended" {
			t.wiped = m.db.cycle
		}
	})
}

func (m *refMirror) Invalidate(_ context.Context, tables []string) error {
	m.db.mu.Lock()
	inCycle := m.db.stage != "" && m.db.stage != "ended"
	cycle := m.db.cycle
	m.db.mu.Unlock()
	if inCycle {
		return fmt.Errorf("invalidate: cycle %d: %w", cycle, bulk.ErrCycleInProgress)
	}
	return m.each(tables, func(t *refTable) { t.lsn = bulk.NoLSN })
}

func (m *refMirror) Drop(_ context.Context, tables []string) error {
	return m.each(tables, func(t *refTable) { delete(m.db.tables, t.def.Name) })
}

func (m *refMirror) BeginCycle(context.Context) error {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	if m.db.stage == "" || m.db.stage == "ended" {
		m.db.cycle++
		m.db.stage = "open"
	}
	for _, t := range m.db.tables {
		t.counts = bulk.Counts{}
	}
	return nil
}

func (m *refMirror) NameTables(_ context.Context, tables []string) error {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	if m.db.stage != "open" && m.db.stage != "named" {
		return nil
	}
	m.db.stage = "named"
	for _, name := range tables {
		if t := m.db.tables[name]; t != nil {
			t.cycle = m.db.cycle
		}
	}
	return nil
}

func (m *refMirror) EndCycle(context.Context) ([]string, error) {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	var dropped []string
	if m.db.stage == "named" {
		for name, t := range m.db.tables {
			if t.cycle != m.db.cycle {
				dropped = append(dropped, name)
				delete(m.db.tables, name)
			}
		}
	}
	if m.db.stage != "" {
		m.db.stage = "ended"
	}
	slices.Sort(dropped)
	return dropped, nil
}

func (m *refMirror) RowCount(_ context.Context, table string) (int64, error) {
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	t := m.db.tables[table]
	if t == nil {
		return 0, fmt.Errorf("table %s is not mirrored", table)
	}
	return int64(len(t.rows)), nil
}

// store is what the model keeps of a value, under its limits.
func (m *refMirror) store(table string, col schema.Column, v any) (any, error) {
	switch x := v.(type) {
	case string:
		if m.limits.rejectNul && strings.ContainsRune(x, 0) {
			return nil, fmt.Errorf("table %s, column %s: U+0000 cannot be stored", table, col.Name)
		}
	case float64:
		if m.limits.unsignZero && x == 0 {
			return 0.0, nil
		}
	case []byte:
		return slices.Clone(x), nil
	case time.Time:
		if m.limits.precision > 0 && col.Type != schema.Date {
			x = x.Truncate(m.limits.precision)
		}
		if m.limits.dropOffset && col.Type == schema.DateTimeOffset {
			x = x.UTC()
		}
		return x, nil
	case bulk.TimeOfDay:
		if m.limits.precision > 0 {
			return bulk.TimeOfDay(time.Duration(x).Truncate(m.limits.precision)), nil
		}
	}
	return v, nil
}

func (m *refMirror) Apply(ctx context.Context, table schema.Table, rows bulk.Rows, opts bulk.ApplyOptions) (bulk.Counts, error) {
	var counts bulk.Counts
	type change struct {
		op   bulk.Op
		cols []int
		vals []any
	}
	var changes []change
	key := table.Key()
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return bulk.Counts{}, err
		}
		if len(key) == 0 && rows.Op() != bulk.Insert {
			return bulk.Counts{}, fmt.Errorf("table %s: %w", table.Name, bulk.ErrNoKey)
		}
		c := change{op: rows.Op(), cols: slices.Clone(rows.Columns())}
		for i, v := range rows.Values() {
			s, err := m.store(table.Name, table.Columns[c.cols[i]], v.Any())
			if err != nil {
				return bulk.Counts{}, err
			}
			c.vals = append(c.vals, s)
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return bulk.Counts{}, fmt.Errorf("table %s: reading rows: %w", table.Name, err)
	}
	lsn, hasLSN := int64(0), false
	if opts.LSN != nil {
		lsn, hasLSN = opts.LSN()
	}
	if err := ctx.Err(); err != nil {
		return bulk.Counts{}, err
	}
	m.db.mu.Lock()
	defer m.db.mu.Unlock()
	t := m.db.tables[table.Name]
	if t == nil {
		return bulk.Counts{}, fmt.Errorf("table %s is not mirrored: %w", table.Name, bulk.ErrSchemaChanged)
	}
	if opts.Hash != "" && opts.Hash != t.hash {
		return bulk.Counts{}, fmt.Errorf("table %s: %w", table.Name, bulk.ErrSchemaChanged)
	}
	if hasLSN {
		if err := bulk.CheckLSN(table.Name, t.lsn, lsn, m.rewind(t)); err != nil {
			return bulk.Counts{}, err
		}
	}
	keyOf := func(row []any) string {
		if m.limits.foldKeys {
			return strings.ToLower(sortKey(table, row))
		}
		return sortKey(table, row)
	}
	next := slices.Clone(t.rows)
	find := func(k string) int {
		return slices.IndexFunc(next, func(r []any) bool { return keyOf(r) == k })
	}
	for _, c := range changes {
		row := make([]any, len(table.Columns))
		for i, col := range c.cols {
			row[col] = c.vals[i]
		}
		if len(key) == 0 {
			next = append(next, row)
			counts.Inserted++
			continue
		}
		at := find(keyOf(row))
		switch {
		case c.op == bulk.Delete && at >= 0:
			next = slices.Delete(next, at, at+1)
			counts.Deleted++
		case c.op == bulk.Delete:
		case at >= 0:
			updated := slices.Clone(next[at])
			for i, col := range c.cols {
				updated[col] = c.vals[i]
			}
			next[at] = updated
			counts.Updated++
		default:
			next = append(next, row)
			counts.Inserted++
		}
	}
	t.rows = next
	if hasLSN {
		t.lsn = lsn
	}
	t.counts.Add(counts)
	return counts, nil
}

// ReadRows gives the model's rows, so that the suite reads it back as it reads a target.
func (m *refMirror) ReadRows(_ context.Context, table schema.Table, fn func([]any) error) error {
	m.db.mu.Lock()
	t := m.db.tables[table.Name]
	if t == nil {
		m.db.mu.Unlock()
		return fmt.Errorf("no table %s", table.Name)
	}
	def, rows := t.def, slices.Clone(t.rows)
	m.db.mu.Unlock()
	row := make([]any, len(table.Columns))
	for _, r := range rows {
		for i, c := range table.Columns {
			k := def.Column(c.Name)
			if k < 0 {
				return fmt.Errorf("table %s has no column %s", table.Name, c.Name)
			}
			row[i] = r[k]
		}
		if err := fn(row); err != nil {
			return err
		}
	}
	return nil
}

// Kept is what store keeps of a value.
func (m *refMirror) Kept(c schema.Column, v any) any {
	kept, err := m.store("", c, v)
	if err != nil {
		return v
	}
	return kept
}

func refHarness(limits refLimits) Harness {
	h := Harness{
		Open: func(t *testing.T) bulk.Target {
			return &refTarget{store: &refStore{tenants: map[string]*refDB{}}, limits: limits}
		},
		Reopen: func(t *testing.T, old bulk.Target) bulk.Target {
			return &refTarget{store: old.(*refTarget).store, limits: limits}
		},
		Limits: Limits{TimePrecision: limits.precision, KeepsOffset: !limits.dropOffset, NulInText: !limits.rejectNul, SignedZero: !limits.unsignZero, VarcharUnicode: true, AllDefaults: true},
	}
	return h
}

func TestSuiteAgainstExactModel(t *testing.T) {
	Run(t, refHarness(refLimits{}))
}

func TestSuiteAgainstLossyModel(t *testing.T) {
	Run(t, refHarness(refLimits{precision: time.Microsecond, dropOffset: true, rejectNul: true, unsignZero: true}))
}

// TestSuiteCatchesUndeclaredLimits runs the round trip against lossy models that declare no
// limits, each in a test process of its own (so that the expected failure stays there): each
// must fail.
func TestSuiteCatchesUndeclaredLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts test processes")
	}
	for _, name := range slices.Sorted(maps.Keys(undeclared)) {
		t.Run(name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestUndeclaredLimit$", "-test.count=1")
			cmd.Env = append(os.Environ(), "BULKTEST_UNDECLARED="+name)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), "--- FAIL: TestUndeclaredLimit") {
				t.Errorf("the suite passes a target that does not keep %s but does not declare it (%v):\n%s", name, err, out)
			}
		})
	}
}

var undeclared = map[string]refLimits{
	"microseconds":  {precision: time.Microsecond},
	"offset":        {dropOffset: true},
	"nul":           {rejectNul: true},
	"negative zero": {unsignZero: true},
	"folded keys":   {foldKeys: true},
}

// TestUndeclaredLimit is the inner test of TestSuiteCatchesUndeclaredLimits and fails on purpose.
func TestUndeclaredLimit(t *testing.T) {
	limits, ok := undeclared[os.Getenv("BULKTEST_UNDECLARED")]
	if !ok {
		t.Skip("runs inside TestSuiteCatchesUndeclaredLimits only")
	}
	h := refHarness(limits)
	h.Limits = Limits{NulInText: true, KeepsOffset: true, SignedZero: true}
	s := &suite{h: h, target: h.Open(t)}
	m := s.mirror(t, "CustInner")
	t.Run("RoundTrip", func(t *testing.T) { s.testRoundTrip(t, m) })
	t.Run("NulInText", func(t *testing.T) { s.testNulInText(t, m) })
	t.Run("CharKeys", func(t *testing.T) { s.testCharKeys(t, m) })
}
