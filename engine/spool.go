package engine

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"

	"github.com/mirrord/mirrord/bulk"
)

// spool holds a table's chunks on disk while its loader waits for its lane and apply slots and
// another table of the same call is being written, so that a decoder never waits on a loader
// that waits on its own call: however many tables a call carries and however few connections
// there are, decoding reaches the end of the body, every started loader commits, and the
// waiting ones get their turn. (When none of the call's tables is being written, the decoder
// waits instead: Apply.awaitLoader.) Memory stays bounded: chunks go to a temporary file, not a
// queue. It is the only spool between the body and the database:
// a mirror that writes fewer tables at once than the engine would apply (a SQLite file writes
// one) says so (bulk.WriterLimiter), and its tenant's tables wait here, not inside the mirror.
type spool struct {
	dir string

	mu     sync.Mutex
	closed bool          // the loader has taken over: the decoder sends on the channel from now on
	taken  chan struct{} // closed with closed, for a decoder waiting for the loader
	f      *os.File
	w      *bufio.Writer
	buf    []byte
}

// write appends c to the spool. It reports false, writing nothing, once the loader has taken over.
func (s *spool) write(c *chunk) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, nil
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "mirrord-spool-*")
		if err != nil {
			return false, fmt.Errorf("spool rows to disk: %w", err)
		}
		// Unlinked at once where the system allows it, so a crash leaves nothing behind.
		os.Remove(f.Name())
		s.f, s.w = f, bufio.NewWriterSize(f, 256<<10)
	}
	s.buf = encodeChunk(s.buf[:0], c)
	var n [binary.MaxVarintLen64]byte
	if _, err := s.w.Write(n[:binary.PutUvarint(n[:], uint64(len(s.buf)))]); err != nil {
		return false, fmt.Errorf("spool rows to disk: %w", err)
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return false, fmt.Errorf("spool rows to disk: %w", err)
	}
	return true, nil
}

// takenOver returns a channel closed once the loader has taken over (or given up).
func (s *spool) takenOver() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken == nil {
		s.taken = make(chan struct{})
		if s.closed {
			close(s.taken)
		}
	}
	return s.taken
}

// takeOver ends writing and returns a reader of what was spooled (nil when nothing was).
func (s *spool) takeOver() (*spoolReader, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && s.taken != nil {
		close(s.taken)
	}
	s.closed = true
	if s.f == nil {
		return nil, nil
	}
	f := s.f
	s.f = nil
	if err := s.w.Flush(); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool rows to disk: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("read spooled rows: %w", err)
	}
	return &spoolReader{f: f, r: bufio.NewReaderSize(f, 256<<10)}, nil
}

// discard ends writing and throws away what was spooled.
func (s *spool) discard() {
	if r, _ := s.takeOver(); r != nil {
		r.close()
	}
}

type spoolReader struct {
	f   *os.File
	r   *bufio.Reader
	buf []byte
}

// next returns the next spooled chunk, or io.EOF.
func (sr *spoolReader) next() (*chunk, error) {
	n, err := binary.ReadUvarint(sr.r)
	if err != nil {
		return nil, err
	}
	if cap(sr.buf) < int(n) {
		sr.buf = make([]byte, n)
	}
	sr.buf = sr.buf[:n]
	if _, err := io.ReadFull(sr.r, sr.buf); err != nil {
		return nil, fmt.Errorf("read spooled rows: %w", err)
	}
	return decodeChunk(sr.buf)
}

func (sr *spoolReader) close() { sr.f.Close() }

// The spool's encoding of values: a tag byte, then the value.
const (
	tagNull byte = iota
	tagFalse
	tagTrue
	tagInt
	tagFloat
	tagDecimal
	tagString
	tagBytes
	tagTime // in UTC: Unix seconds (varint), nanoseconds (uvarint)
	tagTimeOfDay
	tagUUID
	tagZonedTime // in a fixed zone: as tagTime, then the offset in seconds (varint)
)

func encodeChunk(b []byte, c *chunk) []byte {
	b = binary.AppendUvarint(b, uint64(len(c.cols)))
	for _, col := range c.cols {
		b = binary.AppendUvarint(b, uint64(col))
	}
	b = binary.AppendUvarint(b, uint64(len(c.ops)))
	b = append(b, opBytes(c.ops)...)
	for _, v := range c.vals {
		b = appendValue(b, v)
	}
	return b
}

func opBytes(ops []bulk.Op) []byte {
	out := make([]byte, len(ops))
	for i, o := range ops {
		out[i] = byte(o)
	}
	return out
}

func appendValue(b []byte, v bulk.Value) []byte {
	switch v.Kind() {
	case bulk.KindNull:
		return append(b, tagNull)
	case bulk.KindBool:
		if v.Bool() {
			return append(b, tagTrue)
		}
		return append(b, tagFalse)
	case bulk.KindInt:
		return binary.AppendVarint(append(b, tagInt), v.Int())
	case bulk.KindFloat:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat), math.Float64bits(v.Float()))
	case bulk.KindDecimal:
		return appendString(append(b, tagDecimal), string(v.Decimal()))
	case bulk.KindString:
		return appendString(append(b, tagString), v.Text())
	case bulk.KindBytes:
		b = binary.AppendUvarint(append(b, tagBytes), uint64(v.Len()))
		return v.AppendBytes(b)
	case bulk.KindTime:
		// Its parts, not time.Time's MarshalBinary, which refuses an offset of -00:01 (its
		// encoding's mark for UTC) and one that is not whole minutes.
		sec, nsec := v.Unix()
		tag := tagTime
		if v.Zoned() {
			tag = tagZonedTime
		}
		b = binary.AppendUvarint(binary.AppendVarint(append(b, tag), sec), uint64(nsec))
		if v.Zoned() {
			b = binary.AppendVarint(b, int64(v.Offset()))
		}
		return b
	case bulk.KindTimeOfDay:
		return binary.AppendVarint(append(b, tagTimeOfDay), int64(v.TimeOfDay()))
	case bulk.KindUUID:
		u := v.UUID()
		return append(append(b, tagUUID), u[:]...)
	}
	panic(fmt.Sprintf("spool: value of unexpected kind %v", v.Kind()))
}

func appendString(b []byte, v string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

var errCorruptSpool = errors.New("read spooled rows: corrupt spool file")

func decodeChunk(b []byte) (*chunk, error) {
	d := decoder{b: b}
	ncols := d.uvarint()
	if d.err != nil || ncols > uint64(len(b)) {
		return nil, errCorruptSpool
	}
	c := &chunk{cols: make([]int, ncols)}
	for i := range c.cols {
		c.cols[i] = int(d.uvarint())
	}
	nrows := d.uvarint()
	ops := d.take(nrows)
	if d.err != nil {
		return nil, errCorruptSpool
	}
	c.ops = make([]bulk.Op, len(ops))
	for i, o := range ops {
		c.ops[i] = bulk.Op(o)
	}
	c.vals = make([]bulk.Value, 0, int(ncols)*len(ops))
	for range len(ops) * int(ncols) {
		c.vals = append(c.vals, d.value())
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, errCorruptSpool
	}
	return c, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorruptSpool
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorruptSpool
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorruptSpool
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) value() bulk.Value {
	tag := d.take(1)
	if d.err != nil {
		return bulk.Value{}
	}
	switch tag[0] {
	case tagNull:
		return bulk.Value{}
	case tagFalse:
		return bulk.BoolValue(false)
	case tagTrue:
		return bulk.BoolValue(true)
	case tagInt:
		return bulk.IntValue(d.varint())
	case tagFloat:
		b := d.take(8)
		if d.err != nil {
			return bulk.Value{}
		}
		return bulk.FloatValue(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case tagDecimal:
		return bulk.DecimalValue(bulk.Decimal(d.take(d.uvarint())))
	case tagString:
		return bulk.StringValue(string(d.take(d.uvarint())))
	case tagBytes:
		return bulk.BytesValue(d.take(d.uvarint()))
	case tagTime, tagZonedTime:
		sec, nsec, offset := d.varint(), d.uvarint(), int64(0)
		if tag[0] == tagZonedTime {
			offset = d.varint()
		}
		if d.err != nil || nsec >= 1e9 || offset != int64(int(offset)) {
			d.err = errCorruptSpool
			return bulk.Value{}
		}
		v, err := bulk.UnixValue(sec, int(nsec), int(offset), tag[0] == tagZonedTime)
		if err != nil {
			d.err = errCorruptSpool
		}
		return v
	case tagTimeOfDay:
		return bulk.TimeOfDayValue(bulk.TimeOfDay(d.varint()))
	case tagUUID:
		var u bulk.UUID
		copy(u[:], d.take(16))
		return bulk.UUIDValue(u)
	}
	d.err = errCorruptSpool
	return bulk.Value{}
}
