package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
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

	// OnSkip, when set, is called for every element and attribute of the request that the
	// decoder skips because the contract does not have it: element is "Parent/Local" for an
	// element (e.g. "Column/Description") and "Element@local" for an attribute (e.g.
	// "Row@rowguid"), by local names. A skipped element's content is skipped with it and not
	// reported. Namespace declarations are not attributes and are never reported, nor are SOAP
	// header entries other than SignedToken, which SOAP lets a receiver ignore. Set it before
	// Start; it is called from the decoding goroutine.
	OnSkip func(operation, element string)

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

// header reads the SOAP header's entries: SignedToken is kept, others are skipped (a SOAP
// header entry is the receiver's to ignore, so they are not reported).
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
		b, err := d.content("SignedToken", MaxTokenSize)
		if err != nil {
			return token, err
		}
		token = strings.TrimSpace(string(b))
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

// skipped reports a name the decoder skips.
func (d *Decoder) skipped(name string) {
	if d.OnSkip != nil {
		d.OnSkip(d.operation, name)
	}
}

// skipElement skips the current element, a child of parent that the contract does not have,
// and reports it.
func (d *Decoder) skipElement(parent string) error {
	if d.OnSkip != nil {
		d.OnSkip(d.operation, parent+"/"+string(d.tok.local()))
	}
	return d.skip(MaxFieldSize)
}

// skipElementWithoutRows skips the current element of a RowData request like skipElement,
// unless a <Row> or <V> lies anywhere inside it: that is rows under a name or in a place the
// contract does not have, and skipping them would lose them while their batch's LSN commits.
func (d *Decoder) skipElementWithoutRows(parent string) error {
	name := string(d.tok.local())
	depth := d.tok.depth()
	for {
		if err := d.tok.skipBlank(); err != nil {
			return d.fail(err)
		}
		if err := d.tok.next(MaxFieldSize); err != nil {
			return d.fail(err)
		}
		switch d.tok.kind() {
		case tokStart:
			if local := d.tok.local(); string(local) == "Row" || string(local) == "V" {
				return d.failf("<%s> in <%s> holds a <%s>: rows are read only as <Row> in a batch's <Rows>, and skipping these would lose them", name, parent, local)
			}
		case tokEnd:
			if d.tok.depth() == depth-1 {
				d.skipped(parent + "/" + name)
				return nil
			}
		}
	}
}

// attributes reads the attributes of the current start element, named element. nil="true"
// (unprefixed or xsi:nil) makes the element nil; the unprefixed attributes named in known are
// the caller's to read; namespace declarations are not attributes; any other attribute is
// skipped and reported.
func (d *Decoder) attributes(element string, known ...string) (isNil bool, err error) {
	for i := range d.tok.attrCount() {
		local, space, value, decl, err := d.tok.attrAt(i)
		if err != nil {
			return false, d.fail(err)
		}
		switch {
		case decl:
		case string(local) == "nil" && (space == "" || space == xsiNS):
			// xs:boolean collapses white space, as .NET's XmlConvert does: " true " is true.
			switch string(bytes.Trim(value, " \t\r\n")) {
			case "true", "1":
				isNil = true
			case "false", "0":
			default:
				return false, d.failf("<%s> nil=%s is not true or false", element, quoteValue(value))
			}
		case space == "" && isKnown(local, known):
		default:
			d.skipped(element + "@" + string(local))
		}
	}
	return isNil, nil
}

func isKnown(name []byte, known []string) bool {
	for _, k := range known {
		if string(name) == k {
			return true
		}
	}
	return false
}

// content reads the content of the current start element, which must be text only and at
// most limit bytes. The bytes are valid until the next read.
func (d *Decoder) content(name string, limit int) ([]byte, error) {
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

// textBytes reads a text field of at most limit bytes: its attributes, then its content. present
// is false for a nil field, whose content must be empty. The bytes are valid until the next read.
func (d *Decoder) textBytes(name string, limit int) (text []byte, present bool, err error) {
	isNil, err := d.attributes(name)
	if err != nil {
		return nil, false, err
	}
	if text, err = d.content(name, limit); err != nil {
		return nil, false, err
	}
	if isNil && len(text) > 0 {
		return nil, false, d.failf("<%s> is nil but holds text %s", name, quoteValue(text))
	}
	return text, !isNil, nil
}

// stringField reads a text field of at most limit bytes; a nil field reads as "".
func (d *Decoder) stringField(name string, limit int) (string, bool, error) {
	b, present, err := d.textBytes(name, limit)
	return string(b), present, err
}

// text reads a text field of at most MaxFieldSize bytes; a nil field reads as "".
func (d *Decoder) text(name string) (string, error) {
	s, _, err := d.stringField(name, MaxFieldSize)
	return s, err
}

// int64Field reads an xsd:long; a nil field reads as 0, not present.
func (d *Decoder) int64Field(name string) (int64, bool, error) {
	b, present, err := d.textBytes(name, MaxFieldSize)
	if err != nil || !present {
		return 0, false, err
	}
	v, perr := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if perr != nil {
		return 0, false, d.failf("<%s> %s is not a 64-bit integer", name, quoteValue(b))
	}
	return v, true, nil
}

func (d *Decoder) int64Text(name string) (int64, error) {
	v, _, err := d.int64Field(name)
	return v, err
}

func (d *Decoder) intText(name string) (int, error) {
	v, err := d.int64Text(name)
	if err == nil && int64(int32(v)) != v {
		return 0, d.failf("<%s> %d is out of range", name, v)
	}
	return int(v), err
}

// boolText reads an xsd:boolean: true, false, 1 or 0; a nil field reads as false.
func (d *Decoder) boolText(name string) (bool, error) {
	b, present, err := d.textBytes(name, MaxFieldSize)
	if err != nil || !present {
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

// once records that a child element was read, refusing a second one.
func (d *Decoder) once(seen *bool, name string) error {
	if *seen {
		return d.failf("<%s> appears twice", name)
	}
	*seen = true
	return nil
}

// operationBody checks that Start named operation and reads the operation element: child is
// called for each of its child elements, by local name, and the body is read to its end.
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
	// The operation element is still the current token: its attributes are read here, where
	// the operation is known.
	if _, err := d.attributes(string(d.tok.local())); err != nil {
		return err
	}
	if err := d.children(string(d.tok.local()), child); err != nil {
		return err
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

// children calls child for each child element of the open element, by local name whatever its
// namespace.
func (d *Decoder) children(parent string, child func(name string) error) error {
	for {
		ok, err := d.child()
		if err != nil || !ok {
			return err
		}
		if err := child(string(d.tok.local())); err != nil {
			return err
		}
	}
}

// list reads a list element (Tables, Columns, …), named name: its attributes, then item for
// each child element. A nil list reads as absent: present is false.
func (d *Decoder) list(name string, item func(child string) error) (present bool, err error) {
	isNil, err := d.attributes(name)
	if err != nil {
		return false, err
	}
	if isNil {
		return false, d.skip(MaxFieldSize)
	}
	return true, d.children(name, item)
}

// item reads the attributes of a list item that may not be nil (a <Table>, a <Column>, …).
func (d *Decoder) item(name string, known ...string) error {
	isNil, err := d.attributes(name, known...)
	if err == nil && isNil {
		err = d.failf("a <%s> is nil", name)
	}
	return err
}
