package wire

import (
	"bytes"
	"hash/fnv"
	"reflect"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/schema"
)

// fuzzVariant picks a variant from the body, so that each input is also written back in one
// of the shapes the decoder forgives.
func fuzzVariant(body []byte) Variant {
	h := fnv.New32a()
	h.Write(body)
	return allVariants()[h.Sum32()%8]
}

// FuzzRowData feeds arbitrary bodies to the RowData decoder: it must never panic, and a body it
// accepts must write back (through RowDataWriter, in the contract's shape and in a variant's) to
// a body that decodes to the same rows.
func FuzzRowData(f *testing.F) {
	for _, body := range rowDataVariants {
		f.Add([]byte(body))
	}
	f.Add([]byte(rowDataBody(contactBatch(`<Row op="I" lsn="1"><V>1</V><V>a</V></Row>`))))
	for _, v := range allVariants() {
		f.Add(writeRows(f, v))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		first := newTestSink(contactTable, allTypesTable)
		d := NewDecoder(bytes.NewReader(body))
		d.MaxTextSize = 1 << 20
		skipped := 0
		d.OnSkip = func(operation, element string) {
			if operation != OpRowData || !strings.ContainsAny(element, "/@") {
				t.Fatalf("skipped %q in %q", element, operation)
			}
			skipped++
		}
		if _, err := d.Start(); err != nil {
			return
		}
		state, err := d.RowData(first)
		if err != nil {
			return
		}
		for _, v := range []Variant{{}, fuzzVariant(body)} {
			again := first.reencodeAs(t, state, v)
			second := newTestSink(contactTable, allTypesTable)
			d = NewDecoder(bytes.NewReader(again))
			if _, err := d.Start(); err != nil {
				t.Fatalf("re-encoded body (%s) does not start: %v\n%s", v, err, again)
			}
			state2, err := d.RowData(second)
			if err != nil {
				t.Fatalf("re-encoded body (%s) does not decode: %v\n%s", v, err, again)
			}
			if state2 != state {
				t.Fatalf("client state %q came back as %q (%s)", state, state2, v)
			}
			if a, b := first.dump(), second.dump(); a != b {
				t.Fatalf("rows changed in a round trip (%s)\nfirst:\n%s\nsecond:\n%s", v, a, b)
			}
		}
	})
}

// FuzzRequest feeds arbitrary bodies to the decoder of whichever operation they name: it must
// never panic, and what it accepts must write back, in the contract's shape and in a variant's,
// to a body that decodes to the same request. The seeds are every request in every variant
// and the forgiving shapes of the tests.
func FuzzRequest(f *testing.F) {
	withDefault := contactTable
	withDefault.Columns = append([]schema.Column(nil), contactTable.Columns...)
	withDefault.Columns[5].Default = "((578))"
	for _, v := range allVariants() {
		var b bytes.Buffer
		_ = v.WriteAuthenticateRequest(&b, "jwt", AuthenticateRequest{ClientState: "cs"})
		f.Add(bytes.Clone(b.Bytes()))
		b.Reset()
		_ = v.WriteTableSchemaRequest(&b, "jwt", TableSchemaRequest{Tables: []schema.Table{withDefault}})
		f.Add(bytes.Clone(b.Bytes()))
		b.Reset()
		_ = v.WriteWipeRequest(&b, "jwt", WipeRequest{Tables: []string{"contact"}})
		f.Add(bytes.Clone(b.Bytes()))
		b.Reset()
		_ = v.WriteReplicationCompletedRequest(&b, "jwt", ReplicationCompletedRequest{Summary: []TableSummary{{Name: "contact", Inserted: 1}}})
		f.Add(bytes.Clone(b.Bytes()))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := decodeRequest(t, body)
		if !ok {
			return
		}
		for _, v := range []Variant{{}, fuzzVariant(body)} {
			var again bytes.Buffer
			var err error
			switch req := got.(type) {
			case AuthenticateRequest:
				err = v.WriteAuthenticateRequest(&again, "jwt", req)
			case TableSchemaRequest:
				err = v.WriteTableSchemaRequest(&again, "jwt", req)
			case WipeRequest:
				err = v.WriteWipeRequest(&again, "jwt", req)
			case ReplicationCompletedRequest:
				err = v.WriteReplicationCompletedRequest(&again, "jwt", req)
			default:
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			back, ok := decodeRequest(t, again.Bytes())
			if !ok {
				t.Fatalf("re-encoded request (%s) does not decode:\n%s", v, again.Bytes())
			}
			if !reflect.DeepEqual(back, got) {
				t.Fatalf("request changed in a round trip (%s)\nfirst:  %+v\nsecond: %+v", v, got, back)
			}
		}
	})
}

// decodeRequest decodes a request of any operation but RowData; ok is false if it is refused.
func decodeRequest(t *testing.T, body []byte) (req any, ok bool) {
	d := NewDecoder(bytes.NewReader(body))
	d.OnSkip = func(operation, element string) {
		if !knownOperation(operation) || !strings.ContainsAny(element, "/@") {
			t.Fatalf("skipped %q in %q", element, operation)
		}
	}
	h, err := d.Start()
	if err != nil {
		return nil, false
	}
	switch h.Operation {
	case OpAuthenticate:
		req, err = d.Authenticate()
	case OpTableSchema:
		req, err = d.TableSchema()
	case OpWipe:
		req, err = d.Wipe()
	case OpReplicationCompleted:
		req, err = d.ReplicationCompleted()
	default:
		return nil, false
	}
	return req, err == nil
}
