package bulktest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
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

// typeCases are values at the edges of each type, as text. The round trip writes them in rows
// (row i takes case i of each column, NULL where a column has fewer) plus a row of NULLs.
func typeCases() map[string][]any {
	nines := strings.Repeat("9", 38)
	rng := rand.New(rand.NewPCG(1, 2))
	mb := make([]byte, 1<<20)
	for i := range mb {
		mb[i] = byte(rng.IntN(256))
	}
	mb[0], mb[len(mb)-1] = 0, 0
	b8000 := make([]byte, 8000)
	for i := range b8000 {
		b8000[i] = byte(i)
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string][]any{
		"c_bit":              {"0", "1", "true"},
		"c_tinyint":          {"0", "255"},
		"c_smallint":         {"-32768", "32767", "0"},
		"c_int":              {"-2147483648", "2147483647"},
		"c_bigint":           {"-9223372036854775808", "9223372036854775807"},
		"c_decimal":          {"-99999999.99", "99999999.99", "0.01", "0.00"},
		"c_decimal_38_0":     {"-" + nines, nines, "0"},
		"c_numeric_38_10":    {"-" + nines[:28] + "." + nines[:10], nines[:28] + "." + nines[:10], "0.0000000001", "-0.0000000001"},
		"c_numeric_5_1":      {"-9999.9", "9999.9"},
		"c_money":            {"-922337203685477.5808", "922337203685477.5807", "0.0001"},
		"c_smallmoney":       {"-214748.3648", "214748.3647"},
		"c_float":            {"1.7976931348623157e308", "-1.7976931348623157e308", "5e-324", "-0", "INF", "-INF", "NaN", "2.2250738585072014e-308", "0.1"},
		"c_real":             {"3.4028235e38", "-3.4028235e38", "1e-45", "-0", "1.1754944e-38", "0.1"},
		"c_date":             {"0001-01-01", "9999-12-31", "2024-02-29"},
		"c_time_0":           {"00:00:00", "23:59:59"},
		"c_time":             {"00:00:00", "23:59:59.9999999", "12:34:56.1234567", "00:00:00.0000001"},
		"c_datetime":         {"1753-01-01T00:00:00", "9999-12-31T23:59:59.997", "2024-03-01T10:22:05.003"},
		"c_datetime2_3":      {"0001-01-01T00:00:00", "9999-12-31T23:59:59.999"},
		"c_datetime2":        {"0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999", "2024-03-01T10:22:05.1234567", "1969-12-31T23:59:59.9999999"},
		"c_smalldatetime":    {"1900-01-01T00:00:00", "2079-06-06T23:59:00"},
		"c_datetimeoffset":   {"2024-03-01T10:22:05.1234567-14:00", "2024-03-01T10:22:05.1234567+14:00", "2024-03-01T10:22:05.1234567+05:30", "0001-01-01T14:00:00+14:00", "9999-12-31T09:59:59.9999999-14:00", "2024-03-01T10:22:05+00:00"},
		"c_datetimeoffset_0": {"2024-03-01T10:22:05-05:00", "2024-03-01T10:22:05+00:00"},
		"c_char":             {"abcdefghij", "ÆØÅæøåéüß!"},
		"c_varchar":          {"", "Blåbærsyltetøy", strings.Repeat("x", 50), "tab\there"},
		"c_varchar_max":      {strings.Repeat("Lorem ipsum dolor sit amet. ", 4000)},
		"c_nchar":            {"ÆØÅ😀abcde", "          "},
		"c_nvarchar":         {strings.Repeat("😀", 2000), strings.Repeat("é", 4000), "", "CR\rLF\nCRLF\r\ntab\tend", "  spaces  ", "𝄞 and 中文"},
		"c_nvarchar_max":     {strings.Repeat("Æ😀a\r\n", 30000), ""},
		"c_text":             {"text\r\nwith CRLF", ""},
		"c_ntext":            {"ñ😀\r", "x"},
		"c_xml":              {`<a b="1">x &amp; y</a>`, `<a>ü😀</a>`},
		"c_binary":           {enc(make([]byte, 16)), enc([]byte{0, 1, 0, 2, 0, 3, 0, 4, 255, 254, 0, 0, 0, 0, 0, 1})},
		"c_varbinary":        {"", "AA==", enc(b8000)},
		"c_varbinary_max":    {enc(mb), "AAAA"},
		"c_image":            {"AAECAwQ=", ""},
		"c_guid":             {"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		"c_rowversion":       {"AAAAAAAAB9E=", "AAAAAAAAAAA="},
		"c_required":         {"required", ""},
	}
}

// typeRows makes the round trip rows: full rows with every column, as text.
func typeRows(tbl schema.Table, limits Limits) [][]any {
	cases := typeCases()
	if limits.NoFloatSpecials {
		cases["c_float"] = slices.DeleteFunc(slices.Clone(cases["c_float"]), func(v any) bool {
			return v == "INF" || v == "-INF" || v == "NaN"
		})
	}
	n := 0
	for _, c := range cases {
		n = max(n, len(c))
	}
	rows := make([][]any, n+1)
	for i := range rows {
		row := make([]any, len(tbl.Columns))
		for j, c := range tbl.Columns {
			switch vals := cases[c.Name]; {
			case c.Name == "id":
				row[j] = i + 1
			case i < len(vals):
				row[j] = vals[i]
			case c.Name == "c_required":
				row[j] = "-"
			}
		}
		rows[i] = row
	}
	return rows
}

func allColumns(tbl schema.Table) string {
	var names []string
	for _, c := range tbl.Columns {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func (s *suite) testRoundTrip(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, allTypes)
	expectTable(t, tbl, allTypes)
	texts := typeRows(tbl, s.h.Limits)
	cols := allColumns(tbl)
	var first []rowText
	for _, r := range texts {
		first = append(first, ins(cols, r...))
	}
	// The first load goes straight into the empty table; the second updates every row through
	// the merge path, each row taking the next row's values, so NULLs replace values and back.
	counts := s.apply(t, m, tbl, emptyWithLSN(1), first...)
	expectCounts(t, counts, int64(len(texts)), 0, 0)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, texts...))
	expectLSN(t, m, tbl.Name, 1)

	var second []rowText
	var want [][]any
	for i := range texts {
		next := append([]any{i + 1}, texts[(i+1)%len(texts)][1:]...)
		second = append(second, upd(cols, next...))
		want = append(want, next)
	}
	counts = s.apply(t, m, tbl, withLSN(2), second...)
	expectCounts(t, counts, 0, int64(len(texts)), 0)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, want...))
	expectLSN(t, m, tbl.Name, 2)
}

// keyed has a primary key of several types, so that merge and delete match on each of them.
var keyed = table("keyed",
	"k_nvarchar nvarchar(40) key", "k_int int key", "k_guid uniqueidentifier key", "k_date date key",
	"k_datetime2 datetime2(7) key", "k_decimal decimal(18,4) key", "value nvarchar(20) null",
)

func (s *suite) testCompositeKey(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, keyed)
	cols := allColumns(tbl)
	a := []any{"Åse 😀", 1, "6f9619ff-8b86-d011-b42d-00c04fc964ff", "2024-02-29", "2024-03-01T10:22:05.1234567", "-12.5"}
	b := []any{"Åse 😀", 2, "6f9619ff-8b86-d011-b42d-00c04fc964ff", "2024-02-29", "2024-03-01T10:22:05.1234567", "-12.5"}
	c := []any{"åse 😀", 1, "00000000-0000-0000-0000-000000000001", "0001-01-01", "9999-12-31T23:59:59.9999999", "99999999999999.9999"}
	with := func(key []any, v any) []any { return append(append([]any{}, key...), v) }
	s.apply(t, m, tbl, withLSN(1), ins(cols, with(a, "a")...), ins(cols, with(b, "b")...), ins(cols, with(c, "c")...))
	keyCols := strings.TrimSuffix(cols, ",value")
	counts := s.apply(t, m, tbl, withLSN(2), upd(cols, with(a, "a2")...), del(keyCols, b...), upd(cols, with(c, "c2")...))
	expectCounts(t, counts, 0, 2, 1)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, with(a, "a2"), with(c, "c2")))
}

var nulText = table("nul_text", "id int key", "s_nul nvarchar(100) null")

func (s *suite) testNulInText(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, nulText)
	s.apply(t, m, tbl, withLSN(1), ins("id,s_nul", 1, "before"))
	rows := bulk.NewSliceRows(buildRows(t, tbl, ins("id,s_nul", 2, "plain"), ins("id,s_nul", 3, "a\x00b")))
	_, err := m.Apply(t.Context(), tbl, rows, withLSN(2))
	if s.h.Limits.NulInText {
		if err != nil {
			t.Fatalf("Apply of U+0000 in a string: %v (the Harness declares NulInText)", err)
		}
		s.expectRows(t, m, tbl, fullRows(t, tbl, "id,s_nul", []any{1, "before"}, []any{2, "plain"}, []any{3, "a\x00b"}))
		expectLSN(t, m, tbl.Name, 2)
		return
	}
	expectError(t, err, "Apply of U+0000 in a string (the Harness declares no NulInText)", "nul_text", "s_nul")
	s.expectRows(t, m, tbl, fullRows(t, tbl, "id,s_nul", []any{1, "before"}))
	expectLSN(t, m, tbl.Name, 1)
}

var floats = table("float_specials", "id int key", "f float null")

// testFloatSpecials checks a target that declares NoFloatSpecials refuses INF and NaN whole;
// targets that hold them are covered by the round trip.
func (s *suite) testFloatSpecials(t *testing.T, m bulk.Mirror) {
	if !s.h.Limits.NoFloatSpecials {
		t.Skip("the target holds INF, -INF and NaN: the round trip covers them")
	}
	tbl := s.create(t, m, floats)
	s.apply(t, m, tbl, withLSN(1), ins("id,f", 1, "1.5"))
	for _, v := range []string{"INF", "-INF", "NaN"} {
		rows := bulk.NewSliceRows(buildRows(t, tbl, ins("id,f", 2, "2.5"), ins("id,f", 3, v)))
		_, err := m.Apply(t.Context(), tbl, rows, withLSN(2))
		expectError(t, err, "Apply of "+v+" into a float (the Harness declares NoFloatSpecials)", "float_specials", "f")
		s.expectRows(t, m, tbl, fullRows(t, tbl, "id,f", []any{1, "1.5"}))
		expectLSN(t, m, tbl.Name, 1)
	}
}

var items = table("items", "id int key", "name nvarchar(50) null", "qty int null", "note nvarchar(max) null")

const itemCols = "id,name,qty,note"

func item(id int, name string, qty int, note string) []any { return []any{id, name, qty, note} }

func (s *suite) testApply(t *testing.T, m bulk.Mirror) {
	t.Run("InsertUpdateDelete", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_basic"))
		counts := s.apply(t, m, tbl, withLSN(10),
			ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...))
		expectCounts(t, counts, 3, 0, 0)
		expectLSN(t, m, tbl.Name, 10)
		counts = s.apply(t, m, tbl, withLSN(11),
			upd(itemCols, item(1, "a2", 10, "x2")...), del("id", 2), ins(itemCols, item(4, "d", 4, "w")...))
		expectCounts(t, counts, 1, 1, 1)
		expectLSN(t, m, tbl.Name, 11)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(1, "a2", 10, "x2"), item(3, "c", 3, "z"), item(4, "d", 4, "w")))

		// Re-delivery rules, and no LSN: the table keeps 11.
		counts = s.apply(t, m, tbl, bulk.ApplyOptions{},
			ins(itemCols, item(3, "c2", 30, "z2")...), // insert of an existing key updates it
			upd(itemCols, item(9, "i", 9, "v")...),    // update of a missing key inserts it
			del("id", 42),                             // delete of a missing key does nothing
		)
		expectCounts(t, counts, 1, 1, 0) // what the rows did, not their tags
		expectLSN(t, m, tbl.Name, 11)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols,
			item(1, "a2", 10, "x2"), item(3, "c2", 30, "z2"), item(4, "d", 4, "w"), item(9, "i", 9, "v")))
		expectCount(t, m, tbl.Name, 4)

		// An LSN that reports no value leaves the table's LSN as it is, too.
		noValue := bulk.ApplyOptions{LSN: func() (int64, bool) { return 99, false }}
		s.apply(t, m, tbl, noValue, del("id", 9))
		expectLSN(t, m, tbl.Name, 11)
		expectCount(t, m, tbl.Name, 3)
	})

	t.Run("LastStateWins", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_last"))
		s.apply(t, m, tbl, withLSN(1), ins(itemCols, item(6, "f", 6, "old")...), ins(itemCols, item(7, "g", 7, "old")...))
		counts := s.apply(t, m, tbl, withLSN(2),
			ins(itemCols, item(5, "e", 5, "")...), upd(itemCols, item(5, "e2", 5, "")...), del("id", 5), // I U D: gone
			del("id", 6), ins(itemCols, item(6, "f2", 60, "new")...), // D I: the insert
			upd(itemCols, item(7, "g1", 71, "")...), upd(itemCols, item(7, "g2", 72, "")...), upd(itemCols, item(7, "g3", 73, "new")...),
			ins(itemCols, item(8, "h", 8, "")...), del("id", 8), ins(itemCols, item(8, "h2", 80, "back")...),
		)
		// Whether the rows of a key collapse to its last state first is the target's choice, so
		// only what holds either way is asserted: one row more, keys 6 and 7 changed.
		expectNetCounts(t, counts, 1, 11)
		if counts.Updated+counts.Inserted < 2 {
			t.Errorf("Apply counted %+v: keys 6 and 7 were both written", counts)
		}
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(6, "f2", 60, "new"), item(7, "g3", 73, "new"), item(8, "h2", 80, "back")))
		expectLSN(t, m, tbl.Name, 2)
	})

	t.Run("PartialColumns", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_partial"))
		s.apply(t, m, tbl, withLSN(1), ins(itemCols, item(1, "a", 1, "x")...))
		s.apply(t, m, tbl, withLSN(2),
			upd("id,qty", 1, 99),   // update keeps the columns it leaves out
			ins("id,name", 2, "b"), // insert makes them NULL
		)
		s.expectRows(t, m, tbl, append(fullRows(t, tbl, itemCols, item(1, "a", 99, "x")), fullRows(t, tbl, "id,name", []any{2, "b"})...))
	})

	t.Run("ColumnListChanges", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "items_segments"))
		counts := s.apply(t, m, tbl, withLSN(3),
			ins(itemCols, item(30, "a", 1, "x")...), ins(itemCols, item(31, "b", 2, "y")...),
			upd("id,qty", 30, 99), upd("id,qty", 31, 98),
			upd("note,id", "z", 31),
			ins("id,name", 32, "c"),
			upd("name,id", "Z", 30),
		)
		expectCounts(t, counts, 3, 4, 0)
		want := fullRows(t, tbl, itemCols, item(30, "Z", 99, "x"), item(31, "b", 98, "z"))
		want = append(want, fullRows(t, tbl, "id,name", []any{32, "c"})...)
		s.expectRows(t, m, tbl, want)
	})
}

func (s *suite) testEmptyLoad(t *testing.T, m bulk.Mirror) {
	empty := emptyWithLSN(5)
	t.Run("Straight", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "empty_straight"))
		var rows []rowText
		var want [][]any
		for i := 1; i <= 100; i++ {
			r := item(i, "n"+strconv.Itoa(i), i, strings.Repeat("x", i))
			rows, want = append(rows, ins(itemCols, r...)), append(want, r)
		}
		counts := s.apply(t, m, tbl, empty, rows...)
		expectCounts(t, counts, 100, 0, 0)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, want...))
		expectLSN(t, m, tbl.Name, 5)
		// A retried batch hits its own keys and must end the same: each row now updates.
		counts = s.apply(t, m, tbl, emptyWithLSN(6), rows...)
		expectCounts(t, counts, 0, 100, 0)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, want...))
		expectLSN(t, m, tbl.Name, 6)
	})
	t.Run("RepeatedKeys", func(t *testing.T) {
		tbl := s.create(t, m, renamed(items, "empty_repeated"))
		counts := s.apply(t, m, tbl, empty,
			ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...),
			ins(itemCols, item(1, "a2", 10, "x2")...), upd(itemCols, item(2, "b2", 20, "y2")...), del("id", 3),
			ins(itemCols, item(4, "d", 4, "w")...),
		)
		expectNetCounts(t, counts, 3, 7)
		s.expectRows(t, m, tbl, fullRows(t, tbl, itemCols, item(1, "a2", 10, "x2"), item(2, "b2", 20, "y2"), item(4, "d", 4, "w")))
		expectLSN(t, m, tbl.Name, 5)
	})
}

var noKey = table("log_nokey", "at datetime2(7) null", "msg nvarchar(100) null", "n int")

func (s *suite) testNoKey(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, noKey)
	cols := "at,msg,n"
	row := []any{"2024-03-01T10:22:05.1234567", "same", 1}
	counts := s.apply(t, m, tbl, withLSN(1), ins(cols, row...), ins(cols, row...), ins("n", 2))
	expectCounts(t, counts, 3, 0, 0)
	want := fullRows(t, tbl, cols, row, row)
	want = append(want, fullRows(t, tbl, "n", []any{2})...)
	s.expectRows(t, m, tbl, want)
	for _, opts := range []bulk.ApplyOptions{withLSN(2), emptyWithLSN(2)} {
		for _, bad := range []rowText{upd(cols, row...), del(cols, row...)} {
			rows := bulk.NewSliceRows(buildRows(t, tbl, ins("n", 3), bad, ins("n", 4)))
			_, err := m.Apply(t.Context(), tbl, rows, opts)
			if !errors.Is(err, bulk.ErrNoKey) {
				t.Errorf("Apply of %v to a table without a key (Fresh %t): error %v, want ErrNoKey", bad.op, opts.Fresh, err)
			}
		}
	}
	s.expectRows(t, m, tbl, want)
	expectLSN(t, m, tbl.Name, 1)
}

func (s *suite) testAtomicity(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, renamed(items, "atomic"))
	s.apply(t, m, tbl, withLSN(5), ins(itemCols, item(1, "a", 1, "x")...), ins(itemCols, item(2, "b", 2, "y")...), ins(itemCols, item(3, "c", 3, "z")...))
	before := fullRows(t, tbl, itemCols, item(1, "a", 1, "x"), item(2, "b", 2, "y"), item(3, "c", 3, "z"))
	changes := func(n int) []bulk.Row {
		texts := []rowText{upd(itemCols, item(1, "A", 100, "X")...), del("id", 2)}
		for i := 10; len(texts) < n; i++ {
			texts = append(texts, ins(itemCols, item(i, "new", i, "")...))
		}
		return buildRows(t, tbl, texts...)
	}

	t.Run("RowsFail", func(t *testing.T) {
		rows := bulk.NewSliceRows(changes(10)).FailAfter(6, errRowsFailed)
		opts, lsnCalls := countCalls(withLSN(6))
		_, err := m.Apply(t.Context(), tbl, rows, opts)
		if !errors.Is(err, errRowsFailed) {
			t.Errorf("Apply with failing rows: error %v, want one that wraps the rows' error", err)
		}
		if n := lsnCalls.Load(); n != 0 {
			t.Errorf("Apply with failing rows called ApplyOptions.LSN %d times; it is for rows that ended without error", n)
		}
		s.expectRows(t, m, tbl, before)
		expectLSN(t, m, tbl.Name, 5)
	})
	t.Run("ContextCancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rows := bulk.NewSliceRows(changes(60)).BeforeRow(30, cancel)
		if _, err := m.Apply(ctx, tbl, rows, withLSN(7)); err == nil {
			t.Errorf("Apply whose context was cancelled midway: no error")
		}
		s.expectRows(t, m, tbl, before)
		expectLSN(t, m, tbl.Name, 5)
	})
	t.Run("EmptyLoadFails", func(t *testing.T) {
		fresh := s.create(t, m, renamed(items, "atomic_empty"))
		var texts []rowText
		for i := 1; i <= 20; i++ {
			texts = append(texts, ins(itemCols, item(i, "n", i, "")...))
		}
		rows := bulk.NewSliceRows(buildRows(t, fresh, texts...)).FailAfter(15, errRowsFailed)
		if _, err := m.Apply(t.Context(), fresh, rows, emptyWithLSN(3)); !errors.Is(err, errRowsFailed) {
			t.Errorf("Apply straight into an empty table with failing rows: error %v, want the rows' error", err)
		}
		expectCount(t, m, fresh.Name, 0)
		expectLSN(t, m, fresh.Name, bulk.NoLSN)
	})
	t.Run("UsableAfterFailures", func(t *testing.T) {
		counts, err := m.Apply(t.Context(), tbl, bulk.NewSliceRows(changes(5)), withLSN(8))
		if err != nil {
			t.Fatalf("Apply after failed applies: %v", err)
		}
		expectCounts(t, counts, 3, 1, 1)
		expectLSN(t, m, tbl.Name, 8)
		expectCount(t, m, tbl.Name, 5)
	})
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
	if err := m.Wipe(ctx, []string{"w1", "w2"}); err != nil {
		t.Fatalf("Wipe: %v", err)
	}
	for _, tbl := range tbls[:2] {
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

	if err := m.Drop(ctx, []string{"w2"}); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	tables, err := m.Tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tables["w2"]; ok || len(tables) != 2 {
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
