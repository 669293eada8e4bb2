package mssql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/mirrord/mirrord/bulk"
)

var _ bulk.SQLRunner = (*Mirror)(nil)

// RunSQL runs a partner's SQL in the tenant's database in one transaction (bulk.SQLRunner).
// {{table}} becomes [dbo].[name] and {{tenant}} an N'…' literal. The text goes as one batch:
// go-mssqldb sends a query without parameters as a plain SQL batch ((*Stmt).sendQuery; a bare
// procedure name alone it calls as a procedure), which may hold several statements, but no GO
// separators: those are sqlcmd's, not T-SQL.
func (m *Mirror) RunSQL(ctx context.Context, text, table string) error {
	batch, err := bulk.ExpandSQL(text, table, m.tenant, qualified, literal)
	if err != nil {
		return err
	}
	err = m.withConn(ctx, func(conn *sql.Conn) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, batch); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	if err != nil {
		return fmt.Errorf("tenant %s: hook SQL: %w", m.tenant, err)
	}
	return nil
}
