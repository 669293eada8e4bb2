package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

var _ bulk.SQLRunner = (*Mirror)(nil)

// RunSQL runs a partner's SQL in the tenant's file in one write transaction (bulk.SQLRunner).
func (m *Mirror) RunSQL(ctx context.Context, text, table string) error {
	quotedTable := ""
	if table != "" {
		if err := schema.CheckName("table", table); err != nil {
			return err
		}
		quotedTable = quote(table)
	}
	query := bulk.ExpandSQL(text, quotedTable, literal(m.tenant))
	err := m.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query)
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant %s: hook SQL: %w", m.tenant, err)
	}
	return nil
}
