package wire

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// The tokenizer is a pull tokenizer for the XML that SOAP clients send, written by hand so that
// RowData streams at the speed of the input: it reads through one readBuffer, keeps a few
// reusable token buffers, allocates nothing per element, and decodes text in place.
//
// It is strict where safety needs it: no DOCTYPE (so no entity expansion of any kind), only
// the five predefined entities and character references to valid XML characters, UTF-8 only,
// a depth limit and a size limit on every text and attribute value. It is tolerant where XML
// allows freedom: namespace prefixes, comments, processing instructions, CDATA, a BOM.
//
// The decoder reads the current token through methods (kind, local, space, text, depth,
// offset, attrCount, attrAt); attributes.go reads a start tag's attributes and namespaces,
// text.go decodes character data and references, fastpath.go takes whole plain RowData
// elements straight from the read buffer.

type tokenKind uint8

const (
	tokStart tokenKind = iota + 1
	tokEnd
	tokText
	tokEOF
)

const (
	maxNameLength = 1024
	maxDeclLength = 1024
)

// MaxAttributes is the most attributes, namespace declarations included, that one element may
// carry. A SOAP element carries a handful; the cap keeps an element made of attributes, which
// can fill all of the megabyte read before the token is checked, from costing more than a few
// hundred attributes' work.
const MaxAttributes = 256

// MaxNamespaces is the most namespace declarations that may be in scope at once. A SOAP message
// has a few; the cap bounds the work of resolving each name, which looks through them all.
const MaxNamespaces = 128

// smallAttributes is how many attributes are checked for a duplicate by comparing each with
// the others; past it, a set of the names seen keeps the check linear.
const smallAttributes = 8

// attr is one attribute of the current start element, as offsets into tokenizer.attrBuf.
type attr struct {
	prefixEnd int // name is attrBuf[start:nameEnd]; prefix is attrBuf[start:prefixEnd] when it has one
	start     int
	nameEnd   int
	valueEnd  int // value is attrBuf[nameEnd:valueEnd]
	hasPrefix bool
}

type nsBinding struct {
	prefix string
	uri    string
	depth  int
}

type tokenizer struct {
	rb readBuffer

	maxDepth int

	level     int    // elements open
	stack     []byte // qualified names of the open elements, concatenated
	stackEnds []int
	ns        []nsBinding
	rootDone  bool
	started   bool
	// nsGen changes whenever a namespace binding comes or goes, so that a name resolved once
	// can be trusted while it stays the same.
	nsGen uint64

	// The current token.
	cur        tokenKind
	curLocal   []byte // local name of a start or end element
	curSpace   string // namespace of a start element
	attrs      []attr
	attrBuf    []byte
	attrSet    map[string]struct{} // names of attrs, once there are more than smallAttributes
	curText    []byte
	pendingEnd bool // a self-closing element: the next token is its end
	endName    []byte
	start      int64 // where the current token started
}

func newTokenizer(rb readBuffer, maxDepth int) *tokenizer {
	return &tokenizer{rb: rb, maxDepth: maxDepth}
}

// kind is the kind of the current token.
func (t *tokenizer) kind() tokenKind { return t.cur }

// local is the local name of the current start or end element.
func (t *tokenizer) local() []byte { return t.curLocal }

// space is the namespace of the current start element.
func (t *tokenizer) space() string { return t.curSpace }

// text is the decoded content of the current text token, valid until the next token.
func (t *tokenizer) text() []byte { return t.curText }

// depth is the number of open elements, the current start element included.
func (t *tokenizer) depth() int { return t.level }

// offset is where the current token started in the body.
func (t *tokenizer) offset() int64 { return t.start }

// namesGen changes whenever a namespace binding comes or goes: a qualified name that resolved
// to a namespace still does while namesGen is the same.
func (t *tokenizer) namesGen() uint64 { return t.nsGen }

// syntaxError is malformed or refused XML; the decoder turns it into a *Error.
type syntaxError struct {
	offset int64
	msg    string
}

func (e *syntaxError) Error() string { return e.msg }

// errorf is a syntax error at the current position; but once the body's reader has failed
// (the tokenizer asked it for more, so it stands at the end of what came), the XML was cut short
// and the reader's error is the answer.
func (t *tokenizer) errorf(format string, args ...any) error {
	if err := t.rb.readErr(); err != nil {
		return &readError{err}
	}
	return &syntaxError{offset: t.rb.offset(), msg: fmt.Sprintf(format, args...)}
}

// readError is the body's reader failing (a size limit, a broken connection): not XML's fault,
// so it passes through unchanged.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// eofError is the error for input that ended: a read error passes through, a clean end inside
// the document is truncated XML.
func (t *tokenizer) eofError(where string) error {
	if err := t.rb.readErr(); err != nil {
		return &readError{err}
	}
	return t.errorf("unexpected end of XML %s", where)
}

func (t *tokenizer) openElement() string {
	if len(t.stackEnds) == 0 {
		return "before the root element"
	}
	return "inside <" + string(t.rawName()) + ">"
}

// rawName is the qualified name of the open element as written.
func (t *tokenizer) rawName() []byte {
	start := 0
	if len(t.stackEnds) > 1 {
		start = t.stackEnds[len(t.stackEnds)-2]
	}
	return t.stack[start:]
}

// nameStop marks the bytes that end an XML name.
var nameStop = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n/>=<?!\"'&;") {
		t[c] = true
	}
	return t
}()

// readName appends a name to dst.
func (t *tokenizer) readName(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		b := t.rb.window()
		i := 0
		for i < len(b) && !nameStop[b[i]] {
			i++
		}
		dst = append(dst, b[:i]...)
		t.rb.advance(i)
		if len(dst)-start > maxNameLength {
			return dst, t.errorf("name longer than %d bytes", maxNameLength)
		}
		if i < len(b) || !t.rb.fill() {
			break
		}
	}
	name := dst[start:]
	if len(name) == 0 {
		if c, ok := t.rb.peekByte(); ok {
			return dst, t.errorf("expected a name, found %q", c)
		}
		return dst, t.eofError("in a name")
	}
	if c := name[0]; c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || name[len(name)-1] == ':' {
		return dst, t.errorf("%q is not a valid XML name", name)
	}
	if !utf8.Valid(name) {
		return dst, t.errorf("name %q is not valid UTF-8", name)
	}
	return dst, nil
}

// next reads the next token. Comments, processing instructions and the XML declaration are
// skipped; text between elements comes as tokText of at most limit bytes (callers decide
// whether blank text matters, and skipBlank first where it does not).
func (t *tokenizer) next(limit int) error {
	if t.pendingEnd {
		t.pendingEnd = false
		return t.closeElement()
	}
	if !t.started {
		if err := t.prolog(); err != nil {
			return err
		}
	}
	for {
		t.start = t.rb.offset()
		c, ok := t.rb.peekByte()
		if !ok {
			if err := t.rb.readErr(); err != nil {
				return &readError{err}
			}
			if t.level > 0 {
				return t.eofError(t.openElement())
			}
			if !t.rootDone {
				return t.errorf("the body holds no XML element")
			}
			t.cur = tokEOF
			return nil
		}
		if c != '<' {
			if t.level == 0 {
				if t.rb.skipSpace() {
					continue
				}
				return t.errorf("text outside the root element")
			}
			t.cur = tokText
			return t.readText(limit)
		}
		if !t.rb.ensure(2) {
			return t.eofError("after <")
		}
		switch t.rb.window()[1] {
		case '/':
			t.rb.advance(2)
			return t.endTag()
		case '?':
			t.rb.advance(2)
			if err := t.skipPI(); err != nil {
				return err
			}
		case '!':
			if t.level > 0 && t.rb.hasPrefix("<![CDATA[") {
				t.cur = tokText
				return t.readText(limit)
			}
			if err := t.markup(); err != nil {
				return err
			}
		default:
			t.rb.advance(1)
			return t.startTag()
		}
	}
}

// skipBlank consumes whitespace, comments and processing instructions as they stream, up to
// the next tag, CDATA section or text: the space between elements costs no memory, however
// much of it there is. Whatever it stops at is left for next.
func (t *tokenizer) skipBlank() error {
	if t.pendingEnd {
		return nil
	}
	for {
		t.rb.skipSpace()
		switch {
		case t.rb.hasPrefix("<?"):
			t.rb.advance(2)
			if err := t.skipPI(); err != nil {
				return err
			}
		case t.rb.hasPrefix("<!--"):
			t.rb.advance(4)
			if err := t.skipComment(); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// prolog skips a UTF-8 BOM and reads the XML declaration, which may only name UTF-8.
func (t *tokenizer) prolog() error {
	t.started = true
	if t.rb.hasPrefix("\xFE\xFF") || t.rb.hasPrefix("\xFF\xFE") {
		return t.errorf("the body is UTF-16; only UTF-8 is accepted")
	}
	if t.rb.hasPrefix("\xEF\xBB\xBF") {
		t.rb.advance(3)
	}
	if !t.rb.ensure(6) || !t.rb.hasPrefix("<?xml") || !isSpace(t.rb.window()[5]) {
		return nil
	}
	t.rb.advance(6)
	var decl []byte
	for {
		c, ok := t.rb.readByte()
		if !ok {
			return t.eofError("in the XML declaration")
		}
		if c == '>' && len(decl) > 0 && decl[len(decl)-1] == '?' {
			decl = decl[:len(decl)-1]
			break
		}
		decl = append(decl, c)
		if len(decl) > maxDeclLength {
			return t.errorf("XML declaration longer than %d bytes", maxDeclLength)
		}
	}
	if enc, ok := pseudoAttr(decl, "encoding"); ok && !bytes.EqualFold(enc, []byte("utf-8")) && !bytes.EqualFold(enc, []byte("utf8")) {
		return t.errorf("encoding %q is not supported; only UTF-8 is accepted", enc)
	}
	return nil
}

// pseudoAttr finds name="value" (or single quotes) in an XML declaration.
func pseudoAttr(decl []byte, name string) ([]byte, bool) {
	i := bytes.Index(decl, []byte(name))
	if i < 0 {
		return nil, false
	}
	rest := bytes.TrimLeft(decl[i+len(name):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return nil, false
	}
	end := bytes.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return nil, false
	}
	return rest[1 : 1+end], true
}

// skipPI skips a processing instruction after "<?". A late XML declaration is refused.
func (t *tokenizer) skipPI() error {
	var err error
	if t.endName, err = t.readName(t.endName[:0]); err != nil {
		return err
	}
	if bytes.EqualFold(t.endName, []byte("xml")) {
		return t.errorf("an XML declaration may only start the body")
	}
	if !t.rb.skipPast("?>") {
		return t.eofError("in a processing instruction")
	}
	return nil
}

// markup handles "<!" outside text: a comment is skipped, anything else (DOCTYPE above all)
// is refused.
func (t *tokenizer) markup() error {
	if t.rb.hasPrefix("<!--") {
		t.rb.advance(4)
		return t.skipComment()
	}
	if t.rb.ensure(9) && bytes.EqualFold(t.rb.window()[:9], []byte("<!DOCTYPE")) {
		return t.errorf("DOCTYPE is not allowed: no DTDs and no entity declarations")
	}
	if t.rb.hasPrefix("<![CDATA[") {
		return t.errorf("CDATA outside an element")
	}
	return t.errorf("markup declarations (<!...>) are not allowed")
}

// skipComment skips to the end of a comment after "<!--".
func (t *tokenizer) skipComment() error {
	if !t.rb.skipPast("-->") {
		return t.eofError("in a comment")
	}
	return nil
}

// startTag reads a start tag after "<".
func (t *tokenizer) startTag() error {
	nameStart := len(t.stack)
	var err error
	if t.stack, err = t.readName(t.stack); err != nil {
		t.stack = t.stack[:nameStart]
		return err
	}
	if t.level == 0 && t.rootDone {
		return t.errorf("a second root element <%s>", t.stack[nameStart:])
	}
	if t.level >= t.maxDepth {
		return t.errorf("elements nest deeper than %d levels", t.maxDepth)
	}
	t.level++
	t.stackEnds = append(t.stackEnds, len(t.stack))
	t.attrs = t.attrs[:0]
	t.attrBuf = t.attrBuf[:0]
	for {
		spaced := t.rb.skipSpace()
		c, ok := t.rb.peekByte()
		if !ok {
			return t.eofError("in a start tag")
		}
		if c == '>' {
			t.rb.advance(1)
			break
		}
		if c == '/' {
			t.rb.advance(1)
			if c, ok = t.rb.readByte(); !ok || c != '>' {
				return t.errorf("expected > after / in a start tag")
			}
			t.pendingEnd = true
			break
		}
		if !spaced {
			return t.errorf("expected a space before an attribute in <%s>", t.stack[nameStart:])
		}
		if len(t.attrs) == MaxAttributes {
			return t.errorf("<%s> has more than %d attributes, the most an element may carry", t.stack[nameStart:], MaxAttributes)
		}
		if err := t.readAttribute(); err != nil {
			return err
		}
	}
	name := t.stack[nameStart:]
	if err := t.declareNamespaces(); err != nil {
		return err
	}
	prefix, local := splitName(name)
	space, err := t.resolve(prefix, true)
	if err != nil {
		return err
	}
	t.cur, t.curLocal, t.curSpace = tokStart, local, space
	return nil
}

func splitName(name []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return nil, name
}

// endTag reads an end tag after "</" and checks that it closes the open element.
func (t *tokenizer) endTag() error {
	var err error
	if t.endName, err = t.readName(t.endName[:0]); err != nil {
		return err
	}
	t.rb.skipSpace()
	if c, ok := t.rb.readByte(); !ok || c != '>' {
		if !ok {
			return t.eofError("in an end tag")
		}
		return t.errorf("expected > to end </%s", t.endName)
	}
	if t.level == 0 {
		return t.errorf("</%s> closes no element", t.endName)
	}
	if open := t.rawName(); !bytes.Equal(open, t.endName) {
		return t.errorf("</%s> does not close <%s>", t.endName, open)
	}
	return t.closeElement()
}

// push opens an element of the qualified name qname.
func (t *tokenizer) push(qname []byte) {
	t.stack = append(t.stack, qname...)
	t.stackEnds = append(t.stackEnds, len(t.stack))
	t.level++
}

// pop closes the open element and the namespaces it declared.
func (t *tokenizer) pop() {
	for len(t.ns) > 0 && t.ns[len(t.ns)-1].depth == t.level {
		t.ns = t.ns[:len(t.ns)-1]
		t.nsGen++
	}
	t.popName()
	if t.level == 0 {
		t.rootDone = true
	}
}

// popName closes the open element, which must not be the root nor have declared a namespace.
func (t *tokenizer) popName() {
	start := 0
	if len(t.stackEnds) > 1 {
		start = t.stackEnds[len(t.stackEnds)-2]
	}
	t.stack = t.stack[:start]
	t.stackEnds = t.stackEnds[:len(t.stackEnds)-1]
	t.level--
}

// closeElement pops the open element and makes its end the current token.
func (t *tokenizer) closeElement() error {
	t.endName = append(t.endName[:0], t.rawName()...)
	_, t.curLocal = splitName(t.endName)
	t.pop()
	t.cur = tokEnd
	return nil
}
