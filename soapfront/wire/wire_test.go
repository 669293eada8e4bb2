package wire

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

const fixtureToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJDdXN0MTIwMjAifQ.c2lnbmF0dXJl"

func TestDocumentedAuthenticateRequests(t *testing.T) {
	for _, file := range []string{"authenticate_request_default_ns.xml", "authenticate_request_prefixed.xml"} {
		t.Run(file, func(t *testing.T) {
			body, err := os.ReadFile("testdata/" + file)
			if err != nil {
				t.Fatal(err)
			}
			d := NewDecoder(bytes.NewReader(body))
			h, err := d.Start()
			if err != nil {
				t.Fatal(err)
			}
			if h.Token != fixtureToken || h.Operation != OpAuthenticate {
				t.Fatalf("header = %+v", h)
			}
			req, err := d.Authenticate()
			if err != nil {
				t.Fatal(err)
			}
			if req.ClientState != "" {
				t.Fatalf("client state = %q", req.ClientState)
			}
		})
	}
}

// elements lists a document's elements in order as namespace, name and trimmed text.
func elements(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	d := xml.NewDecoder(bytes.NewReader(body))
	var text string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			out = append(out, "<"+tok.Name.Space+" "+tok.Name.Local)
			text = ""
		case xml.CharData:
			text += string(tok)
		case xml.EndElement:
			out = append(out, strings.TrimSpace(text)+">")
			text = ""
		}
	}
}

func TestAuthenticateResponseMatchesDocumented(t *testing.T) {
	want, err := os.ReadFile("testdata/authenticate_response.xml")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	resp := AuthenticateResponse{
		IsSuccessful:              true,
		SignedApplicationToken:    "0F1E2D3C4B5A69788796A5B4C3D2E1F0.202403011022.c2lnbmVkIGJ5IHRoZSBwYXJ0bmVy",
		SupportedInterfaces:       1,
		SuperOfficeMirroringBuild: "4.0.0.0/Release_1",
	}
	if err := WriteAuthenticateResponse(&got, resp); err != nil {
		t.Fatal(err)
	}
	if g, w := elements(t, got.Bytes()), elements(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("response elements differ\n got %q\nwant %q", g, w)
	}
	back, err := ReadAuthenticateResponse(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if back != resp {
		t.Fatalf("documented response reads back as %+v, want %+v", back, resp)
	}
}

func TestAuthenticateRoundTrip(t *testing.T) {
	var body bytes.Buffer
	if err := WriteAuthenticateRequest(&body, "tok<&>", AuthenticateRequest{ClientState: "state\r\n1"}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&body)
	h, err := d.Start()
	if err != nil || h.Token != "tok<&>" || h.Operation != OpAuthenticate {
		t.Fatalf("Start = %+v, %v", h, err)
	}
	req, err := d.Authenticate()
	if err != nil || req.ClientState != "state\r\n1" {
		t.Fatalf("Authenticate = %+v, %v", req, err)
	}

	resp := AuthenticateResponse{ErrorMessage: "token expired at 10:22 & more", SupportedInterfaces: 1,
		ClientState: "s", AdditionalInformationJson: `{"doNotReplicate":"true"}`}
	body.Reset()
	if err := WriteAuthenticateResponse(&body, resp); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadAuthenticateResponse(&body); err != nil || back != resp {
		t.Fatalf("response = %+v, %v", back, err)
	}
}

func TestTableSchemaRoundTrip(t *testing.T) {
	req := TableSchemaRequest{ClientState: "cs", Tables: []schema.Table{contactTable, allTypesTable}}
	var body bytes.Buffer
	if err := WriteTableSchemaRequest(&body, "jwt", req); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&body)
	if h, err := d.Start(); err != nil || h.Operation != OpTableSchema || h.Token != "jwt" {
		t.Fatalf("Start = %+v, %v", h, err)
	}
	got, err := d.TableSchema()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) {
		t.Fatalf("got %+v\nwant %+v", got, req)
	}

	resp := TableSchemaResponse{ClientState: "cs", Tables: []TableSchemaState{
		{Name: "contact", LSN: 1043, SchemaChange: "None"}, {Name: "alltypes", LSN: -1, SchemaChange: "Recreated"}}}
	body.Reset()
	if err := WriteTableSchemaResponse(&body, resp); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadTableSchemaResponse(&body); err != nil || !reflect.DeepEqual(back, resp) {
		t.Fatalf("response = %+v, %v", back, err)
	}
}

func TestWipeRoundTrip(t *testing.T) {
	req := WipeRequest{ClientState: "c", Tables: []string{"contact", "person"}}
	var body bytes.Buffer
	if err := WriteWipeRequest(&body, "jwt", req); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&body)
	if _, err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Wipe(); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("Wipe = %+v, %v", got, err)
	}
	body.Reset()
	if err := WriteWipeResponse(&body, WipeResponse{ClientState: "c"}); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadWipeResponse(&body); err != nil || back.ClientState != "c" {
		t.Fatalf("response = %+v, %v", back, err)
	}
}

func TestReplicationCompletedRoundTrip(t *testing.T) {
	var body bytes.Buffer
	if err := WriteReplicationCompletedRequest(&body, "jwt", ReplicationCompletedRequest{ClientState: "end"}); err != nil {
		t.Fatal(err)
	}
	d := NewDecoder(&body)
	if _, err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if got, err := d.ReplicationCompleted(); err != nil || got.ClientState != "end" {
		t.Fatalf("ReplicationCompleted = %+v, %v", got, err)
	}
	resp := ReplicationCompletedResponse{ClientState: "end", Summary: []TableSummary{{Name: "contact", Inserted: 3, Updated: 2, Deleted: 1}}}
	body.Reset()
	if err := WriteReplicationCompletedResponse(&body, resp); err != nil {
		t.Fatal(err)
	}
	if back, err := ReadReplicationCompletedResponse(&body); err != nil || !reflect.DeepEqual(back, resp) {
		t.Fatalf("response = %+v, %v", back, err)
	}
}

func TestRowDataRoundTrip(t *testing.T) {
	strs := []string{"", " spaced ", "line\r\nbreak\rcr", "tab\there", "Fjord & Co <AS> \"q\" 'a' ]]>",
		"nul\x00byte", "bell\x07", "\uFFFE", "\uFFFF", "emoji 😀 ÆØÅ", "\U0010FFFF"}
	var body bytes.Buffer
	w := NewRowDataWriter(&body, "jwt", "state")
	if err := w.Begin("alltypes", allTypesTable.Columns); err != nil {
		t.Fatal(err)
	}
	for i, s := range strs {
		if err := w.Row(bulk.Insert, int64(1000+i), allTypesRow(int64(i), s)...); err != nil {
			t.Fatal(err)
		}
	}
	nulls := make([]any, len(allTypesTable.Columns))
	nulls[0] = int64(99)
	if err := w.Row(bulk.Update, 2000, nulls...); err != nil {
		t.Fatal(err)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	key := []schema.Column{contactTable.Columns[0], contactTable.Columns[1]}
	if err := w.Begin("contact", key); err != nil {
		t.Fatal(err)
	}
	if err := w.Row(bulk.Delete, 2001, int64(17), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.EndLSN(2001); err != nil {
		t.Fatal(err)
	}
	if err := w.Begin("contact", key); err != nil { // a batch with no rows still carries its LSN
		t.Fatal(err)
	}
	if err := w.EndLSN(2002); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := newTestSink(allTypesTable, contactTable)
	want.batches = []*testBatch{{table: "alltypes", columns: names(allTypesTable.Columns), cols: allTypesTable.Columns, closed: true},
		{table: "contact", columns: names(key), cols: key, closed: true, lsn: 2001, hasLSN: true},
		{table: "contact", columns: names(key), cols: key, closed: true, lsn: 2002, hasLSN: true}}
	for i, s := range strs {
		want.batches[0].ops = append(want.batches[0].ops, bulk.Insert)
		want.batches[0].rows = append(want.batches[0].rows, allTypesRow(int64(i), s))
	}
	want.batches[0].ops = append(want.batches[0].ops, bulk.Update)
	want.batches[0].rows = append(want.batches[0].rows, nulls)
	want.batches[1].ops = []bulk.Op{bulk.Delete}
	want.batches[1].rows = [][]any{{int64(17), nil}}

	d := NewDecoder(bytes.NewReader(body.Bytes()))
	if h, err := d.Start(); err != nil || h.Operation != OpRowData || h.Token != "jwt" {
		t.Fatalf("Start = %+v, %v", h, err)
	}
	got := newTestSink(allTypesTable, contactTable)
	state, err := d.RowData(got)
	if err != nil {
		t.Fatal(err)
	}
	if state != "state" {
		t.Fatalf("client state %q", state)
	}
	if g, w := got.dump(), want.dump(); g != w {
		t.Fatalf("rows differ\n got:\n%s\nwant:\n%s", g, w)
	}
	for _, s := range strs {
		// Strings must come back byte for byte, whatever XML can carry.
		found := false
		for _, row := range got.batches[0].rows {
			found = found || row[15] == s
		}
		if !found {
			t.Errorf("string %q did not come back", s)
		}
	}

	resp := RowDataResponse{ClientState: "state", Tables: []RowDataTableState{
		{Name: "alltypes", LSN: 10, Inserted: 13, Updated: 1},
		{Name: "contact", LSN: 5, ErrorMessage: "duplicate key \x01 in <contact>"}}}
	body.Reset()
	if err := WriteRowDataResponse(&body, resp); err != nil {
		t.Fatal(err)
	}
	back, err := ReadRowDataResponse(&body)
	resp.Tables[1].ErrorMessage = "duplicate key \uFFFD in <contact>" // a character XML cannot carry is replaced
	if err != nil || !reflect.DeepEqual(back, resp) {
		t.Fatalf("response = %+v, %v", back, err)
	}
}

func names(cols []schema.Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Name)
	}
	return out
}

func TestFaultRoundTrip(t *testing.T) {
	var body bytes.Buffer
	if err := WriteFault(&body, FaultClient, `RowData: table "contact", row 3: bad <V>`); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func(io.Reader) error{
		func(r io.Reader) error { _, err := ReadAuthenticateResponse(r); return err },
		func(r io.Reader) error { _, err := ReadRowDataResponse(r); return err },
	} {
		err := read(bytes.NewReader(body.Bytes()))
		var f *Fault
		if !errors.As(err, &f) || f.Code != FaultClient || f.Message != `RowData: table "contact", row 3: bad <V>` {
			t.Fatalf("fault = %v", err)
		}
	}
}

func TestResponseOfAnotherOperation(t *testing.T) {
	var body bytes.Buffer
	if err := WriteWipeResponse(&body, WipeResponse{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadRowDataResponse(&body); err == nil || !strings.Contains(err.Error(), "Wipe") {
		t.Fatalf("err = %v", err)
	}
}

// tolerant decodes the same TableSchema request written many ways XML allows.
func TestTolerantDecoding(t *testing.T) {
	const ns = Namespace
	const want = "cs|contact:contact_id int 4 10 0 false true,name nvarchar 220 0 0 true false"
	cases := map[string]string{
		"default namespace": `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><SignedToken xmlns="` + ns + `">T</SignedToken></s:Header><s:Body><TableSchemaRequest xmlns="` + ns + `"><ClientState>cs</ClientState><Tables><Table><Name>contact</Name><Columns><Column><Name>contact_id</Name><Type>int</Type><Length>4</Length><Precision>10</Precision><Scale>0</Scale><Nullable>false</Nullable><PrimaryKey>true</PrimaryKey></Column><Column><Name>name</Name><Type>nvarchar</Type><Length>220</Length><Nullable>true</Nullable></Column></Columns></Table></Tables></TableSchemaRequest></s:Body></s:Envelope>`,
		"prefixes everywhere, BOM, declaration, comments, PI, CDATA, whitespace": "\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>\r\n<!-- hi -->\n<?app skip me?>\n" +
			`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="` + ns + `" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
  <soap:Header >
    <a:Action xmlns:a="urn:other" soap:mustUnderstand="0">x<b/></a:Action>
    <m:SignedToken soap:mustUnderstand = '1' >
      T
    </m:SignedToken >
  </soap:Header>
  <soap:Body>
    <m:TableSchemaRequest>
      <!-- state first -->
      <m:ClientState><![CDATA[c]]>s</m:ClientState>
      <m:Tables>
        <m:Table>
          <m:Columns>
            <m:Column>
              <m:PrimaryKey>1</m:PrimaryKey><m:Nullable>0</m:Nullable><m:Type> int </m:Type><m:Name>contact_id</m:Name>
              <m:Length>4</m:Length><m:Precision>10</m:Precision><m:Scale>0</m:Scale>
            </m:Column>
            <x:Column xmlns:x="` + ns + `"><x:Name>name</x:Name><x:Type>nvarchar</x:Type><x:Length>220</x:Length><x:Nullable>true</x:Nullable></x:Column>
          </m:Columns>
          <m:Name>con&#x74;a&#99;t</m:Name>
        </m:Table>
      </m:Tables>
    </m:TableSchemaRequest>
  </soap:Body>
</soap:Envelope>
<!-- trailing comment -->
`,
		"no header token, nil client state": `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><TableSchemaRequest xmlns="` + ns + `"><Tables><Table><Name>contact</Name><Columns><Column><Name>contact_id</Name><Type>int</Type><Length>4</Length><Precision>10</Precision><Nullable>false</Nullable><PrimaryKey>true</PrimaryKey></Column><Column><Name>name</Name><Type>nvarchar</Type><Length>220</Length><Nullable>true</Nullable></Column></Columns></Table></Tables><ClientState xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:nil="true"/></TableSchemaRequest></Body></Envelope>`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(body))
			h, err := d.Start()
			if err != nil {
				t.Fatal(err)
			}
			req, err := d.TableSchema()
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(req.ClientState + "|")
			for _, tb := range req.Tables {
				b.WriteString(tb.Name + ":")
				for i, c := range tb.Columns {
					if i > 0 {
						b.WriteString(",")
					}
					b.WriteString(strings.Join([]string{c.Name, string(c.Type), itoa(c.Length), itoa(c.Precision), itoa(c.Scale), btoa(c.Nullable), btoa(c.PrimaryKey)}, " "))
				}
			}
			w := want
			if strings.HasPrefix(name, "no header") {
				w = strings.Replace(want, "cs|", "|", 1)
				if h.Token != "" {
					t.Fatalf("token %q", h.Token)
				}
			} else if h.Token != "T" {
				t.Fatalf("token %q", h.Token)
			}
			if b.String() != w {
				t.Fatalf("got  %s\nwant %s", b.String(), w)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func btoa(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestActionOperation(t *testing.T) {
	cases := []struct {
		action, op string
		ok         bool
	}{
		{"", "", true},
		{`""`, "", true},
		{Action(OpRowData), OpRowData, true},
		{`"` + Action(OpWipe) + `"`, OpWipe, true},
		{" " + Action(OpAuthenticate) + " ", OpAuthenticate, true},
		{ActionPrefix + "Drop", "", false},
		{"http://example.com/IMirroringClientService/RowData", "", false},
		{ActionPrefix + "rowdata", "", false},
	}
	for _, c := range cases {
		op, ok := ActionOperation(c.action)
		if op != c.op || ok != c.ok {
			t.Errorf("ActionOperation(%q) = %q, %t; want %q, %t", c.action, op, ok, c.op, c.ok)
		}
	}
}

func TestWSDL(t *testing.T) {
	doc := WSDL(`https://mirror.example.com/mirroring?x=1&y="2"`)
	d := xml.NewDecoder(bytes.NewReader(doc))
	portOps, bindingActions, location := map[string]bool{}, map[string]string{}, ""
	var stack []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("WSDL is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range tok.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			switch {
			case tok.Name.Local == "operation" && parent == "portType":
				portOps[attr("name")] = true
			case tok.Name.Local == "operation" && tok.Name.Space == "http://schemas.xmlsoap.org/wsdl/soap/":
				bindingActions[attr("soapAction")] = parent
			case tok.Name.Local == "address":
				location = attr("location")
			}
			if tok.Name.Local == "operation" && parent == "binding" {
				stack = append(stack, "binding:"+attr("name"))
			} else {
				stack = append(stack, tok.Name.Local)
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
	for _, op := range Operations {
		if !portOps[op] {
			t.Errorf("portType lacks operation %s", op)
		}
		if bindingActions[Action(op)] != "binding:"+op {
			t.Errorf("binding lacks soapAction %s", Action(op))
		}
		for _, el := range []string{`<xs:element name="` + op + `Request">`, `<xs:element name="` + op + `Response">`} {
			if !bytes.Contains(doc, []byte(el)) {
				t.Errorf("schema lacks %s", el)
			}
		}
	}
	if len(portOps) != len(Operations) {
		t.Errorf("portType has %d operations, the codec handles %d", len(portOps), len(Operations))
	}
	if location != `https://mirror.example.com/mirroring?x=1&y="2"` {
		t.Errorf("address = %q", location)
	}
}

func TestAppendEscaped(t *testing.T) {
	cases := []struct {
		in, text, attr string
		base64         bool
	}{
		{"plain", "plain", "plain", false},
		{`a<b>&"c'`, `a&lt;b&gt;&amp;"c'`, `a&lt;b&gt;&amp;&quot;c'`, false},
		{"cr\r\nlf\ttab", "cr&#xD;\nlf\ttab", "cr&#xD;&#xA;lf&#x9;tab", false},
		{"nul\x00", "nul\uFFFD", "nul\uFFFD", true},
		{"\uFFFE\uFFFF", "\uFFFD\uFFFD", "\uFFFD\uFFFD", true},
		{"bad\xff", "bad\uFFFD", "bad\uFFFD", true},
		{"surrogate\xed\xa0\x80", "surrogate\uFFFD\uFFFD\uFFFD", "surrogate\uFFFD\uFFFD\uFFFD", true},
		{"ÆØÅ 😀 \uFFFD", "ÆØÅ 😀 \uFFFD", "ÆØÅ 😀 \uFFFD", false},
	}
	for _, c := range cases {
		if got := string(appendEscaped(nil, c.in, false)); got != c.text {
			t.Errorf("text %q = %q, want %q", c.in, got, c.text)
		}
		if got := string(appendEscaped(nil, c.in, true)); got != c.attr {
			t.Errorf("attr %q = %q, want %q", c.in, got, c.attr)
		}
		if got := needsBase64(c.in); got != c.base64 {
			t.Errorf("needsBase64(%q) = %t", c.in, got)
		}
	}
}
