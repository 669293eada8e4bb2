package wire

import (
	"bytes"
	"testing"
)

// FuzzRowData feeds arbitrary bodies to the RowData decoder: it must never panic, and a body it
// accepts must write back (through RowDataWriter) to a body that decodes to the same rows.
func FuzzRowData(f *testing.F) {
	for _, body := range rowDataVariants {
		f.Add([]byte(body))
	}
	f.Add([]byte(rowDataBody(contactBatch(`<Row op="I" lsn="1"><V>1</V><V>a</V></Row>`))))
	f.Fuzz(func(t *testing.T, body []byte) {
		first := newTestSink(contactTable, allTypesTable)
		d := NewDecoder(bytes.NewReader(body))
		d.MaxTextSize = 1 << 20
		if _, err := d.Start(); err != nil {
			return
		}
		state, err := d.RowData(first)
		if err != nil {
			return
		}
		again := first.reencode(t, state)
		second := newTestSink(contactTable, allTypesTable)
		d = NewDecoder(bytes.NewReader(again))
		if _, err := d.Start(); err != nil {
			t.Fatalf("re-encoded body does not start: %v\n%s", err, again)
		}
		state2, err := d.RowData(second)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%s", err, again)
		}
		if state2 != state {
			t.Fatalf("client state %q came back as %q", state, state2)
		}
		if a, b := first.dump(), second.dump(); a != b {
			t.Fatalf("rows changed in a round trip\nfirst:\n%s\nsecond:\n%s", a, b)
		}
	})
}
