package wire

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// RowSink receives the batches of a RowData request as they are decoded. The engine's Apply
// fits it through SinkFunc.
type RowSink interface {
	// Batch starts a <Batch> of table carrying the named columns in order. The slice is the
	// sink's to keep.
	Batch(table string, columns []string) (BatchSink, error)
}

// BatchSink receives the rows of one <Batch>.
type BatchSink interface {
	// Columns are the batch's columns in order: the types each row's values are parsed with.
	Columns() []schema.Column
	// Add receives one row. values is reused for the next row: the sink copies what it keeps.
	Add(op bulk.Op, values []bulk.Value) error
	// SetLSN receives the batch's <Lsn>, after its rows and before Close. An error aborts the
	// request as one of Add does, placed at the batch's table and keeping its class.
	SetLSN(lsn int64) error
	// Close ends the batch. A batch that fails to decode is not closed: the caller aborts the
	// whole request instead.
	Close() error
}

// SinkFunc adapts a function to RowSink, e.g. the engine's Apply.Batch:
//
//	wire.SinkFunc(func(t string, c []string) (wire.BatchSink, error) {
//		b, err := apply.Batch(t, c)
//		if err != nil {
//			return nil, err
//		}
//		return b, nil
//	})
type SinkFunc func(table string, columns []string) (BatchSink, error)

// Batch calls f.
func (f SinkFunc) Batch(table string, columns []string) (BatchSink, error) { return f(table, columns) }

// RowData reads a RowDataRequest, handing each batch and row to sink as it is read, and returns
// the client state. Decode errors are *Error naming the table, row and column; errors of the sink
// come back wrapped with the same place, keeping their own class.
func (d *Decoder) RowData(sink RowSink) (clientState string, err error) {
	var seenState, seenBatches, hasBatches bool
	err = d.operationBody(OpRowData, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &clientState)
		case "Batches":
			if err := d.once(&seenBatches, name); err != nil {
				return err
			}
			n := 0
			var err error
			hasBatches, err = d.list("Batches", func(name string) error {
				if name != "Batch" {
					return d.skipElementWithoutRows("Batches")
				}
				n++
				return d.batch(sink, n)
			})
			return err
		}
		return d.skipElementWithoutRows("RowDataRequest")
	})
	if err == nil && !hasBatches {
		err = d.failf("<RowDataRequest> has no <Batches>")
	}
	return clientState, err
}

// batchReader is the state of one <Batch>.
type batchReader struct {
	d         *Decoder
	rs        RowSink
	sink      BatchSink
	table     string
	hasTable  bool // a <Table> was read and is not nil
	seenTable bool
	columns   []string
	hasCols   bool // a <Columns> was read and is not nil
	seenCols  bool
	cols      []schema.Column
	parsers   []columnParser
	values    []bulk.Value
	row       int
	// vName is a <V> as this body writes it, valid while the namespaces stay as they were at
	// vGen: values written that way take the fast path.
	vName   []byte
	vGen    uint64
	rowName []byte
	rowGen  uint64
}

func (b *batchReader) errorf(column string, format string, args ...any) *Error {
	e := b.d.failf(format, args...)
	e.Table, e.Row, e.Column = b.table, b.row, column
	return e
}

// sinkError places an error of the sink at the row it refused, without changing its class.
func (b *batchReader) sinkError(err error) error {
	if b.row > 0 {
		return fmt.Errorf("%s: table %q, row %d: %w", b.d.operation, b.table, b.row, err)
	}
	return b.tableError(err)
}

// tableError places an error of the sink about the whole batch (its LSN, its end) at its
// table, without changing its class.
func (b *batchReader) tableError(err error) error {
	return fmt.Errorf("%s: table %q: %w", b.d.operation, b.table, err)
}

func (d *Decoder) batch(sink RowSink, n int) error {
	b := &batchReader{d: d, rs: sink}
	var seenRows, seenLSN, hasLSN bool
	var lsn int64
	err := d.item("Batch")
	if err == nil {
		err = d.children("Batch", func(name string) error {
			switch name {
			case "Table":
				if err := d.once(&b.seenTable, name); err != nil {
					return err
				}
				var err error
				b.table, b.hasTable, err = d.stringField(name, MaxFieldSize)
				return err
			case "Columns":
				if err := d.once(&b.seenCols, name); err != nil {
					return err
				}
				var err error
				b.hasCols, err = d.list("Columns", func(name string) error {
					if name != "Name" {
						return d.skipElement("Columns")
					}
					c, err := d.text(name)
					b.columns = append(b.columns, c)
					return err
				})
				return err
			case "Rows":
				if err := d.once(&seenRows, name); err != nil {
					return err
				}
				if err := b.open(); err != nil {
					return err
				}
				return b.rows()
			case "Lsn":
				if err := d.once(&seenLSN, name); err != nil {
					return err
				}
				var err error
				lsn, hasLSN, err = d.int64Field(name)
				return err
			}
			return d.skipElementWithoutRows("Batch")
		})
	}
	if err == nil && !seenRows {
		// The rows are required: a batch whose rows went astray must not advance its LSN.
		switch {
		case !b.hasTable || !b.hasCols:
			err = b.missing("<Batch> has no <%s>")
		default:
			err = b.errorf("", "<Batch> has no <Rows>; send <Rows/> for a batch without rows")
		}
	}
	if err != nil {
		if we := (*Error)(nil); errors.As(err, &we) && we.Table == "" {
			we.Table = b.table
			if !b.hasTable {
				we.Msg += " (in batch " + strconv.Itoa(n) + ")"
			}
		}
		return err
	}
	if hasLSN {
		if err := b.sink.SetLSN(lsn); err != nil {
			return b.tableError(err)
		}
	}
	if err := b.sink.Close(); err != nil {
		return b.tableError(err)
	}
	return nil
}

// missing is the error for a batch whose <Table> or <Columns> is missing or nil; format has a
// %s for the element.
func (b *batchReader) missing(format string) error {
	name, seen := "Table", b.seenTable
	if b.hasTable {
		name, seen = "Columns", b.seenCols
	}
	if seen {
		return b.errorf("", "<%s> is nil", name)
	}
	return b.errorf("", format, name)
}

// open starts the batch in the sink once its table and columns are known.
func (b *batchReader) open() error {
	if !b.hasTable || !b.hasCols {
		return b.missing("<%s> must come before <Rows>")
	}
	if len(b.columns) == 0 {
		return b.errorf("", "<Columns> names no column")
	}
	sink, err := b.rs.Batch(b.table, b.columns)
	if err != nil {
		return b.sinkError(err)
	}
	b.sink = sink
	b.cols = sink.Columns()
	if len(b.cols) != len(b.columns) {
		return fmt.Errorf("%s: table %q: the sink has %d columns for the %d the batch names", b.d.operation, b.table, len(b.cols), len(b.columns))
	}
	b.values = make([]bulk.Value, len(b.cols))
	b.parsers = make([]columnParser, len(b.cols))
	for i, c := range b.cols {
		b.parsers[i] = columnParser{parse: bulk.Parser(c), copyText: !parsedAlone[c.Type]}
	}
	return nil
}

// parsedAlone lists the types whose parsed value never refers to the text it was parsed from,
// so that the text can be lent to the parser without a copy. Strings and decimals keep it.
var parsedAlone = func() map[schema.Type]bool {
	alone := map[schema.Type]bool{}
	for _, t := range schema.Types() {
		if f := t.Family(); f != schema.FamilyString && f != schema.FamilyDecimal {
			alone[t] = true
		}
	}
	return alone
}()

// rows reads <Rows>: the hot path of the whole service. Rows and values written plainly take
// the tokenizer's fast paths straight from the read buffer; anything else (attributes the
// contract does not have, xsi:nil, references the fast path leaves alone, elements cut by the
// end of the buffer) takes the general path.
func (b *batchReader) rows() error {
	d, s := b.d, b.d.tok
	isNil, err := d.attributes("Rows")
	if err != nil {
		return b.place(err)
	}
	if isNil {
		return b.errorf("", "<Rows> is nil; send <Rows/> for a batch without rows")
	}
	for {
		op, ok, err := b.rowStart()
		if err != nil || !ok {
			return b.place(err)
		}
		n := 0
		for {
			if b.vName != nil && b.vGen == s.namesGen() && n < len(b.cols) {
				text, isNil, ok, err := s.fastValue(b.vName, d.MaxTextSize)
				if err != nil {
					return b.place(withColumn(d.fail(err), b.cols[n].Name))
				}
				if ok {
					if err := b.setValue(n, text, isNil); err != nil {
						return err
					}
					n++
					continue
				}
			}
			if b.rowName != nil && b.rowGen == s.namesGen() && s.fastClose(b.rowName) {
				break
			}
			ok, err := d.child()
			if err != nil {
				return b.place(err)
			}
			if !ok {
				break
			}
			// A row's values are positional: an element that is not a value cannot be skipped
			// without the risk of reading the next value as this one.
			if string(s.local()) != "V" {
				return b.errorf("", "unknown element <%s> in <Row>", s.local())
			}
			if n == len(b.cols) {
				return b.errorf("", "the row has more than %d values; the batch names %d columns (%s)", n, n, strings.Join(b.columns, ", "))
			}
			if b.vGen != s.namesGen() || b.vName == nil {
				b.vName, b.vGen = append(b.vName[:0], s.rawName()...), s.namesGen()
			}
			if err := b.value(n); err != nil {
				return err
			}
			n++
		}
		if n < len(b.cols) {
			return b.errorf("", "the row has %d values; the batch names %d columns (%s)", n, len(b.cols), strings.Join(b.columns, ", "))
		}
		if err := b.sink.Add(op, b.values); err != nil {
			return b.sinkError(err)
		}
	}
}

// rowStart reads the start of the next <Row> and its op, skipping (and reporting) elements of
// <Rows> that are not rows; ok is false at the end of <Rows>.
func (b *batchReader) rowStart() (bulk.Op, bool, error) {
	d, s := b.d, b.d.tok
	for {
		if b.rowName != nil && b.rowGen == s.namesGen() {
			if op, ok := s.fastRowStart(b.rowName); ok {
				b.row++
				return bulk.Op(op), true, nil
			}
		}
		ok, err := d.child()
		if err != nil || !ok {
			return 0, false, err
		}
		if string(s.local()) == "Row" {
			break
		}
		if err := d.skipElementWithoutRows("Rows"); err != nil {
			return 0, false, err
		}
	}
	b.row++
	if b.rowGen != s.namesGen() || b.rowName == nil {
		b.rowName, b.rowGen = append(b.rowName[:0], s.rawName()...), s.namesGen()
	}
	op, err := b.op()
	return op, err == nil, err
}

// place adds the batch's table and row to a decode error.
func (b *batchReader) place(err error) error {
	var we *Error
	if errors.As(err, &we) && we.Table == "" {
		we.Table, we.Row = b.table, b.row
	}
	return err
}

// op reads a row's op attribute and checks its lsn attribute.
func (b *batchReader) op() (bulk.Op, error) {
	s := b.d.tok
	if err := b.d.item("Row", "op", "lsn"); err != nil {
		return 0, b.place(err)
	}
	v, ok := s.findAttr("op", "")
	if !ok {
		return 0, b.errorf("", "<Row> has no op attribute")
	}
	if len(v) != 1 || v[0] != 'I' && v[0] != 'U' && v[0] != 'D' {
		return 0, b.errorf("", "<Row> op %s is not I, U or D", quoteValue(v))
	}
	if lsn, ok := s.findAttr("lsn", ""); ok {
		if _, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(lsn), len(lsn)), 10, 64); err != nil {
			return 0, b.errorf("", "<Row> lsn %s is not a 64-bit integer", quoteValue(lsn))
		}
	}
	return bulk.Op(v[0]), nil
}

// value reads the <V> of column i into b.values[i].
func (b *batchReader) value(i int) error {
	d, s := b.d, b.d.tok
	col := b.cols[i]
	isNil, err := d.attributes("V", "enc")
	if err != nil {
		return b.place(withColumn(err, col.Name))
	}
	base64Text := false
	if v, ok := s.findAttr("enc", ""); ok {
		if string(v) != "base64" {
			return b.errorf(col.Name, "enc=%s is not base64", quoteValue(v))
		}
		base64Text = true
	}
	text, err := d.content("V", d.MaxTextSize)
	if err != nil {
		return b.place(withColumn(err, col.Name))
	}
	if base64Text && !isNil {
		n := base64.StdEncoding.DecodedLen(len(text))
		if cap(d.b64) < n {
			d.b64 = make([]byte, n)
		}
		m, err := base64.StdEncoding.Decode(d.b64[:n], text)
		if err != nil {
			return b.errorf(col.Name, "enc=\"base64\" value is not base64: %v", err)
		}
		text = d.b64[:m]
	}
	return b.setValue(i, text, isNil)
}

// columnParser parses the values of one column of a batch.
type columnParser struct {
	parse    func(string) (bulk.Value, error)
	copyText bool // parsed values may keep their text, so it must be copied
}

// setValue parses the text of column i's value into b.values[i]. The text is lent without a
// copy to parsers whose values never refer to it; the parse is repeated on a copy for the
// error, which may quote it.
func (b *batchReader) setValue(i int, text []byte, isNil bool) error {
	if isNil {
		if len(text) > 0 {
			return b.errorf(b.cols[i].Name, "a nil value holds text %s", quoteValue(text))
		}
		b.values[i] = bulk.Value{}
		return nil
	}
	p := &b.parsers[i]
	var v bulk.Value
	var err error
	if p.copyText {
		v, err = p.parse(b.d.keep(text))
	} else if v, err = p.parse(unsafe.String(unsafe.SliceData(text), len(text))); err != nil {
		_, err = p.parse(string(text))
	}
	if err != nil {
		return b.errorf(b.cols[i].Name, "%v", err)
	}
	b.values[i] = v
	return nil
}

func withColumn(err error, column string) error {
	var we *Error
	if errors.As(err, &we) && we.Column == "" {
		we.Column = column
	}
	return err
}

// Strings that values keep are copied into shared chunks rather than allocated one by one:
// one allocation serves many values, and a chunk lives as long as any value still uses it.
const (
	keepChunk = 64 << 10
	keepAlone = 4 << 10 // longer strings get their own allocation
)

// keep returns an immutable copy of b.
func (d *Decoder) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > keepAlone {
		return string(b)
	}
	if cap(d.kept)-len(d.kept) < len(b) {
		d.kept = make([]byte, 0, keepChunk)
	}
	start := len(d.kept)
	d.kept = append(d.kept, b...)
	return unsafe.String(&d.kept[start], len(b))
}
