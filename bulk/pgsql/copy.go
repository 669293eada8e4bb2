package pgsql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Rows reach PostgreSQL as a binary COPY stream written here, field by field, from the bulk values
// straight into the buffer pgconn sends: pgx's CopyFrom would box each value, find an encode
// plan for it, and describe the table before every COPY.

// copyHeader is the binary COPY signature, then a zero flags field and a zero header extension
// length.
const copyHeader = "PGCOPY\n\377\r\n\000" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// nullField is the length of a NULL field.
var nullField = []byte{0xff, 0xff, 0xff, 0xff}

const (
	// y2kUnix is 2000-01-01 00:00 UTC, PostgreSQL's epoch, in Unix seconds.
	y2kUnix = 946684800
	// y2kUnixDays is the same instant in days since 1970-01-01.
	y2kUnixDays = y2kUnix / 86400
)

// fieldKind is the PostgreSQL binary form a column's values take.
type fieldKind uint8

const (
	kindBool fieldKind = iota
	kindInt2
	kindInt4
	kindInt8
	kindFloat4
	kindFloat8
	kindNumeric
	kindText
	kindBytea
	kindDate
	kindTimestamp   // the wall clock of the value, whatever its zone
	kindTimestamptz // the instant of the value
	kindTime
	kindUUID
)

// fieldCodec writes the values of one column in the binary form of its PostgreSQL type, checking
// that each fits the column the way PostgreSQL would refuse or silently change it otherwise.
type fieldCodec struct {
	col    schema.Column
	kind   fieldKind
	want   bulk.Kind // the kind of value the column takes
	oid    uint32    // the column's PostgreSQL type, as the table must have it
	lo, hi int64     // the range of an integer column
	// precision and scale of a numeric column.
	precision, scale int
	limit            int   // characters of a text column, bytes of a bytea column; schema.Max for none
	unit             int64 // nanoseconds a time-like value is truncated to
}

// codecFor picks the codec of a column, following the type table of types.go.
func codecFor(c schema.Column) (fieldCodec, error) {
	f := fieldCodec{col: c, limit: c.Length}
	switch c.Type.Family() {
	case schema.FamilyBool:
		f.kind, f.oid = kindBool, pgtype.BoolOID
	case schema.FamilyInteger:
		// The narrowest PostgreSQL integer that holds the range: tinyint goes into smallint.
		f.lo, f.hi, _ = c.Type.IntegerRange()
		switch {
		case f.hi <= math.MaxInt16:
			f.kind, f.oid = kindInt2, pgtype.Int2OID
		case f.hi <= math.MaxInt32:
			f.kind, f.oid = kindInt4, pgtype.Int4OID
		default:
			f.kind, f.oid = kindInt8, pgtype.Int8OID
		}
	case schema.FamilyDecimal:
		f.kind, f.oid = kindNumeric, pgtype.NumericOID
		f.precision, f.scale = c.Digits()
	case schema.FamilyFloat:
		f.kind, f.oid = kindFloat8, pgtype.Float8OID
		if c.Type == schema.Real {
			f.kind, f.oid = kindFloat4, pgtype.Float4OID
		}
	case schema.FamilyDate:
		f.kind, f.oid = kindDate, pgtype.DateOID
	case schema.FamilyTime:
		f.kind, f.oid = kindTime, pgtype.TimeOID
	case schema.FamilyDateTime:
		f.kind, f.oid = kindTimestamp, pgtype.TimestampOID
	case schema.FamilyDateTimeOffset:
		f.kind, f.oid = kindTimestamptz, pgtype.TimestamptzOID
	case schema.FamilyString:
		// text, ntext and xml are always max.
		f.kind, f.oid = kindText, pgtype.VarcharOID
		if c.Length == schema.Max {
			f.oid = pgtype.TextOID
		}
	case schema.FamilyBinary:
		f.kind, f.oid = kindBytea, pgtype.ByteaOID
	case schema.FamilyUUID:
		f.kind, f.oid = kindUUID, pgtype.UUIDOID
	default:
		return fieldCodec{}, fmt.Errorf("column %s: type %q has no PostgreSQL mapping", c.Name, string(c.Type))
	}
	f.unit = int64(fractionUnit(fractionDigits(c)))
	f.want = f.valueKind()
	return f, nil
}

// appendField appends the field of v (never NULL): its length, then its binary form. On error
// buf is returned unchanged in length.
func (f *fieldCodec) appendField(buf []byte, v bulk.Value) ([]byte, error) {
	if v.Kind() != f.want {
		return buf, bulk.WrongType(f.col, v.Any())
	}
	switch f.kind {
	case kindBool:
		return appendBoolField(buf, v.Bool()), nil
	case kindInt2, kindInt4, kindInt8:
		n := v.Int()
		if n < f.lo || n > f.hi {
			return buf, fmt.Errorf("%d is out of the range of %s (%d to %d)", n, f.col.Type, f.lo, f.hi)
		}
		switch f.kind {
		case kindInt2:
			return binary.BigEndian.AppendUint16(append(buf, 0, 0, 0, 2), uint16(n)), nil
		case kindInt4:
			return binary.BigEndian.AppendUint32(append(buf, 0, 0, 0, 4), uint32(n)), nil
		}
		return appendInt8Field(buf, n), nil
	case kindFloat8:
		return binary.BigEndian.AppendUint64(append(buf, 0, 0, 0, 8), math.Float64bits(v.Float())), nil
	case kindFloat4:
		return binary.BigEndian.AppendUint32(append(buf, 0, 0, 0, 4), math.Float32bits(float32(v.Float()))), nil
	case kindNumeric:
		d := string(v.Decimal())
		if err := checkDecimal(d, f.precision, f.scale); err != nil {
			return buf, err
		}
		start := len(buf)
		out, err := appendNumeric(append(buf, 0, 0, 0, 0), d)
		if err != nil {
			return buf[:start], err
		}
		binary.BigEndian.PutUint32(out[start:], uint32(len(out)-start-4))
		return out, nil
	case kindText:
		s := v.Text()
		if err := checkText(s, f.limit); err != nil {
			return buf, err
		}
		if int64(len(s)) > math.MaxInt32 {
			return buf, fmt.Errorf("a string of %d bytes exceeds a COPY field", len(s))
		}
		return append(binary.BigEndian.AppendUint32(buf, uint32(len(s))), s...), nil
	case kindBytea:
		n := v.Len()
		if f.limit != schema.Max && n > f.limit {
			return buf, fmt.Errorf("%d bytes do not fit %s", n, f.col.TypeString())
		}
		if int64(n) > math.MaxInt32 {
			return buf, fmt.Errorf("a value of %d bytes exceeds a COPY field", n)
		}
		return v.AppendBytes(binary.BigEndian.AppendUint32(buf, uint32(n))), nil
	case kindDate:
		days := floorDiv(wallUnix(v), 86400) - y2kUnixDays
		return binary.BigEndian.AppendUint32(append(buf, 0, 0, 0, 4), uint32(int32(days))), nil
	case kindTimestamp, kindTimestamptz:
		sec, nsec := v.Unix()
		if f.kind == kindTimestamp {
			sec = wallUnix(v)
		}
		// Truncated, never rounded: PostgreSQL would round 23:59:59.9999999 into the next day.
		ns := int64(nsec)
		ns -= ns % f.unit
		return appendInt8Field(buf, (sec-y2kUnix)*1_000_000+ns/1000), nil
	case kindTime:
		d := v.TimeOfDay()
		if d < 0 || time.Duration(d) >= 24*time.Hour {
			return buf, fmt.Errorf("time of day %v is not within 00:00 and 24:00", time.Duration(d))
		}
		return appendInt8Field(buf, int64(d)/f.unit*f.unit/1000), nil
	case kindUUID:
		u := v.UUID()
		return append(append(buf, 0, 0, 0, 16), u[:]...), nil
	}
	return buf, fmt.Errorf("column %s: no binary form for kind %d", f.col.Name, f.kind)
}

// valueKind is the kind of value the column takes.
func (f *fieldCodec) valueKind() bulk.Kind {
	switch f.kind {
	case kindBool:
		return bulk.KindBool
	case kindInt2, kindInt4, kindInt8:
		return bulk.KindInt
	case kindFloat4, kindFloat8:
		return bulk.KindFloat
	case kindNumeric:
		return bulk.KindDecimal
	case kindText:
		return bulk.KindString
	case kindBytea:
		return bulk.KindBytes
	case kindDate, kindTimestamp, kindTimestamptz:
		return bulk.KindTime
	case kindTime:
		return bulk.KindTimeOfDay
	case kindUUID:
		return bulk.KindUUID
	}
	return bulk.KindNull
}

// wallUnix is the wall clock of a time value read as UTC, in Unix seconds: what pgx writes for
// a timestamp or date, which have no zone.
func wallUnix(v bulk.Value) int64 {
	sec, _ := v.Unix()
	return sec + int64(v.Offset())
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func appendInt8Field(buf []byte, n int64) []byte {
	return binary.BigEndian.AppendUint64(append(buf, 0, 0, 0, 8), uint64(n))
}

func appendBoolField(buf []byte, b bool) []byte {
	if b {
		return append(buf, 0, 0, 0, 1, 1)
	}
	return append(buf, 0, 0, 0, 1, 0)
}

// tupleSource appends the next tuple of a COPY to buf, or reports false when there is none.
type tupleSource interface {
	appendTuple(buf []byte) ([]byte, bool, error)
}

// errCopyEnded is what a stream reads after its COPY returned: pgconn may leave its sending
// goroutine running when the connection breaks, and it must not touch the rows after Apply has
// returned.
var errCopyEnded = errors.New("the COPY has ended")

// copyStream is the io.Reader of one binary COPY: it encodes tuples as pgconn reads, into a buffer
// that is reused once read, or, with keep, that holds every byte of the COPY (a direct chunk keeps
// its tuples to replay them through staging).
type copyStream struct {
	mu     sync.Mutex // held for a whole Read, so that close waits for a Read in progress
	src    tupleSource
	buf    []byte
	off    int // bytes of buf already read
	keep   bool
	ended  bool // the trailer is in buf
	closed bool
	err    error // the error a tuple met, which the COPY fails with
}

func newCopyStream(src tupleSource, buf []byte, keep bool) *copyStream {
	return &copyStream{src: src, buf: append(buf[:0], copyHeader...), keep: keep}
}

func (s *copyStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, errCopyEnded
	}
	if s.err != nil {
		return 0, s.err
	}
	if !s.keep && s.off > 0 {
		s.buf = s.buf[:copy(s.buf, s.buf[s.off:])]
		s.off = 0
	}
	for !s.ended && len(s.buf)-s.off < len(p) {
		var more bool
		s.buf, more, s.err = s.src.appendTuple(s.buf)
		if s.err != nil {
			return 0, s.err
		}
		if !more {
			s.ended = true
			s.buf = append(s.buf, 0xff, 0xff) // the trailer: a tuple of -1 fields
		}
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	if s.ended && s.off == len(s.buf) {
		return n, io.EOF
	}
	return n, nil
}

// close ends the stream's reads, waiting for one in progress, and returns the error a tuple met.
func (s *copyStream) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.err
}

// oidName names the PostgreSQL types the codecs write, for error messages.
func oidName(oid uint32) string {
	switch oid {
	case pgtype.BoolOID:
		return "boolean"
	case pgtype.Int2OID:
		return "smallint"
	case pgtype.Int4OID:
		return "integer"
	case pgtype.Int8OID:
		return "bigint"
	case pgtype.NumericOID:
		return "numeric"
	case pgtype.Float4OID:
		return "real"
	case pgtype.Float8OID:
		return "double precision"
	case pgtype.DateOID:
		return "date"
	case pgtype.TimeOID:
		return "time"
	case pgtype.TimestampOID:
		return "timestamp"
	case pgtype.TimestamptzOID:
		return "timestamptz"
	case pgtype.VarcharOID:
		return "character varying"
	case pgtype.TextOID:
		return "text"
	case pgtype.ByteaOID:
		return "bytea"
	case pgtype.UUIDOID:
		return "uuid"
	}
	return fmt.Sprintf("OID %d", oid)
}
