package bulk

import "slices"

// Cursor reads Rows one row ahead, so that a loader can end a segment (a run of rows with one
// column set) at a row without consuming it.
type Cursor struct {
	Rows   Rows
	loaded bool  // the current row is read and not yet taken
	done   bool  // Next has returned false
	n      int64 // the number of the current row in the apply, from 1
}

// Peek reads the next row unless one is waiting, and reports whether there is one.
func (c *Cursor) Peek() bool {
	if !c.loaded && !c.done {
		if c.Rows.Next() {
			c.loaded = true
			c.n++
		} else {
			c.done = true
		}
	}
	return c.loaded
}

// Take consumes the waiting row.
func (c *Cursor) Take() { c.loaded = false }

// N is the number of the current row in the apply, from 1, for error messages.
func (c *Cursor) N() int64 { return c.n }

// PeekColumns reports whether a row is waiting and carries exactly the columns cols.
func (c *Cursor) PeekColumns(cols []int) bool {
	return c.Peek() && slices.Equal(c.Rows.Columns(), cols)
}

// ColumnSetKey is a map key for a column set: loaders keep one segment plan per column set.
func ColumnSetKey(cols []int) string {
	b := make([]byte, 0, 2*len(cols))
	for _, c := range cols {
		b = append(b, byte(c), byte(c>>8))
	}
	return string(b)
}
