package wire

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

const envHead = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><SignedToken xmlns="` + Namespace + `">T</SignedToken></s:Header><s:Body>`
const envTail = `</s:Body></s:Envelope>`

// rowDataBody wraps batches in a RowData request.
func rowDataBody(batches string) string {
	return envHead + `<RowDataRequest xmlns="` + Namespace + `"><ClientState/><Batches>` + batches + `</Batches></RowDataRequest>` + envTail
}

// contactBatch is a batch of contact's key and name with the given rows.
func contactBatch(rows string) string {
	return `<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name</Name></Columns><Rows>` + rows + `</Rows><Lsn>7</Lsn></Batch>`
}

func decodeRowData(body string, maxText int) (*testSink, error) {
	d := NewDecoder(strings.NewReader(body))
	if maxText > 0 {
		d.MaxTextSize = maxText
	}
	sink := newTestSink(contactTable, allTypesTable)
	if _, err := d.Start(); err != nil {
		return sink, err
	}
	_, err := d.RowData(sink)
	return sink, err
}

func TestHostileBodies(t *testing.T) {
	valid := rowDataBody(contactBatch(`<Row op="I" lsn="1"><V>1</V><V>a</V></Row>`))
	cases := []struct {
		name, body string
		want       []string // substrings of the error
		sinkError  bool     // the sink refuses it, not the decoder
	}{
		{"empty body", "", []string{"no XML element"}, false},
		{"truncated", valid[:len(valid)-len(envTail)-len("</RowDataRequest>")], []string{"unexpected end of XML", "inside <RowDataRequest>"}, false},
		{"truncated in a value", valid[:strings.Index(valid, "<V>a")+4], []string{"unexpected end of XML", "inside <V>"}, false},
		{"mismatched end tag", strings.Replace(valid, "</Rows>", "</Row>", 1), []string{"</Row> does not close <Rows>"}, false},
		{"not SOAP", `<Envelope><Body/></Envelope>`, []string{`namespace ""`}, false},
		{"SOAP 1.2", strings.ReplaceAll(valid, soapNS, soap12NS), []string{"Envelope", soap12NS}, false},
		{"wrong namespace", strings.Replace(valid, `<RowDataRequest xmlns="`+Namespace, `<RowDataRequest xmlns="http://example.com/mirroring`, 1), []string{"namespace", "http://example.com/mirroring"}, false},
		{"unknown operation", envHead + `<DropRequest xmlns="` + Namespace + `"/>` + envTail, []string{"unknown operation", "DropRequest"}, false},
		{"empty Body", envHead + envTail, []string{"Body is empty"}, false},
		{"no Body", `<s:Envelope xmlns:s="` + soapNS + `"/>`, []string{"no Body"}, false},
		{"two roots", valid + valid, []string{"second root"}, false},
		{"text after envelope", valid + "x", []string{"text outside the root"}, false},
		{"value does not fit", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row><Row op="U"><V>12x</V><V>b</V></Row>`)), []string{`table "contact", row 2, column contact_id`, `"12x" is not a valid int`}, false},
		{"int out of range", rowDataBody(contactBatch(`<Row op="I"><V>2147483648</V><V>a</V></Row>`)), []string{"row 1, column contact_id", "2147483648"}, false},
		{"unknown element in Row", rowDataBody(contactBatch(`<Row op="I"><V>1</V><W>a</W></Row>`)), []string{"unknown element <W> in <Row>", "row 1"}, false},
		{"element in a value", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V><b>a</b></V></Row>`)), []string{"<V> holds element <b>", "column name"}, false},
		{"text between rows", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row>junk`)), []string{`unexpected text "junk"`}, false},
		{"too few values", rowDataBody(contactBatch(`<Row op="I"><V>1</V></Row>`)), []string{"row 1", "has 1 values; the batch names 2 columns (contact_id, name)"}, false},
		{"too many values", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row><Row op="I"><V>2</V><V>b</V><V>c</V></Row>`)), []string{"row 2", "more than 2 values"}, false},
		{"bad op", rowDataBody(contactBatch(`<Row op="X"><V>1</V><V>a</V></Row>`)), []string{`op "X" is not I, U or D`}, false},
		{"missing op", rowDataBody(contactBatch(`<Row><V>1</V><V>a</V></Row>`)), []string{"no op attribute"}, false},
		{"bad lsn", rowDataBody(contactBatch(`<Row op="I" lsn="1e3"><V>1</V><V>a</V></Row>`)), []string{`lsn "1e3"`}, false},
		{"bad batch Lsn", strings.Replace(valid, "<Lsn>7", "<Lsn>seven", 1), []string{`<Lsn> "seven" is not a 64-bit integer`}, false},
		{"nil with text", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V nil="true">a</V></Row>`)), []string{"nil value holds text", "column name"}, false},
		{"bad base64", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V enc="base64">!!</V></Row>`)), []string{"not base64", "column name"}, false},
		{"unknown encoding", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V enc="hex">61</V></Row>`)), []string{`enc="hex" is not base64`}, false},
		{"rows before columns", rowDataBody(`<Batch><Table>contact</Table><Rows/></Batch>`), []string{"<Columns> must come before <Rows>"}, false},
		{"batch without table", rowDataBody(`<Batch><Columns><Name>a</Name></Columns></Batch>`), []string{"<Batch> has no <Table>", "batch 1"}, false},
		{"two Rows", rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Rows/><Rows/></Batch>`), []string{"<Rows> appears twice"}, false},
		{"duplicate columns", rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>contact_id</Name></Columns><Rows/></Batch>`), []string{"named twice"}, true},
		{"unknown table", rowDataBody(contactBatch("")[:0] + `<Batch><Table>nosuch</Table><Columns><Name>a</Name></Columns><Rows/></Batch>`), []string{`unknown table "nosuch"`}, true},
		{"hostile table name passes to the sink", rowDataBody(`<Batch><Table>a]"; DROP TABLE x; --</Table><Columns><Name>b]"</Name></Columns><Rows/></Batch>`), []string{`unknown table "a]\"; DROP TABLE x; --"`}, true},
		{"billion laughs", `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><s:Envelope xmlns:s="` + soapNS + `"><s:Body>&lol2;</s:Body></s:Envelope>`, []string{"DOCTYPE is not allowed"}, false},
		{"DOCTYPE inside", envHead + `<!DOCTYPE x>` + envTail, []string{"DOCTYPE is not allowed"}, false},
		{"undeclared entity", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>&lol;</V></Row>`)), []string{"entity &lol; is not allowed"}, false},
		{"char ref to NUL", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>&#0;</V></Row>`)), []string{"&#0;", "U+0000"}, false},
		{"char ref to surrogate", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>&#xD800;</V></Row>`)), []string{"U+D800"}, false},
		{"raw control character", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>a\x01</V></Row>")), []string{"U+0001 is not allowed"}, false},
		{"invalid UTF-8", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>a\xff</V></Row>")), []string{"not valid UTF-8"}, false},
		{"a character cut by a comment", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>\xC3<!--x-->\xA9</V></Row>")), []string{"cut by a comment", "column name"}, false},
		{"a character cut by a CDATA start", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>\xC3<![CDATA[\xA9]]></V></Row>")), []string{"not valid UTF-8: a character is cut by"}, false},
		{"a character cut by a processing instruction", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>\xC3<?pi x?>\xA9</V></Row>")), []string{"a character is cut by"}, false},
		{"a character cut by a CDATA end", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V><![CDATA[x\xE2\x82]]>\xAC</V></Row>")), []string{"not valid UTF-8: a character is cut by"}, false},
		{"raw U+FFFF", rowDataBody(contactBatch("<Row op=\"I\"><V>1</V><V>a\uFFFF</V></Row>")), []string{"U+FFFE or U+FFFF"}, false},
		{"UTF-16", "\xFF\xFE<\x00", []string{"UTF-16"}, false},
		{"latin-1 declaration", `<?xml version="1.0" encoding="ISO-8859-1"?>` + valid, []string{`encoding "ISO-8859-1" is not supported`}, false},
		{"late declaration", envHead + `<?xml version="1.0"?>` + envTail, []string{"XML declaration may only start"}, false},
		{"undeclared prefix", strings.Replace(valid, "<Batches>", "<p:Batches>", 1), []string{"prefix p is not declared"}, false},
		{"duplicate attribute", rowDataBody(contactBatch(`<Row op="I" op="U"><V>1</V><V>a</V></Row>`)), []string{"attribute op appears twice"}, false},
		{"unquoted attribute", rowDataBody(contactBatch(`<Row op=I><V>1</V><V>a</V></Row>`)), []string{"not quoted"}, false},
		{"text over the limit", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>` + strings.Repeat("x", 2000) + `</V></Row>`)), []string{"longer than the limit of 1000 bytes"}, false},
		{"rows misplaced", rowDataBody(`<Batch><Table>contact</Table><Rows/><Columns><Name>contact_id</Name></Columns></Batch>`), []string{"<Columns> must come before <Rows>"}, false},
		{"batch without rows", rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Lsn>5</Lsn></Batch>`), []string{`table "contact"`, "<Batch> has no <Rows>"}, false},
		{"rows under another name", rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><RowList><Row op="I"><V>1</V></Row></RowList><Lsn>5</Lsn></Batch>`), []string{`table "contact"`, "<RowList> in <Batch> holds a <Row>"}, false},
		{"rows under another name in rows", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row><DataRow op="I"><V>2</V><V>b</V></DataRow>`)), []string{`table "contact"`, "<DataRow> in <Rows> holds a <V>"}, false},
		{"rows in a group of rows", rowDataBody(contactBatch(`<Group><Row op="I"><V>2</V><V>b</V></Row></Group>`)), []string{"<Group> in <Rows> holds a <Row>"}, false},
		{"a batch under another name", strings.NewReplacer("<Batch>", "<TableBatch>", "</Batch>", "</TableBatch>").Replace(rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row>`))), []string{"<TableBatch> in <Batches> holds a <Row>"}, false},
		{"nil table", rowDataBody(`<Batch><Table nil="true"/><Columns><Name>contact_id</Name></Columns><Rows/></Batch>`), []string{"<Table> is nil", "batch 1"}, false},
		{"nil columns", rowDataBody(`<Batch><Table>contact</Table><Columns nil="true"/></Batch>`), []string{`table "contact": <Columns> is nil`}, false},
		{"nil rows", rowDataBody(`<Batch xmlns:i="` + xsiNS + `"><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Rows i:nil="true"/><Lsn>5</Lsn></Batch>`), []string{"<Rows> is nil"}, false},
		{"no batches", rowDataBody("")[:strings.Index(rowDataBody(""), "<Batches>")] + `<Bunches/></RowDataRequest>` + envTail, []string{"<RowDataRequest> has no <Batches>"}, false},
		{"nil batches", strings.Replace(rowDataBody(""), "<Batches></Batches>", `<Batches xmlns:i="`+xsiNS+`" i:nil="true"/>`, 1), []string{"<RowDataRequest> has no <Batches>"}, false},
		{"nil row", rowDataBody(contactBatch(`<Row xmlns:i="` + xsiNS + `" i:nil="true" op="I"><V>1</V><V>a</V></Row>`)), []string{"a <Row> is nil", "row 1"}, false},
		{"nil batch", rowDataBody(`<Batch nil="true"/>`), []string{"a <Batch> is nil"}, false},
		{"bad nil", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V nil="maybe"/></Row>`)), []string{`<V> nil="maybe" is not true or false`, "column name"}, false},
		{"undeclared attribute prefix", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V p:x="1">a</V></Row>`)), []string{"prefix p is not declared", "row 1, column name"}, false},
		{"unknown element in a value", rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a<Extra/></V></Row>`)), []string{"<V> holds element <Extra>"}, false},
		{"unknown element nested too deep", strings.Replace(valid, "<Lsn>", strings.Repeat("<x>", 30)+strings.Repeat("</x>", 30)+"<Lsn>", 1), []string{"nest deeper than 32"}, false},
		{"unknown element with too much text", strings.Replace(valid, "<Lsn>", "<Note>"+strings.Repeat("x", MaxFieldSize+1)+"</Note><Lsn>", 1), []string{"the text of <Note> is longer than the limit of 65536 bytes"}, false},
		{"unknown element malformed", strings.Replace(valid, "<Lsn>", "<Note><a></b></Note><Lsn>", 1), []string{"</b> does not close <a>"}, false},
		{"entity in an unknown element", strings.Replace(valid, "<Lsn>", "<Note>&lol;</Note><Lsn>", 1), []string{"entity &lol; is not allowed"}, false},
		{"DOCTYPE in an unknown element", strings.Replace(valid, "<Lsn>", "<Note><!DOCTYPE x></Note><Lsn>", 1), []string{"DOCTYPE is not allowed"}, false},
		{"undeclared prefix in an unknown element", strings.Replace(valid, "<Lsn>", "<Note><p:a/></Note><Lsn>", 1), []string{"prefix p is not declared"}, false},
		{"attribute flood in an unknown element", strings.Replace(valid, "<Lsn>", "<Note"+attrs(300)+"/><Lsn>", 1), []string{"<Note> has more than 256 attributes"}, false},
		{"LSN the sink refuses", strings.Replace(valid, "<Lsn>7", "<Lsn>-7", 1), []string{`RowData: table "contact": bad batch: LSN -7 is before the first`}, true},
		{"two SignedTokens", strings.Replace(valid, "</s:Header>", `<SignedToken xmlns="`+Namespace+`">U</SignedToken></s:Header>`, 1), []string{"SignedToken twice"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			maxText := 0
			if strings.HasPrefix(c.name, "text over") {
				maxText = 1000
			}
			_, err := decodeRowData(c.body, maxText)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c.sinkError {
				if !errors.Is(err, errUnknown) || IsClientError(err) {
					t.Errorf("error %v should be the sink's, with its class", err)
				}
			} else if !IsClientError(err) {
				t.Errorf("error %v (%T) is not a *wire.Error", err, err)
			}
		})
	}
}

func TestValidRowDataBodyDecodes(t *testing.T) {
	sink, err := decodeRowData(rowDataBody(contactBatch(`<Row op="I" lsn="1"><V>1</V><V>a</V></Row>`)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.batches) != 1 || len(sink.batches[0].rows) != 1 || !sink.batches[0].closed || sink.batches[0].lsn != 7 {
		t.Fatalf("got %s", sink.dump())
	}
}

// deepReader produces an envelope whose body nests n levels deep, without holding it.
type deepReader struct {
	n, open, closed int
	head            string
}

func (r *deepReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		switch {
		case r.head != "":
			c := copy(p[n:], r.head)
			r.head = r.head[c:]
			n += c
		case r.open < r.n:
			if len(p)-n < 3 {
				return n, nil
			}
			n += copy(p[n:], "<a>")
			r.open++
		case r.closed < r.n:
			if len(p)-n < 4 {
				return n, nil
			}
			n += copy(p[n:], "</a>")
			r.closed++
		default:
			return n, io.EOF
		}
	}
	return n, nil
}

func TestDeepNesting(t *testing.T) {
	d := NewDecoder(&deepReader{n: 100_000, head: `<s:Envelope xmlns:s="` + soapNS + `"><s:Header>`})
	_, err := d.Start()
	if err == nil || !IsClientError(err) || !strings.Contains(err.Error(), "nest deeper than 32") {
		t.Fatalf("err = %v", err)
	}
}

// failingReader fails after its content: the error must come back as is, not as bad XML.
type failingReader struct{ r io.Reader }

var errBroken = errors.New("connection reset")

func (f failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, errBroken
	}
	return n, err
}

func TestReadErrorPassesThrough(t *testing.T) {
	body := rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a</V></Row>`))
	// Cut anywhere, in a name or a value or between elements, the body's reader's error comes
	// back, never an XML fault about the bytes it cut short.
	for cut := 1; cut < len(body); cut++ {
		d := NewDecoder(failingReader{strings.NewReader(body[:cut])})
		_, err := d.Start()
		if err == nil {
			_, err = d.RowData(newTestSink(contactTable))
		}
		if !errors.Is(err, errBroken) || IsClientError(err) {
			t.Fatalf("cut after %d bytes (%q): err = %v", cut, body[max(0, cut-20):cut], err)
		}
	}
}

func TestOperationMismatch(t *testing.T) {
	d := NewDecoder(strings.NewReader(rowDataBody("")))
	if _, err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Wipe(); err == nil || !strings.Contains(err.Error(), "RowData request, not Wipe") {
		t.Fatalf("err = %v", err)
	}
}

// A TableSchema without <Tables> would drop every mirrored table if it read as "no tables".
func TestTableSchemaNeedsTables(t *testing.T) {
	decode := func(inner string) (TableSchemaRequest, error) {
		body := envHead + `<TableSchemaRequest xmlns="` + Namespace + `"><ClientState/>` + inner + `</TableSchemaRequest>` + envTail
		d := NewDecoder(strings.NewReader(body))
		if _, err := d.Start(); err != nil {
			t.Fatal(err)
		}
		return d.TableSchema()
	}
	if _, err := decode(""); err == nil || !strings.Contains(err.Error(), "has no <Tables>") {
		t.Fatalf("no <Tables>: %v", err)
	}
	req, err := decode("<Tables/>")
	if err != nil || len(req.Tables) != 0 {
		t.Fatalf("an explicit empty <Tables/>: %+v, %v", req, err)
	}
}

// withinHangGuard runs f and fails the test if it has not returned after a minute: far more
// than any of these bodies should take, so that only a hang (or a return of the quadratic
// work these tests guard against) trips it.
func withinHangGuard(t *testing.T, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		t.Fatal("the decoder did not return within a minute")
		return nil
	}
}

// floodBody is an envelope whose header element is made of attributes, size bytes of them.
func floodBody(size int, attr func(i int) string) string {
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="` + soapNS + `"><s:Header`)
	for i := 0; b.Len() < size; i++ {
		b.WriteString(" " + attr(i))
	}
	b.WriteString(`/></s:Envelope>`)
	return b.String()
}

// An element of ~95,000 attributes fills the megabyte read before the token is verified; it
// must fail at the cap, naming the element, not after comparing every pair of names.
func TestAttributeFlood(t *testing.T) {
	for name, attr := range map[string]func(int) string{
		"distinct":     func(i int) string { return "a" + strconv.Itoa(i) + `=""` },
		"namespaces":   func(i int) string { return "xmlns:p" + strconv.Itoa(i) + `="urn:x"` },
		"one repeated": func(int) string { return `a=""` },
	} {
		t.Run(name, func(t *testing.T) {
			body := floodBody(1<<20, attr)
			err := withinHangGuard(t, func() error {
				_, err := NewDecoder(strings.NewReader(body)).Start()
				return err
			})
			want := "<s:Header> has more than 256 attributes, the most an element may carry"
			if name == "one repeated" {
				want = "attribute a appears twice in <s:Header>"
			}
			if !IsClientError(err) || !strings.Contains(err.Error(), want) {
				t.Fatalf("err = %v, want one saying %q", err, want)
			}
		})
	}
}

// Past the few attributes compared pairwise, the set of names must still find a duplicate.
func TestDuplicateAttributeAmongMany(t *testing.T) {
	for _, n := range []int{2, smallAttributes, smallAttributes + 1, 100, MaxAttributes} {
		body := floodBody(0, func(int) string { return "" })
		var attrs strings.Builder
		for i := range n - 1 {
			attrs.WriteString(" a" + strconv.Itoa(i) + `="1"`)
		}
		dup := strconv.Itoa((n - 1) / 2)
		attrs.WriteString(` a` + dup + `="2"`)
		body = strings.Replace(body, "<s:Header", "<s:Header"+attrs.String(), 1)
		_, err := NewDecoder(strings.NewReader(body)).Start()
		want := "attribute a" + dup + " appears twice in <s:Header>"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d attributes: err = %v, want one saying %q", n, err, want)
		}
	}
}

// Namespace declarations nested as deep as elements go would make resolving each name a walk
// through thousands of them.
func TestNamespaceFlood(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="` + soapNS + `"><s:Header>`)
	for d := range 20 {
		b.WriteString("<e")
		for i := range 100 {
			b.WriteString(" xmlns:p" + strconv.Itoa(d*1000+i) + `="urn:x"`)
		}
		b.WriteString(">")
	}
	for b.Len() < 1<<20 {
		b.WriteString("<a/>")
	}
	err := withinHangGuard(t, func() error {
		_, err := NewDecoder(strings.NewReader(b.String())).Start()
		return err
	})
	if !IsClientError(err) || !strings.Contains(err.Error(), "more than 128 namespace declarations are in scope at <e>") {
		t.Fatalf("err = %v", err)
	}
}

// attrs is n distinct attributes.
func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a" + strconv.Itoa(i) + `="1"`)
	}
	return b.String()
}
