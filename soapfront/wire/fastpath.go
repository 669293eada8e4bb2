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
	valueStart := j
	scanned, nonASCII := scanText(b[j:])
	j += scanned
	text = nil
	if j < len(b) && (b[j] == '&' || b[j] == '\r') {
		var decoded bool
		if text, j, nonASCII, decoded = t.decodeText(b, valueStart, j, nonASCII); !decoded {
			return nil, false, false, nil
		}
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

// decodeText decodes the value text that starts at b[start] when a reference or a carriage
// return at b[j] makes it differ from the input: into t.curText's array, up to the next byte
// that is neither text nor one of those, whose index it returns as end, with whether the text
// holds a byte above 0x7f. It reports false, with the input untouched, for a reference it cannot
// decode. It is fastValue's rare case, apart so that fastValue stays small enough for the
// compiler to keep its variables in registers.
func (t *tokenizer) decodeText(b []byte, start, j int, nonASCII bool) (text []byte, end int, high, ok bool) {
	text = t.curText[:0]
	copied := start // the input up to here is in text
	for j < len(b) {
		c := b[j]
		if c != '&' && c != '\r' {
			break
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
				return nil, 0, false, false
			}
			j += size
		}
		copied = j
		scanned, more := scanText(b[j:])
		j += scanned
		nonASCII = nonASCII || more
	}
	return append(text, b[copied:j]...), j, nonASCII, true
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
