package wire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// The scanner is a pull tokenizer for the XML that SOAP clients send, written by hand so that
// RowData streams at the speed of the input: it keeps one read buffer and a few reusable token
// buffers, allocates nothing per element, and decodes text in place.
//
// It is strict where safety needs it: no DOCTYPE (so no entity expansion of any kind), only
// the five predefined entities and character references to valid XML characters, UTF-8 only,
// a depth limit and a size limit on every text and attribute value. It is tolerant where XML
// allows freedom: namespace prefixes, comments, processing instructions, CDATA, a BOM.

type tokenKind uint8

const (
	tokStart tokenKind = iota + 1
	tokEnd
	tokText
	tokEOF
)

const (
	readBufferSize = 64 << 10
	maxNameLength  = 1024
	maxDeclLength  = 1024
)

// attr is one attribute of the current start element, as offsets into scanner.attrBuf.
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

type scanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64 // stream offset of buf[0]
	rerr     error

	maxDepth int
	maxText  int

	depth     int
	stack     []byte // qualified names of the open elements, concatenated
	stackEnds []int
	ns        []nsBinding
	rootDone  bool
	started   bool
	// nsGen changes whenever a namespace binding comes or goes, so that a name resolved once
	// can be trusted while it stays the same.
	nsGen uint64

	// The current token.
	kind       tokenKind
	local      []byte // local name of a start or end element
	space      string // namespace of a start element
	attrs      []attr
	attrBuf    []byte
	text       []byte
	pendingEnd bool // a self-closing element: the next token is its end
	endName    []byte
	offset     int64 // where the current token started
}

func newScanner(r io.Reader, maxDepth, maxText int) *scanner {
	return &scanner{r: r, buf: make([]byte, readBufferSize), maxDepth: maxDepth, maxText: maxText}
}

// syntaxError is malformed or refused XML; the decoder turns it into a *Error.
type syntaxError struct {
	offset int64
	msg    string
}

func (e *syntaxError) Error() string { return e.msg }

func (s *scanner) errorf(format string, args ...any) error {
	return &syntaxError{offset: s.base + int64(s.pos), msg: fmt.Sprintf(format, args...)}
}

// readError is the body's reader failing (a size limit, a broken connection): not XML's fault,
// so it passes through unchanged.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// fill moves the unread bytes to the front of the buffer and reads more. It reports whether
// any byte was added.
func (s *scanner) fill() bool {
	if s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		n := copy(s.buf, s.buf[s.pos:s.end])
		s.base += int64(s.pos)
		s.pos, s.end = 0, n
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.rerr = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// ensure makes n bytes available at pos if the input has them.
func (s *scanner) ensure(n int) bool {
	for s.end-s.pos < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// eofError is the error for input that ended: a read error passes through, a clean end inside
// the document is truncated XML.
func (s *scanner) eofError(where string) error {
	if s.rerr != nil && s.rerr != io.EOF {
		return &readError{s.rerr}
	}
	return s.errorf("unexpected end of XML %s", where)
}

func (s *scanner) openElement() string {
	if len(s.stackEnds) == 0 {
		return "before the root element"
	}
	start := 0
	if len(s.stackEnds) > 1 {
		start = s.stackEnds[len(s.stackEnds)-2]
	}
	return "inside <" + string(s.stack[start:s.stackEnds[len(s.stackEnds)-1]]) + ">"
}

func (s *scanner) readByte() (byte, bool) {
	if s.pos < s.end {
		c := s.buf[s.pos]
		s.pos++
		return c, true
	}
	if !s.fill() {
		return 0, false
	}
	c := s.buf[s.pos]
	s.pos++
	return c, true
}

func (s *scanner) peekByte() (byte, bool) {
	if s.pos < s.end || s.fill() {
		return s.buf[s.pos], true
	}
	return 0, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace skips whitespace and reports whether there was any.
func (s *scanner) skipSpace() bool {
	skipped := false
	for {
		for s.pos < s.end {
			if !isSpace(s.buf[s.pos]) {
				return skipped
			}
			s.pos++
			skipped = true
		}
		if !s.fill() {
			return skipped
		}
	}
}

// nameStop marks the bytes that end an XML name.
var nameStop = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n/>=<?!\"'&;") {
		t[c] = true
	}
	return t
}()

// readName appends a name to dst.
func (s *scanner) readName(dst []byte) ([]byte, error) {
	start := len(dst)
	for {
		i := s.pos
		for i < s.end && !nameStop[s.buf[i]] {
			i++
		}
		dst = append(dst, s.buf[s.pos:i]...)
		s.pos = i
		if len(dst)-start > maxNameLength {
			return dst, s.errorf("name longer than %d bytes", maxNameLength)
		}
		if i < s.end || !s.fill() {
			break
		}
	}
	name := dst[start:]
	if len(name) == 0 {
		if c, ok := s.peekByte(); ok {
			return dst, s.errorf("expected a name, found %q", c)
		}
		return dst, s.eofError("in a name")
	}
	if c := name[0]; c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':' || name[len(name)-1] == ':' {
		return dst, s.errorf("%q is not a valid XML name", name)
	}
	if !utf8.Valid(name) {
		return dst, s.errorf("name %q is not valid UTF-8", name)
	}
	return dst, nil
}

// next reads the next token. Comments, processing instructions and the XML declaration are
// skipped; text between elements comes as tokText (callers decide whether blank text matters).
func (s *scanner) next() error {
	if s.pendingEnd {
		s.pendingEnd = false
		return s.closeElement()
	}
	if !s.started {
		if err := s.prolog(); err != nil {
			return err
		}
	}
	for {
		s.offset = s.base + int64(s.pos)
		c, ok := s.peekByte()
		if !ok {
			if s.rerr != nil && s.rerr != io.EOF {
				return &readError{s.rerr}
			}
			if s.depth > 0 {
				return s.eofError(s.openElement())
			}
			if !s.rootDone {
				return s.errorf("the body holds no XML element")
			}
			s.kind = tokEOF
			return nil
		}
		if c != '<' {
			if s.depth == 0 {
				if s.skipSpace() {
					continue
				}
				return s.errorf("text outside the root element")
			}
			s.kind = tokText
			return s.readText()
		}
		if !s.ensure(2) {
			return s.eofError("after <")
		}
		switch s.buf[s.pos+1] {
		case '/':
			s.pos += 2
			return s.endTag()
		case '?':
			s.pos += 2
			if err := s.skipPI(); err != nil {
				return err
			}
		case '!':
			if s.depth > 0 && s.ensure(9) && bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<![CDATA[")) {
				s.kind = tokText
				return s.readText()
			}
			if err := s.markup(); err != nil {
				return err
			}
		default:
			s.pos++
			return s.startTag()
		}
	}
}

// prolog skips a UTF-8 BOM and reads the XML declaration, which may only name UTF-8.
func (s *scanner) prolog() error {
	s.started = true
	if s.ensure(2) && (s.buf[s.pos] == 0xFE && s.buf[s.pos+1] == 0xFF || s.buf[s.pos] == 0xFF && s.buf[s.pos+1] == 0xFE) {
		return s.errorf("the body is UTF-16; only UTF-8 is accepted")
	}
	if s.ensure(3) && bytes.HasPrefix(s.buf[s.pos:s.end], []byte("\xEF\xBB\xBF")) {
		s.pos += 3
	}
	if !s.ensure(6) || !bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<?xml")) || !isSpace(s.buf[s.pos+5]) {
		return nil
	}
	s.pos += 6
	var decl []byte
	for {
		c, ok := s.readByte()
		if !ok {
			return s.eofError("in the XML declaration")
		}
		if c == '>' && len(decl) > 0 && decl[len(decl)-1] == '?' {
			decl = decl[:len(decl)-1]
			break
		}
		decl = append(decl, c)
		if len(decl) > maxDeclLength {
			return s.errorf("XML declaration longer than %d bytes", maxDeclLength)
		}
	}
	if enc, ok := pseudoAttr(decl, "encoding"); ok && !bytes.EqualFold(enc, []byte("utf-8")) && !bytes.EqualFold(enc, []byte("utf8")) {
		return s.errorf("encoding %q is not supported; only UTF-8 is accepted", enc)
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
func (s *scanner) skipPI() error {
	var err error
	if s.endName, err = s.readName(s.endName[:0]); err != nil {
		return err
	}
	if bytes.EqualFold(s.endName, []byte("xml")) {
		return s.errorf("an XML declaration may only start the body")
	}
	for {
		i := bytes.Index(s.buf[s.pos:s.end], []byte("?>"))
		if i >= 0 {
			s.pos += i + 2
			return nil
		}
		if s.end-s.pos > 1 {
			s.pos = s.end - 1
		}
		if !s.fill() {
			return s.eofError("in a processing instruction")
		}
	}
}

// markup handles "<!" outside text: a comment is skipped, anything else (DOCTYPE above all)
// is refused.
func (s *scanner) markup() error {
	if s.ensure(4) && bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<!--")) {
		s.pos += 4
		return s.skipComment()
	}
	if s.ensure(9) && bytes.EqualFold(s.buf[s.pos:s.pos+9], []byte("<!DOCTYPE")) {
		return s.errorf("DOCTYPE is not allowed: no DTDs and no entity declarations")
	}
	if s.ensure(9) && bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<![CDATA[")) {
		return s.errorf("CDATA outside an element")
	}
	return s.errorf("markup declarations (<!...>) are not allowed")
}

// skipComment skips to the end of a comment after "<!--".
func (s *scanner) skipComment() error {
	for {
		i := bytes.Index(s.buf[s.pos:s.end], []byte("-->"))
		if i >= 0 {
			s.pos += i + 3
			return nil
		}
		if s.end-s.pos > 2 {
			s.pos = s.end - 2
		}
		if !s.fill() {
			return s.eofError("in a comment")
		}
	}
}

// startTag reads a start tag after "<".
func (s *scanner) startTag() error {
	nameStart := len(s.stack)
	var err error
	if s.stack, err = s.readName(s.stack); err != nil {
		s.stack = s.stack[:nameStart]
		return err
	}
	if s.depth == 0 && s.rootDone {
		return s.errorf("a second root element <%s>", s.stack[nameStart:])
	}
	if s.depth >= s.maxDepth {
		return s.errorf("elements nest deeper than %d levels", s.maxDepth)
	}
	s.depth++
	s.stackEnds = append(s.stackEnds, len(s.stack))
	s.attrs = s.attrs[:0]
	s.attrBuf = s.attrBuf[:0]
	for {
		spaced := s.skipSpace()
		c, ok := s.readByte()
		if !ok {
			return s.eofError("in a start tag")
		}
		if c == '>' {
			break
		}
		if c == '/' {
			if c, ok = s.readByte(); !ok || c != '>' {
				return s.errorf("expected > after / in a start tag")
			}
			s.pendingEnd = true
			break
		}
		if !spaced {
			return s.errorf("expected a space before an attribute in <%s>", s.stack[nameStart:])
		}
		s.pos--
		if err := s.attribute(); err != nil {
			return err
		}
	}
	name := s.stack[nameStart:]
	if err := s.declareNamespaces(); err != nil {
		return err
	}
	prefix, local := splitName(name)
	space, err := s.resolve(prefix, true)
	if err != nil {
		return err
	}
	s.kind, s.local, s.space = tokStart, local, space
	return nil
}

func splitName(name []byte) (prefix, local []byte) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return nil, name
}

// attribute reads name="value" into attrBuf.
func (s *scanner) attribute() error {
	a := attr{start: len(s.attrBuf)}
	var err error
	if s.attrBuf, err = s.readName(s.attrBuf); err != nil {
		return err
	}
	a.nameEnd = len(s.attrBuf)
	if i := bytes.IndexByte(s.attrBuf[a.start:a.nameEnd], ':'); i >= 0 {
		a.hasPrefix, a.prefixEnd = true, a.start+i
	}
	s.skipSpace()
	if c, ok := s.readByte(); !ok || c != '=' {
		return s.errorf("attribute %s has no value", s.attrBuf[a.start:a.nameEnd])
	}
	s.skipSpace()
	quote, ok := s.readByte()
	if !ok || quote != '"' && quote != '\'' {
		return s.errorf("attribute %s: value is not quoted", s.attrBuf[a.start:a.nameEnd])
	}
	if s.attrBuf, err = s.readValue(s.attrBuf, quote); err != nil {
		return err
	}
	a.valueEnd = len(s.attrBuf)
	name := s.attrBuf[a.start:a.nameEnd]
	for _, b := range s.attrs {
		if bytes.Equal(s.attrBuf[b.start:b.nameEnd], name) {
			return s.errorf("attribute %s appears twice", name)
		}
	}
	s.attrs = append(s.attrs, a)
	return nil
}

func (s *scanner) attrName(a attr) []byte  { return s.attrBuf[a.start:a.nameEnd] }
func (s *scanner) attrValue(a attr) []byte { return s.attrBuf[a.nameEnd:a.valueEnd] }

// attrLocal returns the local part of an attribute name and its prefix.
func (s *scanner) attrLocal(a attr) (prefix, local []byte) {
	if a.hasPrefix {
		return s.attrBuf[a.start:a.prefixEnd], s.attrBuf[a.prefixEnd+1 : a.nameEnd]
	}
	return nil, s.attrBuf[a.start:a.nameEnd]
}

// findAttr returns the value of the unprefixed attribute name, or of name in namespace space.
func (s *scanner) findAttr(name, space string) ([]byte, bool) {
	for _, a := range s.attrs {
		prefix, local := s.attrLocal(a)
		if string(local) != name {
			continue
		}
		if !a.hasPrefix {
			return s.attrValue(a), true
		}
		if space != "" {
			if uri, err := s.resolve(prefix, false); err == nil && uri == space {
				return s.attrValue(a), true
			}
		}
	}
	return nil, false
}

// declareNamespaces pushes the xmlns attributes of the current start tag.
func (s *scanner) declareNamespaces() error {
	for _, a := range s.attrs {
		prefix, local := s.attrLocal(a)
		var p []byte
		switch {
		case !a.hasPrefix && string(local) == "xmlns":
		case a.hasPrefix && string(prefix) == "xmlns":
			p = local
			if len(s.attrValue(a)) == 0 {
				return s.errorf("namespace prefix %s is bound to an empty URI", p)
			}
		default:
			continue
		}
		uri := s.attrValue(a)
		// Reuse the strings of an equal binding so that a sender that repeats its declarations
		// on every element costs no allocation.
		b := nsBinding{depth: s.depth}
		for i := len(s.ns) - 1; i >= 0; i-- {
			if s.ns[i].prefix == string(p) {
				b.prefix = s.ns[i].prefix
				if s.ns[i].uri == string(uri) {
					b.uri = s.ns[i].uri
				}
				break
			}
		}
		if b.prefix == "" && len(p) > 0 {
			b.prefix = string(p)
		}
		if b.uri == "" && len(uri) > 0 {
			b.uri = internURI(uri)
		}
		s.ns = append(s.ns, b)
		s.nsGen++
	}
	return nil
}

// internURI returns the namespaces the contract uses without allocating.
func internURI(uri []byte) string {
	switch string(uri) {
	case Namespace:
		return Namespace
	case soapNS:
		return soapNS
	case xsiNS:
		return xsiNS
	}
	return string(uri)
}

// resolve returns the namespace of a prefix; an empty prefix is the default namespace of an
// element and no namespace for an attribute.
func (s *scanner) resolve(prefix []byte, element bool) (string, error) {
	if len(prefix) == 0 && !element {
		return "", nil
	}
	if string(prefix) == "xml" {
		return xmlNS, nil
	}
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == string(prefix) {
			return s.ns[i].uri, nil
		}
	}
	if len(prefix) == 0 {
		return "", nil
	}
	return "", s.errorf("namespace prefix %s is not declared", prefix)
}

// endTag reads an end tag after "</" and checks that it closes the open element.
func (s *scanner) endTag() error {
	var err error
	if s.endName, err = s.readName(s.endName[:0]); err != nil {
		return err
	}
	s.skipSpace()
	if c, ok := s.readByte(); !ok || c != '>' {
		if !ok {
			return s.eofError("in an end tag")
		}
		return s.errorf("expected > to end </%s", s.endName)
	}
	if s.depth == 0 {
		return s.errorf("</%s> closes no element", s.endName)
	}
	start := 0
	if len(s.stackEnds) > 1 {
		start = s.stackEnds[len(s.stackEnds)-2]
	}
	if open := s.stack[start:]; !bytes.Equal(open, s.endName) {
		return s.errorf("</%s> does not close <%s>", s.endName, open)
	}
	return s.closeElement()
}

// closeElement pops the open element and makes its end the current token.
func (s *scanner) closeElement() error {
	start := 0
	if len(s.stackEnds) > 1 {
		start = s.stackEnds[len(s.stackEnds)-2]
	}
	s.endName = append(s.endName[:0], s.stack[start:]...)
	_, s.local = splitName(s.endName)
	s.stack = s.stack[:start]
	s.stackEnds = s.stackEnds[:len(s.stackEnds)-1]
	for len(s.ns) > 0 && s.ns[len(s.ns)-1].depth == s.depth {
		s.ns = s.ns[:len(s.ns)-1]
		s.nsGen++
	}
	s.depth--
	if s.depth == 0 {
		s.rootDone = true
	}
	s.kind = tokEnd
	return nil
}

// Byte classes of text content.
const (
	plain = iota
	stop  // '<', '&', '\r', or a control character: handled one at a time
	high  // the start or continuation of a multi-byte UTF-8 sequence: checked at the end
)

var textClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = stop
	}
	t['\t'], t['\n'] = plain, plain
	t['<'], t['&'] = stop, stop
	for c := 0x80; c < 0x100; c++ {
		t[c] = high
	}
	return t
}()

// readText reads character data (with CDATA sections and comments inside it) up to the next
// tag, decoded into s.text.
func (s *scanner) readText() error {
	s.text = s.text[:0]
	nonASCII := false
	for {
		i := s.pos
		for i < s.end {
			switch textClass[s.buf[i]] {
			case plain:
				i++
				continue
			case high:
				nonASCII = true
				i++
				continue
			}
			break
		}
		s.text = append(s.text, s.buf[s.pos:i]...)
		s.pos = i
		if len(s.text) > s.maxText {
			return s.errorf("a text value is longer than the limit of %d bytes", s.maxText)
		}
		if i == s.end {
			if !s.fill() {
				return s.eofError(s.openElement())
			}
			continue
		}
		switch c := s.buf[i]; c {
		case '<':
			if !s.ensure(4) {
				return s.eofError(s.openElement())
			}
			if s.buf[s.pos+1] != '!' {
				return s.checkText(nonASCII)
			}
			if bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<!--")) {
				s.pos += 4
				if err := s.skipComment(); err != nil {
					return err
				}
				continue
			}
			if s.ensure(9) && bytes.HasPrefix(s.buf[s.pos:s.end], []byte("<![CDATA[")) {
				s.pos += 9
				var err error
				if nonASCII, err = s.cdata(nonASCII); err != nil {
					return err
				}
				continue
			}
			return s.markup()
		case '&':
			s.pos++
			var err error
			if s.text, err = s.entity(s.text); err != nil {
				return err
			}
		case '\r':
			s.pos++
			s.text = append(s.text, '\n')
			if c, ok := s.peekByte(); ok && c == '\n' {
				s.pos++
			}
		default:
			return s.errorf("character U+%04X is not allowed in XML", c)
		}
	}
}

// cdata appends a CDATA section's content after "<![CDATA[".
func (s *scanner) cdata(nonASCII bool) (bool, error) {
	for {
		i := s.pos
		for i < s.end {
			c := s.buf[i]
			if c == ']' || c == '\r' || textClass[c] == stop && c != '<' && c != '&' {
				break
			}
			if c >= 0x80 {
				nonASCII = true
			}
			i++
		}
		s.text = append(s.text, s.buf[s.pos:i]...)
		s.pos = i
		if len(s.text) > s.maxText {
			return nonASCII, s.errorf("a text value is longer than the limit of %d bytes", s.maxText)
		}
		if i == s.end {
			if !s.fill() {
				return nonASCII, s.eofError("in a CDATA section")
			}
			continue
		}
		switch c := s.buf[i]; c {
		case ']':
			if !s.ensure(3) {
				return nonASCII, s.eofError("in a CDATA section")
			}
			if s.buf[s.pos+1] == ']' && s.buf[s.pos+2] == '>' {
				s.pos += 3
				return nonASCII, nil
			}
			s.text = append(s.text, ']')
			s.pos++
		case '\r':
			s.pos++
			s.text = append(s.text, '\n')
			if c, ok := s.peekByte(); ok && c == '\n' {
				s.pos++
			}
		default:
			return nonASCII, s.errorf("character U+%04X is not allowed in XML", c)
		}
	}
}

// checkText ends a text token: multi-byte text must be UTF-8 of XML characters.
func (s *scanner) checkText(nonASCII bool) error {
	if nonASCII {
		if err := checkUTF8(s.text); err != nil {
			return &syntaxError{offset: s.offset, msg: err.Error()}
		}
	}
	return nil
}

// checkUTF8 reports text that is not UTF-8 or holds U+FFFE or U+FFFF. Lone surrogates are not
// UTF-8, so they fail too.
func checkUTF8(b []byte) error {
	if !utf8.Valid(b) {
		return errors.New("text is not valid UTF-8")
	}
	if bytes.Contains(b, []byte("\uFFFE")) || bytes.Contains(b, []byte("\uFFFF")) {
		return errors.New("character U+FFFE or U+FFFF is not allowed in XML")
	}
	return nil
}

// readValue appends an attribute value up to its closing quote, normalized as XML says:
// entities decoded, literal tab, newline and carriage return each a space.
func (s *scanner) readValue(dst []byte, quote byte) ([]byte, error) {
	start := len(dst)
	nonASCII := false
	for {
		c, ok := s.readByte()
		if !ok {
			return dst, s.eofError("in an attribute value")
		}
		switch {
		case c == quote:
			if nonASCII {
				if err := checkUTF8(dst[start:]); err != nil {
					return dst, s.errorf("attribute value: %v", err)
				}
			}
			return dst, nil
		case c == '<':
			return dst, s.errorf("< is not allowed in an attribute value")
		case c == '&':
			var err error
			if dst, err = s.entity(dst); err != nil {
				return dst, err
			}
		case c == '\r':
			dst = append(dst, ' ')
			if c, ok := s.peekByte(); ok && c == '\n' {
				s.pos++
			}
		case c == '\t' || c == '\n':
			dst = append(dst, ' ')
		case c < 0x20:
			return dst, s.errorf("character U+%04X is not allowed in XML", c)
		default:
			if c >= 0x80 {
				nonASCII = true
			}
			dst = append(dst, c)
		}
		if len(dst)-start > s.maxText {
			return dst, s.errorf("an attribute value is longer than the limit of %d bytes", s.maxText)
		}
	}
}

// entity appends the character an entity or character reference stands for, after "&".
func (s *scanner) entity(dst []byte) ([]byte, error) {
	var ref [12]byte
	n := 0
	for {
		c, ok := s.readByte()
		if !ok {
			return dst, s.eofError("in an entity reference")
		}
		if c == ';' {
			break
		}
		if n == len(ref) {
			return dst, s.errorf("entity reference &%s… is too long or has no ;", ref[:n])
		}
		ref[n] = c
		n++
	}
	name := ref[:n]
	switch string(name) {
	case "lt":
		return append(dst, '<'), nil
	case "gt":
		return append(dst, '>'), nil
	case "amp":
		return append(dst, '&'), nil
	case "apos":
		return append(dst, '\''), nil
	case "quot":
		return append(dst, '"'), nil
	}
	if len(name) < 2 || name[0] != '#' {
		return dst, s.errorf("entity &%s; is not allowed: only &lt; &gt; &amp; &apos; &quot; and character references", name)
	}
	digits, base := name[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	v, err := strconv.ParseUint(string(digits), base, 32)
	if err != nil || len(digits) == 0 || digits[0] == '+' || digits[0] == '-' {
		return dst, s.errorf("character reference &%s; is not a number", name)
	}
	r := rune(v)
	if !isXMLChar(r) {
		return dst, s.errorf("character reference &%s; is U+%04X, which XML does not allow", name, v)
	}
	return utf8.AppendRune(dst, r), nil
}

// isXMLChar reports whether r is a character XML 1.0 may carry.
func isXMLChar(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case r < 0x20:
		return false
	case r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// rawName is the qualified name of the open element as written.
func (s *scanner) rawName() []byte {
	start := 0
	if len(s.stackEnds) > 1 {
		start = s.stackEnds[len(s.stackEnds)-2]
	}
	return s.stack[start:]
}

var nilTrue = []byte(` nil="true"/>`)

// fastValue reads a whole element named qname (as written) that is simple enough to take
// straight from the read buffer: <qname>plain text</qname>, <qname/> or <qname nil="true"/>,
// after optional whitespace. Anything else (attributes, entities, carriage returns, CDATA,
// comments, an element cut by the end of the buffer) leaves the input untouched and ok false,
// for the general path. The text is valid until the next read.
func (s *scanner) fastValue(qname []byte) (text []byte, isNil, ok bool, err error) {
	if s.pendingEnd || s.depth >= s.maxDepth {
		return nil, false, false, nil
	}
	b := s.buf[s.pos:s.end]
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	n := len(qname)
	if len(b)-i < n+3 || b[i] != '<' || !equalShort(b[i+1:i+1+n], qname) {
		return nil, false, false, nil
	}
	j := i + 1 + n
	switch b[j] {
	case '>':
		j++
	case '/':
		if b[j+1] != '>' {
			return nil, false, false, nil
		}
		s.offset = s.base + int64(s.pos+i)
		s.pos += j + 2
		return b[j:j], false, true, nil
	case ' ':
		if !bytes.HasPrefix(b[j:], nilTrue) {
			return nil, false, false, nil
		}
		s.offset = s.base + int64(s.pos+i)
		s.pos += j + len(nilTrue)
		return nil, true, true, nil
	default:
		return nil, false, false, nil
	}
	start := j
	nonASCII := false
	text = nil
	for j < len(b) {
		c := b[j]
		if textClass[c] != plain {
			if c >= 0x80 {
				nonASCII = true
			} else if c == '&' || c == '\r' {
				// Decode the rest into s.text; the input stays untouched until success.
				if text == nil {
					text = append(s.text[:0], b[start:j]...)
				}
				if c == '\r' {
					text = append(text, '\n')
					if j+1 < len(b) && b[j+1] == '\n' {
						j++
					}
					j++
					continue
				}
				var size int
				if text, size = appendEntity(text, b[j:]); size == 0 {
					s.text = text
					return nil, false, false, nil
				}
				j += size
				start = j
				continue
			} else {
				break
			}
		}
		if text != nil {
			text = append(text, c)
		}
		j++
	}
	if len(b)-j < n+3 || b[j] != '<' || b[j+1] != '/' || !equalShort(b[j+2:j+2+n], qname) || b[j+2+n] != '>' || j-start > s.maxText || len(text) > s.maxText {
		if text != nil {
			s.text = text
		}
		return nil, false, false, nil
	}
	s.offset = s.base + int64(s.pos+i)
	if text != nil {
		s.text = text
	} else {
		text = b[start:j]
	}
	if nonASCII {
		if err := checkUTF8(text); err != nil {
			return nil, false, false, &syntaxError{offset: s.offset, msg: err.Error()}
		}
	}
	s.pos += j + 3 + n
	return text, false, true, nil
}

// equalShort compares two short names without a call.
func equalShort(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fastRowStart opens an element written exactly <qname op="X"> or <qname op="X" lsn="digits">,
// straight from the read buffer, and returns X; ok is false, with the input untouched, for
// anything else.
func (s *scanner) fastRowStart(qname []byte) (op byte, ok bool) {
	if s.pendingEnd || s.depth >= s.maxDepth {
		return 0, false
	}
	b := s.buf[s.pos:s.end]
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	n := len(qname)
	const opAttr, lsnAttr = ` op="`, ` lsn="`
	j := i + 1 + n + len(opAttr)
	if len(b) < j+3 || b[i] != '<' || string(b[i+1:i+1+n]) != string(qname) || string(b[i+1+n:j]) != opAttr || b[j+1] != '"' {
		return 0, false
	}
	op = b[j]
	if op != 'I' && op != 'U' && op != 'D' {
		return 0, false
	}
	j += 2
	if len(b) >= j+len(lsnAttr) && string(b[j:j+len(lsnAttr)]) == lsnAttr {
		j += len(lsnAttr)
		digits := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		// 18 digits always fit an int64; longer numbers take the general path's check.
		if j == digits || j-digits > 18 || j >= len(b) || b[j] != '"' {
			return 0, false
		}
		j++
	}
	if j >= len(b) || b[j] != '>' {
		return 0, false
	}
	s.offset = s.base + int64(s.pos+i)
	s.stack = append(s.stack, qname...)
	s.stackEnds = append(s.stackEnds, len(s.stack))
	s.depth++
	s.pos += j + 1
	return op, true
}

// fastClose closes the open element if the input is exactly </qname> (after optional
// whitespace) and the element declared no namespace; false leaves the input untouched.
func (s *scanner) fastClose(qname []byte) bool {
	if s.pendingEnd || len(s.ns) > 0 && s.ns[len(s.ns)-1].depth == s.depth {
		return false
	}
	b := s.buf[s.pos:s.end]
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	n := len(qname)
	if len(b)-i < n+3 || b[i] != '<' || b[i+1] != '/' || string(b[i+2:i+2+n]) != string(qname) || b[i+2+n] != '>' {
		return false
	}
	if string(s.rawName()) != string(qname) {
		return false
	}
	s.offset = s.base + int64(s.pos+i)
	s.stack = s.stack[:len(s.stack)-n]
	s.stackEnds = s.stackEnds[:len(s.stackEnds)-1]
	s.depth--
	s.pos += i + n + 3
	return true
}

// appendEntity decodes one of the five predefined entities, or a character reference to a
// valid XML character, at the start of b (which starts with '&'). size is 0 for anything
// else, incomplete input included: the general path then reads it and reports it.
func appendEntity(dst, b []byte) (out []byte, size int) {
	end := bytes.IndexByte(b[:min(len(b), 12)], ';')
	if end < 2 {
		return dst, 0
	}
	switch name := b[1:end]; string(name) {
	case "amp":
		return append(dst, '&'), end + 1
	case "lt":
		return append(dst, '<'), end + 1
	case "gt":
		return append(dst, '>'), end + 1
	case "quot":
		return append(dst, '"'), end + 1
	case "apos":
		return append(dst, '\''), end + 1
	default:
		if name[0] != '#' || len(name) < 2 {
			return dst, 0
		}
		digits, base := name[1:], uint64(10)
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		if len(digits) == 0 || len(digits) > 8 {
			return dst, 0
		}
		var v uint64
		for _, c := range digits {
			var d uint64
			switch {
			case c >= '0' && c <= '9':
				d = uint64(c - '0')
			case base == 16 && c >= 'a' && c <= 'f':
				d = uint64(c-'a') + 10
			case base == 16 && c >= 'A' && c <= 'F':
				d = uint64(c-'A') + 10
			default:
				return dst, 0
			}
			v = v*base + d
		}
		if v > 0x10FFFF || !isXMLChar(rune(v)) {
			return dst, 0
		}
		return utf8.AppendRune(dst, rune(v)), end + 1
	}
}
