package mssql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// Migrate carries out a plan in one transaction with its state row, under the mirror's schema
// lock. Only a table the state table lists is ever dropped or altered: a create over a table
// (or view) the partner owns is refused.
func (m *Mirror) Migrate(ctx context.Context, mig bulk.Migration) error {
	plan := mig.Plan
	desired := plan.Desired
	if err := checkTableNames(desired); err != nil {
		return err
	}
	switch plan.Action {
	case schema.Create, schema.Recreate, schema.Alter, schema.None:
	default:
		return bulk.ForTable(desired.Name, fmt.Errorf("unknown plan action %v", plan.Action))
	}
	hash, defaults := desired.Hash(), bulk.EncodeDefaults(desired)
	err := m.inSchemaTx(ctx, func(c *sql.Conn) error {
		listed, err := m.mirrored(ctx, c, []string{desired.Name})
		if err != nil {
			return err
		}
		stored, isMirrored := listed[desired.Name]
		if err := statetable.CheckFrom(stored, mig.From); err != nil {
			return err
		}
		var exists int
		if err := c.QueryRowContext(ctx, objectExistsSQL, qualified(desired.Name)).Scan(&exists); err != nil {
			return err
		}
		switch plan.Action {
		case schema.Create, schema.Recreate:
			if exists == 1 && !isMirrored {
				return fmt.Errorf("an object named %s exists in database %s but is not mirrored (the state table %s does not list it); it is left alone", desired.Name, m.database, m.state)
			}
			coll, err := m.coll.columnCollations(desired, nil)
			if err != nil {
				return err
			}
			ddl := []string{createTableSQL(desired, coll)}
			if exists == 1 {
				ddl = append([]string{dropTableSQL(desired.Name)}, ddl...)
			}
			if err := execAll(ctx, c, ddl); err != nil {
				return err
			}
			_, err = c.ExecContext(ctx, stateUpsertSQL(m.state), desired.Name, hash, defaults)
			return err
		default:
			if !isMirrored || exists == 0 {
				return fmt.Errorf("it is not a mirrored table of database %s, so it cannot be altered", m.database)
			}
			if plan.Action == schema.Alter {
				cur, err := m.currentTable(ctx, c, desired.Name)
				if err != nil {
					return err
				}
				coll, err := m.coll.columnCollations(desired, cur.collations)
				if err != nil {
					return err
				}
				ddl, err := alterTableSQL(plan, cur.table, cur.indexes, coll, cur.defaults)
				if err != nil {
					return err
				}
				if err := execAll(ctx, c, ddl); err != nil {
					return err
				}
			}
			_, err := c.ExecContext(ctx, stateSetHashSQL(m.state), desired.Name, hash, defaults)
			return err
		}
	})
	if err != nil {
		return bulk.ForTable(desired.Name, fmt.Errorf("%s: %w", plan.Action, err))
	}
	return nil
}

// tableCatalog is what the catalog holds of a table that an Alter needs.
type tableCatalog struct {
	table      schema.Table
	indexes    []tableIndex
	collations map[string]string // by column, for the columns that have one
	defaults   map[string]string // the name of each column's default constraint, by column
}

// currentTable reads a table's columns (from the catalog query, filtered to it), their
// collations, its indexes and its default constraints.
func (m *Mirror) currentTable(ctx context.Context, c *sql.Conn, table string) (tableCatalog, error) {
	cur := tableCatalog{table: schema.Table{Name: table}, collations: map[string]string{}, defaults: map[string]string{}}
	rows, err := c.QueryContext(ctx, catalogSQL(m.state))
	if err != nil {
		return cur, err
	}
	for rows.Next() {
		var name string
		var r catalogColumn
		var maxLength int16
		var precision, scale uint8
		if err := rows.Scan(&name, &r.Name, &r.TypeName, &maxLength, &precision, &scale, &r.Nullable, &r.PrimaryKey, &r.Collation); err != nil {
			rows.Close()
			return cur, err
		}
		if name == table {
			r.MaxLength, r.Precision, r.Scale = int(maxLength), int(precision), int(scale)
			cur.table.Columns = append(cur.table.Columns, columnFromCatalog(r))
			if r.Collation != "" {
				cur.collations[r.Name] = r.Collation
			}
		}
	}
	if err := rows.Err(); err != nil {
		return cur, err
	}
	rows, err = c.QueryContext(ctx, indexColumnsSQL, qualified(table))
	if err != nil {
		return cur, err
	}
	for rows.Next() {
		var name, column string
		var pk bool
		if err := rows.Scan(&name, &pk, &column); err != nil {
			rows.Close()
			return cur, err
		}
		if n := len(cur.indexes); n > 0 && cur.indexes[n-1].name == name {
			cur.indexes[n-1].columns = append(cur.indexes[n-1].columns, column)
		} else {
			cur.indexes = append(cur.indexes, tableIndex{name: name, primaryKey: pk, columns: []string{column}})
		}
	}
	if err := rows.Err(); err != nil {
		return cur, err
	}
	rows, err = c.QueryContext(ctx, defaultConstraintsSQL, qualified(table))
	if err != nil {
		return cur, err
	}
	defer rows.Close()
	for rows.Next() {
		var column, name string
		if err := rows.Scan(&column, &name); err != nil {
			return cur, err
		}
		cur.defaults[column] = name
	}
	return cur, rows.Err()
}
