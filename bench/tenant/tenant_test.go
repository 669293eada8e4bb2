package tenant

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

func TestParseTables(t *testing.T) {
	defs := superOfficeTables()
	if len(defs) < 21 {
		t.Fatalf("%d tables; want the 30 of the fact sheet and binary_object", len(defs))
	}
	byName := map[string]*tableDef{}
	for _, d := range defs {
		byName[d.name] = d
	}
	col := func(table, column string) schema.Column {
		d := byName[table]
		if d == nil {
			t.Fatalf("no table %s", table)
		}
		i := d.Table().Column(column)
		if i < 0 {
			t.Fatalf("no column %s.%s", table, column)
		}
		return d.cols[i].Column
	}
	cases := []struct {
		table, column string
		want          schema.Column
	}{
		{"contact", "contact_id", schema.Column{Name: "contact_id", Type: schema.Int, PrimaryKey: true}},
		{"contact", "name", schema.Column{Name: "name", Type: schema.NVarChar, Length: 220}},
		{"contact", "xstop", schema.Column{Name: "xstop", Type: schema.SmallInt, Nullable: true}},
		{"contact", "registered", schema.Column{Name: "registered", Type: schema.DateTime}},
		{"text", "text", schema.Column{Name: "text", Type: schema.NVarChar, Length: schema.Max, Nullable: true}},
		{"text", "updatedCount", schema.Column{Name: "updatedCount", Type: schema.SmallInt}},
		{"ticket", "tags", schema.Column{Name: "tags", Type: schema.NVarChar, Length: schema.Max, Nullable: true}},
		{"address", "wgs84latitude", schema.Column{Name: "wgs84latitude", Type: schema.Float, Nullable: true}},
		{"udcontactsmall", "long60", schema.Column{Name: "long60", Type: schema.Int, Nullable: true}},
		{"udcontactsmall", "double10", schema.Column{Name: "double10", Type: schema.Float, Nullable: true}},
		{"binary_object", "data", schema.Column{Name: "data", Type: schema.VarBinary, Length: schema.Max, Nullable: true}},
	}
	for _, c := range cases {
		if got := col(c.table, c.column); got != c.want {
			t.Errorf("%s.%s = %+v, want %+v", c.table, c.column, got, c.want)
		}
	}
	if n := len(byName["udcontactsmall"].cols); n != 1+60+40+10 {
		t.Errorf("udcontactsmall has %d columns, want 111", n)
	}
}

func TestParseTablesErrors(t *testing.T) {
	for _, text := range []string{
		"name Int",                                 // a column outside a table
		"table t 1\nt_id PK PK\nx Money",           // unknown logical type
		"table t 1\nt_id PK PK\nx Int maybe",       // unknown flag
		"table t 1\nx Int",                         // no primary key
		"table t 1\nt_id PK PK\nlong05..long01 Id", // backwards range
		"table t x\nt_id PK PK",                    // table number
	} {
		if _, err := parseTables(text); err == nil {
			t.Errorf("parseTables(%q) accepted it", text)
		}
	}
}

func TestExpandNames(t *testing.T) {
	got, err := expandNames("string41..string43")
	if err != nil || !slices.Equal(got, []string{"string41", "string42", "string43"}) {
		t.Fatalf("got %v, %v", got, err)
	}
	got, err = expandNames("long01..long03")
	if err != nil || !slices.Equal(got, []string{"long01", "long02", "long03"}) {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestFitUTF16(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abcdef", 3, "abc"},
		{"a😀b", 2, "a"}, // the emoji takes two code units and does not fit after a
		{"a😀b", 3, "a😀"},
		{"æøå", 2, "æø"},
		{"", 0, ""},
	}
	for _, c := range cases {
		got := fitUTF16(c.in, c.n)
		if got != c.want || len(utf16.Encode([]rune(got))) > c.n {
			t.Errorf("fitUTF16(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestTableSizesSkew(t *testing.T) {
	defs := superOfficeTables()
	sizes := tableSizes(defs, 100000)
	var total int64
	for _, d := range defs {
		if sizes[d.name] < 1 {
			t.Errorf("table %s has no rows", d.name)
		}
		total += sizes[d.name]
	}
	if total < 99000 || total > 101000 {
		t.Errorf("total %d rows for scale 100000", total)
	}
	for _, d := range defs {
		if d.name != "text" && sizes[d.name] > sizes["appointment"] {
			t.Errorf("%s (%d) is bigger than appointment (%d)", d.name, sizes[d.name], sizes["appointment"])
		}
	}
	if sizes["text"] <= sizes["appointment"] || sizes["appointment"] <= sizes["contact"] {
		t.Errorf("want text > appointment > contact: %d, %d, %d", sizes["text"], sizes["appointment"], sizes["contact"])
	}
}

// snapshot reads every table into key → canonical row text.
func snapshot(t *testing.T, tn *Tenant) map[string]map[int64]string {
	t.Helper()
	out := map[string]map[int64]string{}
	for _, tb := range tn.Tables() {
		rows, err := tn.AllRows(context.Background(), tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]string{}
		for rows.Next() {
			r := rows.Row()
			if r.Op != bulk.Insert {
				t.Fatalf("AllRows gave op %s", r.Op)
			}
			m[r.Values[tb.Key()[0]].(int64)] = canonical(t, tb, r.Values)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[tb.Name] = m
	}
	return out
}

func canonical(t *testing.T, tb schema.Table, vals []any) string {
	var b strings.Builder
	for i, c := range tb.Columns {
		if vals[i] == nil {
			b.WriteString("NULL|")
			continue
		}
		s, err := bulk.FormatValue(c, vals[i])
		if err != nil {
			t.Fatalf("table %s, column %s: %v", tb.Name, c.Name, err)
		}
		// The value must also be one the protocol accepts for its column.
		if _, err := bulk.ParseValue(c, s); err != nil {
			t.Fatalf("table %s, column %s: generated value does not fit: %v", tb.Name, c.Name, err)
		}
		fmt.Fprintf(&b, "%q|", s)
	}
	return b.String()
}

func create(t *testing.T, name string, scale int64, seed uint64) *Tenant {
	t.Helper()
	tn, err := Create(context.Background(), filepath.Join(t.TempDir(), name), Config{Scale: scale, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tn.Close() })
	return tn
}

func TestDeterministicBySeed(t *testing.T) {
	ctx := context.Background()
	a, b, c := create(t, "a.db", 600, 5), create(t, "b.db", 600, 5), create(t, "c.db", 600, 6)
	for _, tn := range []*Tenant{a, b, c} {
		if _, err := tn.Change(ctx, 9, 200); err != nil {
			t.Fatal(err)
		}
	}
	sa, sb, sc := snapshot(t, a), snapshot(t, b), snapshot(t, c)
	if fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Fatal("two tenants of the same seed and changes differ")
	}
	if fmt.Sprint(sa) == fmt.Sprint(sc) {
		t.Fatal("tenants of different seeds are equal")
	}
	// The awkward values do occur.
	all := fmt.Sprint(sa)
	for _, want := range []string{`\r\n`, `😀`, `\t`, `1760-01-01T00:00:00`, `""`, `&`, `<`} {
		if !strings.Contains(all, want) {
			t.Errorf("no value holds %s", want)
		}
	}
}

// TestChangesSince applies the changes since an LSN to the snapshot taken at that LSN and
// expects the current state, with each key once and its op by its first change.
func TestChangesSince(t *testing.T) {
	ctx := context.Background()
	tn := create(t, "t.db", 800, 1)
	before := snapshot(t, tn)
	lsn0, err := tn.CurrentLSN(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var stats ChangeStats
	for seed := uint64(1); seed <= 3; seed++ {
		st, err := tn.Change(ctx, seed, 150)
		if err != nil {
			t.Fatal(err)
		}
		stats.Inserted += st.Inserted
		stats.Deleted += st.Deleted
	}
	lsn1, _ := tn.CurrentLSN(ctx)
	if lsn1 != lsn0+450 {
		t.Fatalf("LSN %d after 450 changes from %d", lsn1, lsn0)
	}
	after := snapshot(t, tn)
	sentI, sentD := 0, 0
	for _, tb := range tn.Tables() {
		state := before[tb.Name]
		rows, err := tn.ChangesSince(ctx, tb.Name, lsn0)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int64]bool{}
		for rows.Next() {
			r := rows.Row()
			key := r.Values[tb.Key()[0]].(int64)
			if seen[key] {
				t.Fatalf("table %s: key %d sent twice", tb.Name, key)
			}
			seen[key] = true
			if r.LSN <= lsn0 || r.LSN > lsn1 {
				t.Fatalf("table %s, key %d: LSN %d outside (%d, %d]", tb.Name, key, r.LSN, lsn0, lsn1)
			}
			_, existed := state[key]
			switch r.Op {
			case bulk.Insert:
				sentI++
				if existed {
					t.Fatalf("table %s, key %d: sent as I but existed before", tb.Name, key)
				}
				state[key] = canonical(t, tb, r.Values)
			case bulk.Update:
				if !existed {
					t.Fatalf("table %s, key %d: sent as U but did not exist before", tb.Name, key)
				}
				state[key] = canonical(t, tb, r.Values)
			case bulk.Delete:
				sentD++
				if !existed {
					t.Fatalf("table %s, key %d: sent as D but did not exist before", tb.Name, key)
				}
				delete(state, key)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if fmt.Sprint(state) != fmt.Sprint(after[tb.Name]) {
			t.Fatalf("table %s: snapshot plus changes differs from the current state", tb.Name)
		}
	}
	// Each Change inserts a row and deletes it again, which is never sent.
	if sentI > stats.Inserted-3 || sentD > stats.Deleted-3 {
		t.Fatalf("sent %d inserts and %d deletes of %d and %d made: the insert-then-delete rows were sent", sentI, sentD, stats.Inserted, stats.Deleted)
	}
	// Nothing changed since the current LSN.
	rows, err := tn.ChangesSince(ctx, "contact", lsn1)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatalf("a change after the current LSN: %+v", rows.Row())
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	tn := create(t, "t.db", 300, 2)
	lsn0, _ := tn.CurrentLSN(ctx)
	if v, _ := tn.MinValidLSN(ctx, "contact"); v > lsn0 {
		t.Fatalf("min valid LSN %d is after the current %d", v, lsn0)
	}
	if err := tn.SetRetention(ctx, 50); err != nil {
		t.Fatal(err)
	}
	if _, err := tn.Change(ctx, 1, 40); err != nil {
		t.Fatal(err)
	}
	if v, _ := tn.MinValidLSN(ctx, "contact"); v > lsn0 {
		t.Fatalf("within retention, min valid LSN %d is after %d", v, lsn0)
	}
	if _, err := tn.Change(ctx, 2, 100); err != nil {
		t.Fatal(err)
	}
	cur, _ := tn.CurrentLSN(ctx)
	v, err := tn.MinValidLSN(ctx, "contact")
	if err != nil {
		t.Fatal(err)
	}
	if v != cur-50 {
		t.Fatalf("min valid LSN %d, want %d (current %d less retention 50)", v, cur-50, cur)
	}
	var old int
	if err := tn.db.QueryRow(`SELECT count(*) FROM _tenant_tombstones WHERE deleted_version <= ?`, v).Scan(&old); err != nil || old != 0 {
		t.Fatalf("%d tombstones older than the retention window remain (%v)", old, err)
	}
	if _, err := tn.MinValidLSN(ctx, "nosuch"); err == nil {
		t.Fatal("MinValidLSN of an unknown table")
	}
}

func TestAlterAndBackup(t *testing.T) {
	ctx := context.Background()
	tn := create(t, "t.db", 400, 3)
	backup := filepath.Join(t.TempDir(), "backup.db")
	if err := tn.Backup(ctx, backup); err != nil {
		t.Fatal(err)
	}
	lsn0, _ := tn.CurrentLSN(ctx)
	for _, kind := range AlterKinds {
		if _, err := tn.Alter(ctx, kind); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if _, err := tn.Change(ctx, 7, 30); err != nil {
			t.Fatalf("change after %s: %v", kind, err)
		}
	}
	if _, err := tn.Alter(ctx, "rename-everything"); err == nil {
		t.Fatal("an unknown alter kind was accepted")
	}
	person, _ := tn.Table("person")
	if person.Column("x_added1") < 0 {
		t.Error("add-column added nothing to person")
	}
	contact, _ := tn.Table("contact")
	if c := contact.Columns[contact.Column("number1")]; c.Length != 100 {
		t.Errorf("widen-column: contact.number1 is %s", c.TypeString())
	}
	project, _ := tn.Table("project")
	if c := project.Columns[project.Column("source")]; c.Type != schema.NVarChar {
		t.Errorf("change-type: project.source is %s", c.TypeString())
	}
	if _, ok := tn.Table("y_extra4"); ok {
		t.Error("drop-table left y_extra4")
	}
	// Reopening reads the altered definitions back, and every row still decodes.
	path := tn.Path()
	tn.Close()
	tn, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	snapshot(t, tn)
	tn.Close()

	if err := Restore(backup, path); err != nil {
		t.Fatal(err)
	}
	tn, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer tn.Close()
	if lsn, _ := tn.CurrentLSN(ctx); lsn != lsn0 {
		t.Fatalf("restored LSN %d, want %d", lsn, lsn0)
	}
	if p, _ := tn.Table("person"); p.Column("x_added1") >= 0 {
		t.Fatal("the restored tenant has the later column")
	}
}
