package pgsql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
	"github.com/mirrord/mirrord/schema"
)

// Options tune a Target. The zero value is usable.
type Options struct {
	// NameTemplate names a tenant's database; {ctx} is replaced by the tenant. Default "Mirror_{ctx}".
	NameTemplate string
	// MaxConnsPerTenant caps the connections of each tenant database's pool. Default 5: the
	// engine's default of 4 applies per tenant, and one for catalog reads.
	MaxConnsPerTenant int32
	// ChunkRows is the number of rows an empty-table load copies under one savepoint, which is
	// also how many rows it keeps in memory to replay through staging on a duplicate key.
	// Default 20000.
	ChunkRows int
}

const (
	defaultNameTemplate = "Mirror_{ctx}"
	defaultMaxConns     = 5
	defaultChunkRows    = 20000
)

// textResultSettingsSQL sets, on each new connection to a tenant's database, the session
// settings that shape results in text, whatever the server's, database's or role's defaults, so
// that they read back exactly. They are set by SET after connecting rather than as startup
// parameters, which PgBouncer refuses for all but a few of these unless told to ignore them.
const textResultSettingsSQL = "SET datestyle = 'ISO, MDY'; SET intervalstyle = 'postgres'; SET bytea_output = 'hex'; SET extra_float_digits = 3"

// Target is a PostgreSQL server that holds one mirror database per tenant. It is safe for
// concurrent use; each tenant's mirror is opened once and cached.
type Target struct {
	opts  Options
	base  *pgxpool.Config // the server and credentials; Database is replaced per tenant
	admin *pgxpool.Pool   // the maintenance database, for CREATE DATABASE and Ping

	mirrors *bulk.Opener[*Mirror] // one per tenant, opened on first contact
}

var _ bulk.Target = (*Target)(nil)

// Open connects to the server named by dsn, whose database is the maintenance database that
// CREATE DATABASE runs in (e.g. postgres://user@host/postgres).
func Open(ctx context.Context, dsn string, opts Options) (*Target, error) {
	if opts.NameTemplate == "" {
		opts.NameTemplate = defaultNameTemplate
	}
	if !strings.Contains(opts.NameTemplate, "{ctx}") {
		return nil, fmt.Errorf("pgsql: database name template %q lacks {ctx}", opts.NameTemplate)
	}
	if opts.MaxConnsPerTenant <= 0 {
		opts.MaxConnsPerTenant = defaultMaxConns
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = defaultChunkRows
	}
	base, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgsql: parse DSN: %w", err)
	}
	adminConfig := base.Copy()
	adminConfig.MaxConns = 2
	admin, err := pgxpool.NewWithConfig(ctx, adminConfig)
	if err != nil {
		return nil, fmt.Errorf("pgsql: connect to %s: %w", base.ConnConfig.Database, err)
	}
	if err := admin.Ping(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("pgsql: connect to %s: %w", base.ConnConfig.Database, err)
	}
	return &Target{opts: opts, base: base, admin: admin, mirrors: bulk.NewOpener(func(m *Mirror) error { m.pool.Close(); return nil })}, nil
}

// DatabaseName is the database that holds a tenant's mirror.
func (t *Target) DatabaseName(tenant string) (string, error) {
	return bulk.MirrorName(t.opts.NameTemplate, tenant, checkIdentifier)
}

// Open returns the tenant's mirror, creating its database and state table on first contact.
func (t *Target) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	m, err := t.open(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func (t *Target) open(ctx context.Context, tenant string) (*Mirror, error) {
	return t.mirrors.Get(ctx, tenant, func(ctx context.Context) (*Mirror, error) { return t.openMirror(ctx, tenant) })
}

// openMirror creates the tenant's database when it is missing, connects a pool to it and creates
// the state table. Two processes may race to create either: losing the race is fine.
func (t *Target) openMirror(ctx context.Context, tenant string) (*Mirror, error) {
	dbName, err := t.DatabaseName(tenant)
	if err != nil {
		return nil, err
	}
	state := bulk.StateTable(tenant)
	if err := checkIdentifier("state table", state); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	var exists bool
	if err := t.admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", dbName).Scan(&exists); err != nil {
		return nil, fmt.Errorf("tenant %s: look for database %s: %w", tenant, dbName, err)
	}
	if !exists {
		if _, err := t.admin.Exec(ctx, createDatabaseSQL(dbName)); err != nil && !isCode(err, "42P04", "23505") {
			return nil, fmt.Errorf("tenant %s: create database %s: %w", tenant, dbName, err)
		}
	}
	cfg := t.base.Copy()
	cfg.ConnConfig.Database = dbName
	cfg.MaxConns = t.opts.MaxConnsPerTenant
	// A tenant calls every 10 to 20 minutes: connections idle longer than a cycle's gaps
	// would add up to one or more per tenant, held for nothing.
	cfg.MaxConnIdleTime = time.Minute
	// Nothing about a statement is cached, since DDL (ours, or a partner's) and staging tables
	// would make cached descriptions stale; and a statement is one round trip, not two as when
	// it is described first (QueryExecModeDescribeExec): pgx v5.12's ExtendedQueryBuilder.Build
	// sends each argument as text with type OID 0 when it has no description, so the server
	// infers its type from where it stands, as it does for a quoted literal (and as it did for
	// the described statements, whose Parse named no types either). Exec without arguments goes
	// by the simple protocol (Conn.exec). The cost of a round trip is per call: a database
	// across a network pays it on every statement.
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	// Results then come back as text, not binary, and the text of dates, bytea and floats
	// follows session settings that a server, database or role may set otherwise: pgx reads
	// only ISO dates (pgtype/datetime_text.go), hex bytea (pgtype/bytea.go), and a float's text
	// is exact only with extra_float_digits above 0.
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, textResultSettingsSQL); err != nil {
			return fmt.Errorf("set the session's output settings: %w", err)
		}
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("tenant %s: connect to database %s: %w", tenant, dbName, err)
	}
	m := &Mirror{target: t, tenant: tenant, database: dbName, pool: pool, chunkRows: t.opts.ChunkRows}
	m.ledger = &statetable.Table{Tenant: tenant, Database: "database " + dbName, Name: state, CheckName: checkIdentifier, DB: stateDB{m}}
	m.Ops = m.ledger.Ops()
	if err := m.prepare(ctx, state); err != nil {
		pool.Close()
		return nil, fmt.Errorf("tenant %s: database %s: %w", tenant, dbName, err)
	}
	return m, nil
}

// prepare finds the schema the mirror's tables live in (the login's current schema), creates or
// upgrades the state table there, and learns whether PostgreSQL counts row changes.
func (m *Mirror) prepare(ctx context.Context, state string) error {
	var schemaName *string
	if err := m.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schemaName); err != nil {
		return fmt.Errorf("read the current schema: %w", err)
	}
	if schemaName == nil {
		return errors.New("no schema is current (the login's search_path names no existing schema), so there is nowhere to create the mirror's tables")
	}
	m.schema = *schemaName
	m.state = m.rel(state)
	// A concurrent CREATE TABLE IF NOT EXISTS can still lose on the catalog's unique indexes.
	if _, err := m.pool.Exec(ctx, createStateTableSQL(m.state)); err != nil && !isCode(err, "42P07", "42710", "23505") {
		return fmt.Errorf("create state table %s: %w", state, err)
	}
	rows, err := m.pool.Query(ctx, stateColumnsSQL, m.schema, state)
	if err != nil {
		return fmt.Errorf("read state table %s: %w", state, err)
	}
	have, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read state table %s: %w", state, err)
	}
	if len(statetable.Missing(have)) > 0 {
		if _, err := m.pool.Exec(ctx, upgradeStateTableSQL(m.state)); err != nil {
			return fmt.Errorf("add the new columns of state table %s: %w", state, err)
		}
	}
	// With track_counts off PostgreSQL keeps no row statistics, and a MERGE's changes can only
	// be counted by the rows' op tags.
	if err := m.pool.QueryRow(ctx, "SELECT current_setting('track_counts')::boolean").Scan(&m.countsTracked); err != nil {
		return fmt.Errorf("read track_counts: %w", err)
	}
	return nil
}

// forget removes a closed mirror from the cache, so that the next Open connects anew.
func (t *Target) forget(tenant string, m *Mirror) { t.mirrors.Forget(tenant, m) }

// Ping reports whether the server answers.
func (t *Target) Ping(ctx context.Context) error {
	if err := t.admin.Ping(ctx); err != nil {
		return fmt.Errorf("pgsql: ping: %w", err)
	}
	return nil
}

// Close closes every tenant's pool and the maintenance pool.
func (t *Target) Close() error {
	t.mirrors.Close()
	t.admin.Close()
	return nil
}

// isCode reports whether err is a PostgreSQL error with one of the SQLSTATE codes.
func isCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	for _, c := range codes {
		if pgErr.Code == c {
			return true
		}
	}
	return false
}

// Mirror is one tenant's mirror database. It is safe for concurrent use on different tables.
type Mirror struct {
	statetable.Ops // Wipe, Drop, Invalidate and the cycle: the state table's alone
	target         *Target
	tenant         string
	database       string
	schema         string // where the mirrored tables and the state table live
	state          rel
	ledger         *statetable.Table // the state table's bookkeeping: wipes, drops, the cycle
	pool           *pgxpool.Pool
	chunkRows      int
	// countsTracked says PostgreSQL keeps per-transaction row statistics (track_counts), from
	// which an apply reads what each MERGE really did.
	countsTracked bool
}

var _ bulk.Mirror = (*Mirror)(nil)

// Database is the name of the mirror's database.
func (m *Mirror) Database() string { return m.database }

// rel names a table of the mirror with its schema.
func (m *Mirror) rel(table string) rel { return rel{m.schema, table} }

// Close closes the mirror's connections; the next Open of the tenant connects anew.
func (m *Mirror) Close() error {
	m.target.forget(m.tenant, m)
	m.pool.Close()
	return nil
}

// inSchemaTx runs fn in a transaction on one connection, holding the mirror's schema lock, and
// commits it: creates, alters, drops and the cycle's bookkeeping of one mirror run one at a time
// across processes. BEGIN, the lock and whatever first queues (nil for nothing) go to the server
// in one round trip (pgx's Batch.BeginTx), their results read before fn runs. The transaction
// is READ COMMITTED whatever the server's or the role's default: the state table's bookkeeping
// reads rows after it has locked them (a wipe finds the tables that hold rows under the lock
// TRUNCATE takes), which a snapshot taken at the transaction's first statement would not see.
func (m *Mirror) inSchemaTx(ctx context.Context, first func(*pgx.Batch), fn func(pgx.Tx) error) error {
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	batch := &pgx.Batch{}
	batch.BeginTx(pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	batch.Queue(advisoryLockSQL)
	if first != nil {
		first(batch)
	}
	br := conn.SendBatch(ctx, batch)
	err = br.Close()
	tx := br.Tx()
	if err != nil {
		rollback(ctx, tx)
		return fmt.Errorf("begin, take the mirror's schema lock and read its state: %w", err)
	}
	if err := fn(tx); err != nil {
		rollback(ctx, tx)
		return err
	}
	return tx.Commit(ctx)
}

// rollback ends a failed transaction even when ctx is cancelled: the connection must not go
// back to the pool inside a transaction.
func rollback(ctx context.Context, tx pgx.Tx) {
	_ = tx.Rollback(context.WithoutCancel(ctx))
}

func (m *Mirror) rels(tables []string) []rel {
	out := make([]rel, len(tables))
	for i, t := range tables {
		out[i] = m.rel(t)
	}
	return out
}

// Migrate carries out a plan in one transaction with its state row, under the mirror's schema
// lock. Only a table the state table lists is ever dropped or altered: a create over a table
// (or view) the partner owns is refused.
func (m *Mirror) Migrate(ctx context.Context, mig bulk.Migration) error {
	plan := mig.Plan
	desired := plan.Desired
	if err := checkTableNames(desired); err != nil {
		return err
	}
	table := m.rel(desired.Name)
	var ddl []string
	var err error
	switch plan.Action {
	case schema.Create, schema.Recreate:
		ddl, err = createTableSQL(table, desired)
	case schema.Alter, schema.None:
	default:
		return bulk.ForTable(desired.Name, fmt.Errorf("unknown plan action %v", plan.Action))
	}
	if err != nil {
		return err
	}
	hash, defaults := desired.Hash(), bulk.EncodeDefaults(desired)
	// The state row's lock and whether the table exists come with BEGIN; the DDL comes with the
	// state row's update: a create is three round trips with COMMIT.
	listed := map[string]string{}
	var exists bool
	first := func(b *pgx.Batch) {
		b.Queue(stateLockSQL(m.state), []string{desired.Name}).Query(func(rows pgx.Rows) error { return scanListed(rows, listed) })
		b.Queue(tableExistsSQL, m.schema, desired.Name).QueryRow(func(row pgx.Row) error { return row.Scan(&exists) })
	}
	err = m.inSchemaTx(ctx, first, func(tx pgx.Tx) error {
		stored, isMirrored := listed[desired.Name]
		if err := statetable.CheckFrom(stored, mig.From); err != nil {
			return err
		}
		switch plan.Action {
		case schema.Create, schema.Recreate:
			if exists && !isMirrored {
				return fmt.Errorf("a table or view named %s exists in database %s but is not mirrored (the state table %s does not list it); it is left alone", desired.Name, m.database, m.state.name)
			}
			if exists {
				ddl = append([]string{dropTableSQL(table)}, ddl...)
			}
			var b statements
			b.add(ddl...)
			b.queue(stateUpsertSQL(m.state), desired.Name, hash, defaults)
			return b.send(ctx, tx)
		default:
			if !isMirrored || !exists {
				return fmt.Errorf("it is not a mirrored table of database %s, so it cannot be altered", m.database)
			}
			if plan.Action == schema.Alter {
				physical, err := physicalTypes(ctx, tx, table)
				if err != nil {
					return err
				}
				if ddl, err = alterTableSQL(table, plan, physical); err != nil {
					return err
				}
			}
			var b statements
			b.add(ddl...)
			b.queue(stateSetHashSQL(m.state), desired.Name, hash, defaults)
			return b.send(ctx, tx)
		}
	})
	if err != nil {
		return bulk.ForTable(desired.Name, fmt.Errorf("%s: %w", plan.Action, err))
	}
	return nil
}

// physicalTypes reads the PostgreSQL type of each column of a table, by column name.
func physicalTypes(ctx context.Context, tx pgx.Tx, table rel) (map[string]string, error) {
	rows, err := tx.Query(ctx, physicalTypesSQL, table.schema, table.name)
	if err != nil {
		return nil, err
	}
	types := map[string]string{}
	var name, typ string
	_, err = pgx.ForEachRow(rows, []any{&name, &typ}, func() error {
		types[name] = typ
		return nil
	})
	return types, err
}

// batcher sends batches: a pgx.Tx, or the connection of an apply's own transaction.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// statements is a batch of statements sent in one round trip (a pipeline: each statement its
// own query, since the extended protocol takes one statement a query), which stops at the first
// that fails and names it. A table's create is a CREATE TABLE and a COMMENT per column, and one
// round trip each made the creates of the demo tenant's 31 tables a third of its first cycle.
type statements struct {
	batch pgx.Batch
	sql   []string
	done  int // statements the server has run
}

// add queues statements without arguments.
func (s *statements) add(stmts ...string) {
	for _, sql := range stmts {
		s.queue(sql)
	}
}

// queue queues a statement with its arguments.
func (s *statements) queue(sql string, args ...any) {
	s.sql = append(s.sql, sql)
	s.batch.Queue(sql, args...).Exec(func(pgconn.CommandTag) error {
		s.done++
		return nil
	})
}

// send runs the statements on q, in q's transaction.
func (s *statements) send(ctx context.Context, q batcher) error {
	if len(s.sql) == 0 {
		return nil
	}
	if err := q.SendBatch(ctx, &s.batch).Close(); err != nil {
		if s.done < len(s.sql) {
			return fmt.Errorf("%w (in %.120s)", err, s.sql[s.done])
		}
		return err
	}
	return nil
}

// execAll runs statements without arguments in one round trip (statements).
func execAll(ctx context.Context, q batcher, stmts []string) error {
	var s statements
	s.add(stmts...)
	return s.send(ctx, q)
}

// RowCount counts the rows of a mirrored table.
func (m *Mirror) RowCount(ctx context.Context, table string) (int64, error) {
	if err := checkIdentifier("table", table); err != nil {
		return 0, err
	}
	var n int64
	var listed bool
	err := m.pool.QueryRow(ctx, stateListedSQL(m.state), table).Scan(&listed)
	if err == nil && !listed {
		err = m.ledger.RequireListed(nil, []string{table})
	}
	if err == nil {
		err = m.pool.QueryRow(ctx, rowCountSQL(m.rel(table))).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count rows of %s: %w", table, err)
	}
	return n, nil
}
