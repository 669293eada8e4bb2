package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/wire"
)

func benchTableName(i, n int) string {
	if n == 1 {
		return contact.Table.Name
	}
	return fmt.Sprintf("%s_%d", contact.Table.Name, i+1)
}

// benchTables returns n copies of contact.Table, named contact, or contact_1..contact_n.
func benchTables(n int) []schema.Table {
	out := make([]schema.Table, n)
	for i := range out {
		out[i] = contact.Table
		out[i].Name = benchTableName(i, n)
		out[i].Columns = cloneColumns(contact.Table.Columns)
	}
	return out
}

// benchPlan is what one tenant's cycle sends, table by table. Every tenant sends the same.
type benchPlan struct {
	tables  []planTable
	gen     int
	lastLSN int64 // the LSN the cycle brings every table to
}

// planTable is one table's rows: keys lo..hi as inserts, or ops when the cycle sends changes.
type planTable struct {
	table  schema.Table
	lo, hi int64
	ops    []planOp
	// firstLSN is the LSN of the table's first row; the rows after it count up.
	firstLSN int64
}

type planOp struct {
	op bulk.Op
	id int64
}

func (p *benchPlan) rows() int64 {
	var n int64
	for _, t := range p.tables {
		n += t.rows()
	}
	return n
}

func (t *planTable) rows() int64 {
	if t.ops != nil {
		return int64(len(t.ops))
	}
	return t.hi - t.lo + 1
}

// each calls fn with every row of the table in order: its op, key and LSN.
func (t *planTable) each(fn func(op bulk.Op, id, lsn int64) error) error {
	if t.ops != nil {
		for i, o := range t.ops {
			if err := fn(o.op, o.id, t.firstLSN+int64(i)); err != nil {
				return err
			}
		}
		return nil
	}
	for id := t.lo; id <= t.hi; id++ {
		if err := fn(bulk.Insert, id, t.firstLSN+id-t.lo); err != nil {
			return err
		}
	}
	return nil
}

// values are the row's values as sent: a delete carries its key only.
func (p *benchPlan) values(op bulk.Op, id int64) []any {
	if op == bulk.Delete {
		v := make([]any, len(contact.Table.Columns))
		v[0] = id
		return v
	}
	return contact.Row(id, p.gen)
}

// fullPlan splits keys 1..--rows evenly between the tables, every row an insert whose LSN is its key.
func (b *bench) fullPlan(gen int) *benchPlan {
	p := &benchPlan{gen: gen, lastLSN: b.s.rows}
	per := b.s.rows / int64(b.s.tables)
	for i, t := range benchTables(b.s.tables) {
		lo := int64(i)*per + 1
		hi := lo + per - 1
		if i == b.s.tables-1 {
			hi = b.s.rows
		}
		p.tables = append(p.tables, planTable{table: t, lo: lo, hi: hi, firstLSN: lo})
	}
	return p
}

// changePlan makes --changes changes over the tables of fullPlan: 60% updates and 15% deletes
// of distinct existing keys, 25% inserts of new keys. As the Mirroring Task sends them, every
// key comes once, live rows first and deletes last. LSNs count up from firstLSN.
func (b *bench) changePlan(firstLSN int64) *benchPlan {
	full := b.fullPlan(2)
	p := &benchPlan{gen: 2}
	r := rand.New(rand.NewPCG(b.s.seed, 6))
	nextKey := b.s.rows
	lsn := firstLSN
	per := b.s.changes / int64(b.s.tables)
	for i, ft := range full.tables {
		n := per
		if i == b.s.tables-1 {
			n = b.s.changes - per*int64(b.s.tables-1)
		}
		updates, inserts := n*60/100, n*25/100
		deletes := n - updates - inserts
		if updates+deletes > ft.rows() {
			updates, deletes = min(updates, ft.rows()), max(0, min(deletes, ft.rows()-updates))
		}
		keys := r.Perm(int(ft.rows()))[:updates+deletes]
		ops := make([]planOp, 0, n)
		for _, k := range keys[:updates] {
			ops = append(ops, planOp{op: bulk.Update, id: ft.lo + int64(k)})
		}
		for range inserts {
			nextKey++
			ops = append(ops, planOp{op: bulk.Insert, id: nextKey})
		}
		r.Shuffle(len(ops), func(a, c int) { ops[a], ops[c] = ops[c], ops[a] })
		for _, k := range keys[updates:] {
			ops = append(ops, planOp{op: bulk.Delete, id: ft.lo + int64(k)})
		}
		p.tables = append(p.tables, planTable{table: ft.table, ops: ops, firstLSN: lsn})
		lsn += int64(len(ops))
	}
	p.lastLSN = lsn - 1
	return p
}

// tokenPlaceholder stands for the token in the spooled requests; send splices a live token in.
const tokenPlaceholder = "MIRRORTASK-BENCH-TOKEN"

// spool holds the encoded RowData requests of a plan in a temporary file, so that sending
// costs a read from the page cache and memory stays bounded however large the plan.
type spool struct {
	f *os.File
	// tokenAt is where the placeholder starts in every request: the envelope before it is fixed.
	tokenAt int64
	// tables are each table's calls, in the order they must be sent.
	tables [][]spooledCall
	bytes  int64
}

type spooledCall struct {
	table string
	off   int64
	size  int64
	rows  int
	lsn   int64 // the LSN of the table's last batch; 0 on the calls before it
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "mirrortask-bench-*.xml")
	if err != nil {
		return nil, err
	}
	return &spool{f: f, tokenAt: -1}, nil
}

// calls counts the spooled calls.
func (sp *spool) calls() int {
	var n int
	for _, calls := range sp.tables {
		n += len(calls)
	}
	return n
}

// rows counts the spooled rows.
func (sp *spool) rows() int64 {
	var n int64
	for _, calls := range sp.tables {
		for _, c := range calls {
			n += int64(c.rows)
		}
	}
	return n
}

func (sp *spool) remove() {
	sp.f.Close()
	os.Remove(sp.f.Name())
}

// encode writes a plan's RowData requests, one table per call, each call closed when it
// reaches --batch-bytes.
func (b *bench) encode(p *benchPlan) (*spool, error) {
	start := time.Now()
	sp, err := newSpool(b.s.spoolDir)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for _, t := range p.tables {
		rows := func(emit rowEmitter) error {
			return t.each(func(op bulk.Op, id, lsn int64) error {
				if err := emit(op, lsn, p.values(op, id)); err != nil {
					return fmt.Errorf("row %d: %w", id, err)
				}
				return nil
			})
		}
		calls, err := sp.encodeTable(&buf, t.table, rows, p.lastLSN, b.s.batchBytes)
		if err != nil {
			sp.remove()
			return nil, fmt.Errorf("encoding table %s: %w", t.table.Name, err)
		}
		sp.tables = append(sp.tables, calls)
	}
	fmt.Fprintf(b.out, "encoded %d rows per tenant into %d RowData calls, %.1f MB, in %s (not counted)\n",
		p.rows(), sp.calls(), float64(sp.bytes)/1e6, time.Since(start).Round(time.Millisecond))
	return sp, nil
}

// rowEmitter writes one row into the spool.
type rowEmitter func(op bulk.Op, lsn int64, values []any) error

// encodeTable spools one table's rows, which rows hands to emit in order; the table's last call
// carries lastLSN.
func (sp *spool) encodeTable(buf *bytes.Buffer, table schema.Table, rows func(emit rowEmitter) error, lastLSN int64, batchBytes int) ([]spooledCall, error) {
	var calls []spooledCall
	var rw *wire.RowDataWriter
	cur := spooledCall{table: table.Name}
	open := func() error {
		buf.Reset()
		rw = wire.NewRowDataWriter(buf, tokenPlaceholder, "")
		cur.rows = 0
		return rw.Begin(table.Name, table.Columns)
	}
	finish := func() error {
		if err := rw.Close(); err != nil {
			return err
		}
		body := buf.Bytes()
		at := int64(bytes.Index(body, []byte(tokenPlaceholder)))
		switch {
		case sp.tokenAt < 0:
			sp.tokenAt = at
		case at != sp.tokenAt:
			return fmt.Errorf("the token placeholder moved from byte %d to %d", sp.tokenAt, at)
		}
		if sp.tokenAt < 0 {
			return fmt.Errorf("the request does not carry the token placeholder")
		}
		if _, err := sp.f.Write(body); err != nil {
			return err
		}
		cur.off, cur.size = sp.bytes, int64(len(body))
		sp.bytes += cur.size
		calls = append(calls, cur)
		return nil
	}
	if err := open(); err != nil {
		return nil, err
	}
	err := rows(func(op bulk.Op, lsn int64, values []any) error {
		if err := rw.Row(op, lsn, values...); err != nil {
			return err
		}
		cur.rows++
		if err := rw.Flush(); err != nil {
			return err
		}
		if buf.Len() < batchBytes {
			return nil
		}
		if err := rw.End(); err != nil {
			return err
		}
		if err := finish(); err != nil {
			return err
		}
		return open()
	})
	if err != nil {
		return nil, err
	}
	if err := rw.EndLSN(lastLSN); err != nil {
		return nil, err
	}
	cur.lsn = lastLSN
	if err := finish(); err != nil {
		return nil, err
	}
	return calls, nil
}
