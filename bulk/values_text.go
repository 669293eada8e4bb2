package bulk

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"

	"github.com/mirrord/mirrord/schema"
)

// The string, binary and uuid families: string, []byte (base64 in text) and UUID.

func parseString(col schema.Column, text string) (Value, error) {
	if !utf8.ValidString(text) {
		return Value{}, valueError(col, text, "not valid UTF-8")
	}
	// A string of n bytes has at most n characters and n UTF-16 code units, so only a
	// string longer in bytes than the column needs counting.
	if col.Length != schema.Max && len(text) > col.Length {
		if col.Type.Unicode() {
			if n := utf16Length(text); n > col.Length {
				return Value{}, valueError(col, text, "it is "+strconv.Itoa(n)+" UTF-16 code units long")
			}
		} else if n := utf8.RuneCountInString(text); n > col.Length {
			return Value{}, valueError(col, text, "it is "+strconv.Itoa(n)+" characters long")
		}
	}
	return StringValue(text), nil
}

func utf16Length(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

func parseBinary(col schema.Column, text string) (Value, error) {
	b, err := base64.StdEncoding.DecodeString(text)
	if err != nil {
		return Value{}, valueError(col, text, "not standard base64")
	}
	if col.Length != schema.Max && len(b) > col.Length {
		return Value{}, valueError(col, text, "it is "+strconv.Itoa(len(b))+" bytes long")
	}
	return BytesValue(b), nil
}

func formatBinary(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func parseUUIDValue(col schema.Column, text string) (Value, error) {
	u, ok := parseUUID(text)
	if !ok {
		return Value{}, valueError(col, text, "want xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx in hex")
	}
	return UUIDValue(u), nil
}

// String is the uniqueidentifier's text form in upper case, as SQL Server writes it.
func (u UUID) String() string {
	const hexDigits = "0123456789ABCDEF"
	var b [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hexDigits[c>>4], hexDigits[c&0x0f]
		j += 2
	}
	return string(b[:])
}

func parseUUID(s string) (u UUID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 16; i++ {
		if j == 8 || j == 13 || j == 18 || j == 23 {
			j++
		}
		hi, ok1 := hexValue(s[j])
		lo, ok2 := hexValue(s[j+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[i] = hi<<4 | lo
		j += 2
	}
	return u, true
}

func hexValue(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
