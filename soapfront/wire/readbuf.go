package wire

import (
	"bytes"
	"io"
)

// readBufferSize is the size of the one buffer a body is read through.
const readBufferSize = 64 << 10

// readBuffer reads a body through one fixed buffer and knows nothing of XML: the tokenizer asks
// it for the unread bytes (window), consumes them (advance) and asks for more (fill, ensure).
// The buffer never grows, so a body of any size costs readBufferSize bytes; bytes in the window
// are valid until the next fill.
type readBuffer struct {
	r        io.Reader
	buf      []byte
	pos, end int
	base     int64 // stream offset of buf[0]
	err      error // the reader's first error, io.EOF included
}

func newReadBuffer(r io.Reader) readBuffer {
	return readBuffer{r: r, buf: make([]byte, readBufferSize)}
}

// window returns the bytes read but not yet consumed.
func (b *readBuffer) window() []byte { return b.buf[b.pos:b.end] }

// advance consumes n bytes of the window.
func (b *readBuffer) advance(n int) { b.pos += n }

// offset is the position in the body of the first unconsumed byte.
func (b *readBuffer) offset() int64 { return b.base + int64(b.pos) }

// fill moves the unconsumed bytes to the front of the buffer and reads more. It reports whether
// any byte was added.
func (b *readBuffer) fill() bool {
	if b.err != nil {
		return false
	}
	if b.pos > 0 {
		n := copy(b.buf, b.buf[b.pos:b.end])
		b.base += int64(b.pos)
		b.pos, b.end = 0, n
	}
	for range 100 {
		n, err := b.r.Read(b.buf[b.end:])
		b.end += n
		if err != nil {
			b.err = err
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	b.err = io.ErrNoProgress
	return false
}

// ensure makes n bytes available in the window if the body has them. n must not exceed the
// buffer's size.
func (b *readBuffer) ensure(n int) bool {
	for b.end-b.pos < n {
		if !b.fill() {
			return false
		}
	}
	return true
}

// hasPrefix reports whether the window starts with p, reading more if needed.
func (b *readBuffer) hasPrefix(p string) bool {
	return b.ensure(len(p)) && string(b.buf[b.pos:b.pos+len(p)]) == p
}

func (b *readBuffer) readByte() (byte, bool) {
	if b.pos < b.end || b.fill() {
		c := b.buf[b.pos]
		b.pos++
		return c, true
	}
	return 0, false
}

func (b *readBuffer) peekByte() (byte, bool) {
	if b.pos < b.end || b.fill() {
		return b.buf[b.pos], true
	}
	return 0, false
}

// readErr is the reader's error when it failed other than by ending: a size limit, a broken
// connection.
func (b *readBuffer) readErr() error {
	if b.err != nil && b.err != io.EOF {
		return b.err
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace consumes whitespace as it streams, however much there is, and reports whether there
// was any.
func (b *readBuffer) skipSpace() bool {
	skipped := false
	for {
		for b.pos < b.end {
			if !isSpace(b.buf[b.pos]) {
				return skipped
			}
			b.pos++
			skipped = true
		}
		if !b.fill() {
			return skipped
		}
	}
}

// skipPast consumes everything up to and including the first occurrence of end, as it streams.
// It reports false if the body ends first.
func (b *readBuffer) skipPast(end string) bool {
	for {
		if i := bytes.Index(b.buf[b.pos:b.end], []byte(end)); i >= 0 {
			b.pos += i + len(end)
			return true
		}
		// Keep what could be the start of end for the next round.
		if keep := len(end) - 1; b.end-b.pos > keep {
			b.pos = b.end - keep
		}
		if !b.fill() {
			return false
		}
	}
}
