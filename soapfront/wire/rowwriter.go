package wire

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// RowDataWriter streams a RowDataRequest: the sending side's writer, for tests and load tools.
// Begin a batch, write its rows, End it; Close ends the request. The first error sticks.
type RowDataWriter struct {
	w       *bufio.Writer
	x       requestWriter // the variant's markup, writing into scratch
	cols    []schema.Column
	inBatch bool
	closed  bool
	scratch []byte
	err     error
	// The markup of rows and values in the writer's variant, made once.
	rowOpen, rowClose, value, valueClose, valueNil, valueBase64 string
}

// NewRowDataWriter writes the envelope with the SignedToken header and the start of the request,
// in the contract's own shape.
func NewRowDataWriter(out io.Writer, token, clientState string) *RowDataWriter {
	return Variant{}.NewRowDataWriter(out, token, clientState)
}

// NewRowDataWriter writes the envelope with the SignedToken header and the start of the request,
// in the variant's shape.
func (v Variant) NewRowDataWriter(out io.Writer, token, clientState string) *RowDataWriter {
	rw := &RowDataWriter{w: bufio.NewWriterSize(out, 64<<10), x: requestWriter{v: v}}
	rw.x.open(token, "RowDataRequest")
	rw.x.clientState(clientState)
	rw.x.startList("Batches")
	rw.write(rw.x.b)
	pre, attr := v.prefix(), ""
	if v.UnknownElements {
		attr = unknownAttr
	}
	rw.rowOpen, rw.rowClose = "<"+pre+`Row op="`, "</"+pre+"Row>"
	rw.value, rw.valueClose = "<"+pre+"V"+attr+">", "</"+pre+"V>"
	rw.valueNil = "<" + pre + "V" + attr + v.nilAttr() + "/>"
	rw.valueBase64 = "<" + pre + "V" + attr + ` enc="base64">`
	return rw
}

// markup starts the markup of the batch in scratch.
func (rw *RowDataWriter) markup() *requestWriter {
	rw.x.b = rw.scratch[:0]
	return &rw.x
}

func (rw *RowDataWriter) write(b []byte) {
	if rw.err == nil {
		_, rw.err = rw.w.Write(b)
	}
}

// Begin starts a batch of table carrying columns, in order.
func (rw *RowDataWriter) Begin(table string, columns []schema.Column) error {
	if rw.err != nil {
		return rw.err
	}
	if rw.inBatch || rw.closed {
		return errors.New("wire: Begin inside a batch or after Close")
	}
	rw.inBatch, rw.cols = true, columns
	x := rw.markup()
	x.startItem("Batch")
	x.elem("Table", table)
	x.startList("Columns")
	for _, c := range columns {
		x.elem("Name", c.Name)
	}
	x.end("Columns")
	x.startList("Rows")
	rw.scratch = x.b
	rw.write(x.b)
	return rw.err
}

// Row writes one row: op, its LSN, and one value a column in the Go types of package bulk (nil
// is NULL). A string that XML cannot carry exactly travels as enc="base64".
func (rw *RowDataWriter) Row(op bulk.Op, lsn int64, values ...any) error {
	if rw.err != nil {
		return rw.err
	}
	if !rw.inBatch {
		return errors.New("wire: Row outside a batch")
	}
	if len(values) != len(rw.cols) {
		return fmt.Errorf("wire: row has %d values for %d columns", len(values), len(rw.cols))
	}
	if _, err := bulk.ParseOp(op.String()); err != nil {
		return err
	}
	b := append(rw.scratch[:0], rw.rowOpen...)
	b = append(b, byte(op))
	b = append(b, `" lsn="`...)
	b = strconv.AppendInt(b, lsn, 10)
	if rw.x.v.UnknownElements {
		b = append(b, `" rowguid="`...)
		b = strconv.AppendInt(b, lsn, 10)
	}
	b = append(b, `">`...)
	for i, v := range values {
		if v == nil {
			b = append(b, rw.valueNil...)
			continue
		}
		text, err := bulk.FormatValue(rw.cols[i], v)
		if err != nil {
			rw.scratch = b
			return fmt.Errorf("wire: column %s: %w", rw.cols[i].Name, err)
		}
		if needsBase64(text) {
			b = append(b, rw.valueBase64...)
			b = base64.StdEncoding.AppendEncode(b, []byte(text))
		} else {
			b = append(b, rw.value...)
			b = appendEscaped(b, text, false)
		}
		b = append(b, rw.valueClose...)
	}
	b = append(b, rw.rowClose...)
	rw.scratch = b
	rw.write(b)
	return rw.err
}

// End ends the batch without an <Lsn>: more batches of the table follow.
func (rw *RowDataWriter) End() error { return rw.end(nil) }

// EndLSN ends the batch with its <Lsn>: the table's last batch of the call.
func (rw *RowDataWriter) EndLSN(lsn int64) error { return rw.end(&lsn) }

func (rw *RowDataWriter) end(lsn *int64) error {
	if rw.err != nil {
		return rw.err
	}
	if !rw.inBatch {
		return errors.New("wire: End outside a batch")
	}
	rw.inBatch = false
	x := rw.markup()
	x.end("Rows")
	if lsn != nil {
		x.int("Lsn", *lsn)
	}
	x.endItem("Batch")
	rw.scratch = x.b
	rw.write(x.b)
	return rw.err
}

// Close ends the request and flushes it. It does not close the underlying writer.
func (rw *RowDataWriter) Close() error {
	if rw.err != nil {
		return rw.err
	}
	if rw.inBatch {
		return errors.New("wire: Close inside a batch")
	}
	if !rw.closed {
		rw.closed = true
		x := rw.markup()
		x.end("Batches")
		x.raw("</RowDataRequest>" + bodyClose + envelopeClose)
		rw.scratch = x.b
		rw.write(x.b)
		if rw.err == nil {
			rw.err = rw.w.Flush()
		}
	}
	return rw.err
}

// Flush sends what is buffered, so that a long request streams while it is written.
func (rw *RowDataWriter) Flush() error {
	if rw.err == nil {
		rw.err = rw.w.Flush()
	}
	return rw.err
}
