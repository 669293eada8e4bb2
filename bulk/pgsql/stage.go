package pgsql

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Staging tables kept in a session: creating a temp table and dropping it at commit costs
// PostgreSQL a few milliseconds of catalog and file work, as much as merging hundreds of rows,
// so each connection keeps the staging tables of its last few column sets, emptied after each
// merge. Their number is bounded, since each holds catalog rows until the session ends, and
// the session's end drops them all in one transaction, under a lock each.

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
func stagesOf(ctx context.Context, conn *pgx.Conn) (*sessionStages, error) {
	data := conn.PgConn().CustomData()
	if s, ok := data[sessionStagesKey].(*sessionStages); ok {
		return s, nil
	}
	rows, _ := conn.Query(ctx, listSessionStagesSQL)
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the session's staging tables: %w", err)
	}
	s := &sessionStages{names: names}
	data[sessionStagesKey] = s
	return s, nil
}

// forgetStages drops what is known of a connection's staging tables when its transaction fails:
// the rollback undoes the creates and drops the list has recorded. The list is otherwise exact,
// so that a table it holds is used without a create.
func forgetStages(conn *pgconn.PgConn) { delete(conn.CustomData(), sessionStagesKey) }

// use notes that name is used now, and says whether the session has it already, and which
// tables to drop to keep within maxSessionStages.
func (s *sessionStages) use(name string) (exists bool, drop []string) {
	if i := slices.Index(s.names, name); i >= 0 {
		s.names = append(slices.Delete(s.names, i, i+1), name)
		return true, nil
	}
	if n := len(s.names) + 1 - maxSessionStages; n > 0 {
		drop = slices.Clone(s.names[:n])
		s.names = slices.Delete(s.names, 0, n)
	}
	s.names = append(s.names, name)
	return false, drop
}
