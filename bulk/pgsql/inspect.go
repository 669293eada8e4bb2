package pgsql

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var (
	_ bulk.Inspector = (*Mirror)(nil)
	_ bulk.Locator   = (*Target)(nil)
)

// ReadRows reads every row of a table (mirrored or not) with one query, turning what pgx
// decodes into the bulk value of each column's SQL Server type.
func (m *Mirror) ReadRows(ctx context.Context, table schema.Table, fn func(values []any) error) error {
	rows, err := m.pool.Query(ctx, selectRowsSQL(m.rel(table.Name), table))
	if err != nil {
		return fmt.Errorf("read table %s: %w", table.Name, err)
	}
	defer rows.Close()
	return bulk.ScanRows(rows, table, fromPostgres, fn)
}

// selectRowsSQL reads every column of a table in key order. Decimals come as text, which
// bulk.ParseValue reads exactly.
func selectRowsSQL(table rel, t schema.Table) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(c.Name))
		if isDecimal(c.Type) {
			b.WriteString("::text")
		}
	}
	b.WriteString(" FROM " + table.String())
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

func isDecimal(t schema.Type) bool {
	return t == schema.Decimal || t == schema.Numeric || t == schema.Money || t == schema.SmallMoney
}

// fromPostgres turns a value pgx decoded into the bulk value of column c.
func fromPostgres(c schema.Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch x := v.(type) {
	case bool, []byte, float64:
		return x, nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float32:
		return float64(x), nil
	case string:
		if isDecimal(c.Type) {
			return bulk.ParseValue(c, x)
		}
		return x, nil
	case time.Time:
		if c.Type == schema.DateTimeOffset {
			// timestamptz keeps the instant, not the offset.
			return x.UTC(), nil
		}
		// date and timestamp carry no zone: the wall clock as stored, in UTC.
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	case pgtype.Time:
		return bulk.TimeOfDay(time.Duration(x.Microseconds) * time.Microsecond), nil
	case [16]byte:
		return bulk.UUID(x), nil
	}
	return nil, fmt.Errorf("a %T value from the database does not hold a %s", v, c.TypeString())
}

// Kept is what PostgreSQL keeps of a value (TYPES.md): the fraction of a second truncated to
// what the column keeps, as Apply sends it, and of a datetimeoffset the instant, in UTC.
func (m *Mirror) Kept(c schema.Column, v any) any {
	switch x := v.(type) {
	case time.Time:
		unit := int64(fractionUnit(fractionDigits(c.Normalize())))
		x = x.Add(-time.Duration(int64(x.Nanosecond()) % unit))
		if c.Type == schema.DateTimeOffset {
			return x.UTC()
		}
		return x
	case bulk.TimeOfDay:
		unit := int64(fractionUnit(fractionDigits(c.Normalize())))
		return bulk.TimeOfDay(int64(x) / unit * unit)
	}
	return v
}

// Locate names the tenant's database with the server it is on, and reports whether it exists.
func (t *Target) Locate(ctx context.Context, tenant string) (string, bool, error) {
	name, err := t.DatabaseName(tenant)
	if err != nil {
		return "", false, err
	}
	where := fmt.Sprintf("postgres %s:%d/%s", t.base.ConnConfig.Host, t.base.ConnConfig.Port, name)
	var exists bool
	if err := t.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return where, false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return where, exists, nil
}
