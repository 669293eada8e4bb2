package bulk

import (
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// The decimal family: decimal, numeric, money and smallmoney, all as a Decimal at exactly the
// column's scale.

func parseDecimal(col schema.Column, text string) (Value, error) {
	precision, scale, limit := decimalDigits(col)
	d, why := canonicalDecimal(text, precision, scale, limit)
	if why != "" {
		return Value{}, valueError(col, text, why)
	}
	return DecimalValue(d), nil
}

func formatDecimal(col schema.Column, d Decimal) (string, error) {
	precision, scale, limit := decimalDigits(col)
	c, why := canonicalDecimal(string(d), precision, scale, limit)
	if why != "" {
		return "", valueError(col, string(d), why)
	}
	return string(c), nil
}

// decimalDigits is the precision and scale of a decimal-family column (schema.Column.Digits),
// and canonicalDecimal's bound on the unscaled value: money's and smallmoney's integer range,
// none (0) for decimal and numeric. Both ranges are two's complement, one more below zero than
// above. Only money asks for more than the column's own fields, so the common case is one
// comparison.
func decimalDigits(col schema.Column) (precision, scale int, limit uint64) {
	if _, hi, money := col.Type.UnscaledRange(); money {
		precision, scale = col.Digits()
		return precision, scale, uint64(hi)
	}
	return col.Precision, col.Scale, 0
}

// canonicalDecimal checks text as a plain decimal number with at most precision-scale integer
// digits and scale fraction digits (fraction zeros beyond scale are allowed, as they change
// nothing), and returns it with exactly scale fraction digits, no '+', no leading zeros and no
// negative zero. A limit above zero also bounds the unscaled value (money): at most limit, or
// limit+1 when negative. why is empty on success.
func canonicalDecimal(text string, precision, scale int, limit uint64) (d Decimal, why string) {
	i, neg := 0, false
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		neg = text[i] == '-'
		i++
	}
	intStart := i
	for i < len(text) && text[i] >= '0' && text[i] <= '9' {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if i < len(text) && text[i] == '.' {
		i++
		fracStart = i
		for i < len(text) && text[i] >= '0' && text[i] <= '9' {
			i++
		}
		fracEnd = i
	}
	if i != len(text) || intEnd == intStart && fracEnd == fracStart {
		return "", "want a plain decimal number like -123.45"
	}
	for intStart < intEnd && text[intStart] == '0' {
		intStart++
	}
	for fracEnd-fracStart > scale && text[fracEnd-1] == '0' {
		fracEnd--
	}
	intDigits, fracDigits := text[intStart:intEnd], text[fracStart:fracEnd]
	if len(fracDigits) > scale {
		return "", "it has " + strconv.Itoa(len(fracDigits)) + " digits after the point; at most " + strconv.Itoa(scale) + " fit"
	}
	if len(intDigits) > precision-scale {
		return "", "it has " + strconv.Itoa(len(intDigits)) + " digits before the point; at most " + strconv.Itoa(precision-scale) + " fit"
	}
	zero := strings.Trim(fracDigits, "0") == "" && intDigits == ""
	if zero {
		neg = false
	}
	if limit > 0 {
		var unscaled uint64 // at most 19 digits, which fit a uint64
		for _, digits := range [2]string{intDigits, fracDigits} {
			for j := 0; j < len(digits); j++ {
				unscaled = unscaled*10 + uint64(digits[j]-'0')
			}
		}
		for j := len(fracDigits); j < scale; j++ {
			unscaled *= 10
		}
		if neg && unscaled > limit+1 || !neg && unscaled > limit {
			return "", "out of range"
		}
	}
	var buf [96]byte
	b := buf[:0]
	if neg {
		b = append(b, '-')
	}
	if intDigits == "" {
		b = append(b, '0')
	} else {
		b = append(b, intDigits...)
	}
	if scale > 0 {
		b = append(b, '.')
		b = append(b, fracDigits...)
		for j := len(fracDigits); j < scale; j++ {
			b = append(b, '0')
		}
	}
	if string(b) == text {
		return Decimal(text), ""
	}
	return Decimal(b), ""
}

// splitDecimal returns the significant parts of a plain decimal: its sign, its integer digits
// without leading zeros and its fraction digits without trailing zeros. Zero is never negative.
func splitDecimal(s string) (neg bool, intDigits, fracDigits string) {
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intDigits, fracDigits, _ = strings.Cut(s, ".")
	intDigits = strings.TrimLeft(intDigits, "0")
	fracDigits = strings.TrimRight(fracDigits, "0")
	if intDigits == "" && fracDigits == "" {
		neg = false
	}
	return neg, intDigits, fracDigits
}

func equalDecimals(a, b string) bool {
	na, ia, fa := splitDecimal(a)
	nb, ib, fb := splitDecimal(b)
	return na == nb && ia == ib && fa == fb
}
