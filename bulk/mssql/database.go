package mssql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// A tenant's database is found, created and waited for the same way on SQL Server and on Azure
// SQL Database, where DB_ID of another database is always NULL ("DB_ID may only be used to
// return the database identifier of the current database in Azure SQL Database", DB_ID
// (Transact-SQL)): what the server holds is read from sys.databases on the admin connection, and
// where that shows no row, from whether the login can open the database.

// transientLogin are the errors of a login to a database that is there but cannot take it now,
// and that a login retried a little later gets past: 40613 (the database is not currently
// available, as a paused serverless database is while it resumes), 40197 and 40501 (the service
// is busy or failing over), 10928 and 10929 (resource limits), 4060 (cannot open the database,
// as a database just created refuses logins for a while). They are the Azure SQL errors of
// SqlClient's baseline transient list (SqlConfigurableRetryFactory.BaselineTransientErrors) and
// of Entity Framework's SqlAzureExecutionStrategy.
var transientLogin = []int32{4060, 40197, 40501, 40613, 10928, 10929}

// unavailable are those of transientLogin that say the database exists: 4060 may also mean
// that it does not, or that the login may not open it.
var unavailable = []int32{40197, 40501, 40613, 10928, 10929}

// loginRetry bounds the retry of a transient login error when a session is opened: a serverless
// database resumes within about a minute.
const loginRetry = time.Minute

// login is what a login to the tenant's database gave, for a database sys.databases does not
// show.
type login int

const (
	loginNotTried login = iota
	loginOK
	loginUnavailable // the database exists and cannot take logins now (unavailable)
	loginFailed      // anything else: no such database, or no access to it
)

// dbAction is what to do about the tenant's database.
type dbAction int

const (
	dbUse dbAction = iota
	dbCreate
	dbWait
)

func (a dbAction) String() string {
	return [...]string{"use", "create", "wait"}[a]
}

// decideDatabase decides from the database's row in sys.databases (found, with its state_desc)
// and, when there is none, from a login to it.
//
// sys.databases shows a row to the database's owner and to a login with VIEW ANY DATABASE (on
// SQL Server granted to public by default), ALTER ANY DATABASE or CREATE DATABASE in master (on
// Azure, a member of dbmanager) (sys.databases, Permissions). A login that is only db_owner of a
// database the partner created sees no row for it, so a login that works means the database is
// there. A database in any state but ONLINE (RESTORING, RECOVERING, RECOVERY_PENDING, SUSPECT,
// EMERGENCY, OFFLINE, COPYING, OFFLINE_SECONDARY) is waited for.
func decideDatabase(found bool, state string, l login) dbAction {
	switch {
	case found && state == "ONLINE":
		return dbUse
	case found:
		return dbWait
	case l == loginOK:
		return dbUse
	case l == loginUnavailable:
		return dbWait
	}
	return dbCreate
}

// ensureDatabase creates the mirror's database when it is missing, waits until it takes work,
// and creates its state table. Two processes may race to create either: losing is fine.
func (t *Target) ensureDatabase(ctx context.Context, m *Mirror) error {
	ctx, cancel := context.WithTimeout(ctx, t.opts.CreateTimeout)
	defer cancel()
	start := time.Now()
	created := false
	delay := 100 * time.Millisecond
	for {
		err := t.ensureStep(ctx, m, &created)
		if err == nil {
			if created && t.opts.Logger != nil {
				// How long a CREATE DATABASE takes to come online is not documented for Azure
				// SQL Database; the log measures it.
				t.opts.Logger.Info("mssql: created database", "database", m.database, "online_after", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		var permanent *permanentError
		if errors.As(err, &permanent) {
			return permanent.err
		}
		if ctx.Err() != nil {
			return fmt.Errorf("not usable within %v: %w", t.opts.CreateTimeout, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// permanentError is an error of ensureStep that waiting does not cure.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }

// ensureStep looks once at the database and does what decideDatabase says; nil means the
// database takes work and holds the state table.
func (t *Target) ensureStep(ctx context.Context, m *Mirror, created *bool) error {
	var state, collation sql.NullString
	found := true
	err := t.admin.QueryRowContext(ctx, databaseStateSQL, m.database).Scan(&state, &collation)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		found = false
	case err != nil:
		return fmt.Errorf("read sys.databases: %w", err)
	}
	l, loginErr := loginNotTried, error(nil)
	if !found {
		l, loginErr = m.tryLogin(ctx)
	}
	switch decideDatabase(found, state.String, l) {
	case dbWait:
		if found {
			return fmt.Errorf("the database is %s, not ONLINE", state.String)
		}
		return fmt.Errorf("the database cannot take logins now: %w", loginErr)
	case dbCreate:
		_, err := t.admin.ExecContext(ctx, createDatabaseSQL(m.database, t.opts.CreateOptions))
		switch {
		case err == nil:
			*created = true
			return errors.New("created; waiting for it to come online")
		case isError(err, errDatabaseExists):
			// Another process created it a moment ago, or it is there but this login can
			// neither see it in sys.databases nor open it: waiting tells the two apart.
			return fmt.Errorf("it exists, but sys.databases does not show it and a login to it failed: %w", loginErr)
		}
		if loginErr != nil {
			return &permanentError{fmt.Errorf("create database: %w (and a login to it failed: %v)", err, loginErr)}
		}
		return &permanentError{fmt.Errorf("create database: %w", err)}
	}
	return m.createStateTable(ctx)
}

// tryLogin opens a connection to the mirror's database, bounded by a short timeout of its own.
func (m *Mirror) tryLogin(ctx context.Context) (login, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := m.sessions.db.PingContext(ctx)
	switch {
	case err == nil:
		return loginOK, nil
	case isError(err, unavailable...):
		return loginUnavailable, err
	}
	return loginFailed, err
}

// createStateTable creates the state table unless it exists, and adds the columns that a state
// table of an earlier version lacks.
func (m *Mirror) createStateTable(ctx context.Context) error {
	return m.withConn(ctx, func(c *sql.Conn) error {
		_, err := c.ExecContext(ctx, createStateTableSQL(m.state))
		if err != nil && !isError(err, errObjectExists) { // another process may create it between the check and the create
			return err
		}
		_, err = c.ExecContext(ctx, upgradeStateTableSQL(m.state))
		if isError(err, errColumnExists) {
			return nil // another process added the columns meanwhile
		}
		return err
	})
}

// createOptionsRE is the grammar CreateOptions must match, whole and without case: an optional
// COLLATE, an optional parenthesized list of Azure SQL Database's edition options, and an
// optional catalog collation, in the order of CREATE DATABASE (Azure SQL Database):
//
//	CREATE DATABASE name [COLLATE c] ( <edition_options> [,...n] ) [WITH CATALOG_COLLATION = …]
//
// A grammar and not a list of allowed characters: T-SQL needs no ';' between statements, so
// "(EDITION = 'Basic') DROP DATABASE x" is made of harmless characters, as is "AS COPY OF db".
// Names and values are letters, digits and underscores (a bracketed pool name may also hold
// spaces and hyphens, where "--" is part of the name, not a comment); no quote can be doubled
// and no comment opened.
var createOptionsRE = func() *regexp.Regexp {
	opt := `(?:(?:EDITION|SERVICE_OBJECTIVE|BACKUP_STORAGE_REDUNDANCY)\s*=\s*'[A-Za-z0-9_]{1,64}'` +
		`|SERVICE_OBJECTIVE\s*=\s*ELASTIC_POOL\s*\(\s*NAME\s*=\s*(?:[A-Za-z0-9_]{1,128}|\[[A-Za-z0-9_ -]{1,128}\])\s*\)` +
		`|MAXSIZE\s*=\s*[0-9]{1,5}\s*(?:MB|GB|TB))`
	return regexp.MustCompile(`(?i)^\s*(?:COLLATE\s+[A-Za-z0-9_]{1,128}\s*)?` +
		`(?:\(\s*` + opt + `(?:\s*,\s*` + opt + `)*\s*\)\s*)?` +
		`(?:WITH\s+CATALOG_COLLATION\s*=\s*(?:DATABASE_DEFAULT|SQL_Latin1_General_CP1_CI_AS)\s*)?$`)
}()

// checkCreateOptions checks Options.CreateOptions against createOptionsRE.
func checkCreateOptions(opts string) error {
	if !createOptionsRE.MatchString(opts) {
		return fmt.Errorf("mssql: create options %q: want [COLLATE name] [(EDITION = '…', SERVICE_OBJECTIVE = '…' | ELASTIC_POOL(name = …), MAXSIZE = n GB, BACKUP_STORAGE_REDUNDANCY = '…')] [WITH CATALOG_COLLATION = DATABASE_DEFAULT]", opts)
	}
	return nil
}

// setQuery sets key in q, after deleting every spelling of it: msdsn reads keys without case and
// refuses a key given twice ("key … provided more than once (connection string keys are
// case-insensitive…)", msdsn's splitConnectionStringURL), so "Database=master" in the DSN and a
// "database" set beside it would fail every connection.
func setQuery(q url.Values, key, value string) {
	for k := range q {
		if strings.EqualFold(k, key) {
			delete(q, k)
		}
	}
	q.Set(key, value)
}

// queryValue reads key from q without case, as msdsn does.
func queryValue(q url.Values, key string) string {
	for k, v := range q {
		if strings.EqualFold(k, key) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
