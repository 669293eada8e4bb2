package tenant

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// ChangeStats counts the changes one Change made and the versions they took.
type ChangeStats struct {
	Inserted, Updated, Deleted int
	// FirstLSN and LastLSN are the versions of the first and last change.
	FirstLSN, LastLSN int64
}

// changer makes changes in one transaction, each taking the next version.
type changer struct {
	t       *Tenant
	ctx     context.Context
	tx      *sql.Tx
	version int64
	nextID  map[string]int64
	stmts   map[string]*sql.Stmt
	stats   ChangeStats
}

// Change makes n changes, a deterministic mix (by seed) of inserts, updates and deletes over the
// tables, bigger tables changed more often. When n is at least 7 the first changes are the
// cases the protocol singles out: a row inserted and then updated (sent once, as I), a row
// inserted and then deleted (not sent), and a row updated twice (sent once, as U). About one
// change in twenty updates the same "hot" row again. Tombstones beyond the retention window are
// purged in the same transaction.
func (t *Tenant) Change(ctx context.Context, seed uint64, n int) (ChangeStats, error) {
	if n < 0 {
		return ChangeStats{}, fmt.Errorf("tenant %s: %d changes: want zero or more", t.path, n)
	}
	if len(t.defs) == 0 {
		return ChangeStats{}, fmt.Errorf("tenant %s has no tables to change", t.path)
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return ChangeStats{}, err
	}
	defer tx.Rollback()
	c := &changer{t: t, ctx: ctx, tx: tx, nextID: map[string]int64{}, stmts: map[string]*sql.Stmt{}}
	defer func() {
		for _, s := range c.stmts {
			s.Close()
		}
	}()
	if c.version, err = t.metaInt(ctx, tx, "version"); err != nil {
		return ChangeStats{}, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, next_id FROM _tenant_tables`)
	if err != nil {
		return ChangeStats{}, err
	}
	for rows.Next() {
		var name string
		var next int64
		if err := rows.Scan(&name, &next); err != nil {
			rows.Close()
			return ChangeStats{}, err
		}
		c.nextID[name] = next
	}
	rows.Close()
	c.stats.FirstLSN = c.version + 1

	seedBits, err := t.metaInt(ctx, tx, "seed")
	if err != nil {
		return ChangeStats{}, err
	}
	r := rand.New(rand.NewPCG(seed, uint64(seedBits)))
	done := 0
	if n >= 7 {
		first := t.defs[0]
		if d := t.def("contact"); d != nil {
			first = d
		}
		x, err := c.insert(first)
		if err != nil {
			return ChangeStats{}, err
		}
		if err := c.update(first, x); err != nil {
			return ChangeStats{}, err
		}
		y, err := c.insert(first)
		if err != nil {
			return ChangeStats{}, err
		}
		if err := c.delete(first, y); err != nil {
			return ChangeStats{}, err
		}
		if z, ok, err := c.pick(first, r); err != nil {
			return ChangeStats{}, err
		} else if ok {
			if err := c.update(first, z); err != nil {
				return ChangeStats{}, err
			}
			if err := c.update(first, z); err != nil {
				return ChangeStats{}, err
			}
		}
		done = int(c.version - c.stats.FirstLSN + 1)
	}
	hotTable := t.defs[0]
	for _, d := range t.defs {
		if c.nextID[d.name] > c.nextID[hotTable.name] {
			hotTable = d
		}
	}
	hot, hasHot, err := c.pick(hotTable, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return ChangeStats{}, err
	}
	for ; done < n; done++ {
		d := c.chooseTable(r)
		roll := r.IntN(100)
		if roll >= 95 && hasHot {
			if hasHot, err = c.exists(hotTable, hot); err != nil {
				return ChangeStats{}, err
			}
			if hasHot {
				if err := c.update(hotTable, hot); err != nil {
					return ChangeStats{}, err
				}
				continue
			}
		}
		if roll < 30 {
			if _, err := c.insert(d); err != nil {
				return ChangeStats{}, err
			}
			continue
		}
		id, ok, err := c.pick(d, r)
		if err != nil {
			return ChangeStats{}, err
		}
		switch {
		case !ok:
			_, err = c.insert(d)
		case roll < 80:
			err = c.update(d, id)
		default:
			err = c.delete(d, id)
		}
		if err != nil {
			return ChangeStats{}, err
		}
	}
	for name, next := range c.nextID {
		if _, err := tx.ExecContext(ctx, `UPDATE _tenant_tables SET next_id = ? WHERE name = ?`, next, name); err != nil {
			return ChangeStats{}, err
		}
	}
	if err := setMeta(ctx, tx, "version", c.version); err != nil {
		return ChangeStats{}, err
	}
	if err := t.purge(ctx, tx); err != nil {
		return ChangeStats{}, err
	}
	if err := tx.Commit(); err != nil {
		return ChangeStats{}, err
	}
	c.stats.LastLSN = c.version
	return c.stats, nil
}

// chooseTable picks a table with a chance that grows with its size.
func (c *changer) chooseTable(r *rand.Rand) *tableDef {
	var total int64
	for _, d := range c.t.defs {
		total += c.nextID[d.name] + 10
	}
	x := r.Int64N(total)
	for _, d := range c.t.defs {
		x -= c.nextID[d.name] + 10
		if x < 0 {
			return d
		}
	}
	return c.t.defs[len(c.t.defs)-1]
}

func keyName(d *tableDef) string { return d.cols[d.Table().Key()[0]].Name }

// pick returns an existing row id of d near a random one, or ok false when d is empty.
func (c *changer) pick(d *tableDef, r *rand.Rand) (id int64, ok bool, err error) {
	next := c.nextID[d.name]
	if next <= 1 {
		return 0, false, nil
	}
	want := 1 + r.Int64N(next-1)
	k := quote(keyName(d))
	err = c.tx.QueryRowContext(c.ctx, `SELECT `+k+` FROM `+quote(d.name)+` WHERE `+k+` >= ? ORDER BY `+k+` LIMIT 1`, want).Scan(&id)
	if err == sql.ErrNoRows {
		err = c.tx.QueryRowContext(c.ctx, `SELECT `+k+` FROM `+quote(d.name)+` WHERE `+k+` < ? ORDER BY `+k+` DESC LIMIT 1`, want).Scan(&id)
	}
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("table %s: %w", d.name, err)
	}
	return id, true, nil
}

func (c *changer) exists(d *tableDef, id int64) (bool, error) {
	var n int
	err := c.tx.QueryRowContext(c.ctx, `SELECT count(*) FROM `+quote(d.name)+` WHERE `+quote(keyName(d))+` = ?`, id).Scan(&n)
	return n > 0, err
}

func (c *changer) stmt(key, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts[key]; ok {
		return s, nil
	}
	s, err := c.tx.PrepareContext(c.ctx, query)
	if err != nil {
		return nil, err
	}
	c.stmts[key] = s
	return s, nil
}

func (c *changer) insert(d *tableDef) (int64, error) {
	c.version++
	id := c.nextID[d.name]
	c.nextID[d.name] = id + 1
	ins, err := c.stmt("insert "+d.name, insertSQL(d))
	if err != nil {
		return 0, fmt.Errorf("table %s: %w", d.name, err)
	}
	args := make([]any, len(d.cols)+2)
	if err := encodeRow(d, c.t.gen.row(d, id, uint64(c.version)), args); err != nil {
		return 0, err
	}
	args[len(d.cols)], args[len(d.cols)+1] = c.version, c.version
	if _, err := ins.ExecContext(c.ctx, args...); err != nil {
		return 0, fmt.Errorf("table %s, inserting row %d: %w", d.name, id, err)
	}
	c.stats.Inserted++
	return id, nil
}

// update gives the row new content (a new variant of the generator) and the next version.
func (c *changer) update(d *tableDef, id int64) error {
	c.version++
	var sets []string
	for _, col := range d.cols {
		if !col.PrimaryKey {
			sets = append(sets, quote(col.Name)+" = ?")
		}
	}
	sets = append(sets, versionColumn+" = ?")
	up, err := c.stmt("update "+d.name, `UPDATE `+quote(d.name)+` SET `+strings.Join(sets, ", ")+` WHERE `+quote(keyName(d))+` = ?`)
	if err != nil {
		return fmt.Errorf("table %s: %w", d.name, err)
	}
	vals := c.t.gen.row(d, id, uint64(c.version))
	args := make([]any, 0, len(d.cols)+1)
	for i, col := range d.cols {
		if col.PrimaryKey {
			continue
		}
		v, err := encodeValue(col.Column, vals[i])
		if err != nil {
			return fmt.Errorf("table %s, column %s: %w", d.name, col.Name, err)
		}
		args = append(args, v)
	}
	args = append(args, c.version, id)
	if _, err := up.ExecContext(c.ctx, args...); err != nil {
		return fmt.Errorf("table %s, updating row %d: %w", d.name, id, err)
	}
	c.stats.Updated++
	return nil
}

func (c *changer) delete(d *tableDef, id int64) error {
	c.version++
	var created int64
	k := quote(keyName(d))
	if err := c.tx.QueryRowContext(c.ctx, `SELECT `+createdColumn+` FROM `+quote(d.name)+` WHERE `+k+` = ?`, id).Scan(&created); err != nil {
		return fmt.Errorf("table %s, deleting row %d: %w", d.name, id, err)
	}
	if _, err := c.tx.ExecContext(c.ctx, `DELETE FROM `+quote(d.name)+` WHERE `+k+` = ?`, id); err != nil {
		return fmt.Errorf("table %s, deleting row %d: %w", d.name, id, err)
	}
	if _, err := c.tx.ExecContext(c.ctx, `INSERT OR REPLACE INTO _tenant_tombstones (tbl, id, created_version, deleted_version) VALUES (?, ?, ?, ?)`,
		d.name, id, created, c.version); err != nil {
		return fmt.Errorf("table %s, deleting row %d: %w", d.name, id, err)
	}
	c.stats.Deleted++
	return nil
}

// The kinds of schema change Alter makes.
const (
	AlterAddColumn  = "add-column"   // a nullable nvarchar column: in place on the mirror
	AlterWiden      = "widen-column" // an nvarchar(n) column to twice its length: in place
	AlterChangeType = "change-type"  // an integer column to nvarchar(12): the mirror recreates the table
	AlterAddTable   = "add-table"    // a new y_ table (SuperOffice's prefix for extra tables) with rows
	AlterDropTable  = "drop-table"   // the newest y_ table, or invoice when there is none
)

// AlterKinds lists the kinds Alter accepts.
var AlterKinds = []string{AlterAddColumn, AlterWiden, AlterChangeType, AlterAddTable, AlterDropTable}

// Candidates of each change, tried in turn so that repeated alters change different things.
var (
	addColumnTables = []string{"contact", "person", "sale", "project", "document"}
	widenColumns    = [][2]string{{"contact", "number1"}, {"person", "person_number"}, {"project", "project_number"}, {"sale", "number1"}, {"address", "zipcode"}}
	retypeColumns   = [][2]string{{"project", "source"}, {"document", "snum"}, {"email", "bounceCount"}, {"phone", "rank"}, {"selection", "seltype"}}
)

// Alter changes the schema of the tenant the way kind says and describes what it did.
// Existing rows keep their versions: SQL Server's change tracking does not count a schema
// change as a change of rows either.
func (t *Tenant) Alter(ctx context.Context, kind string) (string, error) {
	alters, err := t.metaInt(ctx, t.db, "alters")
	if err != nil {
		return "", err
	}
	alters++
	var what string
	switch kind {
	case AlterAddColumn:
		what, err = t.addColumn(ctx, alters)
	case AlterWiden:
		what, err = t.widen(ctx)
	case AlterChangeType:
		what, err = t.retype(ctx)
	case AlterAddTable:
		what, err = t.addTable(ctx, alters)
	case AlterDropTable:
		what, err = t.dropTable(ctx)
	default:
		return "", fmt.Errorf("alter kind %q: want one of %s", kind, strings.Join(AlterKinds, ", "))
	}
	if err != nil {
		return "", fmt.Errorf("tenant %s: %s: %w", t.path, kind, err)
	}
	if err := setMeta(ctx, t.db, "alters", alters); err != nil {
		return "", err
	}
	return what, nil
}

func (t *Tenant) saveDefinition(ctx context.Context, q querier, d *tableDef) error {
	def, err := encodeDefinition(d)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, `UPDATE _tenant_tables SET definition = ? WHERE name = ?`, def, d.name)
	return err
}

func (t *Tenant) addColumn(ctx context.Context, alters int64) (string, error) {
	var d *tableDef
	for i := range addColumnTables {
		if d = t.def(addColumnTables[(int(alters)+i)%len(addColumnTables)]); d != nil {
			break
		}
	}
	if d == nil {
		d = t.defs[0]
	}
	name := "x_added" + strconv.FormatInt(alters, 10)
	col := columnDef{Column: schema.Column{Name: name, Type: schema.NVarChar, Length: 100, Nullable: true}, kind: kindString, chars: 100}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `ALTER TABLE `+quote(d.name)+` ADD COLUMN `+quote(name)); err != nil {
		return "", err
	}
	nd := *d
	nd.cols = append(append([]columnDef(nil), d.cols...), col)
	if err := t.saveDefinition(ctx, tx, &nd); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	*d = nd
	return fmt.Sprintf("added column %s.%s %s", d.name, name, col.TypeString()), nil
}

func (t *Tenant) widen(ctx context.Context) (string, error) {
	for _, tc := range widenColumns {
		d := t.def(tc[0])
		if d == nil {
			continue
		}
		i := d.Table().Column(tc[1])
		if i < 0 || d.cols[i].Type != schema.NVarChar || d.cols[i].Length == schema.Max || d.cols[i].Length*2 > 4000 {
			continue
		}
		old := d.cols[i].TypeString()
		nd := *d
		nd.cols = append([]columnDef(nil), d.cols...)
		nd.cols[i].Length *= 2
		if err := t.saveDefinition(ctx, t.db, &nd); err != nil {
			return "", err
		}
		*d = nd
		return fmt.Sprintf("widened %s.%s from %s to %s", d.name, tc[1], old, d.cols[i].TypeString()), nil
	}
	return "", fmt.Errorf("no column left to widen")
}

func (t *Tenant) retype(ctx context.Context) (string, error) {
	for _, tc := range retypeColumns {
		d := t.def(tc[0])
		if d == nil {
			continue
		}
		i := d.Table().Column(tc[1])
		if i < 0 || !isInteger(d.cols[i].Type) || d.cols[i].PrimaryKey {
			continue
		}
		old := d.cols[i].TypeString()
		tx, err := t.db.BeginTx(ctx, nil)
		if err != nil {
			return "", err
		}
		defer tx.Rollback()
		c := quote(tc[1])
		if _, err := tx.ExecContext(ctx, `UPDATE `+quote(d.name)+` SET `+c+` = CAST(`+c+` AS TEXT) WHERE `+c+` IS NOT NULL`); err != nil {
			return "", err
		}
		nd := *d
		nd.cols = append([]columnDef(nil), d.cols...)
		nd.cols[i].Column = schema.Column{Name: tc[1], Type: schema.NVarChar, Length: 12, Nullable: d.cols[i].Nullable}
		nd.cols[i].kind, nd.cols[i].chars = kindString, 11
		if err := t.saveDefinition(ctx, tx, &nd); err != nil {
			return "", err
		}
		if err := tx.Commit(); err != nil {
			return "", err
		}
		*d = nd
		return fmt.Sprintf("changed %s.%s from %s to %s", d.name, tc[1], old, d.cols[i].TypeString()), nil
	}
	return "", fmt.Errorf("no integer column left to change")
}

func (t *Tenant) addTable(ctx context.Context, alters int64) (string, error) {
	name := "y_extra" + strconv.FormatInt(alters, 10)
	d := &tableDef{name: name, cols: []columnDef{
		{Column: schema.Column{Name: name + "_id", Type: schema.Int, PrimaryKey: true}, kind: kindKey},
		{Column: schema.Column{Name: "name", Type: schema.NVarChar, Length: 100}, kind: kindString, chars: 99},
		{Column: schema.Column{Name: "contact_id", Type: schema.Int, Nullable: true}, kind: kindRef, ref: "contact"},
		{Column: schema.Column{Name: "amount", Type: schema.Float, Nullable: true}, kind: kindDouble},
		{Column: schema.Column{Name: "due", Type: schema.DateTime, Nullable: true}, kind: kindDateTime},
		{Column: schema.Column{Name: "note", Type: schema.NVarChar, Length: schema.Max, Nullable: true}, kind: kindClob},
		{Column: schema.Column{Name: "attachment", Type: schema.VarBinary, Length: schema.Max, Nullable: true}, kind: kindBlob},
	}}
	if t.def(name) != nil {
		return "", fmt.Errorf("table %s exists", name)
	}
	version, err := t.CurrentLSN(ctx)
	if err != nil {
		return "", err
	}
	scale, err := t.metaInt(ctx, t.db, "scale")
	if err != nil {
		return "", err
	}
	var ord int
	if err := t.db.QueryRowContext(ctx, `SELECT coalesce(max(ord), 0) + 1 FROM _tenant_tables`).Scan(&ord); err != nil {
		return "", err
	}
	// The new table's rows are one change, as if the table were filled in one transaction.
	version++
	if err := t.createTable(ctx, d, ord, version); err != nil {
		return "", err
	}
	rows := 20 + scale/1000
	if err := t.fill(ctx, d, rows, version); err != nil {
		return "", err
	}
	if err := setMeta(ctx, t.db, "version", version); err != nil {
		return "", err
	}
	t.defs = append(t.defs, d)
	return fmt.Sprintf("added table %s with %d rows", name, rows), nil
}

func (t *Tenant) dropTable(ctx context.Context) (string, error) {
	var victim *tableDef
	for _, d := range t.defs {
		if strings.HasPrefix(d.name, "y_") {
			victim = d
		}
	}
	if victim == nil {
		victim = t.def("invoice")
	}
	if victim == nil {
		return "", fmt.Errorf("no y_ table and no invoice table left to drop")
	}
	tx, err := t.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	for _, q := range []string{`DELETE FROM _tenant_tables WHERE name = ?`, `DELETE FROM _tenant_tombstones WHERE tbl = ?`} {
		if _, err := tx.ExecContext(ctx, q, victim.name); err != nil {
			return "", err
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE `+quote(victim.name)); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	t.defs = slicesDelete(t.defs, victim)
	return "dropped table " + victim.name, nil
}

func slicesDelete(defs []*tableDef, victim *tableDef) []*tableDef {
	out := defs[:0:0]
	for _, d := range defs {
		if d != victim {
			out = append(out, d)
		}
	}
	return out
}
