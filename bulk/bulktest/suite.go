package bulktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var contact = table("contact",
	"contact_id int key",
	"name nvarchar(220) null",
	"registered datetime null",
)

func (s *suite) testOpen(t *testing.T) {
	ctx := t.Context()
	if err := s.target.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	m, err := s.target.Open(ctx, "CustOpen")
	if err != nil {
		t.Fatalf("Open(CustOpen): %v", err)
	}
	tables, err := m.Tables(ctx)
	if err != nil {
		t.Fatalf("Tables: %v", err)
	}
	if len(tables) != 0 {
		t.Errorf("a new mirror lists tables %v, want none (the state table is not a mirrored table)", tables)
	}
	if s.h.ExecSQL != nil {
		if err := s.h.ExecSQL(ctx, m, `SELECT COUNT(*) FROM "`+bulk.StateTable("CustOpen")+`"`); err != nil {
			t.Errorf("the state table %s cannot be read: %v", bulk.StateTable("CustOpen"), err)
		}
	}
	s.create(t, m, contact)
	s.apply(t, m, contact, withLSN(7), ins("contact_id,name", 1, "Fjord & Co"))

	if err := m.Close(); err != nil {
		t.Fatalf("closing the mirror: %v", err)
	}
	// The same tenant opened again finds what it left: the mirror is created once.
	again := s.mirror(t, "CustOpen")
	st := tableState(t, again, "contact")
	expectTable(t, st.Table, contact)
	if st.LSN != 7 || st.Hash != contact.Hash() {
		t.Errorf("reopened mirror: LSN %d hash %s, want 7 and %s", st.LSN, st.Hash, contact.Hash())
	}
	expectCount(t, again, "contact", 1)

	other := s.mirror(t, "CustOpen2")
	if tables, err := other.Tables(ctx); err != nil || len(tables) != 0 {
		t.Errorf("another tenant's new mirror lists %v, %v; want no tables", tables, err)
	}

	t.Run("Restart", func(t *testing.T) {
		if s.h.Reopen == nil {
			t.Skip("the Harness has no Reopen")
		}
		first := s.h.Open(t)
		m, err := first.Open(ctx, "CustRestart")
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		s.create(t, m, contact)
		s.apply(t, m, contact, withLSN(3), ins("contact_id,name", 1, "a"), ins("contact_id,name", 2, "b"))
		if err := m.Close(); err != nil {
			t.Fatalf("closing the mirror: %v", err)
		}
		if err := first.Close(); err != nil {
			t.Fatalf("closing the target: %v", err)
		}
		second := s.h.Reopen(t, first)
		t.Cleanup(func() { second.Close() })
		m2 := openMirror(t, second, "CustRestart")
		st := tableState(t, m2, "contact")
		expectTable(t, st.Table, contact)
		if st.LSN != 3 {
			t.Errorf("after a restart: LSN %d, want 3", st.LSN)
		}
		expectCount(t, m2, "contact", 2)
		s.apply(t, m2, contact, withLSN(4), upd("contact_id,name", 2, "B"))
		s.expectRows(t, m2, contact, fullRows(t, contact, "contact_id,name", []any{1, "a"}, []any{2, "B"}))
	})
}

var partnerNotes = table("partner_notes", "id int key", "note varchar(100) null")

func (s *suite) testPartnerTables(t *testing.T) {
	if s.h.ExecSQL == nil {
		t.Skip("the Harness has no ExecSQL")
	}
	ctx := t.Context()
	m := s.mirror(t, "CustPartner")
	for _, stmt := range []string{
		`CREATE TABLE "partner_notes" ("id" INT NOT NULL PRIMARY KEY, "note" VARCHAR(100))`,
		`INSERT INTO "partner_notes" ("id", "note") VALUES (1, 'keep me')`,
	} {
		if err := s.h.ExecSQL(ctx, m, stmt); err != nil {
			t.Fatalf("ExecSQL(%s): %v", stmt, err)
		}
	}
	kept := fullRows(t, partnerNotes, "id,note", []any{1, "keep me"})
	s.create(t, m, contact)
	s.apply(t, m, contact, withLSN(1), ins("contact_id,name", 1, "x"))

	tables, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, listed := tables["partner_notes"]; listed || len(tables) != 1 {
		t.Errorf("Tables lists %v, want only contact: a partner's table is not mirrored", slicesSorted(tables))
	}
	// Each of these may fail or do nothing, but must leave the partner's table alone.
	_ = m.Wipe(ctx, []string{"partner_notes"})
	_ = m.Invalidate(ctx, nil)
	_ = m.Wipe(ctx, []string{"contact"})
	_ = m.Drop(ctx, []string{"partner_notes"})
	_ = m.Drop(ctx, []string{"contact"})
	s.expectRows(t, m, partnerNotes, kept)

	// Creating a mirrored table over the partner's must fail rather than adopt or replace it.
	other := table("partner_notes", "id int key", "amount bigint null")
	if err := migrate(ctx, m, schema.Diff(nil, other)); err == nil {
		t.Errorf("Migrate created table partner_notes over the partner's own table")
	}
	s.expectRows(t, m, partnerNotes, kept)
	if tables, err := m.Tables(ctx); err != nil || len(tables) != 0 {
		t.Errorf("Tables lists %v, %v after contact was dropped; want none", slicesSorted(tables), err)
	}
}

func slicesSorted(tables map[string]bulk.TableState) []string {
	var names []string
	for n := range tables {
		names = append(names, n)
	}
	return names
}

// allTypes has a column of every type of PROTOCOL.md, with length, precision and scale variants.
var allTypes = table("all_types",
	"id int key",
	"c_bit bit null", "c_tinyint tinyint null", "c_smallint smallint null", "c_int int null", "c_bigint bigint null",
	"c_decimal decimal(10,2) null", "c_decimal_38_0 decimal(38,0) null", "c_numeric_38_10 numeric(38,10) null", "c_numeric_5_1 numeric(5,1) null",
	"c_money money null", "c_smallmoney smallmoney null", "c_float float null", "c_real real null",
	"c_date date null", "c_time_0 time(0) null", "c_time time(7) null", "c_datetime datetime null",
	"c_datetime2_3 datetime2(3) null", "c_datetime2 datetime2(7) null", "c_smalldatetime smalldatetime null",
	"c_datetimeoffset datetimeoffset(7) null", "c_datetimeoffset_0 datetimeoffset(0) null",
	"c_char char(10) null", "c_varchar varchar(50) null", "c_varchar_max varchar(max) null",
	"c_nchar nchar(10) null", "c_nvarchar nvarchar(4000) null", "c_nvarchar_max nvarchar(max) null",
	"c_text text null", "c_ntext ntext null", "c_xml xml null",
	"c_binary binary(16) null", "c_varbinary varbinary(8000) null", "c_varbinary_max varbinary(max) null",
	"c_image image null", "c_guid uniqueidentifier null", "c_rowversion timestamp null",
	"c_required nvarchar(20)",
)

func (s *suite) testMigrate(t *testing.T, m bulk.Mirror) {
	ctx := t.Context()
	tbl := renamed(allTypes, "migrated")
	plan := schema.Diff(nil, tbl)
	if err := migrate(ctx, m, plan); err != nil {
		t.Fatalf("Migrate create: %v", err)
	}
	st := tableState(t, m, tbl.Name)
	expectTable(t, st.Table, tbl)
	if st.Hash != tbl.Hash() || st.LSN != bulk.NoLSN {
		t.Errorf("after create: hash %s LSN %d, want %s and %d", st.Hash, st.LSN, tbl.Hash(), bulk.NoLSN)
	}
	values := map[string]any{
		"c_int": 2147483647, "c_decimal": "12345678.91", "c_numeric_5_1": "1234.5", "c_real": "1.25",
		"c_varchar": "Blåbærsyltetøy", "c_varbinary": "AAEC", "c_datetime2_3": "2024-03-01T10:22:05.123",
		"c_bigint": "-9223372036854775808", "c_required": "must",
	}
	var names []string
	var vals []any
	for _, c := range tbl.Columns {
		if v, ok := values[c.Name]; ok {
			names, vals = append(names, c.Name), append(vals, v)
		}
	}
	cols := "id," + strings.Join(names, ",")
	s.apply(t, m, st.Table, withLSN(100), ins(cols, append([]any{1}, vals...)...), ins("id,c_required", 2, "x"))

	// Alter: add a nullable column, widen six, relax NOT NULL, drop one.
	altered := renamed(tbl, tbl.Name)
	altered.Columns = nil
	for _, c := range tbl.Columns {
		switch c.Name {
		case "c_int":
			c.Type = schema.BigInt
		case "c_decimal":
			c.Precision, c.Scale = 12, 3
		case "c_varchar":
			c.Type, c.Length = schema.NVarChar, 80
		case "c_real":
			c.Type = schema.Float
		case "c_varbinary":
			c.Length = schema.Max
		case "c_datetime2_3":
			c.Scale = 7
		case "c_required":
			c.Nullable = true
		case "c_numeric_5_1":
			continue
		}
		altered.Columns = append(altered.Columns, c)
	}
	altered.Columns = append(altered.Columns, schema.Column{Name: "c_added", Type: schema.NVarChar, Length: 30, Nullable: true})
	altered, err := altered.Validate()
	if err != nil {
		t.Fatal(err)
	}
	plan = schema.Diff(&st.Table, altered)
	if plan.Action != schema.Alter || len(plan.Add) != 1 || len(plan.Widen) != 7 || len(plan.Drop) != 1 {
		t.Fatalf("bulktest: the alter case plans %v with %d adds, %d widens, %d drops (%s)", plan.Action, len(plan.Add), len(plan.Widen), len(plan.Drop), plan.Reason)
	}
	if err := migrate(ctx, m, plan); err != nil {
		t.Fatalf("Migrate alter: %v", err)
	}
	st = tableState(t, m, tbl.Name)
	expectTable(t, st.Table, altered)
	if st.Hash != altered.Hash() || st.LSN != 100 {
		t.Errorf("after alter: hash %s LSN %d, want %s and 100 (kept)", st.Hash, st.LSN, altered.Hash())
	}
	delete(values, "c_numeric_5_1")
	names, vals = nil, nil
	for _, c := range altered.Columns {
		if v, ok := values[c.Name]; ok {
			names, vals = append(names, c.Name), append(vals, v)
		}
	}
	want := fullRows(t, altered, "id,"+strings.Join(names, ","), append([]any{1}, vals...))
	want = append(want, fullRows(t, altered, "id,c_required", []any{2, "x"})...)
	s.expectRows(t, m, altered, want)

	// None: the catalog read back already is the desired table.
	plan = schema.Diff(&st.Table, altered)
	if plan.Action != schema.None {
		t.Errorf("the catalog read back after alter differs from the desired table: plan %v %+v", plan.Action, plan)
	}
	if err := migrate(ctx, m, schema.Plan{Action: schema.None, Desired: altered}); err != nil {
		t.Errorf("Migrate none: %v", err)
	}
	expectLSN(t, m, tbl.Name, 100)
	expectCount(t, m, tbl.Name, 2)

	// Recreate: a type change keeps no data.
	recreated := renamed(altered, tbl.Name)
	recreated.Columns[recreated.Column("c_bigint")].Type = schema.NVarChar
	recreated.Columns[recreated.Column("c_bigint")].Length = 20
	plan = schema.Diff(&st.Table, recreated)
	if plan.Action != schema.Recreate {
		t.Fatalf("bulktest: the recreate case plans %v", plan.Action)
	}
	if err := migrate(ctx, m, plan); err != nil {
		t.Fatalf("Migrate recreate: %v", err)
	}
	st = tableState(t, m, tbl.Name)
	expectTable(t, st.Table, recreated)
	if st.Hash != recreated.Hash() || st.LSN != bulk.NoLSN {
		t.Errorf("after recreate: hash %s LSN %d, want %s and %d", st.Hash, st.LSN, recreated.Hash(), bulk.NoLSN)
	}
	expectCount(t, m, tbl.Name, 0)
}

func (s *suite) testWipeDropInvalidate(t *testing.T) {
	ctx := t.Context()
	m := s.mirror(t, "CustWipe")
	var tbls []schema.Table
	for i, name := range []string{"w1", "w2", "w3"} {
		tbl := s.create(t, m, renamed(items, name))
		s.apply(t, m, tbl, withLSN(int64(10+i)), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...))
		tbls = append(tbls, tbl)
	}
	// A table that holds no row yet (as every table created in a cycle is when the Task wipes
	// it) is wiped beside tables that hold rows.
	empty := s.create(t, m, renamed(items, "w0"))
	if err := m.Wipe(ctx, []string{"w0", "w1", "w2"}); err != nil {
		t.Fatalf("Wipe: %v", err)
	}
	for _, tbl := range append([]schema.Table{empty}, tbls[:2]...) {
		expectCount(t, m, tbl.Name, 0)
		st := tableState(t, m, tbl.Name)
		expectTable(t, st.Table, tbl)
		if st.LSN != bulk.NoLSN || st.Hash != tbl.Hash() {
			t.Errorf("after Wipe, %s has LSN %d and hash %s; want %d and its hash", tbl.Name, st.LSN, st.Hash, bulk.NoLSN)
		}
	}
	expectCount(t, m, "w3", 2)
	expectLSN(t, m, "w3", 12)
	s.apply(t, m, tbls[0], emptyWithLSN(20), ins(itemCols, item(5, "e", 5, "")...))
	expectLSN(t, m, "w1", 20)

	if err := m.Invalidate(ctx, []string{"w3"}); err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	expectLSN(t, m, "w3", bulk.NoLSN)
	expectLSN(t, m, "w1", 20)
	expectCount(t, m, "w3", 2)
	if err := m.Invalidate(ctx, nil); err != nil {
		t.Fatalf("Invalidate of every table: %v", err)
	}
	for _, tbl := range tbls {
		expectLSN(t, m, tbl.Name, bulk.NoLSN)
	}
	expectCount(t, m, "w1", 1)

	// While a cycle is in progress (its TableSchema has read the LSNs, its RowData would write
	// theirs over -1), Invalidate changes nothing; after the cycle's end it works.
	s.apply(t, m, tbls[0], withLSN(30), upd(itemCols, item(5, "f", 6, "")...))
	if err := m.BeginCycle(ctx); err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{{"w1"}, nil} {
		err := m.Invalidate(ctx, names)
		if !errors.Is(err, bulk.ErrCycleInProgress) {
			t.Errorf("Invalidate %v in a cycle: error %v, want ErrCycleInProgress", names, err)
		}
		expectError(t, err, "Invalidate in a cycle", "cycle")
	}
	expectLSN(t, m, "w1", 30)
	if _, err := m.EndCycle(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Invalidate(ctx, []string{"w1"}); err != nil {
		t.Fatalf("Invalidate after the cycle's end: %v", err)
	}
	expectLSN(t, m, "w1", bulk.NoLSN)

	if err := m.Drop(ctx, []string{"w2"}); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	tables, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tables["w2"]; ok || len(tables) != 3 { // w0, w1, w3
		t.Errorf("after Drop of w2, Tables lists %v", slicesSorted(tables))
	}
	if n, err := m.RowCount(ctx, "w2"); err == nil {
		t.Errorf("RowCount of a dropped table gave %d and no error", n)
	}
	s.create(t, m, tbls[1])
	expectCount(t, m, "w2", 0)
}

func (s *suite) testConcurrency(t *testing.T) {
	const rowsEach = 200
	// Rows are built before the goroutines start, since building may stop the test.
	rowsOf := func(t *testing.T, tbl schema.Table, tag string) []bulk.Row {
		var texts []rowText
		for i := 1; i <= rowsEach; i++ {
			texts = append(texts, ins(itemCols, item(i, tag, i, fmt.Sprintf("%s row %d", tag, i))...))
		}
		return buildRows(t, tbl, texts...)
	}
	load := func(ctx context.Context, m bulk.Mirror, tbl schema.Table, rows []bulk.Row, lsn int64) error {
		_, err := m.Apply(ctx, tbl, bulk.NewSliceRows(rows), withLSN(lsn))
		return err
	}
	check := func(t *testing.T, m bulk.Mirror, tbl schema.Table, tag string, lsn int64) {
		var want [][]any
		for i := 1; i <= rowsEach; i++ {
			want = append(want, item(i, tag, i, fmt.Sprintf("%s row %d", tag, i)))
		}
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, want...))
		expectLSN(t, m, tbl.Name, lsn)
	}

	t.Run("Tables", func(t *testing.T) {
		m := s.mirror(t, "CustConcurrent")
		tbls := make([]schema.Table, 4)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range tbls {
			tbls[i] = renamed(items, fmt.Sprintf("parallel_%d", i))
			wg.Go(func() { errs[i] = migrate(t.Context(), m, schema.Diff(nil, tbls[i])) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
		for i := range tbls {
			rows := rowsOf(t, tbls[i], tbls[i].Name)
			wg.Go(func() { errs[i] = load(t.Context(), m, tbls[i], rows, int64(100+i)) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent Apply: %v", err)
		}
		for i, tbl := range tbls {
			check(t, m, tbl, tbl.Name, int64(100+i))
		}
	})

	t.Run("Tenants", func(t *testing.T) {
		tenants := []string{"CustTenantA", "CustTenantB"}
		mirrors := make([]bulk.Mirror, len(tenants))
		for i, tenant := range tenants {
			mirrors[i] = s.mirror(t, tenant)
		}
		var wg sync.WaitGroup
		errs := make([]error, len(tenants))
		for i := range tenants {
			rows := rowsOf(t, items, tenants[i])
			wg.Go(func() {
				if err := migrate(t.Context(), mirrors[i], schema.Diff(nil, items)); err != nil {
					errs[i] = err
					return
				}
				errs[i] = load(t.Context(), mirrors[i], items, rows, int64(200+i))
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent tenants: %v", err)
		}
		for i, tenant := range tenants {
			check(t, mirrors[i], items, tenant, int64(200+i))
		}
	})
}
