package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
)

var _ bulk.SQLRunner = (*Mirror)(nil)

// RunSQL runs a partner's SQL in the tenant's file in one write transaction (bulk.SQLRunner).
func (m *Mirror) RunSQL(ctx context.Context, text, table string) error {
	query, err := bulk.ExpandSQL(text, table, m.tenant, quote, literal)
	if err != nil {
		return err
	}
	err = m.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, query)
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant %s: hook SQL: %w", m.tenant, err)
	}
	return nil
}
