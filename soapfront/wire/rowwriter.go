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
	cols    []schema.Column
	inBatch bool
	closed  bool
	scratch []byte
	err     error
}

// NewRowDataWriter writes the envelope with the SignedToken header and the start of the request.
func NewRowDataWriter(out io.Writer, token, clientState string) *RowDataWriter {
	rw := &RowDataWriter{w: bufio.NewWriterSize(out, 64<<10)}
	var x xmlWriter
	x.open(true, token, "RowDataRequest")
	x.elem("ClientState", clientState)
	x.raw("<Batches>")
	rw.write(x.b)
	return rw
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
	b := append(rw.scratch[:0], "<Batch><Table>"...)
	b = appendEscaped(b, table, false)
	b = append(b, "</Table><Columns>"...)
	for _, c := range columns {
		b = append(b, "<Name>"...)
		b = appendEscaped(b, c.Name, false)
		b = append(b, "</Name>"...)
	}
	b = append(b, "</Columns><Rows>"...)
	rw.scratch = b
	rw.write(b)
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
	b := append(rw.scratch[:0], `<Row op="`...)
	b = append(b, byte(op))
	b = append(b, `" lsn="`...)
	b = strconv.AppendInt(b, lsn, 10)
	b = append(b, `">`...)
	for i, v := range values {
		if v == nil {
			b = append(b, `<V nil="true"/>`...)
			continue
		}
		text, err := bulk.FormatValue(rw.cols[i], v)
		if err != nil {
			rw.scratch = b
			return fmt.Errorf("wire: column %s: %w", rw.cols[i].Name, err)
		}
		if needsBase64(text) {
			b = append(b, `<V enc="base64">`...)
			b = base64.StdEncoding.AppendEncode(b, []byte(text))
		} else {
			b = append(b, "<V>"...)
			b = appendEscaped(b, text, false)
		}
		b = append(b, "</V>"...)
	}
	b = append(b, "</Row>"...)
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
	b := append(rw.scratch[:0], "</Rows>"...)
	if lsn != nil {
		b = append(b, "<Lsn>"...)
		b = strconv.AppendInt(b, *lsn, 10)
		b = append(b, "</Lsn>"...)
	}
	b = append(b, "</Batch>"...)
	rw.scratch = b
	rw.write(b)
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
		rw.write([]byte("</Batches></RowDataRequest>" + bodyClose + envelopeClose))
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
