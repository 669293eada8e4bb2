package deploy_test

import (
	"fmt"
	"strconv"
	"strings"
)

// selector is one series selector of a PromQL expression: a metric name and its label matchers.
type selector struct {
	name     string
	matchers []matcher
}

type matcher struct{ label, op, value string }

// scanned is what an expression selects: its selectors and the label names that its by, without,
// on, ignoring, group_left and group_right clauses name.
type scanned struct {
	selectors []selector
	grouping  []string
}

var (
	aggregators = words("sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio")
	groupers    = words("by without on ignoring group_left group_right")
	keywords    = words("and or unless bool offset atan2 inf nan start end")
)

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanPromQL reads the metric names, matchers and grouping labels out of a PromQL expression (or
// one with Grafana's $variables in it). It is a lexer, not a parser: promtool checks the syntax.
// Words followed by "(" are functions; aggregation operators and keywords are not metric names;
// strings, durations in [...] and $variables are skipped.
func scanPromQL(s string) (scanned, error) {
	var out scanned
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			_, j, err := readString(s, i)
			if err != nil {
				return out, err
			}
			i = j
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return out, fmt.Errorf("unclosed [ at %d", i)
			}
			i += j + 1
		case c == '{':
			ms, j, err := readMatchers(s, i)
			if err != nil {
				return out, err
			}
			out.selectors = append(out.selectors, selector{matchers: ms})
			i = j
		case c == '$':
			i++
			if i < len(s) && s[i] == '{' {
				j := strings.IndexByte(s[i:], '}')
				if j < 0 {
					return out, fmt.Errorf("unclosed ${ at %d", i)
				}
				i += j + 1
			} else {
				for i < len(s) && isIdent(s[i]) {
					i++
				}
			}
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			for i < len(s) && (isIdent(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdent(s[j]) {
				j++
			}
			word := s[i:j]
			k := j
			for k < len(s) && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r') {
				k++
			}
			switch {
			case groupers[word]:
				i = j
				if k < len(s) && s[k] == '(' {
					end := strings.IndexByte(s[k:], ')')
					if end < 0 {
						return out, fmt.Errorf("unclosed %s ( at %d", word, k)
					}
					for _, l := range strings.Split(s[k+1:k+end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							out.grouping = append(out.grouping, l)
						}
					}
					i = k + end + 1
				}
			case aggregators[word] || keywords[word]:
				i = j
			case k < len(s) && s[k] == '(':
				i = j // a function
			default:
				sel := selector{name: word}
				i = j
				if k < len(s) && s[k] == '{' {
					ms, e, err := readMatchers(s, k)
					if err != nil {
						return out, err
					}
					sel.matchers, i = ms, e
				}
				out.selectors = append(out.selectors, sel)
			}
		default:
			i++
		}
	}
	return out, nil
}

// readString reads the quoted string that starts at s[i] and returns its value and the index
// after it.
func readString(s string, i int) (string, int, error) {
	q := s[i]
	j := i + 1
	for j < len(s) && s[j] != q {
		if s[j] == '\\' && q != '`' {
			j++
		}
		j++
	}
	if j >= len(s) {
		return "", 0, fmt.Errorf("unclosed string at %d", i)
	}
	raw := s[i+1 : j]
	if q == '`' {
		return raw, j + 1, nil
	}
	v, err := strconv.Unquote(`"` + strings.ReplaceAll(raw, `\'`, `'`) + `"`)
	if err != nil {
		return "", 0, fmt.Errorf("string at %d: %v", i, err)
	}
	return v, j + 1, nil
}

// readMatchers reads {label op "value", ...} starting at s[i] == '{'.
func readMatchers(s string, i int) ([]matcher, int, error) {
	var ms []matcher
	i++
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == ',' || s[i] == '\n' || s[i] == '\t') {
			i++
		}
		if i >= len(s) {
			return nil, 0, fmt.Errorf("unclosed {")
		}
		if s[i] == '}' {
			return ms, i + 1, nil
		}
		j := i
		for j < len(s) && isIdent(s[j]) {
			j++
		}
		if j == i {
			return nil, 0, fmt.Errorf("label name expected at %d: %q", i, s[i:])
		}
		m := matcher{label: s[i:j]}
		for j < len(s) && s[j] == ' ' {
			j++
		}
		for _, op := range []string{"=~", "!~", "!=", "="} {
			if strings.HasPrefix(s[j:], op) {
				m.op = op
				break
			}
		}
		if m.op == "" {
			return nil, 0, fmt.Errorf("matcher operator expected at %d: %q", j, s[j:])
		}
		j += len(m.op)
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j >= len(s) || (s[j] != '"' && s[j] != '\'' && s[j] != '`') {
			return nil, 0, fmt.Errorf("quoted label value expected at %d", j)
		}
		v, e, err := readString(s, j)
		if err != nil {
			return nil, 0, err
		}
		m.value, i = v, e
		ms = append(ms, m)
	}
}
