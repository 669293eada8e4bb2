package mssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	mssqldb "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/internal/statetable"
)

// Options tune a Target. The zero value is usable.
type Options struct {
	// NameTemplate names a tenant's database; {ctx} is replaced by the tenant. Default "Mirror_{ctx}".
	NameTemplate string
	// MaxConnsPerTenant caps the sessions of each tenant database. Default 5: the engine's
	// default of 4 applies per tenant, and one for catalog reads.
	MaxConnsPerTenant int32
	// ChunkRows is the number of rows a direct load into an empty table sends under one
	// savepoint, which is also how many rows it keeps to replay through staging on a duplicate
	// key. Default 20000.
	ChunkRows int
	// CreateTimeout bounds the wait for a new database to come online. Default 5 minutes.
	CreateTimeout time.Duration
	// CreateOptions follow the database name in each CREATE DATABASE mirrord sends:
	// "[COLLATE name] [(option, …)] [WITH CATALOG_COLLATION = DATABASE_DEFAULT]", where an
	// option is EDITION = '…', SERVICE_OBJECTIVE = '…', SERVICE_OBJECTIVE = ELASTIC_POOL(name =
	// pool), MAXSIZE = n MB|GB|TB or BACKUP_STORAGE_REDUNDANCY = '…'. On Azure SQL Database
	// they choose what each tenant's database costs: without them Azure creates each one at its
	// default service objective, a provisioned database per tenant, e.g.
	// "(SERVICE_OBJECTIVE = ELASTIC_POOL(name = mirrors))" puts every mirror in one pool. On SQL
	// Server only COLLATE means anything. Open refuses anything else (a grammar, not a list of
	// characters: the text goes into SQL). Empty: none.
	CreateOptions string
	// Logger receives the target's rare events: a database created, and how long it took to
	// come online. Nil logs nothing.
	Logger *slog.Logger
}

const (
	defaultNameTemplate  = "Mirror_{ctx}"
	defaultMaxConns      = 5
	defaultChunkRows     = 20000
	defaultCreateTimeout = 5 * time.Minute
	// packetSize is TDS's largest packet: bulk copy sends fewer, fuller packets.
	packetSize = "32767"
)

// SQL Server error numbers the target tells apart.
const (
	errDuplicateKey   = 2627 // PRIMARY KEY or UNIQUE constraint
	errDuplicateIndex = 2601 // unique index
	errDatabaseExists = 1801
	errObjectExists   = 2714
	errColumnExists   = 2705 // a column named twice: another process added it first
)

// Target is a SQL Server that holds one mirror database per tenant. It is safe for concurrent
// use; each tenant's mirror is opened once and cached.
type Target struct {
	opts  Options
	base  *url.URL // the server and credentials; the database is set per tenant
	admin *sql.DB  // the DSN's own database (master), for CREATE DATABASE and Ping

	mirrors *bulk.Opener[*Mirror] // one per tenant, opened on first contact
}

var _ bulk.Target = (*Target)(nil)

// Open connects to the server named by dsn (sqlserver://user:pass@host:port?database=master),
// whose database is where CREATE DATABASE runs.
func Open(ctx context.Context, dsn string, opts Options) (*Target, error) {
	if opts.NameTemplate == "" {
		opts.NameTemplate = defaultNameTemplate
	}
	if !strings.Contains(opts.NameTemplate, "{ctx}") {
		return nil, fmt.Errorf("mssql: database name template %q lacks {ctx}", opts.NameTemplate)
	}
	if opts.MaxConnsPerTenant <= 0 {
		opts.MaxConnsPerTenant = defaultMaxConns
	}
	if opts.ChunkRows <= 0 {
		opts.ChunkRows = defaultChunkRows
	}
	if opts.CreateTimeout <= 0 {
		opts.CreateTimeout = defaultCreateTimeout
	}
	if err := checkCreateOptions(opts.CreateOptions); err != nil {
		return nil, err
	}
	base, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	admin, err := openDB(base, queryValue(base.Query(), "database"))
	if err != nil {
		return nil, err
	}
	admin.SetMaxOpenConns(2)
	// database/sql retries a statement of this pool on a connection it finds bad ((*DB).retry,
	// maxBadConnRetries), but it finds out only by trying; closing idle connections before a
	// gateway drops them keeps that first try from failing.
	admin.SetConnMaxIdleTime(maxIdle)
	admin.SetConnMaxLifetime(30 * time.Minute)
	if err := pingWithin(ctx, admin); err != nil {
		return nil, fmt.Errorf("mssql: connect to %s: %w", base.Host, err)
	}
	return &Target{opts: opts, base: base, admin: admin, mirrors: bulk.NewOpener(func(m *Mirror) error { m.shut(); return nil })}, nil
}

// pingWithin pings db and returns by the end of ctx, even where the driver would not: go-mssqldb
// reads the prelogin answer and does the TLS handshake without the context (go-mssqldb's connect), so a
// server that accepts TCP and never answers holds a ping until the DSN's connection timeout,
// which tenant connections do not set. The ping then goes on in the background and closes db
// when it returns. On failure db is closed, or will be.
func pingWithin(ctx context.Context, db *sql.DB) error {
	done := make(chan error, 1)
	go func() { done <- db.PingContext(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			db.Close()
		}
		return err
	case <-ctx.Done():
		go func() {
			<-done
			db.Close()
		}()
		return fmt.Errorf("%w (the server did not answer)", ctx.Err())
	}
}

// parseDSN reads a sqlserver:// URL.
func parseDSN(dsn string) (*url.URL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, fmt.Errorf("mssql: parse DSN: %w", errors.New(strings.ReplaceAll(err.Error(), dsn, "<dsn>")))
	}
	if u.Scheme != "sqlserver" {
		return nil, fmt.Errorf("mssql: DSN scheme %q, want sqlserver://user:pass@host?database=master", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("mssql: DSN names no host")
	}
	return u, nil
}

// tenantDSN is the DSN of one database of the server: the base DSN with its database, the
// largest packet size, and GUIDs sent as given (this package puts them in wire order itself).
func tenantDSN(base *url.URL, database string) string {
	u := *base
	q := u.Query()
	if database != "" {
		setQuery(q, "database", database)
	}
	setQuery(q, "packet size", packetSize)
	setQuery(q, "guid conversion", "false")
	if method := queryValue(q, "fedauth"); method != "" {
		setQuery(q, "fedauth", canonicalFedAuth(method))
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// openDB opens a database of the server; a DSN with fedauth logs in with Entra ID (auth.go).
func openDB(base *url.URL, database string) (*sql.DB, error) {
	dsn := tenantDSN(base, database)
	var connector *mssqldb.Connector
	var err error
	if hasFedAuth(base.Query()) {
		connector, err = azuread.NewConnector(dsn)
	} else {
		connector, err = mssqldb.NewConnector(dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("mssql: DSN: %w", err)
	}
	return sql.OpenDB(connector), nil
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

// openMirror creates the tenant's database when it is missing, waits until it accepts work,
// and creates the state table.
func (t *Target) openMirror(ctx context.Context, tenant string) (*Mirror, error) {
	dbName, err := t.DatabaseName(tenant)
	if err != nil {
		return nil, err
	}
	state := bulk.StateTable(tenant)
	if err := checkIdentifier("state table", state); err != nil {
		return nil, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	db, err := openDB(t.base, dbName)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(int(t.opts.MaxConnsPerTenant) + 1)
	// Sessions leave database/sql's free list only by a failed setup or by Ping; a minute's
	// idle limit there closes such a stray connection soon rather than never.
	db.SetConnMaxIdleTime(time.Minute)
	sess, err := newSessions(db, t.opts.MaxConnsPerTenant, sessionSetupSQL)
	if err != nil {
		db.Close()
		return nil, err
	}
	m := &Mirror{target: t, tenant: tenant, database: dbName, state: state, sessions: sess, chunkRows: t.opts.ChunkRows}
	m.ledger = &statetable.Table{Tenant: tenant, Database: "database " + dbName, Name: state, CheckName: checkIdentifier, DB: stateDB{m}}
	m.Ops = m.ledger.Ops()
	if err := t.ensureDatabase(ctx, m); err != nil {
		sess.close()
		return nil, fmt.Errorf("tenant %s: database %s: %w", tenant, dbName, err)
	}
	if m.coll, err = m.readCollations(ctx); err != nil {
		sess.close()
		return nil, fmt.Errorf("tenant %s: database %s: %w", tenant, dbName, err)
	}
	return m, nil
}

// forget removes a closed mirror from the cache, so that the next Open connects anew.
func (t *Target) forget(tenant string, m *Mirror) { t.mirrors.Forget(tenant, m) }

// Ping reports whether the server answers.
func (t *Target) Ping(ctx context.Context) error {
	if err := t.admin.PingContext(ctx); err != nil {
		return fmt.Errorf("mssql: ping: %w", err)
	}
	return nil
}

// Close closes every tenant's sessions and the admin connection.
func (t *Target) Close() error {
	t.mirrors.Close()
	return t.admin.Close()
}

// isError reports whether err is a SQL Server error with one of the numbers.
func isError(err error, numbers ...int32) bool {
	var e mssqldb.Error
	if !errors.As(err, &e) {
		var p *mssqldb.Error
		if !errors.As(err, &p) || p == nil {
			return false
		}
		e = *p
	}
	for _, n := range numbers {
		if e.Number == n {
			return true
		}
		for _, a := range e.All {
			if a.Number == n {
				return true
			}
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
	state          string
	ledger         *statetable.Table // the state table's bookkeeping: wipes, drops, the cycle
	sessions       *sessions         // pinned sessions: #staging and T-SQL transactions live on one
	chunkRows      int
	coll           collations // chosen from the database's collation at open
	// lastApply is what the last committed apply did, by path: for the live tests only.
	lastApply atomic.Pointer[applyPaths]
}

var _ bulk.Mirror = (*Mirror)(nil)

// Database is the name of the mirror's database.
func (m *Mirror) Database() string { return m.database }

// Close closes the mirror's sessions; the next Open of the tenant connects anew.
func (m *Mirror) Close() error {
	m.target.forget(m.tenant, m)
	m.shut()
	return nil
}

func (m *Mirror) shut() { m.sessions.close() }

// withConn runs fn on a pinned session. A session whose connection fn found lost, or that fn
// leaves in doubt (a bulk copy that could not be ended, an error that the rollback could not
// clear), is closed rather than reused.
func (m *Mirror) withConn(ctx context.Context, fn func(*sql.Conn) error) error {
	res, err := m.sessions.acquire(ctx)
	if err != nil {
		return err
	}
	c := res.Value()
	err = fn(c)
	if err == nil {
		res.Release()
		return nil
	}
	var broken *brokenSession
	if errors.As(err, &broken) || connectionFault(err) != faultNone {
		// A rollback on a lost connection could only fail, or wait; closing the connection
		// makes the server roll back.
		res.Destroy()
		return err
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if _, rerr := c.ExecContext(rctx, rollbackSQL); rerr != nil {
		res.Destroy()
	} else {
		res.Release()
	}
	return err
}

// inTx runs fn in a T-SQL transaction on a pinned session and commits it.
//
// When BEGIN TRANSACTION itself fails because the session's connection is gone (a socket the
// server or a gateway closed while the session sat in the pool), it is tried once more on
// another session: nothing was read from the caller yet, and whatever the dead session held
// died with it. Nowhere else is anything retried: by then fn may have consumed rows that
// cannot be read twice.
func (m *Mirror) inTx(ctx context.Context, fn func(*sql.Conn) error) error {
	for attempt := 1; ; attempt++ {
		began := false
		err := m.withConn(ctx, func(c *sql.Conn) error {
			if _, err := c.ExecContext(ctx, beginSQL); err != nil {
				return err
			}
			began = true
			if err := fn(c); err != nil {
				return err
			}
			_, err := c.ExecContext(ctx, commitSQL)
			return err
		})
		if err != nil && !began && attempt == 1 && ctx.Err() == nil && connectionFault(err) != faultNone {
			continue
		}
		return err
	}
}

// inSchemaTx is inTx holding the mirror's schema lock: creates, alters, drops and the cycle's
// bookkeeping of one mirror run one at a time across processes.
func (m *Mirror) inSchemaTx(ctx context.Context, fn func(*sql.Conn) error) error {
	return m.inTx(ctx, func(c *sql.Conn) error {
		if _, err := c.ExecContext(ctx, schemaLockSQL); err != nil {
			return fmt.Errorf("take the mirror's schema lock: %w", err)
		}
		return fn(c)
	})
}

// execAll runs statements one by one, so that an error names its statement.
func execAll(ctx context.Context, c *sql.Conn, stmts []string) error {
	for _, s := range stmts {
		if _, err := c.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%w (in %.120s)", err, s)
		}
	}
	return nil
}
