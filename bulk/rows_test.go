package bulk

import (
	"errors"
	"strings"
	"testing"
)

func TestSliceRows(t *testing.T) {
	rows := []Row{
		{Op: Insert, Columns: []int{0, 1}, Values: []any{int64(1), "a"}},
		{Op: Update, Columns: []int{0}, Values: []any{int64(2)}},
		{Op: Delete, Columns: []int{0}, Values: []any{int64(3)}},
	}
	var ops []Op
	r := NewSliceRows(rows)
	for r.Next() {
		ops = append(ops, r.Op())
		if len(r.Columns()) != len(r.Values()) {
			t.Fatal("columns and values differ in length")
		}
	}
	if string(ops) != "IUD" || r.Err() != nil || r.Next() {
		t.Errorf("got ops %q, err %v", ops, r.Err())
	}

	boom := errors.New("boom")
	hooked := 0
	r = NewSliceRows(rows).FailAfter(2, boom).BeforeRow(1, func() { hooked++ })
	n := 0
	for r.Next() {
		n++
		if n == 1 && hooked != 0 {
			t.Error("hook ran before row 0")
		}
	}
	if n != 2 || !errors.Is(r.Err(), boom) || hooked != 1 || r.Next() {
		t.Errorf("got %d rows, err %v, hook ran %d times; want 2 rows, boom, once", n, r.Err(), hooked)
	}

	r = NewSliceRows([]Row{{Op: Insert, Columns: []int{0, 1}, Values: []any{int64(1)}}})
	if r.Next() || r.Err() == nil || !strings.Contains(r.Err().Error(), "row 1 carries 2 columns but 1 values") {
		t.Errorf("a row with too few values gave err %v", r.Err())
	}
}
