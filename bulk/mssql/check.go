package mssql

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mssqldb "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/azuread"

	"github.com/mirrord/mirrord/bulk"
)

var _ bulk.Checker = (*Target)(nil)

// The check's bounds. The context bounds the TCP dial, the login and the queries, but not the
// prelogin exchange and TLS handshake (go-mssqldb's readPrelogin and the handshake take no
// context); only "connection timeout" bounds those, as a deadline on every read and write of the
// connection (timeoutConn's Read and Write, which connect puts around the socket). The check's
// own connection has it; the tenant pools do not, since a long MERGE sends no byte for longer
// than that.
const (
	checkTimeout     = time.Minute
	checkDialTimeout = 10 // seconds, the DSN's "dial timeout"
	checkConnTimeout = 30 // seconds, the DSN's "connection timeout"
	// checkDatabases caps the mirror databases the check probes.
	checkDatabases = 5
)

// Check checks the server and login of the target (bulk.Checker): see CheckDSN.
func (t *Target) Check(ctx context.Context) []bulk.Check { return check(ctx, t.base, t.opts) }

// CheckDSN checks a SQL Server and login before mirrord serves, without opening a Target
// (whose Open would wait on a server that accepts connections but does not answer): that it
// answers, its version and edition, that the login may create databases, and, in up to five
// existing mirror databases (by opts.NameTemplate), that it may create and alter a table and
// bulk load it, by a probe that is rolled back. It returns every check it made, failed or not,
// and returns by ctx's deadline or within a minute, whichever is first; a check that ran out of
// time names the step it was in (dial, prelogin and TLS, login, query).
func CheckDSN(ctx context.Context, dsn string, opts Options) []bulk.Check {
	base, err := parseDSN(dsn)
	if err != nil {
		return []bulk.Check{{Name: "DSN", Detail: err.Error()}}
	}
	if opts.NameTemplate == "" {
		opts.NameTemplate = defaultNameTemplate
	}
	return check(ctx, base, opts)
}

// phase is how far a connection of the check got, for a check that runs out of time.
type phase int32

const (
	phaseDial     phase = iota // opening the TCP connection
	phasePrelogin              // connected; the server has sent nothing yet (prelogin, TLS)
	phaseLogin                 // the server answered; the login is under way
	phaseQuery                 // logged in
)

func (p phase) String() string {
	switch p {
	case phaseDial:
		return "dial: opening the TCP connection (is the host and port right, and a firewall open?)"
	case phasePrelogin:
		return "prelogin and TLS: the TCP connection is open but the server sent nothing (is it SQL Server, and is TLS set as it wants: encrypt, TrustServerCertificate?)"
	case phaseLogin:
		return "login: the server answered, the login did not complete (an Entra ID token being fetched, or a slow login)"
	}
	return "query: logged in, waiting on a query"
}

// phaseDialer dials as go-mssqldb's own dialer does (TCP keepalive 30 s, the createDialer its
// init sets) and records how far its connections got: a connection that read a byte has heard
// the server.
type phaseDialer struct{ phase *atomic.Int32 }

func (d phaseDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.advance(phasePrelogin)
	return phaseConn{Conn: c, d: d}, nil
}

func (d phaseDialer) advance(p phase) {
	for {
		cur := d.phase.Load()
		if cur >= int32(p) || d.phase.CompareAndSwap(cur, int32(p)) {
			return
		}
	}
}

type phaseConn struct {
	net.Conn
	d phaseDialer
}

func (c phaseConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.d.advance(phaseLogin)
	}
	return n, err
}

// checkDSN is the DSN of the check's own connections: the tenant DSN with the check's dial and
// connection timeouts.
func checkDSN(base *url.URL, database string) string {
	u, _ := url.Parse(tenantDSN(base, database)) // tenantDSN writes a URL that parses
	q := u.Query()
	setQuery(q, "dial timeout", strconv.Itoa(checkDialTimeout))
	setQuery(q, "connection timeout", strconv.Itoa(checkConnTimeout))
	u.RawQuery = q.Encode()
	return u.String()
}

// checker holds what the steps of one check share.
type checker struct {
	base  *url.URL
	opts  Options
	phase atomic.Int32
	out   []bulk.Check
	// timedOut says a step ran out of time: its goroutine may still use a connection, which
	// must then be closed in the background (closing a *sql.Conn waits for its query).
	timedOut bool

	mu     sync.Mutex
	open   []*sql.DB // the check's database handles, closed when the check ends
	closed bool
}

// closeAll closes the check's database handles, and any that a step abandoned opens later.
func (c *checker) closeAll() {
	c.mu.Lock()
	dbs := c.open
	c.open, c.closed = nil, true
	c.mu.Unlock()
	go func() {
		for _, db := range dbs {
			db.Close()
		}
	}()
}

func (c *checker) openDB(database string) (*sql.DB, error) {
	dsn := checkDSN(c.base, database)
	var conn *mssqldb.Connector
	var err error
	if hasFedAuth(c.base.Query()) {
		conn, err = azuread.NewConnector(dsn)
	} else {
		conn, err = mssqldb.NewConnector(dsn)
	}
	if err != nil {
		return nil, err
	}
	conn.Dialer = phaseDialer{phase: &c.phase}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		db.Close()
		return nil, errors.New("the check has ended")
	}
	c.open = append(c.open, db)
	return db, nil
}

// step runs fn and records its check, unless ctx ends first: then it records the step as timed
// out, naming the phase its connection was in, and reports false. The abandoned fn ends by the
// connection timeout of the check's connections.
func (c *checker) step(ctx context.Context, name string, fn func() bulk.Check) bool {
	start := time.Now()
	done := make(chan bulk.Check, 1)
	go func() { done <- fn() }()
	select {
	case r := <-done:
		c.out = append(c.out, r)
		return true
	case <-ctx.Done():
		c.timedOut = true
		c.out = append(c.out, bulk.Check{Name: name, Detail: fmt.Sprintf("no answer within %v; stopped in %s", time.Since(start).Round(time.Millisecond), phase(c.phase.Load()))})
		return false
	}
}

// check runs the steps of CheckDSN one after another, on one connection to the DSN's database
// and one to each mirror database probed, and stops at the first that runs out of time.
func check(ctx context.Context, base *url.URL, opts Options) []bulk.Check {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c := &checker{base: base, opts: opts}
	defer c.closeAll()

	admin, err := c.openDB(queryValue(base.Query(), "database"))
	if err != nil {
		return []bulk.Check{{Name: "connect", Detail: "DSN: " + err.Error()}}
	}
	var conn *sql.Conn
	if !c.step(ctx, "connect", func() bulk.Check {
		cn, err := admin.Conn(ctx)
		if err != nil {
			return bulk.Check{Name: "connect", Detail: connectDetail(err, phase(c.phase.Load()))}
		}
		c.phase.Store(int32(phaseQuery))
		conn = cn
		return bulk.Check{Name: "connect", OK: true, Detail: "connected to " + base.Host}
	}) || conn == nil {
		return c.out
	}
	defer func() {
		if c.timedOut {
			go conn.Close()
		} else {
			conn.Close()
		}
	}()

	var id serverIdentity
	if !c.step(ctx, "server", func() bulk.Check {
		if err := conn.QueryRowContext(ctx, serverIdentitySQL).Scan(&id.version, &id.level, &id.edition, &id.engineEdition, &id.collation, &id.login, &id.database); err != nil {
			return bulk.Check{Name: "server", Detail: err.Error()}
		}
		return id.check()
	}) {
		return c.out
	}
	if !c.step(ctx, "create database", func() bulk.Check {
		var perm, roleA, roleB sql.NullInt64
		if err := conn.QueryRowContext(ctx, createDatabasePermsSQL(id.engineEdition)).Scan(&perm, &roleA, &roleB); err != nil {
			return bulk.Check{Name: "create database", Detail: err.Error()}
		}
		return createDatabaseVerdict(id.engineEdition, id.login, perm, roleA, roleB)
	}) {
		return c.out
	}

	var mirrors []string
	if !c.step(ctx, "mirror databases", func() bulk.Check {
		names, err := listDatabases(ctx, conn)
		if err != nil {
			return bulk.Check{Name: "mirror databases", Detail: err.Error()}
		}
		for _, name := range names {
			if templateMatches(opts.NameTemplate, name) {
				mirrors = append(mirrors, name)
			}
		}
		detail := fmt.Sprintf("%d visible database(s) named by the template %s", len(mirrors), opts.NameTemplate)
		if len(mirrors) == 0 {
			detail += "; mirrord creates each mirror database and owns it (dbo), which may create, alter and bulk load its tables"
		}
		return bulk.Check{Name: "mirror databases", OK: true, Detail: detail}
	}) {
		return c.out
	}
	if len(mirrors) > checkDatabases {
		mirrors = mirrors[:checkDatabases]
	}
	for _, name := range mirrors {
		stepName := "tables and bulk load in " + name
		c.phase.Store(int32(phaseDial))
		if !c.step(ctx, stepName, func() bulk.Check { return c.probe(ctx, stepName, name) }) {
			return c.out
		}
	}
	return c.out
}

// listDatabases lists the databases sys.databases shows the login.
func listDatabases(ctx context.Context, conn *sql.Conn) ([]string, error) {
	return bulk.ScanStrings(conn.QueryContext(ctx, listDatabasesSQL))
}

// connectDetail says why a connection failed, with the fix where the error tells it.
func connectDetail(err error, p phase) string {
	switch {
	case isError(err, 18456):
		return "login failed (18456): check the user and password, or the Entra ID method of fedauth; " + err.Error()
	case isError(err, 4060):
		return "the login may not open the DSN's database (4060); use ?database=master, where mirrord creates databases: " + err.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out in " + p.String()
	}
	return fmt.Sprintf("failed in %s: %v", p, err)
}

// probe creates a table in a mirror database, bulk loads two rows into it with TABLOCK as the
// direct path does, adds a column, and rolls it all back: DDL is transactional in SQL Server, so
// nothing stays. It checks what a grant only suggests: bcp-style INSERT BULK needs INSERT and
// SELECT (the driver reads the table's metadata first) and, for a table with constraints or
// triggers and no CHECK_CONSTRAINTS or FIRE_TRIGGERS hint, ALTER as well (bcp utility,
// Permissions).
func (c *checker) probe(ctx context.Context, stepName, database string) bulk.Check {
	fail := func(what string, err error) bulk.Check {
		return bulk.Check{Name: stepName, Detail: fmt.Sprintf("%s: %v; the login needs db_owner there (USE %s; CREATE USER … FOR LOGIN …; ALTER ROLE db_owner ADD MEMBER …)", what, err, quote(database))}
	}
	db, err := c.openDB(database)
	if err != nil {
		return fail("connect", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fail("connect", errors.New(connectDetail(err, phase(c.phase.Load()))))
	}
	defer conn.Close()
	c.phase.Store(int32(phaseQuery))
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	table := "mirrord_check_" + hex.EncodeToString(b)
	stmts := checkProbeSQL(table)
	// Whatever happens, the probe is rolled back (a failed rollback leaves nothing either: the
	// connection closes next, and the server rolls back with it).
	defer func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), rollbackSQL) }()
	for i, s := range stmts {
		if i == 2 { // after CREATE TABLE: the bulk load, then the ALTER
			err := conn.Raw(func(dc any) error {
				mc, ok := dc.(*mssqldb.Conn)
				if !ok {
					return fmt.Errorf("not a go-mssqldb connection: %T", dc)
				}
				bk := mc.CreateBulkContext(ctx, bulkTarget(table), []string{"id", "s"})
				bk.Options.Tablock = true
				bk.Options.KeepNulls = true
				return copyRows(bk, table, func() int64 { return 0 }, twoRows())
			})
			if err != nil {
				return fail("bulk load", err)
			}
		}
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fail(probeStepNames[i], err)
		}
	}
	return bulk.Check{Name: stepName, OK: true, Detail: "created a table, bulk loaded it with TABLOCK, altered it, and rolled it all back"}
}

// probeStepNames name the statements of checkProbeSQL.
var probeStepNames = []string{"begin", "create table", "alter table", "roll back"}

// twoRows is the probe's rows.
func twoRows() func() ([]any, bool, error) {
	n := 0
	return func() ([]any, bool, error) {
		if n == 2 {
			return nil, false, nil
		}
		n++
		return []any{int64(n), "check"}, true, nil
	}
}

// serverIdentity is what serverIdentitySQL reads.
type serverIdentity struct {
	version, level, edition string
	engineEdition           int
	collation, login        string
	database                string
}

// check says whether mirrord supports the server: SQL Server 2014 (12) or later, Azure SQL
// Database and Managed Instance. mirrord's DDL avoids DROP … IF EXISTS (2016) for 2014; UTF-8
// collations need SQL Server 2019 (15).
func (s serverIdentity) check() bulk.Check {
	kind := map[int]string{2: "Standard", 3: "Enterprise or Developer", 4: "Express", 5: "Azure SQL Database", 6: "Azure Synapse", 8: "Azure SQL Managed Instance", 9: "Azure SQL Edge"}[s.engineEdition]
	if kind == "" {
		kind = "engine edition " + strconv.Itoa(s.engineEdition)
	}
	detail := fmt.Sprintf("%s %s (%s), %s; collation %s; login %s in database %s", s.edition, s.version, s.level, kind, s.collation, s.login, s.database)
	ok, note := versionVerdict(s.version, s.engineEdition)
	if note != "" {
		detail += "; " + note
	}
	return bulk.Check{Name: "server", OK: ok, Detail: detail}
}

// versionVerdict judges a ProductVersion ("16.0.4135.4") of an engine edition.
func versionVerdict(version string, engineEdition int) (bool, string) {
	switch engineEdition {
	case 5, 8:
		return true, ""
	case 6:
		return false, "Azure Synapse is not supported: mirrord needs SQL Server 2014 or later, Azure SQL Database or Managed Instance"
	}
	major, err := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
	switch {
	case err != nil:
		return false, fmt.Sprintf("version %q does not read as a number", version)
	case major < 12:
		return false, "mirrord needs SQL Server 2014 (12) or later"
	case major < 15:
		return true, "UTF-8 collations (_UTF8) need SQL Server 2019 (15) or later"
	}
	return true, ""
}

// createDatabaseVerdict judges whether a login may create databases, from createDatabasePermsSQL:
// on SQL Server the CREATE ANY DATABASE permission or the dbcreator or sysadmin role; on Azure
// SQL Database, in master, CREATE DATABASE, the dbmanager role or ##MS_DatabaseManager## (CREATE
// DATABASE (Azure SQL Database), Permissions). NULL (the role does not exist there) counts as no.
func createDatabaseVerdict(engineEdition int, login string, perm, roleA, roleB sql.NullInt64) bulk.Check {
	yes := func(v sql.NullInt64) bool { return v.Valid && v.Int64 == 1 }
	if yes(perm) || yes(roleA) || yes(roleB) {
		return bulk.Check{Name: "create database", OK: true, Detail: "the login may create databases"}
	}
	grant := "in master: GRANT CREATE ANY DATABASE TO " + quote(login)
	if engineEdition == 5 {
		grant = "in master: CREATE USER " + quote(login) + " FOR LOGIN " + quote(login) + "; ALTER ROLE dbmanager ADD MEMBER " + quote(login) + " (an Entra ID principal: CREATE USER … FROM EXTERNAL PROVIDER)"
	}
	return bulk.Check{Name: "create database", Detail: "the login may not create databases; " + grant + "; or create each mirror database beforehand and make the login db_owner in it"}
}

// templateMatches reports whether a database name could be a mirror of the name template: the
// text before {ctx} and after it, with a tenant between.
func templateMatches(template, name string) bool {
	before, after, ok := strings.Cut(template, "{ctx}")
	if !ok {
		return false
	}
	return len(name) > len(before)+len(after) && strings.HasPrefix(name, before) && strings.HasSuffix(name, after)
}
