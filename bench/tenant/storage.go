package tenant

// The tenant file: each table's data table, its columns without a declared type so that SQLite
// keeps each value as bound, and the values' encoding.

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// quote quotes a checked identifier for SQLite.
func quote(name string) string { return `"` + name + `"` }

// storedColumn is how a column definition is kept in _tenant_tables, with what the generator
// needs. Kind is the kind constant's number.
type storedColumn struct {
	schema.Column
	Kind  int    `json:"kind"`
	Ref   string `json:"ref,omitempty"`
	Chars int    `json:"chars,omitempty"`
}

type storedTable struct {
	Name    string         `json:"name"`
	Number  int            `json:"number"`
	Columns []storedColumn `json:"columns"`
}

func encodeDefinition(d *tableDef) (string, error) {
	st := storedTable{Name: d.name, Number: d.number}
	for _, c := range d.cols {
		st.Columns = append(st.Columns, storedColumn{Column: c.Column, Kind: int(c.kind), Ref: c.ref, Chars: c.chars})
	}
	b, err := json.Marshal(st)
	return string(b), err
}

func decodeDefinition(text string) (*tableDef, error) {
	var st storedTable
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		return nil, fmt.Errorf("a table definition does not parse: %w", err)
	}
	d := &tableDef{name: st.Name, number: st.Number}
	for _, c := range st.Columns {
		d.cols = append(d.cols, columnDef{Column: c.Column, kind: kind(c.Kind), ref: c.Ref, chars: c.Chars})
	}
	if _, err := d.Table().Validate(); err != nil {
		return nil, err
	}
	if k := d.Table().Key(); len(k) != 1 || !isInteger(d.cols[k[0]].Type) {
		return nil, fmt.Errorf("table %s: want a single integer primary key column", d.name)
	}
	return d, nil
}

func isInteger(t schema.Type) bool {
	return t == schema.TinyInt || t == schema.SmallInt || t == schema.Int || t == schema.BigInt
}

// createTable creates d's data table and records its definition. Data columns have no declared
// type, so SQLite stores each value exactly as bound (no affinity conversions).
func (t *Tenant) createTable(ctx context.Context, d *tableDef, ord int, version int64) error {
	if err := schema.CheckName("table", d.name); err != nil {
		return err
	}
	var cols []string
	for _, c := range d.cols {
		if err := schema.CheckName("column", c.Name); err != nil {
			return fmt.Errorf("table %s: %w", d.name, err)
		}
		cols = append(cols, quote(c.Name))
	}
	key := d.cols[d.Table().Key()[0]].Name
	stmt := fmt.Sprintf(`CREATE TABLE %s (%s, %s INTEGER NOT NULL, %s INTEGER NOT NULL, PRIMARY KEY (%s));
CREATE INDEX %s ON %s (%s);`,
		quote(d.name), strings.Join(cols, ", "), createdColumn, versionColumn, quote(key),
		quote(d.name+"__ct_version"), quote(d.name), versionColumn)
	if _, err := t.db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("tenant %s: creating table %s: %w", t.path, d.name, err)
	}
	def, err := encodeDefinition(d)
	if err != nil {
		return err
	}
	_, err = t.db.ExecContext(ctx, `INSERT INTO _tenant_tables (name, ord, definition, created_version, next_id) VALUES (?, ?, ?, ?, 1)`,
		d.name, ord, def, version)
	if err != nil {
		return fmt.Errorf("tenant %s: recording table %s: %w", t.path, d.name, err)
	}
	return nil
}

// fill inserts rows 1..n of a new table, all created by version, a few thousand per
// transaction so that the journal stays small.
func (t *Tenant) fill(ctx context.Context, d *tableDef, n int64, version int64) error {
	const perTx = 5000
	for from := int64(1); from <= n; from += perTx {
		tx, err := t.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, insertSQL(d))
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("tenant %s: table %s: %w", t.path, d.name, err)
		}
		args := make([]any, len(d.cols)+2)
		for id := from; id < from+perTx && id <= n; id++ {
			if err := encodeRow(d, t.gen.row(d, id, 0), args); err != nil {
				tx.Rollback()
				return err
			}
			args[len(d.cols)], args[len(d.cols)+1] = version, version
			if _, err := ins.ExecContext(ctx, args...); err != nil {
				tx.Rollback()
				return fmt.Errorf("tenant %s: table %s, row %d: %w", t.path, d.name, id, err)
			}
		}
		ins.Close()
		if _, err := tx.ExecContext(ctx, `UPDATE _tenant_tables SET next_id = ? WHERE name = ?`, min(from+perTx, n+1), d.name); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func insertSQL(d *tableDef) string {
	cols := make([]string, 0, len(d.cols)+2)
	marks := make([]string, 0, len(d.cols)+2)
	for _, c := range d.cols {
		cols = append(cols, quote(c.Name))
		marks = append(marks, "?")
	}
	cols = append(cols, createdColumn, versionColumn)
	marks = append(marks, "?", "?")
	return fmt.Sprintf(`INSERT INTO %s (%s) VALUES (%s)`, quote(d.name), strings.Join(cols, ", "), strings.Join(marks, ", "))
}

func selectSQL(d *tableDef) string {
	cols := make([]string, 0, len(d.cols)+2)
	for _, c := range d.cols {
		cols = append(cols, quote(c.Name))
	}
	cols = append(cols, createdColumn, versionColumn)
	return fmt.Sprintf(`SELECT %s FROM %s`, strings.Join(cols, ", "), quote(d.name))
}

// encodeRow turns a row's bulk values into what the file stores: integers, floats, strings and
// bytes as themselves, a bit as 0 or 1, anything else as its canonical text (bulk.FormatValue).
func encodeRow(d *tableDef, vals []any, into []any) error {
	for i, c := range d.cols {
		v, err := encodeValue(c.Column, vals[i])
		if err != nil {
			return fmt.Errorf("table %s, column %s: %w", d.name, c.Name, err)
		}
		into[i] = v
	}
	return nil
}

func encodeValue(c schema.Column, v any) (any, error) {
	switch x := v.(type) {
	case nil, int64, float64, string:
		return v, nil
	case []byte:
		if x == nil {
			return []byte{}, nil
		}
		return x, nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return bulk.FormatValue(c, v)
}

// decodeValue turns a value read from the tenant file back into the bulk Go value of column c:
// the file stores integers, floats, strings and bytes natively and every other type as its
// canonical text (encodeValue).
func decodeValue(c schema.Column, raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	switch c.Type {
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		if i, ok := raw.(int64); ok {
			return i, nil
		}
	case schema.Bit:
		if i, ok := raw.(int64); ok {
			return i != 0, nil
		}
	case schema.Float, schema.Real:
		switch x := raw.(type) {
		case float64:
			return x, nil
		case int64:
			return float64(x), nil
		case string:
			return bulk.ParseValue(c, x)
		}
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		switch x := raw.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		case int64:
			// A column whose type changed from an integer keeps the integer's text.
			return strconv.FormatInt(x, 10), nil
		}
	case schema.Binary, schema.VarBinary, schema.Image:
		if b, ok := raw.([]byte); ok {
			if b == nil {
				return []byte{}, nil
			}
			return slices.Clone(b), nil
		}
	default:
		switch x := raw.(type) {
		case string:
			return bulk.ParseValue(c, x)
		case []byte:
			return bulk.ParseValue(c, string(x))
		}
	}
	return nil, fmt.Errorf("a %T value does not hold a %s", raw, c.TypeString())
}
