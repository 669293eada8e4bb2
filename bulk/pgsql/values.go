package pgsql

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mirrord/mirrord/schema"
)

// fractionUnit is the duration of the last kept fractional second digit.
func fractionUnit(digits int) time.Duration {
	unit := time.Second
	for range digits {
		unit /= 10
	}
	return unit
}

// errNUL is why a string with U+0000 cannot be mirrored: PostgreSQL text cannot hold it.
var errNUL = errors.New("the string holds U+0000, which PostgreSQL text cannot store")

// checkText reports a string that PostgreSQL would refuse or cut: U+0000, invalid UTF-8, or more
// characters than the column's length (limit, schema.Max for none).
func checkText(s string, limit int) error {
	if strings.IndexByte(s, 0) >= 0 {
		return errNUL
	}
	if !utf8.ValidString(s) {
		return errors.New("the string is not valid UTF-8")
	}
	if limit != schema.Max && len(s) > limit {
		if n := utf8.RuneCountInString(s); n > limit {
			return fmt.Errorf("%d characters do not fit a length of %d", n, limit)
		}
	}
	return nil
}

// checkDecimal reports a decimal that is malformed or does not fit numeric(precision,scale)
// exactly (more integer digits, or non-zero digits beyond the scale, which PostgreSQL would round).
func checkDecimal(s string, precision, scale int) error {
	body := s
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		body = body[1:]
	}
	whole, frac, _ := strings.Cut(body, ".")
	if whole == "" && frac == "" {
		return fmt.Errorf("decimal %q has no digits", s)
	}
	for i := 0; i < len(body); i++ {
		if c := body[i]; (c < '0' || c > '9') && c != '.' {
			return fmt.Errorf("decimal %q has %q at position %d", s, c, i+1)
		}
	}
	if strings.Contains(frac, ".") {
		return fmt.Errorf("decimal %q has two points", s)
	}
	if n := len(strings.TrimLeft(whole, "0")); n > precision-scale {
		return fmt.Errorf("decimal %s has %d integer digits; decimal(%d,%d) holds at most %d", s, n, precision, scale, precision-scale)
	}
	if len(frac) > scale && strings.TrimRight(frac[scale:], "0") != "" {
		return fmt.Errorf("decimal %s has more than %d fractional digits", s, scale)
	}
	return nil
}

// appendNumeric appends the PostgreSQL binary form of a plain decimal ("-12.3400") to buf:
// ndigits, weight, sign and display scale as 16-bit integers, then base-10000 digits, most
// significant first, without leading or trailing zero digits.
func appendNumeric(buf []byte, s string) ([]byte, error) {
	neg := false
	body := s
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	whole, frac, _ := strings.Cut(body, ".")
	if whole == "" && frac == "" {
		return nil, fmt.Errorf("decimal %q has no digits", s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(frac) > 0x3FFF || len(whole) > 4*math.MaxInt16 {
		return nil, fmt.Errorf("decimal %.40q… has too many digits", s)
	}
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0)
	ndigits, zerosPending, started := 0, 0, false
	weight := (len(whole)+3)/4 - 1
	emit := func(d int) {
		if !started {
			if d == 0 {
				weight--
				return
			}
			started = true
		}
		if d == 0 {
			zerosPending++
			return
		}
		for ; zerosPending > 0; zerosPending-- {
			buf = append(buf, 0, 0)
			ndigits++
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(d))
		ndigits++
	}
	group := func(digits string, pad int) (int, error) {
		d := 0
		for i := 0; i < len(digits); i++ {
			c := digits[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("decimal %q has %q where a digit belongs", s, c)
			}
			d = d*10 + int(c-'0')
		}
		for range pad {
			d *= 10
		}
		return d, nil
	}
	first := len(whole) % 4
	if first == 0 && len(whole) > 0 {
		first = 4
	}
	for i, n := 0, first; i < len(whole); i, n = i+n, 4 {
		d, err := group(whole[i:i+n], 0)
		if err != nil {
			return nil, err
		}
		emit(d)
	}
	for i := 0; i < len(frac); i += 4 {
		n := min(4, len(frac)-i)
		d, err := group(frac[i:i+n], 4-n)
		if err != nil {
			return nil, err
		}
		emit(d)
	}
	var sign uint16
	if !started {
		weight = 0
	} else if neg {
		sign = 0x4000
	}
	binary.BigEndian.PutUint16(buf[start:], uint16(ndigits))
	binary.BigEndian.PutUint16(buf[start+2:], uint16(int16(weight)))
	binary.BigEndian.PutUint16(buf[start+4:], sign)
	binary.BigEndian.PutUint16(buf[start+6:], uint16(len(frac)))
	return buf, nil
}
