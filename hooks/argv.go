package hooks

import (
	"fmt"
	"strings"
)

// shellOnly are the characters that mean something only to a shell: unquoted, they are refused,
// since a hook command runs without one and would otherwise get them as plain arguments.
const shellOnly = "|&;<>()$`"

// SplitArgs splits a command line into its arguments the way a POSIX shell does with quotes and
// backslashes, and with nothing else: blanks separate arguments; 'single quotes' keep everything
// literally; "double quotes" keep everything but a backslash before $ ` " \ or a newline; outside
// quotes a backslash keeps the next character (and a backslash-newline is dropped). Nothing is
// expanded: an unquoted | & ; < > ( ) $ ` or a # that starts a word is refused, naming the
// character, because without a shell it would not do what it does in one.
func SplitArgs(s string) ([]string, error) {
	var (
		args    []string
		cur     strings.Builder
		inWord  bool
		runes   = []rune(s)
		quoteAt int
	)
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		switch {
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				args = append(args, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '\\':
			if i+1 == len(runes) {
				return nil, fmt.Errorf("command %q ends with a backslash that escapes nothing", s)
			}
			i++
			if runes[i] == '\n' {
				continue // a line continuation
			}
			cur.WriteRune(runes[i])
			inWord = true
		case r == '\'':
			quoteAt = i
			i++
			for i < len(runes) && runes[i] != '\'' {
				cur.WriteRune(runes[i])
				i++
			}
			if i == len(runes) {
				return nil, fmt.Errorf("command %q: the single quote at character %d is not closed", s, quoteAt+1)
			}
			inWord = true
		case r == '"':
			quoteAt = i
			i++
			for ; i < len(runes) && runes[i] != '"'; i++ {
				if runes[i] == '\\' && i+1 < len(runes) && strings.ContainsRune("$`\"\\\n", runes[i+1]) {
					i++
					if runes[i] == '\n' {
						continue
					}
				}
				cur.WriteRune(runes[i])
			}
			if i == len(runes) {
				return nil, fmt.Errorf("command %q: the double quote at character %d is not closed", s, quoteAt+1)
			}
			inWord = true
		case strings.ContainsRune(shellOnly, r) || (r == '#' && !inWord):
			return nil, fmt.Errorf("command %q: %q at character %d means something only to a shell, and hooks run without one: quote it, or put the command in a script (or run sh -c '…')", s, r, i+1)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("command %q is empty", s)
	}
	return args, nil
}
