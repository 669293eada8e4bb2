package tenant

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

//go:embed tables.txt
var tablesText string

// kind is the logical type of a SuperOffice column (the dictionary's type), which decides both
// its SQL Server type and what values look like.
type kind int

const (
	kindKey      kind = iota // PK
	kindRef                  // FK(t), Id, RecordId: a row id of some table
	kindInt                  // Int, UInt
	kindShort                // Short: signed 16 bits
	kindUShort               // UShort, TableNumber: 0 to 32767
	kindBool                 // Bool: smallint 0 or 1
	kindEnum                 // Enum(E): a small smallint
	kindDouble               // Double
	kindDateTime             // DateTime, UtcDateTime, Date, Time
	kindString               // String(n)
	kindClob                 // Clob, FKArray
	kindBlob                 // Blob
)

// columnDef is a column with what the generator needs to know beyond its SQL type.
type columnDef struct {
	schema.Column
	kind kind
	// ref is the table a kindRef column points at, in lower case ("" for an unknown table).
	ref string
	// chars is the most characters (UTF-16 code units) a string may hold: String(n) holds n.
	chars int
}

// tableDef is a table of the tenant as its generator sees it.
type tableDef struct {
	name   string
	number int
	cols   []columnDef
}

// Table is the schema.Table of the definition, as sent in TableSchema.
func (d *tableDef) Table() schema.Table {
	t := schema.Table{Name: d.name, Columns: make([]schema.Column, len(d.cols))}
	for i, c := range d.cols {
		t.Columns[i] = c.Column
	}
	return t
}

// superOfficeTables parses tables.txt. It panics on a malformed line since the file is part of
// the program: a test parses it.
func superOfficeTables() []*tableDef {
	defs, err := parseTables(tablesText)
	if err != nil {
		panic(err)
	}
	return defs
}

// parseTables reads the "table <name> <number>" blocks of column lines "name Type [null] [PK]".
func parseTables(text string) ([]*tableDef, error) {
	var defs []*tableDef
	var cur *tableDef
	for lineNo, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		where := func(format string, args ...any) error {
			return fmt.Errorf("tables.txt line %d %q: %s", lineNo+1, line, fmt.Sprintf(format, args...))
		}
		if fields[0] == "table" {
			if len(fields) != 3 {
				return nil, where("want: table <name> <number>")
			}
			n, err := strconv.Atoi(fields[2])
			if err != nil {
				return nil, where("table number is not a number")
			}
			cur = &tableDef{name: fields[1], number: n}
			defs = append(defs, cur)
			continue
		}
		if cur == nil || len(fields) < 2 {
			return nil, where("a column line outside a table, or without a type")
		}
		nullable, key := false, false
		for _, f := range fields[2:] {
			switch f {
			case "null":
				nullable = true
			case "PK":
				key = true
			default:
				return nil, where("unknown flag %q", f)
			}
		}
		names, err := expandNames(fields[0])
		if err != nil {
			return nil, where("%v", err)
		}
		for _, name := range names {
			c, err := logicalColumn(name, fields[1], nullable, key)
			if err != nil {
				return nil, where("%v", err)
			}
			cur.cols = append(cur.cols, c)
		}
	}
	for _, d := range defs {
		if _, err := d.Table().Validate(); err != nil {
			return nil, fmt.Errorf("tables.txt: %w", err)
		}
		if len(d.Table().Key()) != 1 {
			return nil, fmt.Errorf("tables.txt: table %s needs exactly one primary key column", d.name)
		}
	}
	return defs, nil
}

// expandNames turns "long01..long60" into long01, long02, … long60; any other name is itself.
func expandNames(spec string) ([]string, error) {
	from, to, ok := strings.Cut(spec, "..")
	if !ok {
		return []string{spec}, nil
	}
	split := func(s string) (string, int, int, error) {
		i := len(s)
		for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
			i--
		}
		n, err := strconv.Atoi(s[i:])
		if err != nil {
			return "", 0, 0, fmt.Errorf("range end %q has no number", s)
		}
		return s[:i], n, len(s) - i, nil
	}
	p1, a, width, err := split(from)
	if err != nil {
		return nil, err
	}
	p2, b, _, err := split(to)
	if err != nil {
		return nil, err
	}
	if p1 != p2 || b < a {
		return nil, fmt.Errorf("bad column range %q", spec)
	}
	var names []string
	for i := a; i <= b; i++ {
		names = append(names, fmt.Sprintf("%s%0*d", p1, width, i))
	}
	return names, nil
}

// logicalColumn maps a SuperOffice logical type to its SQL Server column, per the fact sheet:
// ids and Int are int; Short, UShort, Bool, Enum and TableNumber are smallint; Double is float;
// the date types are datetime; String(n) is nvarchar(n+1) (the length counts a terminating
// zero), nvarchar(max) beyond 4000; Clob and FKArray are nvarchar(max); Blob is varbinary(max).
func logicalColumn(name, logical string, nullable, key bool) (columnDef, error) {
	c := columnDef{Column: schema.Column{Name: name, Nullable: nullable, PrimaryKey: key}}
	base, arg, hasArg := strings.Cut(logical, "(")
	if hasArg {
		arg = strings.TrimSuffix(arg, ")")
	}
	switch base {
	case "PK":
		c.Type, c.kind = schema.Int, kindKey
	case "FK":
		c.Type, c.kind, c.ref = schema.Int, kindRef, strings.ToLower(arg)
	case "Id", "RecordId":
		c.Type, c.kind = schema.Int, kindRef
	case "Int", "UInt":
		c.Type, c.kind = schema.Int, kindInt
	case "Short":
		c.Type, c.kind = schema.SmallInt, kindShort
	case "UShort", "TableNumber":
		c.Type, c.kind = schema.SmallInt, kindUShort
	case "Bool":
		c.Type, c.kind = schema.SmallInt, kindBool
	case "Enum":
		c.Type, c.kind = schema.SmallInt, kindEnum
	case "Double":
		c.Type, c.kind = schema.Float, kindDouble
	case "DateTime", "UtcDateTime", "Date", "Time":
		c.Type, c.kind = schema.DateTime, kindDateTime
	case "String":
		n, err := strconv.Atoi(arg)
		if err != nil || n < 1 {
			return c, fmt.Errorf("column %s: bad string length %q", name, arg)
		}
		c.Type, c.kind, c.chars, c.Length = schema.NVarChar, kindString, n, n+1
		if n+1 > 4000 {
			c.Length = schema.Max
		}
	case "Clob", "FKArray":
		c.Type, c.kind, c.Length = schema.NVarChar, kindClob, schema.Max
	case "Blob":
		c.Type, c.kind, c.Length = schema.VarBinary, kindBlob, schema.Max
	default:
		return c, fmt.Errorf("column %s: unknown logical type %q", name, logical)
	}
	return c, nil
}

// Relative sizes of the tables: text and appointment largest, a few big tables, many small.
// Tables in fixedRows hold reference data whose size hardly grows with the tenant.
var (
	rowWeights = map[string]float64{
		"text": 22, "appointment": 18, "ej_message": 8, "person": 7, "phone": 6, "email": 5,
		"address": 5, "contact": 5, "document": 4, "ticket": 3, "sale": 3, "selectionmember": 2.5,
		"relations": 2, "projectmember": 1.5, "url": 1, "udcontactsmall": 1, "udpersonsmall": 1,
		"invoice": 0.6, "udcontactlarge": 0.5, "udpersonlarge": 0.5, "udsalesmall": 0.5,
		"salestakeholder": 0.5, "project": 0.5, "udprojectsmall": 0.3, "binary_object": 0.3,
		"selection": 0.2,
	}
	fixedRows = map[string]int64{"associate": 40, "country": 30, "category": 15, "business": 12, "relationdefinition": 8}
)

// tableSizes spreads scale rows over the tables by their weights, at least one row each.
func tableSizes(defs []*tableDef, scale int64) map[string]int64 {
	sizes := make(map[string]int64, len(defs))
	rest := scale
	var total float64
	for _, d := range defs {
		if n, ok := fixedRows[d.name]; ok {
			n = max(1, min(n, scale/100))
			sizes[d.name] = n
			rest -= n
			continue
		}
		total += weight(d.name)
	}
	for _, d := range defs {
		if _, ok := fixedRows[d.name]; ok {
			continue
		}
		sizes[d.name] = max(1, int64(float64(rest)*weight(d.name)/total+0.5))
	}
	return sizes
}

func weight(table string) float64 {
	if w, ok := rowWeights[table]; ok {
		return w
	}
	return 0.2
}
