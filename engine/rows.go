package engine

import (
	"context"
	"io"

	"github.com/mirrord/mirrord/bulk"
)

// chunkRows is the bulk.Rows a loader reads: the chunks the decoder sends, row by row.
type chunkRows struct {
	ctx      context.Context
	ch       <-chan *chunk
	spooled  *spoolReader // read before ch: the chunks that arrived while the loader waited
	inflight interface{ Release(int64) }
	recycle  func(*chunk) // takes a chunk the loader has moved past
	cur      *chunk
	row      int
	err      error
}

func (r *chunkRows) Next() bool {
	if r.cur != nil && r.row+1 < len(r.cur.ops) {
		r.row++
		return true
	}
	r.releaseCurrent()
	for r.spooled != nil {
		c, err := r.spooled.next()
		if err == io.EOF {
			r.spooled.close()
			r.spooled = nil
			break
		}
		if err != nil {
			r.err = err
			return false
		}
		if len(c.ops) > 0 {
			r.cur, r.row = c, 0
			return true
		}
	}
	if err := r.ctx.Err(); err != nil {
		r.err = context.Cause(r.ctx)
		return false
	}
	select {
	case c, ok := <-r.ch:
		if !ok {
			// Abort cancels before it closes: a closed channel under a cancelled context is
			// the end of an aborted call, never a complete one.
			if r.ctx.Err() != nil {
				r.err = context.Cause(r.ctx)
			}
			return false
		}
		r.cur, r.row = c, 0
		return true
	case <-r.ctx.Done():
		r.err = context.Cause(r.ctx)
		return false
	}
}

func (r *chunkRows) releaseCurrent() {
	if r.cur != nil {
		r.inflight.Release(r.cur.bytes)
		r.recycle(r.cur)
		r.cur = nil
	}
}

func (r *chunkRows) Op() bulk.Op    { return r.cur.ops[r.row] }
func (r *chunkRows) Columns() []int { return r.cur.cols }
func (r *chunkRows) Values() []bulk.Value {
	n := len(r.cur.cols)
	return r.cur.vals[r.row*n : (r.row+1)*n : (r.row+1)*n]
}
func (r *chunkRows) Err() error { return r.err }

// drain releases the budget of every chunk still on its way, until the decoder closes the channel.
func (r *chunkRows) drain() {
	r.releaseCurrent()
	if r.spooled != nil {
		r.spooled.close()
		r.spooled = nil
	}
	for c := range r.ch {
		r.inflight.Release(c.bytes)
		r.recycle(c)
	}
}
