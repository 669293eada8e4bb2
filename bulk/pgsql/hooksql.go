package pgsql

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
)

var _ bulk.SQLRunner = (*Mirror)(nil)

// RunSQL runs a partner's SQL in the mirror database in one transaction (bulk.SQLRunner).
// {{table}} becomes the schema-qualified quoted name; the text goes as one simple-protocol
// query, so it may hold several statements.
func (m *Mirror) RunSQL(ctx context.Context, text, table string) error {
	sql, err := bulk.ExpandSQL(text, table, m.tenant, func(name string) string { return m.rel(name).String() }, literal)
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, sql, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		return fmt.Errorf("tenant %s: hook SQL: %w", m.tenant, err)
	}
	return nil
}
