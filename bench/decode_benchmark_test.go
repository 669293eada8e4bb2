//go:build linux

package bench

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// BenchmarkDecode is the decoder's micro-benchmark on the whole path's own bytes: exactly the
// RowData request bodies that BenchmarkWholePath sends (with the token's placeholder, which the
// decoder reads but does not check; the server verifies the token before decoding), encoded
// before the clock and held in memory, so that decode-MB/cpu-s measured inside a real cycle
// compares with it directly.
//
//	Contact  the contact table of PostgreSQL/Repopulate (MIRRORD_BENCH_WHOLE_ROWS rows)
//	Demo     the demo tenant's first cycle (MIRRORD_BENCH_WHOLE_DEMO rows)
//
// Each op decodes every body with wire's decoder into a sink that takes the columns of the
// batch's table, so that every value is parsed as the server parses it, and discards the rows
// (as soapfront/wire's BenchmarkRowData does); then, with b's timer stopped, walks the same bytes
// with encoding/xml's Token loop, which does not even parse the values (as its
// BenchmarkRowDataEncodingXML does). Metrics, CPU being this process's (getrusage):
//
//	ns/op, MB/s             wire's decoder
//	MB/cpu-s                request bytes per CPU second of wire's decoder
//	encoding/xml-MB/cpu-s   the same of encoding/xml's Token loop
//	vs-encoding/xml         MB/cpu-s / encoding/xml-MB/cpu-s
func BenchmarkDecode(b *testing.B) {
	rows := wholeSize(b, "MIRRORD_BENCH_WHOLE_ROWS", 200_000)
	demo := wholeSize(b, "MIRRORD_BENCH_WHOLE_DEMO", 50_000)
	b.Run("Contact", func(b *testing.B) {
		cycle, err := contactCycle(b.TempDir(), rows)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(cycle.close)
		decodeBench(b, cycle)
	})
	b.Run("Demo", func(b *testing.B) { decodeBench(b, loadDemo(b, demo).cycle) })
}

func decodeBench(b *testing.B, cy *wholeCycle) {
	var bodies [][]byte
	var size int64
	for _, lane := range cy.lanes {
		for _, r := range lane {
			body := make([]byte, r.size)
			if _, err := r.src.ReadAt(body, r.off); err != nil {
				b.Fatalf("reading a request from the spool: %v", err)
			}
			bodies = append(bodies, body)
			size += r.size
		}
	}
	sink := &decodeSink{tables: map[string]schema.Table{}}
	for _, t := range cy.tables {
		sink.tables[t.Name] = t
	}
	b.SetBytes(size)
	b.Logf("%d rows in %d RowData bodies, %.1f MB", cy.rows, len(bodies), float64(size)/1e6)
	var decodeCPU, xmlCPU time.Duration
	for b.Loop() {
		sink.rows = 0
		cpu := processCPUTime()
		for i, body := range bodies {
			d := wire.NewDecoder(bytes.NewReader(body))
			if _, err := d.Start(); err != nil {
				b.Fatalf("body %d: %v", i+1, err)
			}
			if _, err := d.RowData(sink); err != nil {
				b.Fatalf("body %d: %v", i+1, err)
			}
		}
		decodeCPU += processCPUTime() - cpu
		b.StopTimer()
		if sink.rows != cy.rows {
			b.Fatalf("the decoder handed on %d rows, the bodies carry %d", sink.rows, cy.rows)
		}
		cpu = processCPUTime()
		for i, body := range bodies {
			if err := xmlTokens(body); err != nil {
				b.Fatalf("encoding/xml, body %d: %v", i+1, err)
			}
		}
		xmlCPU += processCPUTime() - cpu
		b.StartTimer()
	}
	if decodeCPU <= 0 || xmlCPU <= 0 {
		return
	}
	mb := float64(size) * float64(b.N) / 1e6
	b.ReportMetric(mb/decodeCPU.Seconds(), "MB/cpu-s")
	b.ReportMetric(mb/xmlCPU.Seconds(), "encoding/xml-MB/cpu-s")
	b.ReportMetric(xmlCPU.Seconds()/decodeCPU.Seconds(), "vs-encoding/xml")
}

// xmlTokens walks body with encoding/xml's Token loop.
func xmlTokens(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// decodeSink gives the decoder each batch's columns, as the engine does, and counts the rows.
type decodeSink struct {
	tables map[string]schema.Table
	rows   int64
}

func (s *decodeSink) Batch(table string, columns []string) (wire.BatchSink, error) {
	t, ok := s.tables[table]
	if !ok {
		return nil, fmt.Errorf("table %s is not in the cycle", table)
	}
	cols := make([]schema.Column, len(columns))
	for i, name := range columns {
		j := t.Column(name)
		if j < 0 {
			return nil, fmt.Errorf("table %s has no column %s", table, name)
		}
		cols[i] = t.Columns[j]
	}
	return &decodeBatch{sink: s, cols: cols}, nil
}

type decodeBatch struct {
	sink *decodeSink
	cols []schema.Column
}

func (d *decodeBatch) Columns() []schema.Column        { return d.cols }
func (d *decodeBatch) Add(bulk.Op, []bulk.Value) error { d.sink.rows++; return nil }
func (d *decodeBatch) SetLSN(int64) error              { return nil }
func (d *decodeBatch) Close() error                    { return nil }
