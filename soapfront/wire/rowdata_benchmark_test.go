package wire

import (
	"bytes"
	"encoding/xml"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

const benchRows = 20_000

var benchPayload = sync.OnceValue(func() []byte {
	var body bytes.Buffer
	w := NewRowDataWriter(&body, "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "")
	for b := 0; b < benchRows/1000; b++ {
		if err := w.Begin(contactTable.Name, contactTable.Columns); err != nil {
			panic(err)
		}
		for i := b * 1000; i < (b+1)*1000; i++ {
			if err := w.Row(bulk.Insert, int64(1000+i), contactRow(i)...); err != nil {
				panic(err)
			}
		}
		if err := w.End(); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return body.Bytes()
})

// discardSink takes rows and keeps nothing: the decoder alone is measured.
type discardSink struct {
	cols []schema.Column
	rows int
}

func (s *discardSink) Batch(string, []string) (BatchSink, error) { return s, nil }
func (s *discardSink) Columns() []schema.Column                  { return s.cols }
func (s *discardSink) Add(bulk.Op, []bulk.Value) error           { s.rows++; return nil }
func (s *discardSink) SetLSN(int64) error                        { return nil }
func (s *discardSink) Close() error                              { return nil }

// BenchmarkRowData decodes a RowData request of contact rows, parsing every value.
func BenchmarkRowData(b *testing.B) {
	payload := benchPayload()
	sink := &discardSink{cols: contactTable.Columns}
	r := bytes.NewReader(payload)
	decode := func() {
		r.Reset(payload)
		d := NewDecoder(r)
		if _, err := d.Start(); err != nil {
			b.Fatal(err)
		}
		if _, err := d.RowData(sink); err != nil {
			b.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(2, decode)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	cpu := processCPU()
	for b.Loop() {
		decode()
	}
	reportCPURate(b, int64(len(payload)), processCPU()-cpu)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchRows), "ns/row")
	b.ReportMetric(allocs/benchRows, "allocs/row")
	b.ReportMetric(float64(len(payload))/benchRows, "bytes/row")
}

// BenchmarkRowDataEncodingXML walks the same payload with encoding/xml's token loop, without
// even parsing the values: the baseline the hand-written decoder is measured against.
func BenchmarkRowDataEncodingXML(b *testing.B) {
	payload := benchPayload()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	r := bytes.NewReader(payload)
	cpu := processCPU()
	defer func() { reportCPURate(b, int64(len(payload)), processCPU()-cpu) }()
	for b.Loop() {
		r.Reset(payload)
		d := xml.NewDecoder(r)
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkRowDataWriter measures the sending side's writer on the same rows.
func BenchmarkRowDataWriter(b *testing.B) {
	rows := make([][]any, 1000)
	for i := range rows {
		rows[i] = contactRow(i)
	}
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		var cw countWriter
		w := NewRowDataWriter(&cw, "t", "")
		if err := w.Begin(contactTable.Name, contactTable.Columns); err != nil {
			b.Fatal(err)
		}
		for i, row := range rows {
			if err := w.Row(bulk.Insert, int64(i), row...); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.End(); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	b.SetBytes(n)
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// reportCPURate reports MB per second of process CPU time: the rate per core, which a shared
// machine's wall clock understates.
func reportCPURate(b *testing.B, bytesPerOp int64, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(bytesPerOp)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}
