package pgsql

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Staging tables kept in a session: creating a temp table and dropping it at commit costs
// PostgreSQL a few milliseconds of catalog and file work, as much as merging thousands of rows,
// so each connection keeps the staging tables of its last few column sets, emptied at commit
// (ON COMMIT DELETE ROWS). Their number is bounded: every commit that touched a temp table
// empties all of them, under a lock each.

// maxSessionStages is the most staging tables one connection keeps.
const maxSessionStages = 16

// sessionStagesKey is where a connection's sessionStages live in its pgconn.PgConn.CustomData.
const sessionStagesKey = "mirrord/pgsql.stages"

// sessionStages lists the staging tables a session has, least recently used first. A connection
// is used by one apply at a time, so it needs no lock.
type sessionStages struct{ names []string }

// listSessionStagesSQL lists the staging tables of the session.
const listSessionStagesSQL = `SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname LIKE '#stage\_%' ORDER BY oid`

// stagesOf returns what the connection's session is known to hold, reading it from the catalog
// when nothing is known: on a new connection, or after a transaction that failed (forgetStages).
func stagesOf(ctx context.Context, tx pgx.Tx) (*sessionStages, error) {
	data := tx.Conn().PgConn().CustomData()
	if s, ok := data[sessionStagesKey].(*sessionStages); ok {
		return s, nil
	}
	rows, _ := tx.Query(ctx, listSessionStagesSQL)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the session's staging tables: %w", err)
	}
	s := &sessionStages{names: names}
	data[sessionStagesKey] = s
	return s, nil
}

// forgetStages drops what is known of a connection's staging tables, before its transaction
// rolls back: the rollback undoes the creates and drops the list has recorded, and a drop
// undone would leave a table the list no longer bounds.
func forgetStages(conn *pgconn.PgConn) { delete(conn.CustomData(), sessionStagesKey) }

// use notes that name is used now, and returns the tables to drop to keep within
// maxSessionStages.
func (s *sessionStages) use(name string) (drop []string) {
	if i := slices.Index(s.names, name); i >= 0 {
		s.names = append(slices.Delete(s.names, i, i+1), name)
		return nil
	}
	if n := len(s.names) + 1 - maxSessionStages; n > 0 {
		drop = slices.Clone(s.names[:n])
		s.names = slices.Delete(s.names, 0, n)
	}
	s.names = append(s.names, name)
	return drop
}
