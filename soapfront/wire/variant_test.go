package wire

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// allVariants is every combination of the variants' options.
func allVariants() []Variant {
	var out []Variant
	for i := range 8 {
		out = append(out, Variant{UnknownElements: i&1 != 0, DataContract: i&2 != 0, XSINil: i&4 != 0})
	}
	return out
}

func (v Variant) String() string {
	return fmt.Sprintf("unknown=%t,datacontract=%t,xsinil=%t", v.UnknownElements, v.DataContract, v.XSINil)
}

// checkShape parses a request with encoding/xml and checks that the variant wrote what it says:
// every element below the operation element in its namespace, NULLs marked its way.
func checkShape(t *testing.T, v Variant, body []byte) {
	t.Helper()
	space := Namespace
	if v.DataContract {
		space = DataContractNamespace
	}
	d := xml.NewDecoder(bytes.NewReader(body))
	depth, nils := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > 3 && tok.Name.Space != space {
				t.Fatalf("<%s> is in namespace %q, want %q", tok.Name.Local, tok.Name.Space, space)
			}
			for _, a := range tok.Attr {
				if a.Name.Local == "nil" {
					nils++
					if (a.Name.Space == xsiNS) != v.XSINil {
						t.Fatalf("<%s> is nil by %s:nil", tok.Name.Local, a.Name.Space)
					}
				}
			}
		case xml.EndElement:
			depth--
		}
	}
	if v.XSINil && nils == 0 {
		t.Fatal("no NULL was written")
	}
}

// unknowns returns names when the variant adds unknown elements, prefixed by the operation.
func unknowns(v Variant, op string, names ...string) []string {
	if !v.UnknownElements {
		return nil
	}
	var out []string
	for _, n := range names {
		out = append(out, op+" "+n)
	}
	return out
}

// TestVariantsDecode writes every request in every variant and reads it back: the decoder must
// give what was written, and report exactly the names the variant added.
func TestVariantsDecode(t *testing.T) {
	withDefault := contactTable
	withDefault.Columns = append([]schema.Column(nil), contactTable.Columns...)
	withDefault.Columns[5].Default = "((578))"
	withDefault.Columns[12].Default = "((0))"
	for _, v := range allVariants() {
		t.Run(v.String(), func(t *testing.T) {
			var body bytes.Buffer
			if err := v.WriteAuthenticateRequest(&body, "jwt", AuthenticateRequest{}); err != nil {
				t.Fatal(err)
			}
			checkShape(t, v, body.Bytes())
			d, log := decodeForgiving(t, body.String())
			if got, err := d.Authenticate(); err != nil || got != (AuthenticateRequest{}) {
				t.Fatalf("Authenticate = %+v, %v", got, err)
			}
			checkSkips(t, log, unknowns(v, OpAuthenticate, "AuthenticateRequest@Id", "AuthenticateRequest/RequestInfo", "ClientState@ext")...)

			schemaReq := TableSchemaRequest{ClientState: "cs", Tables: []schema.Table{withDefault, allTypesTable}}
			body.Reset()
			if err := v.WriteTableSchemaRequest(&body, "jwt", schemaReq); err != nil {
				t.Fatal(err)
			}
			d, log = decodeForgiving(t, body.String())
			if got, err := d.TableSchema(); err != nil || !reflect.DeepEqual(got, schemaReq) {
				t.Fatalf("TableSchema = %+v, %v", got, err)
			}
			want := unknowns(v, OpTableSchema, "TableSchemaRequest@Id", "TableSchemaRequest/RequestInfo", "ClientState@ext", "Tables@ext", "Tables/Extension")
			for _, tb := range schemaReq.Tables {
				want = append(want, unknowns(v, OpTableSchema, "Table@Id", "Columns@ext", "Columns/Extension")...)
				for range tb.Columns {
					want = append(want, unknowns(v, OpTableSchema, "Column@Id", "Column/Extension")...)
				}
				want = append(want, unknowns(v, OpTableSchema, "Table/Extension")...)
			}
			checkSkips(t, log, want...)

			body.Reset()
			if err := v.WriteWipeRequest(&body, "jwt", WipeRequest{Tables: []string{"contact", "person"}}); err != nil {
				t.Fatal(err)
			}
			d, log = decodeForgiving(t, body.String())
			if got, err := d.Wipe(); err != nil || !reflect.DeepEqual(got, WipeRequest{Tables: []string{"contact", "person"}}) {
				t.Fatalf("Wipe = %+v, %v", got, err)
			}
			checkSkips(t, log, unknowns(v, OpWipe, "WipeRequest@Id", "WipeRequest/RequestInfo", "ClientState@ext", "Tables@ext", "Tables/Extension")...)

			done := ReplicationCompletedRequest{ClientState: "end", Summary: []TableSummary{{Name: "contact", Inserted: 3, Updated: 2, Deleted: 1}, {Name: "person"}}}
			body.Reset()
			if err := v.WriteReplicationCompletedRequest(&body, "jwt", done); err != nil {
				t.Fatal(err)
			}
			d, log = decodeForgiving(t, body.String())
			if got, err := d.ReplicationCompleted(); err != nil || !reflect.DeepEqual(got, done) {
				t.Fatalf("ReplicationCompleted = %+v, %v", got, err)
			}
			checkSkips(t, log, unknowns(v, OpReplicationCompleted, "ReplicationCompletedRequest@Id", "ReplicationCompletedRequest/RequestInfo",
				"ClientState@ext", "Summary@ext", "Summary/Extension", "TableSummary@Id", "TableSummary/Extension", "TableSummary@Id", "TableSummary/Extension")...)
		})
	}
}

// writeRows writes two batches of rows, NULLs and strings that need base64 among them.
func writeRows(t testing.TB, v Variant) []byte {
	var body bytes.Buffer
	w := v.NewRowDataWriter(&body, "jwt", "")
	if err := w.Begin("alltypes", allTypesTable.Columns); err != nil {
		t.Fatal(err)
	}
	for i, s := range []string{"plain", "line\r\nbreak", "nul\x00byte", "Fjord & Co <AS>"} {
		if err := w.Row(bulk.Insert, int64(10+i), allTypesRow(int64(i), s)...); err != nil {
			t.Fatal(err)
		}
	}
	nulls := make([]any, len(allTypesTable.Columns))
	nulls[0] = int64(99)
	if err := w.Row(bulk.Update, 20, nulls...); err != nil {
		t.Fatal(err)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if err := w.Begin("contact", contactTable.Columns[:2]); err != nil {
		t.Fatal(err)
	}
	if err := w.Row(bulk.Delete, 21, int64(17), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.EndLSN(21); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return body.Bytes()
}

func TestVariantsRowData(t *testing.T) {
	decode := func(body []byte) (string, *skipLog) {
		d, log := decodeForgiving(t, string(body))
		sink := newTestSink(allTypesTable, contactTable)
		if _, err := d.RowData(sink); err != nil {
			t.Fatal(err)
		}
		return sink.dump(), log
	}
	want, _ := decode(writeRows(t, Variant{}))
	for _, v := range allVariants() {
		t.Run(v.String(), func(t *testing.T) {
			body := writeRows(t, v)
			checkShape(t, v, body)
			got, log := decode(body)
			if got != want {
				t.Fatalf("rows differ\n got:\n%s\nwant:\n%s", got, want)
			}
			skips := unknowns(v, OpRowData, "RowDataRequest@Id", "RowDataRequest/RequestInfo", "ClientState@ext", "Batches@ext", "Batches/Extension")
			for _, batch := range []struct{ rows, cols int }{{5, len(allTypesTable.Columns)}, {1, 2}} {
				skips = append(skips, unknowns(v, OpRowData, "Batch@Id", "Columns@ext", "Columns/Extension", "Rows@ext", "Rows/Extension")...)
				for range batch.rows {
					skips = append(skips, unknowns(v, OpRowData, "Row@rowguid")...)
					for range batch.cols {
						skips = append(skips, unknowns(v, OpRowData, "V@ext")...)
					}
				}
				skips = append(skips, unknowns(v, OpRowData, "Batch/Extension")...)
			}
			checkSkips(t, log, skips...)
		})
	}
}

// The contract's own shape is the zero Variant, and a column's default is written only when
// it has one.
func TestZeroVariantIsTheContract(t *testing.T) {
	var body bytes.Buffer
	req := TableSchemaRequest{Tables: []schema.Table{contactTable}}
	if err := WriteTableSchemaRequest(&body, "jwt", req); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(body.String(), "Default") || strings.Contains(body.String(), DataContractNamespace) || strings.Contains(body.String(), "Extension") {
		t.Fatalf("the contract's shape holds more than the contract: %s", body.String())
	}
	req.Tables[0].Columns = append([]schema.Column(nil), req.Tables[0].Columns...)
	req.Tables[0].Columns[0].Default = "  (newid())  "
	body.Reset()
	if err := WriteTableSchemaRequest(&body, "jwt", req); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body.String(), "<PrimaryKey>true</PrimaryKey><Default>  (newid())  </Default></Column>") {
		t.Fatalf("the default is not after <PrimaryKey>: %s", body.String())
	}
	d, _ := decodeForgiving(t, body.String())
	got, err := d.TableSchema()
	if err != nil || got.Tables[0].Columns[0].Default != "(newid())" {
		t.Fatalf("TableSchema = %+v, %v", got, err)
	}
}
