package wire

import "bytes"

// The RowData fast path: whole elements written the plain way (<Row op="I" lsn="1">, <V>text</V>,
// </Row>) taken straight from the read buffer, when the buffer holds all of them. Each method
// either takes its element whole or leaves the input untouched and says so, and the decoder
// then reads the element through the general path, which reports anything wrong. So a fast
// path only needs to be right about what it accepts, never about what it refuses.

var nilTrue = []byte(` nil="true"/>`)

// fastValue reads a whole element named qname (as written) that is simple enough to take
// straight from the read buffer: <qname>plain text</qname>, <qname/> or <qname nil="true"/>,
// after optional whitespace. Anything else (attributes, entities it cannot decode, CDATA,
// comments, an element cut by the end of the buffer, text over limit bytes) leaves the input
// untouched and ok false, for the general path. The text is valid until the next read.
func (t *tokenizer) fastValue(qname []byte, limit int) (text []byte, isNil, ok bool, err error) {
	if t.pendingEnd || t.level >= t.maxDepth {
		return nil, false, false, nil
	}
	b := t.rb.window()
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
		t.start = t.rb.offset() + int64(i)
		t.rb.advance(j + 2)
		return b[j:j], false, true, nil
	case ' ':
		if !bytes.HasPrefix(b[j:], nilTrue) {
			return nil, false, false, nil
		}
		t.start = t.rb.offset() + int64(i)
		t.rb.advance(j + len(nilTrue))
		return nil, true, true, nil
	default:
		return nil, false, false, nil
	}
	// text is the decoded value once a reference or a carriage return makes it differ from the
	// input; until then the value is the input itself. copied marks the input up to which text
	// holds it. The input stays untouched until the whole element is taken.
	valueStart, copied := j, j
	nonASCII := false
	text = nil
	for j < len(b) {
		n, high := scanText(b[j:])
		j += n
		nonASCII = nonASCII || high
		if j == len(b) {
			break
		}
		c := b[j]
		if c != '&' && c != '\r' {
			break
		}
		if text == nil {
			text = t.curText[:0]
		}
		text = append(text, b[copied:j]...)
		if c == '\r' {
			text = append(text, '\n')
			if j++; j < len(b) && b[j] == '\n' {
				j++
			}
		} else {
			var size int
			if text, size = appendReference(text, b[j:]); size == 0 {
				t.curText = text
				return nil, false, false, nil
			}
			j += size
		}
		copied = j
	}
	if text != nil {
		text = append(text, b[copied:j]...)
	}
	if len(b)-j < n+3 || b[j] != '<' || b[j+1] != '/' || !equalShort(b[j+2:j+2+n], qname) || b[j+2+n] != '>' || j-valueStart > limit || len(text) > limit {
		if text != nil {
			t.curText = text
		}
		return nil, false, false, nil
	}
	t.start = t.rb.offset() + int64(i)
	if text != nil {
		t.curText = text
	} else {
		text = b[valueStart:j]
	}
	if nonASCII {
		if err := checkUTF8(text); err != nil {
			return nil, false, false, &syntaxError{offset: t.start, msg: err.Error()}
		}
	}
	t.rb.advance(j + 3 + n)
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
func (t *tokenizer) fastRowStart(qname []byte) (op byte, ok bool) {
	if t.pendingEnd || t.level >= t.maxDepth {
		return 0, false
	}
	b := t.rb.window()
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
	t.start = t.rb.offset() + int64(i)
	t.push(qname)
	t.rb.advance(j + 1)
	return op, true
}

// fastClose closes the open element if the input is exactly </qname> (after optional
// whitespace) and the element declared no namespace; false leaves the input untouched.
func (t *tokenizer) fastClose(qname []byte) bool {
	if t.pendingEnd || len(t.ns) > 0 && t.ns[len(t.ns)-1].depth == t.level {
		return false
	}
	b := t.rb.window()
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	n := len(qname)
	if len(b)-i < n+3 || b[i] != '<' || b[i+1] != '/' || string(b[i+2:i+2+n]) != string(qname) || b[i+2+n] != '>' {
		return false
	}
	if string(t.rawName()) != string(qname) {
		return false
	}
	t.start = t.rb.offset() + int64(i)
	t.popName()
	t.rb.advance(i + n + 3)
	return true
}
