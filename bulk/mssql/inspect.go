package mssql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var (
	_ bulk.Inspector = (*Mirror)(nil)
	_ bulk.Locator   = (*Target)(nil)
)

// ReadRows reads every row of a table (mirrored or not) on one session, turning what
// go-mssqldb returns into the bulk value of each column's type.
func (m *Mirror) ReadRows(ctx context.Context, table schema.Table, fn func(values []any) error) error {
	return m.withConn(ctx, func(conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, selectRowsSQL(table))
		if err != nil {
			return fmt.Errorf("read table %s: %w", table.Name, err)
		}
		defer rows.Close()
		return bulk.ScanRows(rows, table, fromServer, fn)
	})
}

// selectRowsSQL reads every column of a table in key order.
func selectRowsSQL(t schema.Table) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
	}
	b.WriteString(" FROM " + qualified(t.Name))
	for i, k := range t.Key() {
		if i == 0 {
			b.WriteString(" ORDER BY ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(quote(t.Columns[k].Name))
	}
	return b.String()
}

// fromServer turns what go-mssqldb returns for a column into the bulk value of its type.
func fromServer(c schema.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch c.Type {
	case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney:
		// The driver gives decimals and money as their text.
		switch d := v.(type) {
		case []byte:
			return bulk.ParseValue(c, string(d))
		case string:
			return bulk.ParseValue(c, d)
		}
	case schema.Real:
		switch f := v.(type) {
		case float32:
			return float64(f), nil
		case float64:
			return f, nil
		}
	case schema.Float:
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case schema.Bit:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt:
		switch i := v.(type) {
		case int64:
			return i, nil
		case uint8:
			return int64(i), nil
		case []byte:
			return strconv.ParseInt(string(i), 10, 64)
		}
	case schema.Date, schema.DateTime, schema.DateTime2, schema.SmallDateTime:
		if t, ok := v.(time.Time); ok {
			// No zone: the wall clock as stored, in UTC.
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC), nil
		}
	case schema.DateTimeOffset:
		if t, ok := v.(time.Time); ok {
			return t, nil
		}
	case schema.Time:
		if t, ok := v.(time.Time); ok {
			return bulk.TimeOfDay(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
				time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())), nil
		}
	case schema.UniqueIdentifier:
		// Sessions ask for GUIDs as sent ("guid conversion=false"): in wire order.
		if b, ok := v.([]byte); ok {
			return guidFromWire(b)
		}
	case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
		switch s := v.(type) {
		case string:
			return s, nil
		case []byte:
			return string(s), nil
		}
	case schema.Binary, schema.VarBinary, schema.Image:
		if b, ok := v.([]byte); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a %T value from the server does not hold a %s", v, c.TypeString())
}

// Kept is what SQL Server keeps of a value: every value of the bulk model as it is, but a
// float's -0, which comes back as 0, and a datetime, which SQL Server rounds to its ticks of
// 1/300 second and go-mssqldb reads back to the nearest millisecond.
func (m *Mirror) Kept(c schema.Column, v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return 0.0
		}
	case time.Time:
		if c.Type == schema.DateTime {
			ns := int64(x.Nanosecond())
			ticks := (ns*3 + 5_000_000) / 10_000_000 // ns*300/1e9, rounded
			ms := (ticks*20 + 3) / 6                 // ticks*10/3, rounded
			return x.Add(time.Duration(ms*1_000_000 - ns))
		}
	}
	return v
}

// databaseExistsSQL finds a database by name.
const databaseExistsSQL = "SELECT CASE WHEN DB_ID(@p1) IS NULL THEN 0 ELSE 1 END"

// Locate names the tenant's database with the server it is on, and reports whether it exists.
func (t *Target) Locate(ctx context.Context, tenant string) (string, bool, error) {
	name, err := t.DatabaseName(tenant)
	if err != nil {
		return "", false, err
	}
	where := "sqlserver " + t.base.Host + "/" + name
	var exists int
	if err := t.admin.QueryRowContext(ctx, databaseExistsSQL, name).Scan(&exists); err != nil {
		return where, false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return where, exists == 1, nil
}
