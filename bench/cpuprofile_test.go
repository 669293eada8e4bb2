package bench

// Decoding's share of a real cycle's CPU, read from a CPU profile of this process: the samples
// whose stack runs through the decoder's RowData but not through what the decoder hands each
// row to (the server's batch sink and the engine), which is the engine's cost, not decoding's.

import (
	"bytes"
	"errors"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"
)

const (
	decoderRowData = "github.com/mirrord/mirrord/soapfront/wire.(*Decoder).RowData"
	serverSinkAdd  = "github.com/mirrord/mirrord/soapfront.(*batchSink).Add"
	enginePrefix   = "github.com/mirrord/mirrord/engine."
)

// notDecoding tells the functions below the decoder that are not decoding.
func notDecoding(fn string) bool { return fn == serverSinkAdd || strings.HasPrefix(fn, enginePrefix) }

// stackCPU sums the CPU time of a profile's samples: of all of them, and of those whose stack
// holds a function named within and none for which without is true. Inlined functions count as
// in the stack.
func stackCPU(p *profile.Profile, within string, without func(fn string) bool) (matched, total time.Duration, err error) {
	v := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			v = i
		}
	}
	if v < 0 {
		return 0, 0, errors.New("the profile has no cpu/nanoseconds samples")
	}
	for _, s := range p.Sample {
		total += time.Duration(s.Value[v])
		in, out := false, false
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				in = in || line.Function.Name == within
				out = out || without(line.Function.Name)
			}
		}
		if in && !out {
			matched += time.Duration(s.Value[v])
		}
	}
	return matched, total, nil
}

// cpuProfiler profiles this process's CPU during each whole-path cycle, unless the profiler is
// taken (go test -cpuprofile), in which case it says so once and stays off.
type cpuProfiler struct {
	off bool
	buf bytes.Buffer
}

// start starts a profile and reports whether one runs.
func (c *cpuProfiler) start(b *testing.B) bool {
	if c.off {
		return false
	}
	c.buf.Reset()
	if err := pprof.StartCPUProfile(&c.buf); err != nil {
		c.off = true
		b.Logf("no decode-MB/cpu-s: the CPU profiler is in use (-cpuprofile?): %v", err)
		return false
	}
	return true
}

// stop ends the profile.
func (c *cpuProfiler) stop() { pprof.StopCPUProfile() }

// sums reads the profile and returns the CPU time of decoding and of everything profiled.
func (c *cpuProfiler) sums() (decode, total time.Duration, err error) {
	p, err := profile.Parse(&c.buf)
	if err != nil {
		return 0, 0, fmt.Errorf("reading the CPU profile: %w", err)
	}
	return stackCPU(p, decoderRowData, notDecoding)
}

// TestStackCPU sums a hand-made profile written and read back: a decoding stack, one through
// the sink into the engine, one with the decoder's caller inlined, and a collector's.
func TestStackCPU(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function {
		return &profile.Function{ID: id, Name: name, SystemName: name}
	}
	parse := fn(1, "github.com/mirrord/mirrord/soapfront/wire.(*Decoder).value")
	rowData := fn(2, decoderRowData)
	sinkAdd := fn(3, serverSinkAdd)
	engineAdd := fn(4, "github.com/mirrord/mirrord/engine.(*Batch).Add")
	handler := fn(5, "github.com/mirrord/mirrord/soapfront.(*Server).rowData")
	gc := fn(6, "runtime.gcBgMarkWorker")
	loc := func(id uint64, fns ...*profile.Function) *profile.Location {
		l := &profile.Location{ID: id, Address: 0x1000 * id}
		for _, f := range fns {
			l.Line = append(l.Line, profile.Line{Function: f})
		}
		return l
	}
	lParse, lRowData, lSink, lEngine, lHandler, lGC := loc(1, parse), loc(2, rowData), loc(3, sinkAdd), loc(4, engineAdd), loc(5, handler), loc(6, gc)
	// The leaf inlined into RowData: one location, two lines.
	lInlined := loc(7, parse, rowData)
	ms := func(n int64) []int64 { return []int64{n / 10, n * int64(time.Millisecond)} }
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     int64(10 * time.Millisecond),
		Sample: []*profile.Sample{
			{Location: []*profile.Location{lParse, lRowData, lHandler}, Value: ms(30)},
			{Location: []*profile.Location{lEngine, lSink, lRowData, lHandler}, Value: ms(20)},
			{Location: []*profile.Location{lInlined, lHandler}, Value: ms(10)},
			{Location: []*profile.Location{lGC}, Value: ms(50)},
		},
		Location: []*profile.Location{lParse, lRowData, lSink, lEngine, lHandler, lGC, lInlined},
		Function: []*profile.Function{parse, rowData, sinkAdd, engineAdd, handler, gc},
	}
	var buf bytes.Buffer
	if err := p.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := profile.Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	decode, total, err := stackCPU(back, decoderRowData, notDecoding)
	if err != nil {
		t.Fatal(err)
	}
	if decode != 40*time.Millisecond || total != 110*time.Millisecond {
		t.Errorf("decoding %s of %s, want 40ms of 110ms", decode, total)
	}
	// Without the exclusions the sink's and the engine's sample counts too.
	if all, _, _ := stackCPU(back, decoderRowData, func(string) bool { return false }); all != 60*time.Millisecond {
		t.Errorf("everything under RowData: %s, want 60ms", all)
	}
	if _, _, err := stackCPU(&profile.Profile{SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}}}, decoderRowData, notDecoding); err == nil {
		t.Error("a profile without CPU time was summed")
	}
}
