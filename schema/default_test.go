package schema

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// defaultCases are catalog texts and what ParseDefault reads in them; the fuzz target starts
// from them too.
var defaultCases = []struct {
	name string
	text string
	want Default // Text is always the input and is not repeated here
}{
	{"empty", "", Default{Kind: DefaultNone}},
	{"blank", " \t\r\n", Default{Kind: DefaultNone}},

	{"zero", "((0))", Default{Kind: DefaultNumber, Value: "0"}},
	{"one in three pairs", "(((1)))", Default{Kind: DefaultNumber, Value: "1"}},
	{"one in one pair", "(1)", Default{Kind: DefaultNumber, Value: "1"}},
	{"bare number", "42", Default{Kind: DefaultNumber, Value: "42"}},
	{"negative", "((-1))", Default{Kind: DefaultNumber, Value: "-1"}},
	{"minus of a parenthesized number", "(-(1))", Default{Kind: DefaultNumber, Value: "-1"}},
	{"minus of a number in two pairs", "(-((25)))", Default{Kind: DefaultNumber, Value: "-25"}},
	{"decimal", "((0.00))", Default{Kind: DefaultNumber, Value: "0.00"}},
	{"negative decimal", "((-12.50))", Default{Kind: DefaultNumber, Value: "-12.50"}},
	{"trailing point", "((1.))", Default{Kind: DefaultNumber, Value: "1."}},
	{"leading point", "((.5))", Default{Kind: DefaultNumber, Value: ".5"}},
	{"exponent", "((1.5E+3))", Default{Kind: DefaultNumber, Value: "1.5E+3"}},
	{"negative exponent", "((-2e-7))", Default{Kind: DefaultNumber, Value: "-2e-7"}},
	{"spaces inside", " ( ( 0 ) ) ", Default{Kind: DefaultNumber, Value: "0"}},
	{"surrounding whitespace", "\t((7))\r\n", Default{Kind: DefaultNumber, Value: "7"}},
	{"white space as TrimSpace sees it, inside too", "\f(\u00a0(0)\v)", Default{Kind: DefaultNumber, Value: "0"}},
	{"spaces after the minus", "(- (1))", Default{Kind: DefaultNumber, Value: "-1"}},

	{"national string", "(N'abc')", Default{Kind: DefaultString, Value: "abc", National: true}},
	{"national empty string", "(N'')", Default{Kind: DefaultString, Value: "", National: true}},
	{"empty string", "('')", Default{Kind: DefaultString, Value: ""}},
	{"doubled quote", "(N'it''s')", Default{Kind: DefaultString, Value: "it's", National: true}},
	{"only a quote", "('''')", Default{Kind: DefaultString, Value: "'"}},
	{"lower-case n", "(n'x')", Default{Kind: DefaultString, Value: "x", National: true}},
	{"string of a number", "('0')", Default{Kind: DefaultString, Value: "0"}},
	{"string of a date", "('1970-01-01T00:00:00.0000000')", Default{Kind: DefaultString, Value: "1970-01-01T00:00:00.0000000"}},
	{"string of a GUID", "('bf8df35b-2f45-4a79-a49c-d3aca4a12cd6')", Default{Kind: DefaultString, Value: "bf8df35b-2f45-4a79-a49c-d3aca4a12cd6"}},
	{"parentheses in a string", "(N'a(b))c')", Default{Kind: DefaultString, Value: "a(b))c", National: true}},
	{"brackets in a string", "('[x')", Default{Kind: DefaultString, Value: "[x"}},
	{"spaces in a string", "(N'  a  b ')", Default{Kind: DefaultString, Value: "  a  b ", National: true}},
	{"line break in a string", "('a\r\nb')", Default{Kind: DefaultString, Value: "a\r\nb"}},
	{"non-ASCII string", "(N'blåbær')", Default{Kind: DefaultString, Value: "blåbær", National: true}},
	{"string in two pairs", "((N'x'))", Default{Kind: DefaultString, Value: "x", National: true}},

	{"binary", "(0x00FF)", Default{Kind: DefaultBinary, Value: "00FF"}},
	{"binary in lower case", "((0xabcd))", Default{Kind: DefaultBinary, Value: "abcd"}},
	{"binary with capital X", "(0X01)", Default{Kind: DefaultBinary, Value: "01"}},
	{"empty binary", "(0x)", Default{Kind: DefaultBinary, Value: ""}},

	{"NULL", "(NULL)", Default{Kind: DefaultNull}},
	{"null in lower case", "((null))", Default{Kind: DefaultNull}},

	{"getdate", "(getdate())", Default{Kind: DefaultNow, Value: "getdate"}},
	{"GETDATE", "(GETDATE())", Default{Kind: DefaultNow, Value: "getdate"}},
	{"GetDate with spaces", "( GetDate ( ) )", Default{Kind: DefaultNow, Value: "getdate"}},
	{"sysdatetime", "(sysdatetime())", Default{Kind: DefaultNow, Value: "sysdatetime"}},
	{"current_timestamp", "(CURRENT_TIMESTAMP)", Default{Kind: DefaultNow, Value: "getdate"}},
	{"current_timestamp bare", "current_timestamp", Default{Kind: DefaultNow, Value: "getdate"}},
	{"getutcdate", "(getutcdate())", Default{Kind: DefaultUTCNow, Value: "getutcdate"}},
	{"sysutcdatetime", "(SYSUTCDATETIME())", Default{Kind: DefaultUTCNow, Value: "sysutcdatetime"}},
	{"sysdatetimeoffset", "(sysdatetimeoffset())", Default{Kind: DefaultNowOffset, Value: "sysdatetimeoffset"}},
	{"newid", "(newid())", Default{Kind: DefaultNewID, Value: "newid"}},
	{"NEWID", "(NEWID())", Default{Kind: DefaultNewID, Value: "newid"}},
	{"newsequentialid", "(newsequentialid())", Default{Kind: DefaultNewID, Value: "newsequentialid"}},

	{"convert to bit", "(CONVERT([bit],(0)))", Default{Kind: DefaultOther}},
	{"user function", "([dbo].[fn]())", Default{Kind: DefaultOther}},
	{"sum", "((1)+(2))", Default{Kind: DefaultOther}},
	{"two numbers side by side", "(1)(2)", Default{Kind: DefaultOther}},
	{"user_name", "(user_name())", Default{Kind: DefaultOther}},
	{"date arithmetic", "(dateadd(day,(10),getdate()))", Default{Kind: DefaultOther}},
	{"getdate plus one", "(getdate()+(1))", Default{Kind: DefaultOther}},
	{"getdate with an argument", "(getdate(1))", Default{Kind: DefaultOther}},
	{"getdate without parentheses", "(getdate)", Default{Kind: DefaultOther}},
	{"current_timestamp called", "(current_timestamp())", Default{Kind: DefaultOther}},
	{"unknown function", "(rand())", Default{Kind: DefaultOther}},
	{"concatenation", "('a'+'b')", Default{Kind: DefaultOther}},
	{"two strings", "(N'a' N'b')", Default{Kind: DefaultOther}},
	{"sequence", "(NEXT VALUE FOR [seq])", Default{Kind: DefaultOther}},
	{"money", "(($1.00))", Default{Kind: DefaultOther}},
	{"unary plus", "((+1))", Default{Kind: DefaultOther}},
	{"double minus", "((--1))", Default{Kind: DefaultOther}},
	{"minus of a negative", "(-(-1))", Default{Kind: DefaultOther}},
	{"minus alone", "(-)", Default{Kind: DefaultOther}},
	{"minus of a string", "(-('1'))", Default{Kind: DefaultOther}},
	{"two points", "((1.2.3))", Default{Kind: DefaultOther}},
	{"point alone", "((.))", Default{Kind: DefaultOther}},
	{"exponent without digits", "((1e))", Default{Kind: DefaultOther}},
	{"exponent without mantissa", "((e5))", Default{Kind: DefaultOther}},
	{"binary with odd digits", "(0x123)", Default{Kind: DefaultOther}},
	{"binary with a non-hex digit", "(0x0G)", Default{Kind: DefaultOther}},
	{"N alone", "(N)", Default{Kind: DefaultOther}},
	{"name in quotes", `("x")`, Default{Kind: DefaultOther}},

	{"unbalanced open", "((0)", Default{Kind: DefaultOther}},
	{"unbalanced close", "(0))", Default{Kind: DefaultOther}},
	{"close before open", ")0(", Default{Kind: DefaultOther}},
	{"open alone", "(", Default{Kind: DefaultOther}},
	{"empty parentheses", "()", Default{Kind: DefaultOther}},
	{"empty nested parentheses", "(())", Default{Kind: DefaultOther}},
	{"unterminated string", "(N'abc)", Default{Kind: DefaultOther}},
	{"string ended by a doubled quote", "('it''s)", Default{Kind: DefaultOther}},
	{"quote alone", "'", Default{Kind: DefaultOther}},
	{"unterminated bracket", "([dbo].[fn())", Default{Kind: DefaultOther}},
	{"unterminated quoted name", `("fn())`, Default{Kind: DefaultOther}},
	{"text after a string", "('a')x", Default{Kind: DefaultOther}},
	{"NUL", "(\x00)", Default{Kind: DefaultOther}},
	{"not UTF-8", "('\xff')", Default{Kind: DefaultString, Value: "\xff"}},
}

func TestParseDefault(t *testing.T) {
	for _, tc := range defaultCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			want.Text = tc.text
			got := ParseDefault(tc.text)
			if got != want {
				t.Fatalf("ParseDefault(%q) = %+v, want %+v", tc.text, got, want)
			}
			checkParsedDefault(t, tc.text, got)
		})
	}
}

func TestSQLServerText(t *testing.T) {
	cases := []struct {
		d    Default
		want string
	}{
		{Default{}, ""},
		{Default{Kind: DefaultNone, Text: "ignored"}, ""},
		{Default{Kind: DefaultNull}, "(NULL)"},
		{Default{Kind: DefaultNumber, Value: "0"}, "((0))"},
		{Default{Kind: DefaultNumber, Value: "-1"}, "((-1))"},
		{Default{Kind: DefaultNumber, Value: "0.00"}, "((0.00))"},
		{Default{Kind: DefaultString, Value: "it's", National: true}, "(N'it''s')"},
		{Default{Kind: DefaultString, Value: ""}, "('')"},
		{Default{Kind: DefaultString, Value: "''"}, "('''''')"},
		{Default{Kind: DefaultBinary, Value: "00FF"}, "(0x00FF)"},
		{Default{Kind: DefaultNow, Value: "sysdatetime"}, "(sysdatetime())"},
		{Default{Kind: DefaultNow}, "(getdate())"},
		{Default{Kind: DefaultUTCNow}, "(getutcdate())"},
		{Default{Kind: DefaultNowOffset}, "(sysdatetimeoffset())"},
		{Default{Kind: DefaultNewID}, "(newid())"},
		{Default{Kind: DefaultNewID, Value: "newsequentialid"}, "(newsequentialid())"},
		{Default{Kind: DefaultOther, Text: "(CONVERT([bit],(0)))"}, "(CONVERT([bit],(0)))"},
		{Default{Kind: DefaultKind(99), Text: "(x)"}, "(x)"},
	}
	for _, tc := range cases {
		if got := tc.d.SQLServerText(); got != tc.want {
			t.Errorf("%+v.SQLServerText() = %q, want %q", tc.d, got, tc.want)
		}
	}
	// The catalog's own spellings come back unchanged.
	for _, text := range []string{"((0))", "((-1))", "((0.00))", "(N'it''s')", "('')", "(0x00FF)", "(NULL)",
		"(getdate())", "(sysutcdatetime())", "(newid())", "(CONVERT([bit],(0)))"} {
		if got := ParseDefault(text).SQLServerText(); got != text {
			t.Errorf("ParseDefault(%q).SQLServerText() = %q", text, got)
		}
	}
}

func TestDefaultKindString(t *testing.T) {
	want := []string{"none", "null", "number", "string", "binary", "now", "utcnow", "nowoffset", "newid", "other"}
	for k, w := range want {
		if got := DefaultKind(k).String(); got != w {
			t.Errorf("DefaultKind(%d).String() = %q, want %q", k, got, w)
		}
	}
	if got := DefaultKind(len(want)).String(); got != "DefaultKind(10)" {
		t.Errorf("an unknown kind reads %q", got)
	}
}

func FuzzParseDefault(f *testing.F) {
	for _, tc := range defaultCases {
		f.Add(tc.text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		checkParsedDefault(t, text, ParseDefault(text))
	})
}

// checkParsedDefault checks what every result of ParseDefault(text) must satisfy.
func checkParsedDefault(t *testing.T, text string, d Default) {
	t.Helper()
	if d.Text != text {
		t.Fatalf("ParseDefault(%q).Text = %q, want the text itself", text, d.Text)
	}
	if blank := strings.TrimSpace(text) == ""; blank != (d.Kind == DefaultNone) {
		t.Fatalf("ParseDefault(%q) is %s", text, d.Kind)
	}
	if d.National && d.Kind != DefaultString {
		t.Fatalf("ParseDefault(%q) = %+v: national but no string", text, d)
	}
	switch d.Kind {
	case DefaultNone, DefaultNull, DefaultOther:
		if d.Value != "" {
			t.Fatalf("ParseDefault(%q) = %+v: a value for %s", text, d, d.Kind)
		}
		if d.Kind == DefaultOther && d.SQLServerText() != text {
			t.Fatalf("ParseDefault(%q) is other, but SQLServerText gives %q", text, d.SQLServerText())
		}
		if d.Kind != DefaultNull {
			return
		}
	case DefaultNumber:
		// A target writes the value unquoted: it must be a plain number and nothing else.
		if strings.Trim(d.Value, "0123456789.eE+-") != "" {
			t.Fatalf("ParseDefault(%q) = number %q, which holds more than digits, point, sign and exponent", text, d.Value)
		}
		if _, err := strconv.ParseFloat(d.Value, 64); err != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatalf("ParseDefault(%q) = number %q, which is no number: %v", text, d.Value, err)
		}
	case DefaultBinary:
		if len(d.Value)%2 != 0 || strings.Trim(d.Value, "0123456789abcdefABCDEF") != "" {
			t.Fatalf("ParseDefault(%q) = binary %q, want whole bytes of hex digits", text, d.Value)
		}
	case DefaultNow, DefaultUTCNow, DefaultNowOffset, DefaultNewID:
		if defaultFuncs[d.Value] != d.Kind {
			t.Fatalf("ParseDefault(%q) = %s named %q", text, d.Kind, d.Value)
		}
	case DefaultString:
	default:
		t.Fatalf("ParseDefault(%q) has unknown kind %d", text, int(d.Kind))
	}

	// Written back as SQL Server would write it, it reads the same, and writes the same again.
	sql := d.SQLServerText()
	again := ParseDefault(sql)
	if again.Kind != d.Kind || again.Value != d.Value || again.National != d.National {
		t.Fatalf("ParseDefault(%q) = %+v, written back as %q, which reads %+v", text, d, sql, again)
	}
	if back := again.SQLServerText(); back != sql {
		t.Fatalf("ParseDefault(%q) writes %q, which reads and writes as %q", text, sql, back)
	}
	// One more pair of parentheses changes nothing.
	if wrapped := ParseDefault("(" + text + ")"); wrapped.Kind != d.Kind || wrapped.Value != d.Value || wrapped.National != d.National {
		t.Fatalf("ParseDefault(%q) = %+v, but in parentheses it reads %+v", text, d, wrapped)
	}
}
