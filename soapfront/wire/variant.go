package wire

import (
	"io"
	"strconv"
)

// The request writers: the sending side's, for mirrortask, tests and load tools. Each writes
// the contract's own shape, or, through a Variant, a shape that a WCF client might send instead.

// DataContractNamespace is the namespace of the mirroring data contracts as WCF's
// DataContractSerializer would name them: Variant.DataContract writes the request's members in it.
const DataContractNamespace = "http://schemas.datacontract.org/2004/07/SuperOffice.Online.Mirroring.Contract"

// serializationNS is the namespace of WCF's serialization attributes, such as z:Id.
const serializationNS = "http://schemas.microsoft.com/2003/10/Serialization/"

// Variant is a shape of the requests that the contract does not write but a WCF client might
// send, and that the decoder must read all the same. The zero Variant writes the contract's
// own shape; the package's Write*Request functions and NewRowDataWriter write that.
type Variant struct {
	// UnknownElements adds what the contract does not have wherever a WCF client might: a
	// nested <RequestInfo> subtree as the first child of the operation element, a z:Id
	// attribute on the operation element and on every list item (Table, Column, Batch,
	// TableSummary), an ext attribute and an <Extension> element in every list (Tables,
	// Columns, Batches, Rows, Summary) and an <Extension> element at the end of every list
	// item, an ext attribute on ClientState and on every <V>, a rowguid attribute on every
	// <Row>. Never an element inside <Row>, whose values are positional.
	UnknownElements bool
	// DataContract writes every element below the operation element in DataContractNamespace,
	// with the prefix a: bound on the operation element, as DataContractSerializer does.
	DataContract bool
	// XSINil writes NULL values, and an empty ClientState, as xsi:nil="true" (prefix i:)
	// rather than the contract's nil="true" and <ClientState/>.
	XSINil bool
}

// The markup a Variant adds.
const (
	unknownAttr  = ` ext="1"`
	requestInfo  = `<RequestInfo><Sender>mirrortask</Sender><Build kind="test"><Major>1</Major><Minor>0</Minor></Build></RequestInfo>`
	extension    = `Extension`
	extensionTxt = `not in the contract`
)

// nilAttr is the attribute that marks a NULL.
func (v Variant) nilAttr() string {
	if v.XSINil {
		return ` i:nil="true"`
	}
	return ` nil="true"`
}

// prefix is the prefix of the elements below the operation element.
func (v Variant) prefix() string {
	if v.DataContract {
		return "a:"
	}
	return ""
}

// requestWriter writes a request in a Variant's shape.
type requestWriter struct {
	xmlWriter
	v   Variant
	ids int // the last z:Id written
}

// open starts the envelope, its SignedToken header and the operation element of request op,
// binding the prefixes the variant uses.
func (w *requestWriter) open(token, op string) {
	w.raw(envelopeOpen + `<s:Header><SignedToken s:mustUnderstand="1" xmlns="` + Namespace + `">`)
	w.b = appendEscaped(w.b, token, false)
	w.raw(`</SignedToken></s:Header>` + bodyOpen + "<" + op + ` xmlns="` + Namespace + `"`)
	if w.v.DataContract {
		w.raw(` xmlns:a="` + DataContractNamespace + `"`)
	}
	if w.v.XSINil {
		w.raw(` xmlns:i="` + xsiNS + `"`)
	}
	if w.v.UnknownElements {
		w.raw(` xmlns:z="` + serializationNS + `"`)
		w.id()
	}
	w.raw(">")
	w.pre = w.v.prefix()
	if w.v.UnknownElements {
		w.subtree(requestInfo)
	}
}

// subtree writes markup written without a prefix with the variant's prefix on every element.
func (w *requestWriter) subtree(markup string) {
	for i := 0; i < len(markup); i++ {
		w.b = append(w.b, markup[i])
		if markup[i] == '<' {
			if markup[i+1] == '/' {
				w.b = append(w.b, '/')
				i++
			}
			w.b = append(w.b, w.pre...)
		}
	}
}

// id writes a z:Id attribute, numbered as DataContractSerializer numbers the objects it writes.
func (w *requestWriter) id() {
	w.ids++
	w.raw(` z:Id="i` + strconv.Itoa(w.ids) + `"`)
}

// extension writes an element the contract does not have.
func (w *requestWriter) extension() {
	w.tag("<", extension)
	w.raw(">" + extensionTxt)
	w.tag("</", extension)
	w.raw(">")
}

// startList opens a list element (Tables, Columns, …).
func (w *requestWriter) startList(name string) {
	w.tag("<", name)
	if w.v.UnknownElements {
		w.raw(unknownAttr + ">")
		w.extension()
		return
	}
	w.raw(">")
}

// startItem opens an item of a list (Table, Column, …).
func (w *requestWriter) startItem(name string) {
	w.tag("<", name)
	if w.v.UnknownElements {
		w.id()
	}
	w.raw(">")
}

// endItem closes an item of a list.
func (w *requestWriter) endItem(name string) {
	if w.v.UnknownElements {
		w.extension()
	}
	w.end(name)
}

func (w *requestWriter) end(name string) {
	w.tag("</", name)
	w.raw(">")
}

// clientState writes <ClientState>; an empty one is nil in the XSINil variant.
func (w *requestWriter) clientState(s string) {
	w.tag("<", "ClientState")
	if w.v.UnknownElements {
		w.raw(unknownAttr)
	}
	switch {
	case s == "" && w.v.XSINil:
		w.raw(w.v.nilAttr() + "/>")
	case s == "":
		w.raw("/>")
	default:
		w.raw(">")
		w.b = appendEscaped(w.b, s, false)
		w.end("ClientState")
	}
}

// WriteAuthenticateRequest writes the documented AuthenticateRequest with its SignedToken
// header, in the contract's own shape.
func WriteAuthenticateRequest(out io.Writer, token string, r AuthenticateRequest) error {
	return Variant{}.WriteAuthenticateRequest(out, token, r)
}

// WriteAuthenticateRequest writes an AuthenticateRequest in the variant's shape.
func (v Variant) WriteAuthenticateRequest(out io.Writer, token string, r AuthenticateRequest) error {
	w := requestWriter{v: v}
	w.open(token, "AuthenticateRequest")
	w.clientState(r.ClientState)
	return w.close("AuthenticateRequest", out)
}

// WriteTableSchemaRequest writes a TableSchemaRequest in the contract's own shape. Every column
// attribute is written, as a WCF data contract does, and a column's <Default> when it has one.
func WriteTableSchemaRequest(out io.Writer, token string, r TableSchemaRequest) error {
	return Variant{}.WriteTableSchemaRequest(out, token, r)
}

// WriteTableSchemaRequest writes a TableSchemaRequest in the variant's shape.
func (v Variant) WriteTableSchemaRequest(out io.Writer, token string, r TableSchemaRequest) error {
	w := requestWriter{v: v}
	w.open(token, "TableSchemaRequest")
	w.clientState(r.ClientState)
	w.startList("Tables")
	for _, t := range r.Tables {
		w.startItem("Table")
		w.elem("Name", t.Name)
		w.startList("Columns")
		for _, c := range t.Columns {
			w.startItem("Column")
			w.elem("Name", c.Name)
			w.elem("Type", string(c.Type))
			w.int("Length", int64(c.Length))
			w.int("Precision", int64(c.Precision))
			w.int("Scale", int64(c.Scale))
			w.bool("Nullable", c.Nullable)
			w.bool("PrimaryKey", c.PrimaryKey)
			if c.Default != "" {
				w.elem("Default", c.Default)
			}
			w.endItem("Column")
		}
		w.end("Columns")
		w.endItem("Table")
	}
	w.end("Tables")
	return w.close("TableSchemaRequest", out)
}

// WriteWipeRequest writes a WipeRequest in the contract's own shape.
func WriteWipeRequest(out io.Writer, token string, r WipeRequest) error {
	return Variant{}.WriteWipeRequest(out, token, r)
}

// WriteWipeRequest writes a WipeRequest in the variant's shape.
func (v Variant) WriteWipeRequest(out io.Writer, token string, r WipeRequest) error {
	w := requestWriter{v: v}
	w.open(token, "WipeRequest")
	w.clientState(r.ClientState)
	w.startList("Tables")
	for _, t := range r.Tables {
		w.elem("Name", t)
	}
	w.end("Tables")
	return w.close("WipeRequest", out)
}

// WriteReplicationCompletedRequest writes a ReplicationCompletedRequest in the contract's own
// shape, with its <Summary> when it has one.
func WriteReplicationCompletedRequest(out io.Writer, token string, r ReplicationCompletedRequest) error {
	return Variant{}.WriteReplicationCompletedRequest(out, token, r)
}

// WriteReplicationCompletedRequest writes a ReplicationCompletedRequest in the variant's shape.
func (v Variant) WriteReplicationCompletedRequest(out io.Writer, token string, r ReplicationCompletedRequest) error {
	w := requestWriter{v: v}
	w.open(token, "ReplicationCompletedRequest")
	w.clientState(r.ClientState)
	if len(r.Summary) > 0 {
		w.startList("Summary")
		for _, t := range r.Summary {
			w.startItem("TableSummary")
			w.elem("Name", t.Name)
			w.int("Inserted", t.Inserted)
			w.int("Updated", t.Updated)
			w.int("Deleted", t.Deleted)
			w.endItem("TableSummary")
		}
		w.end("Summary")
	}
	return w.close("ReplicationCompletedRequest", out)
}
