package schema

import (
	"fmt"
	"strings"
	"unicode"
)

// DefaultKind is what a column's default is, as far as a target needs to know to write it in
// its own dialect.
type DefaultKind int

const (
	// DefaultNone: the column has no default.
	DefaultNone DefaultKind = iota
	// DefaultNull: the default is NULL.
	DefaultNull
	// DefaultNumber: a number literal, such as 0, -1, 0.00 or 1.5E+3.
	DefaultNumber
	// DefaultString: a string literal, 'abc' or N'abc'.
	DefaultString
	// DefaultBinary: a binary literal, such as 0x00FF.
	DefaultBinary
	// DefaultNow: the local date and time when the row is inserted: getdate(), sysdatetime(),
	// current_timestamp.
	DefaultNow
	// DefaultUTCNow: the UTC date and time when the row is inserted: getutcdate(), sysutcdatetime().
	DefaultUTCNow
	// DefaultNowOffset: the local date and time with the server's offset from UTC:
	// sysdatetimeoffset().
	DefaultNowOffset
	// DefaultNewID: a new GUID for each row: newid(), newsequentialid().
	DefaultNewID
	// DefaultOther: any other expression, and text that is no well-formed expression. Only SQL
	// Server can evaluate it, from Text; another target keeps it apart and reports it.
	DefaultOther
)

func (k DefaultKind) String() string {
	switch k {
	case DefaultNone:
		return "none"
	case DefaultNull:
		return "null"
	case DefaultNumber:
		return "number"
	case DefaultString:
		return "string"
	case DefaultBinary:
		return "binary"
	case DefaultNow:
		return "now"
	case DefaultUTCNow:
		return "utcnow"
	case DefaultNowOffset:
		return "nowoffset"
	case DefaultNewID:
		return "newid"
	case DefaultOther:
		return "other"
	}
	return fmt.Sprintf("DefaultKind(%d)", int(k))
}

// Default is a column's default read from SQL Server's catalog text, in a form each target can
// write in its own dialect.
type Default struct {
	Kind DefaultKind
	// Value is, for a number, its literal as written, minus sign included ("-1", "0.00",
	// "1.5E+3"): digits, at most one point, an optional exponent, nothing else, so a target may
	// write it unquoted. For a string, the string itself, its doubled quotes undone. For binary,
	// the hex digits after 0x, an even number of them, as written. For the functions, the
	// function's name in lower case ("getdate", "sysdatetime", "newsequentialid"; a
	// current_timestamp reads as getdate, its documented equivalent). Empty for the other kinds.
	Value string
	// National reports a string written N'…' (Unicode) rather than '…'.
	National bool
	// Text is the text that was parsed, exactly as given.
	Text string
}

// defaultFuncs are the functions a target can write in its own dialect, by lower-case name.
var defaultFuncs = map[string]DefaultKind{
	"getdate":           DefaultNow,
	"sysdatetime":       DefaultNow,
	"getutcdate":        DefaultUTCNow,
	"sysutcdatetime":    DefaultUTCNow,
	"sysdatetimeoffset": DefaultNowOffset,
	"newid":             DefaultNewID,
	"newsequentialid":   DefaultNewID,
}

// defaultFuncNames name a function of each kind, for a Default made without a Value.
var defaultFuncNames = map[DefaultKind]string{
	DefaultNow:       "getdate",
	DefaultUTCNow:    "getutcdate",
	DefaultNowOffset: "sysdatetimeoffset",
	DefaultNewID:     "newid",
}

// ParseDefault reads a default as SQL Server's catalog writes it
// (sys.default_constraints.definition): "((0))", "(-(1))", "(N'abc')" (a quote inside doubled),
// "(0x00FF)", "(NULL)", "(getdate())". It sees through any number of redundant parentheses
// around the expression and around a negative number's digits, reads function names without
// case, and tolerates spaces between tokens, which the catalog does not write. Empty or blank
// text is DefaultNone.
//
// It never fails: whatever it does not recognize as one of the kinds above, malformed text
// included (unbalanced parentheses, a string that does not end), is DefaultOther, which keeps
// the text for SQL Server and tells the other targets to keep the default apart. An error would
// say no more than that.
func ParseDefault(text string) Default {
	d := Default{Kind: DefaultOther, Text: text}
	s := strings.TrimSpace(text)
	if s == "" {
		d.Kind = DefaultNone
		return d
	}
	s, ok := unwrap(s)
	if !ok {
		return d
	}
	if strings.EqualFold(s, "NULL") {
		d.Kind = DefaultNull
	} else if v, ok := parseNumber(s); ok {
		d.Kind, d.Value = DefaultNumber, v
	} else if v, national, ok := parseString(s); ok {
		d.Kind, d.Value, d.National = DefaultString, v, national
	} else if v, ok := parseBinary(s); ok {
		d.Kind, d.Value = DefaultBinary, v
	} else if name, kind, ok := parseFunc(s); ok {
		d.Kind, d.Value = kind, name
	}
	return d
}

// SQLServerText writes d as SQL Server's catalog writes a default: a number as "((-1))", a
// string as "(N'abc')" or "('abc')" with each quote inside doubled, binary as "(0x00FF)", NULL as
// "(NULL)", a function as "(getdate())"; for DefaultOther it is Text, and for DefaultNone it is
// empty. For a d that ParseDefault made, ParseDefault of the result gives d back but for Text.
// It is the form to compare with a SQL Server catalog's text.
func (d Default) SQLServerText() string {
	switch d.Kind {
	case DefaultNone:
		return ""
	case DefaultNull:
		return "(NULL)"
	case DefaultNumber:
		return "((" + d.Value + "))"
	case DefaultString:
		prefix := ""
		if d.National {
			prefix = "N"
		}
		return "(" + prefix + "'" + strings.ReplaceAll(d.Value, "'", "''") + "')"
	case DefaultBinary:
		return "(0x" + d.Value + ")"
	case DefaultNow, DefaultUTCNow, DefaultNowOffset, DefaultNewID:
		name := d.Value
		if name == "" {
			name = defaultFuncNames[d.Kind]
		}
		return "(" + name + "())"
	}
	return d.Text
}

// unwrap returns s without the parentheses that enclose all of it, any number of pairs, and
// without the white space inside them. It reports false when s is malformed: a parenthesis without
// its pair, or a string, bracketed name or quoted name that does not end. Parentheses inside a
// string or name do not count.
func unwrap(s string) (string, bool) {
	match, ok := matchParens(s)
	if !ok {
		return "", false
	}
	lo, hi := 0, len(s) // s[lo:hi] is what is left inside the pairs taken off so far
	for {
		// White space as strings.TrimSpace sees it, as for the text as a whole.
		lo = hi - len(strings.TrimLeftFunc(s[lo:hi], unicode.IsSpace))
		hi = lo + len(strings.TrimRightFunc(s[lo:hi], unicode.IsSpace))
		if lo < hi && s[lo] == '(' && match[lo] == hi-1 {
			lo, hi = lo+1, hi-1
			continue
		}
		return s[lo:hi], true
	}
}

// matchParens maps the index of each opening parenthesis of s to the index of its closing one,
// skipping strings ('…'), bracketed names ([…]) and quoted names ("…"). It reports false when a
// parenthesis has no pair or a string or name does not end.
func matchParens(s string) (map[int]int, bool) {
	match := make(map[int]int)
	var open []int
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			open = append(open, i)
		case ')':
			if len(open) == 0 {
				return nil, false
			}
			match[open[len(open)-1]] = i
			open = open[:len(open)-1]
		case '\'', '[', '"':
			end := closingQuote(s, i)
			if end < 0 {
				return nil, false
			}
			i = end
		}
	}
	return match, len(open) == 0
}

// closingQuote returns the index of the quote that ends the string or name starting at s[i], or
// -1 when it does not end. A doubled closing quote stands for itself and does not end it.
func closingQuote(s string, i int) int {
	end := s[i]
	if end == '[' {
		end = ']'
	}
	for j := i + 1; j < len(s); j++ {
		if s[j] != end {
			continue
		}
		if j+1 < len(s) && s[j+1] == end {
			j++
			continue
		}
		return j
	}
	return -1
}

// parseNumber reads a number, negative ones as "-1" or "-(1)", and returns its text.
func parseNumber(s string) (string, bool) {
	sign := ""
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		// The catalog may write a negative number as the minus of a parenthesized one: (-(1)).
		if rest, ok = unwrap(rest); !ok {
			return "", false
		}
		sign, s = "-", rest
	}
	if !isUnsignedNumber(s) {
		return "", false
	}
	return sign + s, true
}

// isUnsignedNumber reports whether s is digits with at most one decimal point and at least one
// digit, then optionally an exponent: 0, 10, 0.00, 1., .5, 1.5E+3.
func isUnsignedNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// parseString reads a string literal, 'abc' or N'abc', that is all of s.
func parseString(s string) (value string, national bool, ok bool) {
	if len(s) > 0 && (s[0] == 'N' || s[0] == 'n') {
		national, s = true, s[1:]
	}
	if len(s) < 2 || s[0] != '\'' || closingQuote(s, 0) != len(s)-1 {
		return "", false, false
	}
	return strings.ReplaceAll(s[1:len(s)-1], "''", "'"), national, true
}

// parseBinary reads a binary literal, 0x and an even number of hex digits, and returns the
// digits. SQL Server accepts an odd number too, but its catalog writes whole bytes; an odd count
// is left to DefaultOther rather than guess how another target would read it.
func parseBinary(s string) (string, bool) {
	if len(s) < 2 || s[0] != '0' || s[1] != 'x' && s[1] != 'X' {
		return "", false
	}
	digits := s[2:]
	if len(digits)%2 != 0 {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return "", false
		}
	}
	return digits, true
}

// parseFunc reads a call without arguments of one of defaultFuncs, or current_timestamp, which
// T-SQL writes without parentheses and documents as the equivalent of getdate().
func parseFunc(s string) (name string, kind DefaultKind, ok bool) {
	if strings.EqualFold(s, "current_timestamp") {
		return "getdate", DefaultNow, true
	}
	name, args, found := strings.Cut(s, "(")
	if !found || strings.TrimSpace(args) != ")" {
		return "", 0, false
	}
	name = strings.ToLower(strings.TrimSpace(name))
	kind, ok = defaultFuncs[name]
	return name, kind, ok
}
