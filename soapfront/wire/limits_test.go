package wire

import (
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocated on the heap.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// fillerSize is the insignificant content each case streams: tens of megabytes, which the
// decoder must pass over without holding.
func fillerSize() int64 {
	if testing.Short() || raceEnabled {
		return 8 << 20
	}
	return 32 << 20
}

// TestInsignificantContentStreams decodes bodies that carry tens of megabytes of whitespace,
// comments and processing instructions where XML lets them be, and checks that the decoder
// allocates a small fixed amount whatever their size: they are skipped as they stream, never
// gathered. (Gzipped, such a body is a few hundred kilobytes on the wire.)
func TestInsignificantContentStreams(t *testing.T) {
	row := `<Row op="I"><V>1</V><V>a</V></Row>`
	withFiller := func(body, at string) (head, tail string) {
		i := strings.Index(body, at)
		if i < 0 {
			panic(at)
		}
		return body[:i], body[i:]
	}
	valid := rowDataBody(contactBatch(row + row))
	cases := []struct {
		name, at, block string
	}{
		{"spaces in the envelope", "<s:Body>", " \r\n\t"},
		{"spaces between batches", "<Batch>", "\n    "},
		{"spaces, comments and PIs between rows", "<Row", "\n  <!-- a comment -->\n  <?pi x?>"},
		{"spaces between values", "<V>a", "\n      "},
		{"spaces in a skipped header entry", "<SignedToken", `<a:Action xmlns:a="urn:x"><a:x/>` + strings.Repeat(" ", 1000) + `</a:Action>`},
		{"spaces after the envelope", "\x00", "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			head, tail := valid, ""
			if c.at != "\x00" {
				head, tail = withFiller(valid, c.at)
			}
			body := &repeatBody{head: []byte(head), block: []byte(c.block), tail: []byte(tail), left: fillerSize()}
			var sink *testSink
			var err error
			n := allocated(func() {
				d := NewDecoder(body)
				sink = newTestSink(contactTable)
				if _, err = d.Start(); err == nil {
					_, err = d.RowData(sink)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.batches) != 1 || len(sink.batches[0].rows) != 2 {
				t.Fatalf("decoded %s", sink.dump())
			}
			const bound = 1 << 20
			if n > bound {
				t.Fatalf("decoding %d MiB of insignificant content allocated %d KiB; the bound is %d KiB", fillerSize()>>20, n>>10, bound>>10)
			}
			t.Logf("%d MiB of filler: %d KiB allocated", fillerSize()>>20, n>>10)
		})
	}
}

// TestFieldLimits: every text but row values has a small cap, and a long one faults naming the
// element and the cap as soon as the cap is passed, having held no more than the cap.
func TestFieldLimits(t *testing.T) {
	const ns = Namespace
	schemaBody := func(inner string) string {
		return envHead + `<TableSchemaRequest xmlns="` + ns + `">` + inner
	}
	const schemaTail = `</TableSchemaRequest>` + envTail
	table := func(name string) string {
		return `<Tables><Table><Name>` + name + `</Name><Columns/></Table></Tables>`
	}
	cases := []struct {
		name       string
		head, tail string
		block      string
		maxState   int
		want       string
	}{
		{"ClientState of whitespace", schemaBody("<ClientState>"), "</ClientState>" + table("t") + schemaTail, " ", 0,
			"the text of <ClientState> is longer than the limit of 65536 bytes"},
		{"ClientState over a lowered cap", schemaBody("<ClientState>"), "</ClientState>" + table("t") + schemaTail, "state ", 100,
			"the text of <ClientState> is longer than the limit of 100 bytes"},
		{"table name", schemaBody("<Tables><Table><Name>"), "</Name><Columns/></Table></Tables>" + schemaTail, "contact", 0,
			"the text of <Name> is longer than the limit of 65536 bytes"},
		{"column type", schemaBody("<Tables><Table><Name>t</Name><Columns><Column><Name>c</Name><Type>"), "</Type></Column></Columns></Table></Tables>" + schemaTail, "int ", 0,
			"the text of <Type> is longer than the limit of 65536 bytes"},
		{"number", schemaBody("<Tables><Table><Name>t</Name><Columns><Column><Name>c</Name><Type>int</Type><Length>"), "</Length></Column></Columns></Table></Tables>" + schemaTail, "0", 0,
			"the text of <Length> is longer than the limit of 65536 bytes"},
		{"token", `<s:Envelope xmlns:s="` + soapNS + `"><s:Header><SignedToken xmlns="` + ns + `">`, "</SignedToken></s:Header><s:Body/></s:Envelope>", "eyJhbGciOiJSUzI1NiJ9.", 0,
			"the text of <SignedToken> is longer than the limit of 16384 bytes"},
		{"attribute value", schemaBody(`<ClientState a="`), `"/>` + table("t") + schemaTail, "x", 0,
			"an attribute value of <ClientState> is longer than the limit of 65536 bytes"},
		{"text in a skipped header entry", `<s:Envelope xmlns:s="` + soapNS + `"><s:Header><a:Action xmlns:a="urn:x">`, "</a:Action></s:Header><s:Body/></s:Envelope>", "http://x/ ", 0,
			"the text of <Action> is longer than the limit of 65536 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &repeatBody{head: []byte(c.head), block: []byte(c.block), tail: []byte(c.tail), left: fillerSize()}
			var err error
			n := allocated(func() {
				d := NewDecoder(body)
				if c.maxState > 0 {
					d.MaxClientState = c.maxState
				}
				if _, err = d.Start(); err == nil {
					_, err = d.TableSchema()
				}
			})
			if !IsClientError(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
			const bound = 1 << 20
			if n > bound {
				t.Fatalf("allocated %d KiB before failing; the bound is %d KiB", n>>10, bound>>10)
			}
		})
	}
}

// TestHugeUnknownElementStreams skips an element the contract does not have that holds tens of
// megabytes of content: it is read through as it streams, checked as any content is, reported
// once, and costs no more memory than a small one.
func TestHugeUnknownElementStreams(t *testing.T) {
	valid := rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row>`))
	i := strings.Index(valid, "<Batch>")
	body := &repeatBody{
		head:  []byte(valid[:i] + `<Archive xmlns="urn:other">`),
		block: []byte(`<Entry id="1"><Name>contact</Name><!-- c --><Data>AAEC &amp; more</Data></Entry>` + "\n"),
		tail:  []byte(`</Archive>` + valid[i:]),
		left:  fillerSize(),
	}
	var skipped []string
	var err error
	n := allocated(func() {
		d := NewDecoder(body)
		d.OnSkip = func(operation, element string) { skipped = append(skipped, operation+" "+element) }
		if _, err = d.Start(); err == nil {
			_, err = d.RowData(newTestSink(contactTable))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(skipped) != 1 || skipped[0] != "RowData Batches/Archive" {
		t.Fatalf("skipped %q", skipped)
	}
	const bound = 1 << 20
	if n > bound {
		t.Fatalf("skipping %d MiB allocated %d KiB; the bound is %d KiB", fillerSize()>>20, n>>10, bound>>10)
	}
}
