package hooks

import (
	"slices"
	"strings"
	"testing"
)

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string // a part of the error, when one is expected
	}{
		{in: "drop-index", want: []string{"drop-index"}},
		{in: "  /usr/bin/env   sh\t-c  ", want: []string{"/usr/bin/env", "sh", "-c"}},
		{in: `psql "dbname=Mirror_x host=db" -c 'DROP INDEX IF EXISTS ix'`, want: []string{"psql", "dbname=Mirror_x host=db", "-c", "DROP INDEX IF EXISTS ix"}},
		{in: `sh -c 'echo $MIRRORD_TENANT | tee -a /tmp/log'`, want: []string{"sh", "-c", "echo $MIRRORD_TENANT | tee -a /tmp/log"}},
		{in: `a\ b c`, want: []string{"a b", "c"}},
		{in: `a\\b`, want: []string{`a\b`}},
		{in: `"a\"b" "c\\d" "e\f" "\$x"`, want: []string{`a"b`, `c\d`, `e\f`, `$x`}},
		{in: `'it''s'`, want: []string{"its"}},
		{in: `'a\b'`, want: []string{`a\b`}},
		{in: `x"y"'z'`, want: []string{"xyz"}},
		{in: `"" ''`, want: []string{"", ""}},
		{in: "a \\\nb", want: []string{"a", "b"}},
		{in: "\"a\\\nb\"", want: []string{"ab"}},
		{in: `a#b`, want: []string{"a#b"}},
		{in: `'#' "|" \;`, want: []string{"#", "|", ";"}},
		{in: `grüß "dich Ω"`, want: []string{"grüß", "dich Ω"}},
		{in: "", err: "is empty"},
		{in: "   ", err: "is empty"},
		{in: `'open`, err: "single quote at character 1 is not closed"},
		{in: `a "open`, err: "double quote at character 3 is not closed"},
		{in: `trailing\`, err: "ends with a backslash"},
		{in: `a | b`, err: `'|' at character 3`},
		{in: `a;b`, err: `';'`},
		{in: `a > out`, err: `'>'`},
		{in: `echo $HOME`, err: `'$'`},
		{in: "echo `id`", err: "'`'"},
		{in: `a && b`, err: `'&'`},
		{in: `(a)`, err: `'('`},
		{in: `a # comment`, err: `'#' at character 3`},
	}
	for _, c := range cases {
		got, err := SplitArgs(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("SplitArgs(%q) = %q, %v; want an error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("SplitArgs(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
