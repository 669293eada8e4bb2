package wire

import (
	"bytes"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"unsafe"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// rowDataVariants are RowData bodies in the shapes XML allows, each meaning the same three
// rows of contact (key, name, department).
var rowDataVariants = map[string]string{
	"plain": rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name</Name><Name>department</Name></Columns><Rows>` +
		`<Row op="I" lsn="1"><V>1</V><V>Fjord &amp; Co&#xD;</V><V nil="true"/></Row>` +
		`<Row op="U" lsn="2"><V>2</V><V/><V>Øst</V></Row>` +
		`<Row op="D"><V>3</V><V nil="true"/><V nil="true"/></Row></Rows><Lsn>3</Lsn></Batch>`),
	"prefixed, indented, commented, CDATA": "\uFEFF<?xml version=\"1.0\"?>\n" + `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
 <soap:Body>
  <m:RowDataRequest xmlns:m="` + Namespace + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
   <m:ClientState></m:ClientState>
   <m:Batches>
    <m:Batch>
     <m:Table>contact</m:Table>
     <m:Columns>
      <m:Name>contact_id</m:Name>
      <m:Name>name</m:Name>
      <m:Name>department</m:Name>
     </m:Columns>
     <m:Rows>
      <m:Row lsn='1' op='I'>
       <m:V>1</m:V>
       <m:V><![CDATA[Fjord & Co]]>&#13;</m:V>
       <m:V xsi:nil="true" />
      </m:Row>
      <!-- a comment between rows -->
      <m:Row op="U" lsn="2"><m:V >2</m:V><m:V></m:V><m:V>&#216;st</m:V></m:Row>
      <Row xmlns="` + Namespace + `" op="D"><V>3</V><V nil="1"/><V enc="base64" nil="true"/></Row>
     </m:Rows>
     <m:Lsn> 3 </m:Lsn>
    </m:Batch>
   </m:Batches>
  </m:RowDataRequest>
 </soap:Body>
</soap:Envelope>
`,
	"base64 and references": rowDataBody(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name</Name><Name>department</Name></Columns><Rows>` +
		`<Row op="I" lsn="1"><V enc="base64">MQ==</V><V enc="base64">RmpvcmQgJiBDbw0=</V><V nil="true"/></Row>` +
		`<Row op="U" lsn="2"><V>&#50;</V><V enc="base64"></V><V>&#xD8;st</V></Row>` +
		`<Row op="D" lsn="3"><V>3</V><V nil="true"/><V nil="true"/></Row></Rows><Lsn>3</Lsn></Batch>`),
}

const wantVariant = `batch "contact" ["contact_id" "name" "department"] closed=true lsn=3/true
  I int64:"1" string:"Fjord & Co\r" NULL
  U int64:"2" string:"" string:"Øst"
  D int64:"3" NULL NULL
`

// TestRowDataVariants decodes each variant whole and through readers that hand out a few bytes
// at a time, so that both the fast paths and the general path (and every buffer boundary)
// give the same rows.
func TestRowDataVariants(t *testing.T) {
	readers := map[string]func(string) io.Reader{
		"whole":    func(s string) io.Reader { return strings.NewReader(s) },
		"one byte": func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	for name, body := range rowDataVariants {
		for rname, reader := range readers {
			t.Run(name+"/"+rname, func(t *testing.T) {
				d := NewDecoder(reader(body))
				if _, err := d.Start(); err != nil {
					t.Fatal(err)
				}
				sink := newTestSink(contactTable)
				if _, err := d.RowData(sink); err != nil {
					t.Fatal(err)
				}
				if got := sink.dump(); got != wantVariant {
					t.Fatalf("got\n%s\nwant\n%s", got, wantVariant)
				}
			})
		}
	}
}

// TestFastPathAcrossBufferBoundaries decodes a body larger than the read buffer through a
// reader of odd-sized pieces, so that elements are cut at every position.
func TestFastPathAcrossBufferBoundaries(t *testing.T) {
	var body bytes.Buffer
	w := NewRowDataWriter(&body, "t", "")
	if err := w.Begin(contactTable.Name, contactTable.Columns); err != nil {
		t.Fatal(err)
	}
	const rows = 3000
	for i := range rows {
		if err := w.Row(bulk.Update, int64(i), contactRow(i)...); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndLSN(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if body.Len() < 3*readBufferSize {
		t.Fatalf("body of %d bytes is too small for the test", body.Len())
	}
	decode := func(r io.Reader) string {
		d := NewDecoder(r)
		if _, err := d.Start(); err != nil {
			t.Fatal(err)
		}
		sink := newTestSink(contactTable)
		if _, err := d.RowData(sink); err != nil {
			t.Fatal(err)
		}
		if n := len(sink.batches[0].rows); n != rows {
			t.Fatalf("%d rows", n)
		}
		return sink.dump()
	}
	whole := decode(bytes.NewReader(body.Bytes()))
	if odd := decode(&oddReader{b: body.Bytes()}); odd != whole {
		t.Fatal("rows differ when the body arrives in odd pieces")
	}
}

// oddReader returns 1, 2, 3, … 4097 bytes per read, round and round.
type oddReader struct {
	b []byte
	n int
}

func (r *oddReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	r.n = r.n%4097 + 1
	n := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[n:]
	return n, nil
}

// TestParsedValuesDoNotKeepText checks what the zero-copy parse relies on: for the types in
// parsedAlone, a value parsed from a buffer does not change when the buffer is overwritten.
func TestParsedValuesDoNotKeepText(t *testing.T) {
	texts := map[schema.Type]string{
		schema.Bit: "1", schema.TinyInt: "200", schema.SmallInt: "-300", schema.Int: "70000", schema.BigInt: "-9000000000",
		schema.Float: "1.5", schema.Real: "2.25", schema.Date: "2024-02-29", schema.Time: "10:22:05.1234567",
		schema.DateTime: "2024-03-01T10:22:05.123", schema.DateTime2: "2024-03-01T10:22:05.1234567",
		schema.SmallDateTime: "2024-03-01T10:22:00", schema.DateTimeOffset: "2024-03-01T10:22:05.1234567+05:30",
		schema.Binary: "AAEC", schema.VarBinary: "AAECAw==", schema.Image: "/w==", schema.UniqueIdentifier: "6f9619ff-8b86-d011-b42d-00c04fc964ff",
	}
	for typ := range parsedAlone {
		text, ok := texts[typ]
		if !ok {
			t.Fatalf("no sample text for %s", typ)
		}
		col := schema.Column{Name: "c", Type: typ, Length: 8, Scale: 7}.Normalize()
		buf := []byte(text)
		v, err := bulk.ParseValue(col, unsafe.String(unsafe.SliceData(buf), len(buf)))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		before := canon(col, v)
		for i := range buf {
			buf[i] = '9'
		}
		runtime.KeepAlive(buf)
		if after := canon(col, v); after != before {
			t.Errorf("%s: value changed from %s to %s when its text was overwritten", typ, before, after)
		}
	}
}
