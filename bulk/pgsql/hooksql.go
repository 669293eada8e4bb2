package pgsql

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var _ bulk.SQLRunner = (*Mirror)(nil)

// RunSQL runs a partner's SQL in the mirror database in one transaction (bulk.SQLRunner).
// {{table}} becomes the schema-qualified quoted name; the text goes as one simple-protocol
// query, so it may hold several statements.
func (m *Mirror) RunSQL(ctx context.Context, text, table string) error {
	quotedTable := ""
	if table != "" {
		if err := schema.CheckName("table", table); err != nil {
			return err
		}
		quotedTable = m.rel(table).String()
	}
	sql := bulk.ExpandSQL(text, quotedTable, literal(m.tenant))
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant %s: hook SQL: %w", m.tenant, err)
	}
	return nil
}
