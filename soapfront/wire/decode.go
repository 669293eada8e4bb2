package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// Default limits of a Decoder.
const (
	DefaultMaxDepth       = 32
	DefaultMaxTextSize    = 64 << 20
	DefaultMaxClientState = 64 << 10
)

// Fixed limits, in bytes, of what is not a row value. Each is far above what the contract needs
// and keeps a sender from making the decoder hold more.
const (
	// MaxFieldSize limits every text other than row values, ClientState and the token (names,
	// types, numbers, and text inside skipped elements), and every attribute value.
	MaxFieldSize = 64 << 10
	// MaxTokenSize limits the SignedToken, a JWT of a few hundred bytes.
	MaxTokenSize = 16 << 10
)

// Decoder reads one request (or, for the sending side, one response) from a body. Start reads
// the envelope up to the body's first element, so the token can be checked before the body is
// read further; then the method of the operation reads the rest, through the end of the body.
type Decoder struct {
	// MaxDepth limits how deep elements nest; MaxTextSize limits each row value (<V>) and
	// MaxClientState the ClientState, in bytes. Set them before Start.
	MaxDepth       int
	MaxTextSize    int
	MaxClientState int

	r         io.Reader
	tok       *tokenizer
	operation string
	started   bool
	done      bool
	// Reused from batch to batch of a RowData request.
	b64  []byte
	kept []byte
}

// NewDecoder returns a decoder of the body r with the default limits.
func NewDecoder(r io.Reader) *Decoder {
	return &Decoder{r: r, MaxDepth: DefaultMaxDepth, MaxTextSize: DefaultMaxTextSize, MaxClientState: DefaultMaxClientState}
}

// fail turns a tokenizer error into a *Error of the current operation; read errors pass through.
func (d *Decoder) fail(err error) error {
	var re *readError
	if errors.As(err, &re) {
		return re.err
	}
	var se *syntaxError
	if errors.As(err, &se) {
		return &Error{Operation: d.operation, Offset: se.offset, Msg: se.msg}
	}
	return err
}

// failf is a contract violation at the current token.
func (d *Decoder) failf(format string, args ...any) *Error {
	return &Error{Operation: d.operation, Offset: d.tok.offset(), Msg: fmt.Sprintf(format, args...)}
}

// Start reads the envelope and its header up to the body's first element and returns the
// SignedToken and the operation that element names.
func (d *Decoder) Start() (Header, error) {
	return d.start(true)
}

func (d *Decoder) start(request bool) (Header, error) {
	if d.started {
		return Header{}, errors.New("wire: Start called twice")
	}
	d.started = true
	d.tok = newTokenizer(newReadBuffer(d.r), max(d.MaxDepth, 4))
	d.MaxTextSize, d.MaxClientState = max(d.MaxTextSize, 1), max(d.MaxClientState, 1)
	var h Header
	if err := d.element(); err != nil {
		return h, err
	}
	if err := d.expect(soapNS, "Envelope"); err != nil {
		return h, err
	}
	ok, err := d.child()
	if err != nil {
		return h, err
	}
	if ok && d.tok.space() == soapNS && string(d.tok.local()) == "Header" {
		if h.Token, err = d.header(); err != nil {
			return h, err
		}
		if ok, err = d.child(); err != nil {
			return h, err
		}
	}
	if !ok {
		return h, d.failf("the envelope has no Body")
	}
	if err := d.expect(soapNS, "Body"); err != nil {
		return h, err
	}
	if ok, err = d.child(); err != nil {
		return h, err
	}
	if !ok {
		return h, d.failf("the Body is empty: it must hold a request")
	}
	if !request && d.tok.space() == soapNS && string(d.tok.local()) == "Fault" {
		return h, d.fault()
	}
	suffix := "Request"
	if !request {
		suffix = "Response"
	}
	local := string(d.tok.local())
	op, found := strings.CutSuffix(local, suffix)
	if !found || !knownOperation(op) {
		return h, d.failf("unknown operation: the Body holds <%s>, which is not one of the contract's %ss", local, strings.ToLower(suffix))
	}
	if d.tok.space() != Namespace {
		return h, d.failf("<%s> is in namespace %q; the contract's namespace is %q", local, d.tok.space(), Namespace)
	}
	d.operation, h.Operation = op, op
	return h, nil
}

// header reads the SOAP header's entries: SignedToken is kept, others are skipped.
func (d *Decoder) header() (string, error) {
	var token string
	seen := false
	for {
		ok, err := d.child()
		if err != nil || !ok {
			return token, err
		}
		if string(d.tok.local()) != "SignedToken" || d.tok.space() != Namespace {
			if err := d.skip(MaxFieldSize); err != nil {
				return token, err
			}
			continue
		}
		if seen {
			return token, d.failf("the header holds SignedToken twice")
		}
		seen = true
		if token, err = d.textLimited("SignedToken", MaxTokenSize); err != nil {
			return token, err
		}
		token = strings.TrimSpace(token)
	}
}

// element reads up to the next start element, skipping blank text.
func (d *Decoder) element() error {
	for {
		if err := d.tok.next(MaxFieldSize); err != nil {
			return d.fail(err)
		}
		switch d.tok.kind() {
		case tokStart:
			return nil
		case tokText:
			if !isBlank(d.tok.text()) {
				return d.failf("unexpected text %s %s", quoteValue(d.tok.text()), d.tok.openElement())
			}
		case tokEnd, tokEOF:
			return d.failf("expected an element")
		}
	}
}

// child reads the next child element of the open element: true at its start, false at the end
// of the open element. Whitespace, comments and processing instructions between elements are
// skipped as they stream; other text is an error.
func (d *Decoder) child() (bool, error) {
	for {
		if err := d.tok.skipBlank(); err != nil {
			return false, d.fail(err)
		}
		if err := d.tok.next(MaxFieldSize); err != nil {
			return false, d.fail(err)
		}
		switch d.tok.kind() {
		case tokStart:
			return true, nil
		case tokEnd:
			return false, nil
		case tokText:
			if !isBlank(d.tok.text()) {
				return false, d.failf("unexpected text %s %s", quoteValue(d.tok.text()), d.tok.openElement())
			}
		default:
			return false, d.failf("unexpected end of XML")
		}
	}
}

func isBlank(b []byte) bool {
	for _, c := range b {
		if !isSpace(c) {
			return false
		}
	}
	return true
}

// expect checks the current start element's name.
func (d *Decoder) expect(space, local string) error {
	if string(d.tok.local()) != local {
		return d.failf("expected <%s>, found <%s>", local, d.tok.local())
	}
	if d.tok.space() != space {
		return d.failf("<%s> is in namespace %q, expected %q", local, d.tok.space(), space)
	}
	return nil
}

// contract checks that the current child element is in the contract's namespace.
func (d *Decoder) contract() error {
	if d.tok.space() != Namespace {
		return d.failf("<%s> is in namespace %q; the contract's namespace is %q", d.tok.local(), d.tok.space(), Namespace)
	}
	return nil
}

// unknown is the error for a child the contract does not have.
func (d *Decoder) unknown(parent string) error {
	return d.failf("unknown element <%s> in <%s>", d.tok.local(), parent)
}

// skip skips the rest of the current element, whose texts may be limit bytes long: the
// content of an element that is not read is checked and bounded as any other.
func (d *Decoder) skip(limit int) error {
	depth := d.tok.depth()
	for {
		if err := d.tok.skipBlank(); err != nil {
			return d.fail(err)
		}
		if err := d.tok.next(limit); err != nil {
			return d.fail(err)
		}
		if d.tok.kind() == tokEnd && d.tok.depth() == depth-1 {
			return nil
		}
	}
}

// textBytes reads the content of the current start element, which must be text only and at
// most limit bytes. The bytes are valid until the next read. xsi:nil="true" reads as empty.
func (d *Decoder) textBytes(name string, limit int) ([]byte, error) {
	if err := d.tok.next(limit); err != nil {
		return nil, d.fail(err)
	}
	var text []byte
	if d.tok.kind() == tokText {
		text = d.tok.text()
		if err := d.tok.next(limit); err != nil {
			return nil, d.fail(err)
		}
	}
	switch d.tok.kind() {
	case tokEnd:
		return text, nil
	case tokStart:
		return nil, d.failf("<%s> holds element <%s>; it must hold text only", name, d.tok.local())
	}
	return nil, d.failf("unexpected end of XML in <%s>", name)
}

// text reads a text field of at most MaxFieldSize bytes.
func (d *Decoder) text(name string) (string, error) {
	return d.textLimited(name, MaxFieldSize)
}

func (d *Decoder) textLimited(name string, limit int) (string, error) {
	b, err := d.textBytes(name, limit)
	return string(b), err
}

// once records that a child element was read, refusing a second one.
func (d *Decoder) once(seen *bool, name string) error {
	if *seen {
		return d.failf("<%s> appears twice", name)
	}
	*seen = true
	return nil
}

func (d *Decoder) int64Text(name string) (int64, error) {
	b, err := d.textBytes(name, MaxFieldSize)
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if perr != nil {
		return 0, d.failf("<%s> %s is not a 64-bit integer", name, quoteValue(b))
	}
	return v, nil
}

func (d *Decoder) intText(name string) (int, error) {
	v, err := d.int64Text(name)
	if err == nil && int64(int32(v)) != v {
		return 0, d.failf("<%s> %d is out of range", name, v)
	}
	return int(v), err
}

// boolText reads an xsd:boolean: true, false, 1 or 0.
func (d *Decoder) boolText(name string) (bool, error) {
	b, err := d.textBytes(name, MaxFieldSize)
	if err != nil {
		return false, err
	}
	switch strings.TrimSpace(string(b)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, d.failf("<%s> %s is not a boolean (true, false, 1 or 0)", name, quoteValue(b))
}

// operationBody checks that Start named operation, then calls child for each element of the
// request, and reads on to the end of the body.
func (d *Decoder) operationBody(operation string, child func(name string) error) error {
	if !d.started {
		if _, err := d.Start(); err != nil {
			return err
		}
	}
	if d.done {
		return errors.New("wire: the request was already read")
	}
	d.done = true
	if d.operation != operation {
		return d.failf("the body holds a %s request, not %s", d.operation, operation)
	}
	for {
		ok, err := d.child()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := d.contract(); err != nil {
			return err
		}
		if err := child(string(d.tok.local())); err != nil {
			return err
		}
	}
	return d.finish()
}

// finish reads the end of Body and Envelope and checks that nothing but whitespace, comments
// and processing instructions follows.
func (d *Decoder) finish() error {
	for _, name := range []string{"Body", "Envelope"} {
		ok, err := d.child()
		if err != nil {
			return err
		}
		if ok {
			return d.failf("unexpected element <%s> after the request, in <%s>", d.tok.local(), name)
		}
	}
	if err := d.tok.next(MaxFieldSize); err != nil {
		return d.fail(err)
	}
	if d.tok.kind() != tokEOF {
		return d.failf("unexpected content after the envelope")
	}
	return nil
}

// clientState is the child handler shared by every request and response.
func (d *Decoder) clientState(seen *bool, into *string) error {
	if err := d.once(seen, "ClientState"); err != nil {
		return err
	}
	var err error
	*into, err = d.textLimited("ClientState", d.MaxClientState)
	return err
}

// Authenticate reads an AuthenticateRequest.
func (d *Decoder) Authenticate() (AuthenticateRequest, error) {
	var req AuthenticateRequest
	var seen bool
	err := d.operationBody(OpAuthenticate, func(name string) error {
		if name == "ClientState" {
			return d.clientState(&seen, &req.ClientState)
		}
		return d.unknown("AuthenticateRequest")
	})
	return req, err
}

// ReplicationCompleted reads a ReplicationCompletedRequest.
func (d *Decoder) ReplicationCompleted() (ReplicationCompletedRequest, error) {
	var req ReplicationCompletedRequest
	var seen bool
	err := d.operationBody(OpReplicationCompleted, func(name string) error {
		if name == "ClientState" {
			return d.clientState(&seen, &req.ClientState)
		}
		return d.unknown("ReplicationCompletedRequest")
	})
	return req, err
}

// Wipe reads a WipeRequest.
func (d *Decoder) Wipe() (WipeRequest, error) {
	var req WipeRequest
	var seenState, seenTables bool
	err := d.operationBody(OpWipe, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &req.ClientState)
		case "Tables":
			if err := d.once(&seenTables, name); err != nil {
				return err
			}
			return d.children("Tables", func(name string) error {
				if name != "Name" {
					return d.unknown("Tables")
				}
				table, err := d.text(name)
				req.Tables = append(req.Tables, table)
				return err
			})
		}
		return d.unknown("WipeRequest")
	})
	return req, err
}

// children calls child for each child element of the open element, which must be in the
// contract's namespace.
func (d *Decoder) children(parent string, child func(name string) error) error {
	for {
		ok, err := d.child()
		if err != nil || !ok {
			return err
		}
		if err := d.contract(); err != nil {
			return err
		}
		if err := child(string(d.tok.local())); err != nil {
			return err
		}
	}
}

// TableSchema reads a TableSchemaRequest. The tables are as sent; the caller validates them.
func (d *Decoder) TableSchema() (TableSchemaRequest, error) {
	var req TableSchemaRequest
	var seenState, seenTables bool
	err := d.operationBody(OpTableSchema, func(name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &req.ClientState)
		case "Tables":
			if err := d.once(&seenTables, name); err != nil {
				return err
			}
			return d.children("Tables", func(name string) error {
				if name != "Table" {
					return d.unknown("Tables")
				}
				t, err := d.table()
				req.Tables = append(req.Tables, t)
				return err
			})
		}
		return d.unknown("TableSchemaRequest")
	})
	// Tables absent from the request are dropped from the mirror, so a request that lost its
	// <Tables> must never read as "no tables".
	if err == nil && !seenTables {
		err = d.failf("<TableSchemaRequest> has no <Tables>; send <Tables/> to mean that no table is mirrored")
	}
	return req, err
}

func (d *Decoder) table() (schema.Table, error) {
	var t schema.Table
	var seenName, seenColumns bool
	err := d.children("Table", func(name string) error {
		switch name {
		case "Name":
			if err := d.once(&seenName, name); err != nil {
				return err
			}
			var err error
			t.Name, err = d.text(name)
			return err
		case "Columns":
			if err := d.once(&seenColumns, name); err != nil {
				return err
			}
			return d.children("Columns", func(name string) error {
				if name != "Column" {
					return d.unknown("Columns")
				}
				c, err := d.column(len(t.Columns) + 1)
				t.Columns = append(t.Columns, c)
				return err
			})
		}
		return d.unknown("Table")
	})
	if err != nil {
		return t, inTable(err, t.Name)
	}
	if !seenName {
		return t, d.failf("a <Table> has no <Name>")
	}
	if !seenColumns {
		return t, inTable(d.failf("<Table> has no <Columns>"), t.Name)
	}
	return t, nil
}

func inTable(err error, table string) error {
	var we *Error
	if errors.As(err, &we) && we.Table == "" {
		we.Table = table
	}
	return err
}

// column reads one <Column>; n is its position, for errors about a column without a name.
func (d *Decoder) column(n int) (schema.Column, error) {
	var c schema.Column
	seen := map[string]bool{}
	err := d.children("Column", func(name string) error {
		if seen[name] {
			return d.failf("<%s> appears twice", name)
		}
		seen[name] = true
		var err error
		switch name {
		case "Name":
			c.Name, err = d.text(name)
		case "Type":
			var t string
			t, err = d.text(name)
			c.Type = schema.Type(strings.TrimSpace(t))
		case "Length":
			c.Length, err = d.intText(name)
		case "Precision":
			c.Precision, err = d.intText(name)
		case "Scale":
			c.Scale, err = d.intText(name)
		case "Nullable":
			c.Nullable, err = d.boolText(name)
		case "PrimaryKey":
			c.PrimaryKey, err = d.boolText(name)
		default:
			err = d.unknown("Column")
		}
		return err
	})
	where := c.Name
	if where == "" {
		where = "#" + strconv.Itoa(n)
	}
	if err != nil {
		var we *Error
		if errors.As(err, &we) && we.Column == "" {
			we.Column = where
		}
		return c, err
	}
	for _, required := range []string{"Name", "Type"} {
		if !seen[required] {
			e := d.failf("<Column> has no <%s>", required)
			e.Column = where
			return c, e
		}
	}
	return c, nil
}
