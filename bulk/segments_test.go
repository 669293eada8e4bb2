package bulk

import (
	"slices"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/schema"
)

func segmentsTable() schema.Table {
	return schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "name", Type: schema.NVarChar, Length: 50, Nullable: true},
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "code", Type: schema.VarChar, Length: 10, PrimaryKey: true},
	}}
}

func TestCheckColumns(t *testing.T) {
	tbl := segmentsTable()
	cases := []struct {
		cols    []int
		keyPos  []int
		wantErr string
	}{
		{cols: []int{2, 0, 1}, keyPos: []int{2, 0}},
		{cols: []int{1, 2}, keyPos: []int{0, 1}},
		{cols: nil, wantErr: "the batch names no columns"},
		{cols: []int{1, 2, 7}, wantErr: "the batch names column index 7; the table has 3 columns"},
		{cols: []int{1, 2, -1}, wantErr: "column index -1"},
		{cols: []int{1, 2, 1}, wantErr: "column id is named twice in one batch"},
		{cols: []int{0, 1}, wantErr: "the batch lacks key column code"},
	}
	for _, c := range cases {
		keyPos, err := CheckColumns(tbl, c.cols)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("CheckColumns(%v) = %v, want an error with %q", c.cols, err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "person") {
				t.Errorf("CheckColumns(%v): %v names the table, which its caller does", c.cols, err)
			}
			continue
		}
		if err != nil || !slices.Equal(keyPos, c.keyPos) {
			t.Errorf("CheckColumns(%v) = %v, %v, want %v", c.cols, keyPos, err, c.keyPos)
		}
	}
}

func TestColumnIndexes(t *testing.T) {
	tbl := segmentsTable()
	if cols, err := ColumnIndexes(tbl, []string{"code", "id", "name"}); err != nil || !slices.Equal(cols, []int{2, 1, 0}) {
		t.Errorf("ColumnIndexes = %v, %v", cols, err)
	}
	for names, want := range map[string]string{
		"id,code,nosuch":   "no column nosuch",
		"id,code,id":       "named twice",
		"name":             "lacks key column id",
		`id,code,x"; DROP`: "column",
		"":                 "names no columns",
	} {
		var list []string
		if names != "" {
			list = strings.Split(names, ",")
		}
		if _, err := ColumnIndexes(tbl, list); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ColumnIndexes(%q) = %v, want an error with %q", names, err, want)
		}
	}
}

// TestSegments: a column set is checked and built once, an alternating one finds its plan, and a
// bad one builds nothing.
func TestSegments(t *testing.T) {
	tbl := segmentsTable()
	var segs Segments[string]
	builds := 0
	build := func(cols []int) func([]int) (string, error) {
		return func(keyPos []int) (string, error) {
			builds++
			return strings.Repeat("x", len(cols)) + ":" + strings.Repeat("k", len(keyPos)), nil
		}
	}
	for _, cols := range [][]int{{1, 2}, {1, 2, 0}, {1, 2}, {1, 2, 0}} {
		got, err := segs.For(tbl, cols, build(cols))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.Repeat("x", len(cols)) + ":kk"; got != want {
			t.Errorf("For(%v) = %q, want %q", cols, got, want)
		}
	}
	if builds != 2 || len(segs) != 2 {
		t.Errorf("%d builds, %d segments; want 2 of each", builds, len(segs))
	}
	if _, err := segs.For(tbl, []int{0}, build(nil)); err == nil || builds != 2 {
		t.Errorf("For of a set without the key: %v, %d builds", err, builds)
	}
}

func TestForTable(t *testing.T) {
	inner := ForTable("person", errorString("column id: NULL"))
	if got := inner.Error(); got != "table person: column id: NULL" {
		t.Errorf("ForTable = %q", got)
	}
	wrapped := ForTable("person", wrap("alter", inner))
	if got := wrapped.Error(); got != "alter: table person: column id: NULL" {
		t.Errorf("ForTable of an error naming the table = %q, want it unchanged", got)
	}
	if got := ForTable("other", inner).Error(); got != "table other: table person: column id: NULL" {
		t.Errorf("ForTable of another table's error = %q", got)
	}
	lsn := CheckLSN("person", 5, 3, false)
	if ForTable("person", lsn) != lsn {
		t.Error("ForTable wrapped an LSNError of its table")
	}
	if ForTable("person", nil) != nil {
		t.Error("ForTable(nil) is not nil")
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

type wrapped struct {
	msg string
	err error
}

func (w wrapped) Error() string { return w.msg + ": " + w.err.Error() }
func (w wrapped) Unwrap() error { return w.err }

func wrap(msg string, err error) error { return wrapped{msg, err} }
