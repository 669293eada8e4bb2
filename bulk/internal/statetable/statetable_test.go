package statetable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// fakeDB is a state table in memory: the listed tables with their hashes, the cycle row, and the
// calls each transaction made. A failed transaction's changes are kept (the fake does not roll
// back), so that the tests see what ran before the failure.
type fakeDB struct {
	listed      map[string]string
	named       map[string]int64
	cycle       int64
	stage       string // "" when there is no cycle row
	calls       []string
	invalidated bool
}

func (d *fakeDB) Update(ctx context.Context, fn func(Tx) error) error {
	d.calls = append(d.calls, "begin")
	err := fn(fakeTx{d})
	d.calls = append(d.calls, "end")
	return err
}

type fakeTx struct{ d *fakeDB }

func (t fakeTx) call(name string, tables []string) {
	t.d.calls = append(t.d.calls, name+" "+strings.Join(tables, ","))
}

func (t fakeTx) Listed(_ context.Context, tables []string) (map[string]string, error) {
	t.call("listed", tables)
	out := map[string]string{}
	for _, n := range tables {
		if h, ok := t.d.listed[n]; ok {
			out[n] = h
		}
	}
	return out, nil
}
func (t fakeTx) Empty(_ context.Context, tables []string) error { t.call("empty", tables); return nil }
func (t fakeTx) DropTables(_ context.Context, tables []string) error {
	t.call("drop", tables)
	return nil
}
func (t fakeTx) Forget(_ context.Context, tables []string) error {
	t.call("forget", tables)
	for _, n := range tables {
		delete(t.d.listed, n)
	}
	return nil
}
func (t fakeTx) SetWiped(_ context.Context, tables []string) error {
	t.call("wiped", tables)
	return nil
}
func (t fakeTx) SetInvalid(_ context.Context, tables []string) error {
	t.call("invalid", tables)
	return nil
}
func (t fakeTx) SetInvalidAll(context.Context) error {
	t.d.invalidated = true
	return nil
}
func (t fakeTx) BeginCycle(context.Context) error {
	switch t.d.stage {
	case "":
		t.d.cycle, t.d.stage = 1, Open
	case Ended:
		t.d.cycle, t.d.stage = t.d.cycle+1, Open
	}
	t.call("begin-cycle", nil)
	return nil
}
func (t fakeTx) NameCycle(context.Context) (int64, bool, error) {
	if t.d.stage == "" || t.d.stage == Ended {
		return 0, false, nil
	}
	t.d.stage = Named
	return t.d.cycle, true, nil
}
func (t fakeTx) NameTables(_ context.Context, cycle int64, tables []string) error {
	t.call("name", tables)
	for _, n := range tables {
		t.d.named[n] = cycle
	}
	return nil
}
func (t fakeTx) LockCycle(context.Context) (int64, string, bool, error) {
	return t.d.cycle, t.d.stage, t.d.stage != "", nil
}
func (t fakeTx) Unnamed(_ context.Context, cycle int64) ([]string, error) {
	var out []string
	for n := range t.d.listed {
		if t.d.named[n] != cycle {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
func (t fakeTx) EndCycle(context.Context) error {
	t.d.stage = Ended
	t.call("end-cycle", nil)
	return nil
}

func newTable(refuse bool) (*Table, *fakeDB) {
	db := &fakeDB{listed: map[string]string{"a": "ha", "b": "hb", "c": "hc"}, named: map[string]int64{}}
	return &Table{Tenant: "Cust1", Database: "database Mirror_Cust1", Name: "Cust1_mirroring", CheckName: schema.CheckName, RefuseUnlisted: refuse, DB: db}, db
}

func TestWipeDropInvalidate(t *testing.T) {
	ctx := context.Background()
	s, db := newTable(false)
	if err := s.Ops().Wipe(ctx, []string{"a", "partner"}); err == nil || !strings.Contains(err.Error(), "wipe a, partner: partner not mirrored in database Mirror_Cust1 (the state table Cust1_mirroring does not list them)") {
		t.Errorf("Wipe of a partner's table: %v", err)
	}
	if slices.Contains(db.calls, "empty a,partner") {
		t.Error("Wipe emptied tables when one is not listed")
	}
	db.calls = nil
	if err := s.Ops().Wipe(ctx, []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"begin", "listed a,b", "empty a,b", "wiped a,b", "end"}; !slices.Equal(db.calls, want) {
		t.Errorf("Wipe ran %q, want %q", db.calls, want)
	}
	if err := s.Ops().Wipe(ctx, []string{"a;b"}); err == nil {
		t.Error("Wipe of a bad name: no error")
	}
	db.calls = nil
	if err := s.Ops().Drop(ctx, []string{"a", "partner"}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"begin", "listed a,partner", "drop a", "forget a,partner", "end"}; !slices.Equal(db.calls, want) {
		t.Errorf("Drop ran %q, want %q", db.calls, want)
	}
	strict, _ := newTable(true)
	if err := strict.Ops().Drop(ctx, []string{"b", "partner"}); err == nil || !strings.Contains(err.Error(), "partner not mirrored") {
		t.Errorf("strict Drop of a partner's table: %v", err)
	}
	db.calls = nil
	if err := s.Ops().Invalidate(ctx, nil); err != nil || !db.invalidated || !slices.Equal(db.calls, []string{"begin", "end"}) {
		t.Errorf("Invalidate of every table: %v, %t, %q", err, db.invalidated, db.calls)
	}
	if err := s.Ops().Invalidate(ctx, []string{"b"}); err != nil || !slices.Contains(db.calls, "invalid b") {
		t.Errorf("Invalidate b: %v, %q", err, db.calls)
	}
	if err := s.Ops().Invalidate(ctx, []string{"partner"}); err == nil {
		t.Error("Invalidate of a partner's table: no error")
	}
	for _, f := range []func() error{
		func() error { return s.Ops().Wipe(ctx, nil) },
		func() error { return s.Ops().Drop(ctx, nil) },
	} {
		db.calls = nil
		if err := f(); err != nil || len(db.calls) != 0 {
			t.Errorf("an empty list: %v, %q", err, db.calls)
		}
	}
}

func TestCycle(t *testing.T) {
	ctx := context.Background()
	s, db := newTable(false)
	// Without a cycle, naming tables and ending do nothing.
	if err := s.Ops().NameTables(ctx, []string{"a"}); err != nil || len(db.named) != 0 {
		t.Errorf("NameTables without a cycle: %v, %v", err, db.named)
	}
	if dropped, err := s.Ops().EndCycle(ctx); err != nil || dropped != nil {
		t.Errorf("EndCycle without a cycle: %v, %v", dropped, err)
	}
	// A cycle that makes no TableSchema call drops nothing.
	must(t, s.Ops().BeginCycle(ctx))
	if dropped, err := s.Ops().EndCycle(ctx); err != nil || dropped != nil || db.stage != Ended {
		t.Errorf("EndCycle of an open cycle: %v, %v, stage %s", dropped, err, db.stage)
	}
	// A named cycle drops what none of its calls named; a second BeginCycle continues it.
	must(t, s.Ops().BeginCycle(ctx))
	must(t, s.Ops().NameTables(ctx, []string{"a"}))
	must(t, s.Ops().BeginCycle(ctx))
	must(t, s.Ops().NameTables(ctx, []string{"c"}))
	if db.cycle != 2 {
		t.Errorf("cycle %d, want 2", db.cycle)
	}
	dropped, err := s.Ops().EndCycle(ctx)
	if err != nil || !slices.Equal(dropped, []string{"b"}) {
		t.Errorf("EndCycle dropped %v, %v; want b", dropped, err)
	}
	if _, ok := db.listed["b"]; ok || !slices.Contains(db.calls, "drop b") {
		t.Errorf("b is still listed, or was not dropped: %q", db.calls)
	}
	// A call that names no table still counts: every table goes.
	must(t, s.Ops().BeginCycle(ctx))
	must(t, s.Ops().NameTables(ctx, nil))
	if dropped, err := s.Ops().EndCycle(ctx); err != nil || !slices.Equal(dropped, []string{"a", "c"}) {
		t.Errorf("EndCycle after a call that named nothing dropped %v, %v", dropped, err)
	}
	// A hand-edited name in the state table fails the end rather than reach SQL.
	db.listed["x;y"] = "h"
	must(t, s.Ops().BeginCycle(ctx))
	must(t, s.Ops().NameTables(ctx, nil))
	if _, err := s.Ops().EndCycle(ctx); err == nil || !strings.Contains(err.Error(), "tenant Cust1: end the cycle: state row:") {
		t.Errorf("EndCycle with a bad state row: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStatesAndTables(t *testing.T) {
	changed := time.Date(2024, 3, 1, 10, 0, 0, 0, time.FixedZone("x", 3600))
	rows := []Row{
		{Name: "a", Hash: "ha", LSN: 7, Changed: changed, Defaults: `{"n":"((0))"}`, Cycle: bulk.Counts{Inserted: 1}, Rewind: true},
		{Name: "gone", Hash: "hg", LSN: bulk.NoLSN},
	}
	states, err := States(rows)
	if err != nil {
		t.Fatal(err)
	}
	a := states["a"]
	if len(states) != 2 || a.Table.Name != "a" || a.Hash != "ha" || a.LSN != 7 || !a.Changed.Equal(changed) || a.Changed.Location() != time.UTC ||
		a.Cycle.Inserted != 1 || !a.Rewind || !states["gone"].Changed.IsZero() {
		t.Errorf("States = %+v", states)
	}
	catalog := map[string]schema.Table{
		"a":       {Columns: []schema.Column{{Name: "id", Type: schema.Int, PrimaryKey: true}, {Name: "n", Type: schema.Int, Nullable: true}}},
		"partner": {Columns: []schema.Column{{Name: "id", Type: schema.Int}}},
	}
	noExpress := func(c schema.Column) (string, bool) { return "", c.Default == "" }
	tables, err := Tables(rows, catalog, noExpress)
	if err != nil {
		t.Fatal(err)
	}
	ta, ok := tables["a"]
	if len(tables) != 1 || !ok || ta.Table.Name != "a" || ta.Table.Columns[1].Default != "((0))" || !slices.Equal(ta.KeptDefaults, []string{"n"}) || ta.LSN != 7 {
		t.Errorf("Tables = %+v", tables)
	}
	if tables, _ := Tables(rows, catalog, nil); tables["a"].KeptDefaults != nil {
		t.Errorf("Tables without an expressor kept %v", tables["a"].KeptDefaults)
	}
	bad := []Row{{Name: "a]b"}}
	if _, err := States(bad); err == nil {
		t.Error("States of a bad name: no error")
	}
	if _, err := Tables(bad, nil, nil); err == nil {
		t.Error("Tables of a bad name: no error")
	}
	if _, err := Tables([]Row{{Name: "a", Defaults: "{"}}, catalog, nil); err == nil {
		t.Error("Tables of defaults that do not parse: no error")
	}
}

func TestMissing(t *testing.T) {
	all := []string{"tablename", "schemahash", "lsn", "changed_at"}
	for _, c := range Added {
		all = append(all, c.Name)
	}
	if m := Missing(all); len(m) != 0 {
		t.Errorf("Missing of a current state table: %v", m)
	}
	if m := fmt.Sprint(Missing(all[:6])); m != "[{inserted 2} {updated 2} {deleted 2} {wiped_cycle 1}]" {
		t.Errorf("Missing of an old state table: %s", m)
	}
}

func TestCheckFrom(t *testing.T) {
	if err := CheckFrom("abc", "abc"); err != nil {
		t.Error(err)
	}
	if err := CheckFrom("", "abc"); !errors.Is(err, bulk.ErrSchemaChanged) {
		t.Errorf("CheckFrom of a table no longer listed: %v", err)
	}
}
