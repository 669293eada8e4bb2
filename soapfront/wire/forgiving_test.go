package wire

import (
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/mirrord/mirrord/schema"
)

// dcNS is a DataContract namespace, as a WCF client writes the members of its data contracts.
const dcNS = "http://schemas.datacontract.org/2004/07/SuperOffice.Online.Mirroring.Contract"

// skipLog records what a decoder reports through OnSkip, as "operation name".
type skipLog []string

func (l *skipLog) hook(operation, element string) { *l = append(*l, operation+" "+element) }

// decodeForgiving starts a decoder on body that logs what it skips.
func decodeForgiving(t *testing.T, body string) (*Decoder, *skipLog) {
	t.Helper()
	log := &skipLog{}
	d := NewDecoder(iotest.HalfReader(strings.NewReader(body)))
	d.OnSkip = log.hook
	if _, err := d.Start(); err != nil {
		t.Fatal(err)
	}
	return d, log
}

func checkSkips(t *testing.T, got *skipLog, want ...string) {
	t.Helper()
	if len(*got) != len(want) || len(want) > 0 && !reflect.DeepEqual([]string(*got), want) {
		t.Errorf("skipped\n %q\nwant\n %q", *got, want)
	}
}

// wcfHead opens a request the way a WCF client might: the operation element in the contract's
// namespace, binding prefixes for its data contracts, instance attributes and serialization ids.
func wcfHead(op string) string {
	return `<s:Envelope xmlns:s="` + soapNS + `"><s:Header><h:SignedToken xmlns:h="` + Namespace + `">T</h:SignedToken></s:Header><s:Body>` +
		`<` + op + `Request xmlns="` + Namespace + `" xmlns:a="` + dcNS + `" xmlns:i="` + xsiNS + `" xmlns:z="http://schemas.microsoft.com/2003/10/Serialization/" z:Id="i1">`
}

func wcfTail(op string) string { return `</` + op + `Request></s:Body></s:Envelope>` }

func TestForgivingTableSchema(t *testing.T) {
	body := wcfHead("TableSchema") + `
  <a:RequestId>42</a:RequestId>
  <a:ClientState i:nil="true"/>
  <a:Tables>
    <a:Table z:Id="i2">
      <a:Schema>dbo</a:Schema>
      <a:Name>contact</a:Name>
      <a:Columns>
        <a:Column><a:Name>contact_id</a:Name><a:Type>int</a:Type><a:Description><b>key</b> of the table</a:Description>
          <a:Length>4</a:Length><a:Precision>10</a:Precision><a:Scale>0</a:Scale><a:Nullable>false</a:Nullable><a:PrimaryKey>true</a:PrimaryKey></a:Column>
        <Column xmlns=""><Name xml:lang="en">name</Name><Type>nvarchar</Type><Length>220</Length><Precision i:nil="true"/><Nullable i:nil="true"/>
          <PrimaryKey>false</PrimaryKey><Collation>Danish_Norwegian_CI_AS</Collation></Column>
      </a:Columns>
      <a:Indexes><a:Index><a:Name>IX_contact</a:Name><a:Columns><a:Name>name</a:Name></a:Columns></a:Index></a:Indexes>
    </a:Table>
    <a:View>v_contact</a:View>
  </a:Tables>
` + wcfTail("TableSchema")
	d, log := decodeForgiving(t, body)
	req, err := d.TableSchema()
	if err != nil {
		t.Fatal(err)
	}
	want := TableSchemaRequest{Tables: []schema.Table{{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: "int", Length: 4, Precision: 10, PrimaryKey: true},
		{Name: "name", Type: "nvarchar", Length: 220},
	}}}}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
	checkSkips(t, log,
		"TableSchema TableSchemaRequest@Id", "TableSchema TableSchemaRequest/RequestId", "TableSchema Table@Id",
		"TableSchema Table/Schema", "TableSchema Column/Description", "TableSchema Name@lang",
		"TableSchema Column/Collation", "TableSchema Table/Indexes", "TableSchema Tables/View")
}

func TestForgivingRowData(t *testing.T) {
	body := wcfHead("RowData") + `
  <a:ClientState>cs</a:ClientState>
  <a:CallId>7</a:CallId>
  <a:Batches>
    <a:Batch a:seq="1">
      <a:Table>contact</a:Table>
      <a:Columns><a:Name>contact_id</a:Name><a:Name>name</a:Name><a:Name>department</a:Name><a:Types><a:Type>int</a:Type></a:Types></a:Columns>
      <a:Rows count="3">
        <a:Row op="I" lsn="1" rowguid="6F9619FF-8B86-D011-B42D-00C04FC964FF"><a:V>1</a:V><a:V t="s">Fjord &amp; Co&#xD;</a:V><a:V i:nil="true"/></a:Row>
        <a:Comment>between rows</a:Comment>
        <Row xmlns="urn:any" op="U" lsn="2"><V>2</V><V/><V>Øst</V></Row>
        <a:Row op="D"><a:V>3</a:V><a:V i:nil=" true "/><a:V nil="1" i:type="x"/></a:Row>
      </a:Rows>
      <a:RowCount>3</a:RowCount>
      <a:Lsn>3</a:Lsn>
    </a:Batch>
    <a:Checksum/>
  </a:Batches>
` + wcfTail("RowData")
	d, log := decodeForgiving(t, body)
	sink := newTestSink(contactTable)
	state, err := d.RowData(sink)
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.dump(); state != "cs" || got != wantVariant {
		t.Fatalf("state %q, rows\n%s\nwant\n%s", state, got, wantVariant)
	}
	checkSkips(t, log,
		"RowData RowDataRequest@Id", "RowData RowDataRequest/CallId", "RowData Batch@seq", "RowData Columns/Types",
		"RowData Rows@count", "RowData Row@rowguid", "RowData V@t", "RowData Rows/Comment", "RowData V@type",
		"RowData Batch/RowCount", "RowData Batches/Checksum")
}

func TestForgivingWipeAuthenticateAndReplicationCompleted(t *testing.T) {
	d, log := decodeForgiving(t, wcfHead("Wipe")+`<a:ClientState>c</a:ClientState><a:Reason>restore</a:Reason>`+
		`<a:Tables><a:Name>contact</a:Name><a:Count>1</a:Count><Name xmlns="">person</Name></a:Tables>`+wcfTail("Wipe"))
	wipe, err := d.Wipe()
	if err != nil || !reflect.DeepEqual(wipe, WipeRequest{ClientState: "c", Tables: []string{"contact", "person"}}) {
		t.Fatalf("Wipe = %+v, %v", wipe, err)
	}
	checkSkips(t, log, "Wipe WipeRequest@Id", "Wipe WipeRequest/Reason", "Wipe Tables/Count")

	d, log = decodeForgiving(t, wcfHead("Authenticate")+`<a:ClientState a:k="v">c</a:ClientState><a:Version>2</a:Version>`+wcfTail("Authenticate"))
	auth, err := d.Authenticate()
	if err != nil || auth.ClientState != "c" {
		t.Fatalf("Authenticate = %+v, %v", auth, err)
	}
	checkSkips(t, log, "Authenticate AuthenticateRequest@Id", "Authenticate ClientState@k", "Authenticate AuthenticateRequest/Version")

	d, log = decodeForgiving(t, wcfHead("ReplicationCompleted")+`<a:Duration>PT3M</a:Duration><a:ClientState>c</a:ClientState>`+wcfTail("ReplicationCompleted"))
	done, err := d.ReplicationCompleted()
	if err != nil || done.ClientState != "c" {
		t.Fatalf("ReplicationCompleted = %+v, %v", done, err)
	}
	checkSkips(t, log, "ReplicationCompleted ReplicationCompletedRequest@Id", "ReplicationCompleted ReplicationCompletedRequest/Duration")
}

// Forgiving never stretches to reading a lost or nil required element as "nothing".
func TestForgivingStillNeedsRequiredElements(t *testing.T) {
	const column = `<Column><Name>id</Name><Type>int</Type></Column>`
	cases := []struct {
		op, inner, want string
	}{
		{"TableSchema", `<ClientState/><TableList/>`, "<TableSchemaRequest> has no <Tables>"},
		{"TableSchema", `<Tables i:nil="true"/>`, "<TableSchemaRequest> has no <Tables>"},
		{"TableSchema", `<Tables><Table i:nil="true"/></Tables>`, "a <Table> is nil"},
		{"TableSchema", `<Tables><Table><Name i:nil="true"/><Columns>` + column + `</Columns></Table></Tables>`, "a <Table> has no <Name>"},
		{"TableSchema", `<Tables><Table><Name>t</Name><ColumnList>` + column + `</ColumnList></Table></Tables>`, `table "t": <Table> has no <Columns>`},
		{"TableSchema", `<Tables><Table><Name>t</Name><Columns i:nil="true"/></Table></Tables>`, `table "t": <Table> has no <Columns>`},
		{"TableSchema", `<Tables><Table><Name>t</Name><Columns><Column i:nil="true"/></Columns></Table></Tables>`, `table "t", column #1: a <Column> is nil`},
		{"TableSchema", `<Tables><Table><Name>t</Name><Columns><Column><Name>id</Name><DataType>int</DataType></Column></Columns></Table></Tables>`, `column id: <Column> has no <Type>`},
		{"TableSchema", `<Tables><Table><Name>t</Name><Columns><Column><Name>id</Name><Type i:nil="true"/></Column></Columns></Table></Tables>`, `column id: <Column> has no <Type>`},
		{"TableSchema", `<Tables><Table><Name>t</Name><Columns><Column><Name>id</Name><Type i:nil="true">int</Type></Column></Columns></Table></Tables>`, `<Type> is nil but holds text "int"`},
		{"Wipe", `<ClientState/><TableNames><Name>t</Name></TableNames>`, "<WipeRequest> has no <Tables>"},
		{"Wipe", `<Tables><Name i:nil="true"/></Tables>`, "a table <Name> in <Tables> is nil"},
	}
	for _, c := range cases {
		body := wcfHead(c.op) + c.inner + wcfTail(c.op)
		d := NewDecoder(strings.NewReader(body))
		_, err := d.Start()
		if err == nil {
			switch c.op {
			case "TableSchema":
				_, err = d.TableSchema()
			case "Wipe":
				_, err = d.Wipe()
			}
		}
		if !IsClientError(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.inner, err, c.want)
		}
	}
}

// The operation element itself must be the contract's: forgiving starts below it.
func TestOperationElementMustBeTheContracts(t *testing.T) {
	body := strings.Replace(wcfHead("Wipe"), `<WipeRequest xmlns="`+Namespace+`"`, `<WipeRequest xmlns="`+dcNS+`"`, 1) + `<Tables/>` + wcfTail("Wipe")
	_, err := NewDecoder(strings.NewReader(body)).Start()
	if !IsClientError(err) || !strings.Contains(err.Error(), `<WipeRequest> is in namespace "`+dcNS+`"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestReplicationCompletedSummary(t *testing.T) {
	req := ReplicationCompletedRequest{ClientState: "end", Summary: []TableSummary{
		{Name: "contact", Inserted: 3, Updated: 2, Deleted: 1}, {Name: "person", Deleted: -1}}}
	var body strings.Builder
	if err := WriteReplicationCompletedRequest(&body, "jwt", req); err != nil {
		t.Fatal(err)
	}
	d, log := decodeForgiving(t, body.String())
	if got, err := d.ReplicationCompleted(); err != nil || !reflect.DeepEqual(got, req) {
		t.Fatalf("ReplicationCompleted = %+v, %v", got, err)
	}
	checkSkips(t, log)

	body.Reset()
	if err := WriteReplicationCompletedRequest(&body, "jwt", ReplicationCompletedRequest{ClientState: "end"}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body.String(), "Summary") {
		t.Fatalf("a request without a summary writes one: %s", body.String())
	}

	// Whatever the sender's summary holds, what is there is read and the rest skipped.
	d, log = decodeForgiving(t, wcfHead("ReplicationCompleted")+`<a:ClientState/><a:Summary>
  <a:TableSummary z:Id="i2"><a:Name>contact</a:Name><a:Inserted>3</a:Inserted><a:Failed>0</a:Failed><a:Deleted i:nil="true"/></a:TableSummary>
  <a:TableSummary><a:Inserted>9</a:Inserted></a:TableSummary>
  <a:TableSummary><a:Name/><a:Updated>9</a:Updated></a:TableSummary>
  <a:TableSummary i:nil="true"/>
  <a:Total>12</a:Total>
  <TableSummary xmlns=""><Updated>4</Updated><Name>person</Name></TableSummary>
</a:Summary>`+wcfTail("ReplicationCompleted"))
	got, err := d.ReplicationCompleted()
	want := []TableSummary{{Name: "contact", Inserted: 3}, {Name: "person", Updated: 4}}
	if err != nil || !reflect.DeepEqual(got.Summary, want) {
		t.Fatalf("ReplicationCompleted = %+v, %v", got, err)
	}
	checkSkips(t, log, "ReplicationCompleted ReplicationCompletedRequest@Id", "ReplicationCompleted TableSummary@Id",
		"ReplicationCompleted TableSummary/Failed", "ReplicationCompleted Summary/TableSummary", "ReplicationCompleted Summary/TableSummary",
		"ReplicationCompleted Summary/TableSummary", "ReplicationCompleted Summary/Total")

	// A count that is not a number is a fault that names its table, as any value is.
	d, _ = decodeForgiving(t, wcfHead("ReplicationCompleted")+`<a:Summary><a:TableSummary><a:Name>contact</a:Name><a:Inserted>many</a:Inserted></a:TableSummary></a:Summary>`+wcfTail("ReplicationCompleted"))
	if _, err := d.ReplicationCompleted(); !IsClientError(err) || !strings.Contains(err.Error(), `table "contact": <Inserted> "many" is not a 64-bit integer`) {
		t.Fatalf("err = %v", err)
	}
}
