package schema

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// A column spec is the short text form that test cases use for a column:
//
//	name type[(n|max|p,s)] [null] [key] [default text]
//
// A column is NOT NULL unless marked null. Everything after " default " is the column's
// default, kept exactly as written (spaces, tabs and newlines too: trimming is Normalize's job). The number in parentheses goes where the type keeps
// it: precision and scale for decimal and numeric, fractional digits for time, datetime2 and
// datetimeoffset, the length for every other type (so "int(4)" sets an irrelevant Length that
// Normalize must drop). The type text is kept as written: case and aliases are Normalize's job.
func parseColumn(spec string) (Column, error) {
	head, def, hasDefault := strings.Cut(spec, " default ")
	fields := strings.Fields(head)
	if len(fields) < 2 {
		return Column{}, fmt.Errorf("column spec %q: want name and type", spec)
	}
	c := Column{Name: fields[0]}
	typ, args, hasArgs := strings.Cut(fields[1], "(")
	c.Type = Type(typ)
	if hasArgs {
		args, ok := strings.CutSuffix(args, ")")
		if !ok {
			return Column{}, fmt.Errorf("column spec %q: type %q lacks its closing parenthesis", spec, fields[1])
		}
		if err := setTypeArgs(&c, args); err != nil {
			return Column{}, fmt.Errorf("column spec %q: %w", spec, err)
		}
	}
	for _, flag := range fields[2:] {
		switch flag {
		case "null":
			c.Nullable = true
		case "key":
			c.PrimaryKey = true
		default:
			return Column{}, fmt.Errorf("column spec %q: unknown flag %q", spec, flag)
		}
	}
	if hasDefault {
		c.Default = def
	}
	return c, nil
}

func setTypeArgs(c *Column, args string) error {
	first, second, two := strings.Cut(args, ",")
	number := func(s string) (int, error) {
		if strings.EqualFold(s, "max") {
			return Max, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("type argument %q is not a number or max", s)
		}
		return n, nil
	}
	a, err := number(first)
	if err != nil {
		return err
	}
	rule := typeRules[Type(strings.ToLower(string(c.Type)))]
	switch {
	case rule.decimal:
		c.Precision = a
		if two {
			if c.Scale, err = number(second); err != nil {
				return err
			}
		}
		return nil
	case two:
		return fmt.Errorf("type %s takes one argument, not %q", c.Type, args)
	case rule.fraction:
		c.Scale = a
	default:
		c.Length = a
	}
	return nil
}

// formatColumn writes c back as a spec; for a normalized column, parseColumn(formatColumn(c)) == c.
func formatColumn(c Column) string {
	s := c.Name + " " + c.TypeString()
	if c.Nullable {
		s += " null"
	}
	if c.PrimaryKey {
		s += " key"
	}
	if c.Default != "" {
		s += " default " + c.Default
	}
	return s
}

func formatColumns(cols []Column) []string {
	if len(cols) == 0 {
		return nil
	}
	specs := make([]string, len(cols))
	for i, c := range cols {
		specs[i] = formatColumn(c)
	}
	return specs
}

func parseTable(t testing.TB, name string, specs []string) Table {
	t.Helper()
	table := Table{Name: name}
	for _, spec := range specs {
		c, err := parseColumn(spec)
		if err != nil {
			t.Fatal(err)
		}
		table.Columns = append(table.Columns, c)
	}
	return table
}

func TestColumnSpec(t *testing.T) {
	cases := []struct {
		spec string
		want Column
	}{
		{"id int key", Column{Name: "id", Type: Int, PrimaryKey: true}},
		{"n int(4) null", Column{Name: "n", Type: Int, Length: 4, Nullable: true}},
		{"s nvarchar(max) null", Column{Name: "s", Type: NVarChar, Length: Max, Nullable: true}},
		{"s VarChar(12)", Column{Name: "s", Type: "VarChar", Length: 12}},
		{"d decimal(19,4)", Column{Name: "d", Type: Decimal, Precision: 19, Scale: 4}},
		{"d numeric(9)", Column{Name: "d", Type: Numeric, Precision: 9}},
		{"t datetime2(3) null", Column{Name: "t", Type: DateTime2, Scale: 3, Nullable: true}},
		{"v rowversion", Column{Name: "v", Type: "rowversion"}},
		{"n int default ((0))", Column{Name: "n", Type: Int, Default: "((0))"}},
		{"s nvarchar(50) null key default (N'a  b')", Column{Name: "s", Type: NVarChar, Length: 50, Nullable: true, PrimaryKey: true, Default: "(N'a  b')"}},
		{"t datetime default  (getdate())\t", Column{Name: "t", Type: DateTime, Default: " (getdate())\t"}},
		{"default int default (N' default ')", Column{Name: "default", Type: Int, Default: "(N' default ')"}},
	}
	for _, tc := range cases {
		got, err := parseColumn(tc.spec)
		if err != nil {
			t.Fatalf("%q: %v", tc.spec, err)
		}
		if got != tc.want {
			t.Errorf("parseColumn(%q) = %+v, want %+v", tc.spec, got, tc.want)
		}
		if n := got.Normalize(); Known(n.Type) {
			if back, err := parseColumn(formatColumn(n)); err != nil || back != n {
				t.Errorf("%q: format/parse round trip gives %+v, %v; want %+v", tc.spec, back, err, n)
			}
		}
	}
	for _, bad := range []string{"id", "id int(4", "id int(x)", "id int secret", "id int(1,2)", "id int default", "id default ((0))"} {
		if _, err := parseColumn(bad); err == nil {
			t.Errorf("parseColumn(%q) accepted a malformed spec", bad)
		}
	}
}
