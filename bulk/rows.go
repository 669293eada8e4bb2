package bulk

import "fmt"

// Row is one row held in memory: what it does, which table columns it carries (indexes into the
// table's columns) and their values in that order, as the Go types ValueOf takes.
type Row struct {
	Op      Op
	Columns []int
	Values  []any
}

// SliceRows is Rows over rows held in memory, for tests and tools. It can also fail, or run a
// hook, part way through, which is how tests prove that an apply commits all or nothing.
type SliceRows struct {
	rows    []Row
	current int // index of the row Next moved to; -1 before the first call
	values  []Value
	err     error

	failAt  int // fail instead of moving to the row of this index; -1 never
	failErr error
	hookAt  int
	hook    func()
}

// NewSliceRows returns Rows over rows. The rows are not copied.
func NewSliceRows(rows []Row) *SliceRows {
	return &SliceRows{rows: rows, current: -1, failAt: -1, hookAt: -1}
}

// FailAfter makes Next stop with err after n rows: Next returns false where it would move to the
// row of index n, and Err returns err. It returns r.
func (r *SliceRows) FailAfter(n int, err error) *SliceRows {
	r.failAt, r.failErr = n, err
	return r
}

// BeforeRow makes Next call hook once, after n rows, just before it moves to the row of index n
// (a test breaks a connection or cancels a context there). It returns r.
func (r *SliceRows) BeforeRow(n int, hook func()) *SliceRows {
	r.hookAt, r.hook = n, hook
	return r
}

// Next moves to the next row, and reports false at the end or on an error.
func (r *SliceRows) Next() bool {
	if r.err != nil {
		return false
	}
	next := r.current + 1
	if next == r.hookAt && r.hook != nil {
		r.hook()
	}
	if next == r.failAt {
		r.err = r.failErr
		return false
	}
	if next >= len(r.rows) {
		r.current = len(r.rows)
		return false
	}
	if row := r.rows[next]; len(row.Columns) != len(row.Values) {
		r.err = fmt.Errorf("row %d carries %d columns but %d values", next+1, len(row.Columns), len(row.Values))
		return false
	}
	values, err := ValuesOf(r.values[:0], r.rows[next].Values...)
	if err != nil {
		r.err = fmt.Errorf("row %d: %w", next+1, err)
		return false
	}
	r.current, r.values = next, values
	return true
}

func (r *SliceRows) row() Row {
	if r.current < 0 || r.current >= len(r.rows) {
		return Row{}
	}
	return r.rows[r.current]
}

// Op is what the current row does.
func (r *SliceRows) Op() Op { return r.row().Op }

// Columns are the table columns the current row carries.
func (r *SliceRows) Columns() []int { return r.row().Columns }

// Values are the current row's values, one per column of Columns.
func (r *SliceRows) Values() []Value {
	if r.current < 0 || r.current >= len(r.rows) {
		return nil
	}
	return r.values
}

// Err is the error that ended Next, if any.
func (r *SliceRows) Err() error { return r.err }
