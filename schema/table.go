package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Column is one column of a table as the source describes it.
type Column struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Length is in characters for character types, in bytes for binary types, Max for max;
	// zero for types that have no length.
	Length int `json:"length,omitempty"`
	// Precision and Scale are the digits of decimal and numeric. Scale is also the fractional
	// second digits (0 to 7) of time, datetime2 and datetimeoffset.
	Precision  int  `json:"precision,omitempty"`
	Scale      int  `json:"scale,omitempty"`
	Nullable   bool `json:"nullable"`
	PrimaryKey bool `json:"primaryKey,omitempty"`
	// Default is the column's default as SQL Server's catalog writes it
	// (sys.default_constraints.definition: "((0))", "(N'')", "(getdate())"); empty for none.
	// It is kept and compared verbatim; ParseDefault reads it for targets other than SQL Server.
	Default string `json:"default,omitempty"`
}

// Table is one table of a TableSchema message: its name and its columns in source order.
type Table struct {
	Name    string   `json:"name"`
	Columns []Column `json:"columns"`
}

// MaxNameLength is the longest table or column name accepted, as in SQL Server.
const MaxNameLength = 128

// CheckName reports whether name is 1 to 128 ASCII letters, digits and underscores. kind says
// what the name is ("table", "column", "tenant") so that the error names it.
func CheckName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("%s name is empty", kind)
	}
	if len(name) > MaxNameLength {
		return fmt.Errorf("%s name %.40q… is %d bytes long; at most %d are allowed", kind, name, len(name), MaxNameLength)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			continue
		}
		// Decode the whole character so that a non-ASCII letter is named as itself, not as its first byte.
		r, _ := utf8.DecodeRuneInString(name[i:])
		return fmt.Errorf("%s name %q has %q at byte %d; only ASCII letters, digits and underscore are allowed", kind, name, r, i+1)
	}
	return nil
}

// Normalize returns c in canonical form: the type in lower case (rowversion and timestamp as
// binary(8)), the attributes the type does not use set to zero, and the default without
// surrounding whitespace. The default's text is otherwise kept as written: SQL Server keeps it
// verbatim and compares it so. It does not validate.
func (c Column) Normalize() Column {
	c.Type = Type(strings.ToLower(strings.TrimSpace(string(c.Type))))
	c.Default = strings.TrimSpace(c.Default)
	if c.Type == "rowversion" || c.Type == "timestamp" {
		c.Type, c.Length = Binary, 8
	}
	r, ok := typeRules[c.Type]
	if !ok {
		return c
	}
	switch {
	case r.alwaysMax:
		c.Length = Max
	case r.maxLength == 0:
		c.Length = 0
	}
	if !r.decimal && !r.fraction {
		c.Precision, c.Scale = 0, 0
	}
	if r.fraction {
		c.Precision = 0
	}
	return c
}

// Check reports the first thing wrong with a normalized column, naming the table and column. A
// default is checked only as text (see MaxDefaultLength): any expression SQL Server accepts is
// valid here, since the targets keep what they cannot express apart rather than refuse it.
func (c Column) Check(table string) error {
	if err := CheckName("column", c.Name); err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	r, ok := typeRules[c.Type]
	if !ok {
		return fmt.Errorf("table %s, column %s: unknown type %q", table, c.Name, string(c.Type))
	}
	where := func(format string, args ...any) error {
		return fmt.Errorf("table %s, column %s (%s): %s", table, c.Name, c.Type, fmt.Sprintf(format, args...))
	}
	if r.maxLength > 0 {
		if c.Length == Max && !r.allowMax {
			return where("length max is not allowed")
		}
		if c.Length != Max && (c.Length < 1 || c.Length > r.maxLength) {
			return where("length %d is out of range 1 to %d", c.Length, r.maxLength)
		}
	}
	if r.decimal {
		if c.Precision < 1 || c.Precision > MaxPrecision {
			return where("precision %d is out of range 1 to %d", c.Precision, MaxPrecision)
		}
		if c.Scale < 0 || c.Scale > c.Precision {
			return where("scale %d is out of range 0 to %d", c.Scale, c.Precision)
		}
	}
	if r.fraction && (c.Scale < 0 || c.Scale > MaxFractionDigits) {
		return where("fractional seconds scale %d is out of range 0 to %d", c.Scale, MaxFractionDigits)
	}
	if c.PrimaryKey {
		if c.Nullable {
			return where("a primary key column cannot be nullable")
		}
		if !r.keyable || c.Length == Max {
			return where("a %s column cannot be part of a primary key", c.TypeString())
		}
	}
	if err := checkDefault(c.Default); err != nil {
		return where("%v", err)
	}
	return nil
}

// MaxDefaultLength is the longest default accepted, in characters: as many as SQL Server's
// INFORMATION_SCHEMA.COLUMNS.COLUMN_DEFAULT (nvarchar(4000)) can show. The catalog itself
// allows more (sys.default_constraints.definition is nvarchar(max)); a longer default is no
// plain value, and the mirror refuses it rather than carry it into every target's DDL.
const MaxDefaultLength = 4000

// checkDefault reports a default that is too long, is not UTF-8, or holds a control character
// other than tab, CR and LF: such text has no place in the DDL the targets write from it.
func checkDefault(d string) error {
	if n := utf8.RuneCountInString(d); n > MaxDefaultLength {
		return fmt.Errorf("default %.40q… is %d characters long; at most %d are allowed", d, n, MaxDefaultLength)
	}
	if !utf8.ValidString(d) {
		return fmt.Errorf("default %.40q is not valid UTF-8", d)
	}
	for i, r := range d {
		if unicode.IsControl(r) && r != '\t' && r != '\r' && r != '\n' {
			return fmt.Errorf("default %.40q has control character %q at byte %d", d, r, i+1)
		}
	}
	return nil
}

// TypeString is the column's type as SQL Server writes it: nvarchar(220), decimal(19,4), varbinary(max).
func (c Column) TypeString() string {
	r := typeRules[c.Type]
	switch {
	case r.alwaysMax:
		return string(c.Type)
	case r.maxLength > 0 && c.Length == Max:
		return string(c.Type) + "(max)"
	case r.maxLength > 0:
		return string(c.Type) + "(" + strconv.Itoa(c.Length) + ")"
	case r.decimal:
		return string(c.Type) + "(" + strconv.Itoa(c.Precision) + "," + strconv.Itoa(c.Scale) + ")"
	case r.fraction:
		return string(c.Type) + "(" + strconv.Itoa(c.Scale) + ")"
	}
	return string(c.Type)
}

// Normalize returns t with every column normalized. Column order is kept.
func (t Table) Normalize() Table {
	cols := make([]Column, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Normalize()
	}
	return Table{Name: t.Name, Columns: cols}
}

// Validate normalizes t and reports the first thing wrong with it: a bad table or column name,
// no columns, a column named twice (names compare without case, as in SQL Server), an unknown
// type, an attribute out of range, a primary key column that is nullable or cannot be a key, or
// a default longer than MaxDefaultLength or holding a control character other than tab, CR, LF.
func (t Table) Validate() (Table, error) {
	if err := CheckName("table", t.Name); err != nil {
		return Table{}, err
	}
	if len(t.Columns) == 0 {
		return Table{}, fmt.Errorf("table %s has no columns", t.Name)
	}
	n := t.Normalize()
	seen := make(map[string]bool, len(n.Columns))
	for _, c := range n.Columns {
		if err := c.Check(t.Name); err != nil {
			return Table{}, err
		}
		key := strings.ToLower(c.Name)
		if seen[key] {
			return Table{}, fmt.Errorf("table %s: column %s is named twice", t.Name, c.Name)
		}
		seen[key] = true
	}
	return n, nil
}

// Column returns the index of the column with this exact name, or -1.
func (t Table) Column(name string) int {
	for i, c := range t.Columns {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Key returns the indexes of the primary key columns, in column order; empty when the table has none.
func (t Table) Key() []int {
	var key []int
	for i, c := range t.Columns {
		if c.PrimaryKey {
			key = append(key, i)
		}
	}
	return key
}

// Hash is a hex SHA-256 over the canonical form of the normalized table: its name and each
// column's name, type, length, precision, scale, nullability and key membership, in order, and
// its default when it has one.
//
// Every mirror stores the hash of each table, and a changed hash reads as a changed schema. So
// the canonical form of a column without a default is exactly what it was before defaults were
// part of the model, and a default is appended only when there is one, as " <bytes>:<text>":
// the length tells where the text ends, whatever characters it holds.
func (t Table) Hash() string {
	var b strings.Builder
	b.WriteString(t.Name)
	for _, c := range t.Normalize().Columns {
		fmt.Fprintf(&b, "\n%s %s %d %d %d %t %t", c.Name, c.Type, c.Length, c.Precision, c.Scale, c.Nullable, c.PrimaryKey)
		if c.Default != "" {
			fmt.Fprintf(&b, " %d:%s", len(c.Default), c.Default)
		}
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
