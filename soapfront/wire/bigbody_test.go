package wire

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// repeatBody streams a RowData request of size bytes or a little more: a head, one block of
// rows over and over, and a tail. Nothing of it is held but the block.
type repeatBody struct {
	head, block, tail []byte
	left              int64 // bytes of blocks still to send
	cur               []byte
	stage             int
}

func (r *repeatBody) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(r.cur) == 0 {
			switch {
			case r.stage == 0:
				r.cur, r.stage = r.head, 1
			case r.stage == 1 && r.left > 0:
				r.cur = r.block
				r.left -= int64(len(r.block))
			case r.stage == 1:
				r.cur, r.stage = r.tail, 2
			default:
				return n, io.EOF
			}
		}
		c := copy(p[n:], r.cur)
		r.cur = r.cur[c:]
		n += c
	}
	return n, nil
}

// newRepeatBody renders the parts of a body of about size bytes of contact rows, and the number
// of rows it holds.
func newRepeatBody(t testing.TB, size int64) (*repeatBody, int64) {
	var buf bytes.Buffer
	w := NewRowDataWriter(&buf, "t", "big")
	if err := w.Begin(contactTable.Name, contactTable.Columns); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	const blockRows = 1000
	for i := range blockRows {
		if err := w.Row(bulk.Insert, int64(i), contactRow(i)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	block := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := w.EndLSN(42); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	blocks := (size + int64(len(block)) - 1) / int64(len(block))
	return &repeatBody{head: head, block: block, tail: bytes.Clone(buf.Bytes()), left: blocks * int64(len(block))}, blocks * blockRows
}

// memorySink counts rows and samples the heap as they pass.
type memorySink struct {
	cols    []schema.Column
	rows    int64
	lsn     int64
	maxHeap uint64
}

func (s *memorySink) Batch(string, []string) (BatchSink, error) { return s, nil }
func (s *memorySink) Columns() []schema.Column                  { return s.cols }
func (s *memorySink) SetLSN(lsn int64) error                    { s.lsn = lsn; return nil }
func (s *memorySink) Close() error                              { return nil }
func (s *memorySink) Add(op bulk.Op, values []bulk.Value) error {
	s.rows++
	if s.rows%250_000 == 0 {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		s.maxHeap = max(s.maxHeap, m.HeapInuse)
	}
	return nil
}

// TestHugeBodyStreams decodes a 1 GiB body (less under -short or the race detector) and checks
// that the heap stays flat: the decoder holds a buffer, not the body.
func TestHugeBodyStreams(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() || raceEnabled {
		size = 64 << 20
	}
	body, rows := newRepeatBody(t, size)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	sink := &memorySink{cols: contactTable.Columns}
	d := NewDecoder(body)
	if _, err := d.Start(); err != nil {
		t.Fatal(err)
	}
	state, err := d.RowData(sink)
	if err != nil {
		t.Fatal(err)
	}
	if state != "big" || sink.rows != rows || sink.lsn != 42 {
		t.Fatalf("state %q, %d rows of %d, lsn %d", state, sink.rows, rows, sink.lsn)
	}
	const bound = 48 << 20
	if grew := int64(sink.maxHeap) - int64(before.HeapInuse); grew > bound {
		t.Fatalf("heap in use grew by %d MiB decoding a %d MiB body; the bound is %d MiB", grew>>20, size>>20, bound>>20)
	}
	t.Logf("%d MiB, %d rows: heap in use at most %d MiB (%d MiB before)", size>>20, rows, sink.maxHeap>>20, before.HeapInuse>>20)
}
