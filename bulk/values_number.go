package bulk

import (
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// The bool, integer and float families: bool, int64 and float64.

func parseBool(col schema.Column, text string) (Value, error) {
	switch {
	case text == "1" || strings.EqualFold(text, "true"):
		return BoolValue(true), nil
	case text == "0" || strings.EqualFold(text, "false"):
		return BoolValue(false), nil
	}
	return Value{}, valueError(col, text, "want 0, 1, true or false")
}

func formatBool(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func parseInt(col schema.Column, text string, lo, hi int64) (Value, error) {
	i, ok := shortInt(text)
	var err error
	if !ok {
		i, err = strconv.ParseInt(text, 10, 64)
	}
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return Value{}, valueError(col, text, "want a decimal integer")
	}
	if err != nil || i < lo || i > hi {
		return Value{}, valueError(col, text, "out of range "+strconv.FormatInt(lo, 10)+" to "+strconv.FormatInt(hi, 10))
	}
	return IntValue(i), nil
}

// shortInt reads an integer of 1 to 18 decimal digits, with an optional minus sign, which cannot
// overflow: most integers of a row. Anything else it leaves to strconv.ParseInt, which reads the
// same text the same way, and which costs a decoder about a tenth of its time on integers this
// short.
func shortInt(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// floatBits is the size of a float column's values: a real holds a float32.
func floatBits(t schema.Type) int {
	if t == schema.Real {
		return 32
	}
	return 64
}

func parseFloat(col schema.Column, text string) (Value, error) {
	// strconv also takes hexadecimal mantissas and digit separators, which are no decimal.
	if strings.ContainsAny(text, "xX_") {
		return Value{}, valueError(col, text, "want a decimal number, INF, -INF or NaN")
	}
	f, err := strconv.ParseFloat(text, floatBits(col.Type))
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return Value{}, valueError(col, text, "out of range")
		}
		return Value{}, valueError(col, text, "want a decimal number, INF, -INF or NaN")
	}
	return FloatValue(f), nil
}

func formatFloat(col schema.Column, f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, floatBits(col.Type))
}
