package wire

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Character data and references: text content, CDATA sections and attribute values, decoded
// as XML 1.0 says, and the one decoder of entity and character references that both the
// general path and the RowData fast path use.

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

// scanText counts the bytes at the start of b that are text as they stand (plain or high) and
// reports whether one of them is above 0x7f. It is a function of its own, never inlined, so that
// its loop keeps its few variables in registers: written inside fastValue, whose many live
// variables the compiler could not all keep in registers, the loop reloaded them from the
// stack at every byte (20 instructions a byte, 40% of the decoder's).
//
//go:noinline
func scanText(b []byte) (n int, nonASCII bool) {
	for i, c := range b {
		switch textClass[c] {
		case plain:
		case high:
			nonASCII = true
		default:
			return i, nonASCII
		}
	}
	return len(b), nonASCII
}

// readText reads character data (with CDATA sections, comments and processing instructions
// inside it) up to the next tag, decoded into t.curText, failing when it is longer than limit
// bytes.
func (t *tokenizer) readText(limit int) error {
	t.curText = t.curText[:0]
	nonASCII := false
	for {
		b := t.rb.window()
		i, high := scanText(b)
		nonASCII = nonASCII || high
		t.curText = append(t.curText, b[:i]...)
		t.rb.advance(i)
		if len(t.curText) > limit {
			return t.tooLong(limit)
		}
		if i == len(b) {
			if !t.rb.fill() {
				return t.eofError(t.openElement())
			}
			continue
		}
		switch c := b[i]; c {
		case '<':
			if !t.rb.ensure(4) {
				return t.eofError(t.openElement())
			}
			if c := t.rb.window()[1]; c != '!' && c != '?' {
				return t.checkText(nonASCII)
			}
			if nonASCII && endsMidRune(t.curText) {
				return t.splitRune()
			}
			if t.rb.hasPrefix("<?") {
				// A processing instruction inside text is skipped, as between elements.
				t.rb.advance(2)
				if err := t.skipPI(); err != nil {
					return err
				}
				continue
			}
			if t.rb.hasPrefix("<!--") {
				t.rb.advance(4)
				if err := t.skipComment(); err != nil {
					return err
				}
				continue
			}
			if t.rb.hasPrefix("<![CDATA[") {
				t.rb.advance(9)
				var err error
				if nonASCII, err = t.cdata(nonASCII, limit); err != nil {
					return err
				}
				continue
			}
			return t.markup()
		case '&':
			t.rb.advance(1)
			var err error
			if t.curText, err = t.reference(t.curText); err != nil {
				return err
			}
		case '\r':
			t.rb.advance(1)
			t.curText = append(t.curText, '\n')
			if c, ok := t.rb.peekByte(); ok && c == '\n' {
				t.rb.advance(1)
			}
		default:
			return t.errorf("character U+%04X is not allowed in XML", c)
		}
	}
}

// tooLong is the error for text longer than its limit.
func (t *tokenizer) tooLong(limit int) error {
	_, local := splitName(t.rawName())
	return t.errorf("the text of <%s> is longer than the limit of %d bytes", local, limit)
}

// cdata appends a CDATA section's content after "<![CDATA[".
func (t *tokenizer) cdata(nonASCII bool, limit int) (bool, error) {
	for {
		b := t.rb.window()
		i := 0
		for i < len(b) {
			c := b[i]
			if c == ']' || c == '\r' || textClass[c] == stop && c != '<' && c != '&' {
				break
			}
			if c >= 0x80 {
				nonASCII = true
			}
			i++
		}
		t.curText = append(t.curText, b[:i]...)
		t.rb.advance(i)
		if len(t.curText) > limit {
			return nonASCII, t.tooLong(limit)
		}
		if i == len(b) {
			if !t.rb.fill() {
				return nonASCII, t.eofError("in a CDATA section")
			}
			continue
		}
		switch c := b[i]; c {
		case ']':
			if t.rb.hasPrefix("]]>") {
				t.rb.advance(3)
				if nonASCII && endsMidRune(t.curText) {
					return nonASCII, t.splitRune()
				}
				return nonASCII, nil
			}
			if !t.rb.ensure(3) {
				return nonASCII, t.eofError("in a CDATA section")
			}
			t.curText = append(t.curText, ']')
			t.rb.advance(1)
		case '\r':
			t.rb.advance(1)
			t.curText = append(t.curText, '\n')
			if c, ok := t.rb.peekByte(); ok && c == '\n' {
				t.rb.advance(1)
			}
		default:
			return nonASCII, t.errorf("character U+%04X is not allowed in XML", c)
		}
	}
}

// endsMidRune reports whether b ends inside a multi-byte UTF-8 sequence. Text is joined across
// comments, processing instructions and CDATA sections, and a sequence cut by one must not join
// into a character the body never held; the check of the joined text finds every other fault.
func endsMidRune(b []byte) bool {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < utf8.RuneSelf {
			return false
		}
		if utf8.RuneStart(c) {
			return !utf8.FullRune(b[len(b)-i:])
		}
	}
	return false
}

// splitRune is the error for a multi-byte character cut by markup inside text.
func (t *tokenizer) splitRune() error {
	return t.errorf("text is not valid UTF-8: a character is cut by a comment, a processing instruction or a CDATA section")
}

// checkText ends a text token: multi-byte text must be UTF-8 of XML characters.
func (t *tokenizer) checkText(nonASCII bool) error {
	if nonASCII {
		if err := checkUTF8(t.curText); err != nil {
			return &syntaxError{offset: t.start, msg: err.Error()}
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
// entities decoded, literal tab, newline and carriage return each a space. The value may be
// limit bytes long.
func (t *tokenizer) readValue(dst []byte, quote byte, limit int) ([]byte, error) {
	start := len(dst)
	nonASCII := false
	for {
		c, ok := t.rb.readByte()
		if !ok {
			return dst, t.eofError("in an attribute value")
		}
		switch {
		case c == quote:
			if nonASCII {
				if err := checkUTF8(dst[start:]); err != nil {
					return dst, t.errorf("attribute value: %v", err)
				}
			}
			return dst, nil
		case c == '<':
			return dst, t.errorf("< is not allowed in an attribute value")
		case c == '&':
			var err error
			if dst, err = t.reference(dst); err != nil {
				return dst, err
			}
		case c == '\r':
			dst = append(dst, ' ')
			if c, ok := t.rb.peekByte(); ok && c == '\n' {
				t.rb.advance(1)
			}
		case c == '\t' || c == '\n':
			dst = append(dst, ' ')
		case c < 0x20:
			return dst, t.errorf("character U+%04X is not allowed in XML", c)
		default:
			if c >= 0x80 {
				nonASCII = true
			}
			dst = append(dst, c)
		}
		if len(dst)-start > limit {
			return dst, t.errorf("an attribute value of <%s> is longer than the limit of %d bytes", t.rawName(), limit)
		}
	}
}

// maxReferenceLength is the longest name between & and ; that a reference may have: the
// longest useful one, &#x0010FFFF;, with room to spare.
const maxReferenceLength = 12

// reference reads a reference after "&" from the stream and appends the character it stands for.
func (t *tokenizer) reference(dst []byte) ([]byte, error) {
	var name [maxReferenceLength]byte
	n := 0
	for {
		c, ok := t.rb.readByte()
		if !ok {
			return dst, t.eofError("in an entity reference")
		}
		if c == ';' {
			break
		}
		if n == len(name) {
			return dst, t.errorf("entity reference &%s… is too long or has no ;", string(name[:n]))
		}
		name[n] = c
		n++
	}
	out, bad := decodeReference(dst, name[:n])
	if bad != refOK {
		return dst, t.errorf("%s", bad.message(string(name[:n])))
	}
	return out, nil
}

// appendReference decodes the reference at the start of b (which starts with '&') from memory,
// for the fast path. size is 0 for anything the stream's reader would refuse or could read only
// with more input: the general path then reads it and reports it.
func appendReference(dst, b []byte) (out []byte, size int) {
	end := bytes.IndexByte(b[1:min(len(b), maxReferenceLength+2)], ';')
	if end < 0 {
		return dst, 0
	}
	out, bad := decodeReference(dst, b[1:1+end])
	if bad != refOK {
		return dst, 0
	}
	return out, end + 2
}

// refProblem is what is wrong with a reference. It is a code rather than a message so that
// decoding a reference allocates nothing: only the path that reports it makes the message.
type refProblem uint8

const (
	refOK refProblem = iota
	refEntity
	refNotANumber
	refBeyondUnicode
	refNotXMLChar
)

func (p refProblem) message(name string) string {
	switch p {
	case refEntity:
		return fmt.Sprintf("entity &%s; is not allowed: only &lt; &gt; &amp; &apos; &quot; and character references", name)
	case refNotANumber:
		return fmt.Sprintf("character reference &%s; is not a number", name)
	case refBeyondUnicode:
		return fmt.Sprintf("character reference &%s; is beyond U+10FFFF, the last character there is", name)
	}
	r, _ := charRef([]byte(name))
	return fmt.Sprintf("character reference &%s; is U+%04X, which XML does not allow", name, r)
}

// decodeReference appends the character that the reference &name; stands for: one of the five
// predefined entities, or a character reference to a character XML allows. It is the one place
// that knows the grammar of references.
func decodeReference(dst, name []byte) ([]byte, refProblem) {
	switch string(name) {
	case "lt":
		return append(dst, '<'), refOK
	case "gt":
		return append(dst, '>'), refOK
	case "amp":
		return append(dst, '&'), refOK
	case "apos":
		return append(dst, '\''), refOK
	case "quot":
		return append(dst, '"'), refOK
	}
	if len(name) < 2 || name[0] != '#' {
		return dst, refEntity
	}
	r, bad := charRef(name)
	if bad == refOK && !isXMLChar(r) {
		bad = refNotXMLChar
	}
	if bad != refOK {
		return dst, bad
	}
	return utf8.AppendRune(dst, r), refOK
}

// charRef reads the character a character reference name (#digits or #xhexdigits) stands for.
func charRef(name []byte) (rune, refProblem) {
	digits, base := name[1:], rune(10)
	if len(digits) > 0 && digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, refNotANumber
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, refNotANumber
		}
		// Past U+10FFFF the value is wrong whatever digits follow; stopping keeps it from
		// overflowing.
		if r = r*base + d; r > utf8.MaxRune {
			return 0, refBeyondUnicode
		}
	}
	return r, refOK
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
