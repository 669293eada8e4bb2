package mssql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/jackc/puddle/v2"
	mssqldb "github.com/microsoft/go-mssqldb"
)

// A mirror's sessions are *sql.Conn values pinned by a puddle pool: #staging tables and T-SQL
// transactions live on one session, so database/sql must not hand a statement to another. The
// price is that database/sql's own care of its free list (its session reset, its validator, its
// idle and lifetime limits: database/sql's (*DB).putConn and connectionCleaner) never sees a
// pinned session. This file does that care itself: it closes a session for good, checks one
// that sat idle before use, closes sessions idle too long, and tells a lost connection from an
// error of SQL.

const (
	// idleCheck is how long a session may sit idle before it is pinged before use. Nothing
	// else notices a dead socket: go-mssqldb's IsValid turns false only after an error was seen
	// ((*Conn).IsValid, which checkBadConn clears), and its ResetSession only sets a flag for
	// the next request ((*Conn).ResetSession); Ping is a real round trip, "select 1;"
	// ((*Conn).Ping).
	idleCheck = time.Minute
	// pingTimeout bounds that ping: a path that drops packets silently would otherwise hold the
	// apply until its context ends, or for the TCP retransmission timeout (minutes).
	pingTimeout = 5 * time.Second
	// maxIdle is how long a session may sit idle before the reaper closes it: under Azure's
	// 4-minute SNAT idle timeout and its gateway's 30-minute idle timeout, after which the
	// socket is dead without either end being told ("Idle connections" among the reasons in
	// Microsoft's "SQL Azure connection management").
	maxIdle = 4 * time.Minute
	// reapEvery is how often the reaper looks.
	reapEvery = 30 * time.Second
	// rollbackTimeout bounds the rollback after a failed transaction. It runs without the
	// caller's context (which may have ended: that is often why it failed), and must not wait
	// forever on a socket that no longer answers.
	rollbackTimeout = 30 * time.Second
)

// sessions is a pool of pinned sessions of one database.
type sessions struct {
	db   *sql.DB
	pool *puddle.Pool[*sql.Conn]
	// setup is run on each new session (sessionSetupSQL).
	setup string
	// idleCheck is the idle time after which a session is pinged before use; a field so that
	// tests can make every session old.
	idleCheck time.Duration

	stopReaper chan struct{}
	reaperDone chan struct{}
	closeOnce  sync.Once
}

// newSessions makes a pool of at most size sessions of db and starts its reaper.
func newSessions(db *sql.DB, size int32, setup string) (*sessions, error) {
	s := &sessions{db: db, setup: setup, idleCheck: idleCheck, stopReaper: make(chan struct{}), reaperDone: make(chan struct{})}
	pool, err := puddle.NewPool(&puddle.Config[*sql.Conn]{
		Constructor: s.connect,
		Destructor:  closeSession,
		MaxSize:     size,
	})
	if err != nil {
		return nil, err
	}
	s.pool = pool
	go s.reaper()
	return s, nil
}

// connect pins a new session and sets it up. A login refused by a transient error (a paused
// serverless database resuming, a failover: transientLogin) is tried again for up to
// loginRetry, within the caller's context.
func (s *sessions) connect(ctx context.Context) (*sql.Conn, error) {
	deadline := time.Now().Add(loginRetry)
	delay := 500 * time.Millisecond
	var c *sql.Conn
	for {
		var err error
		c, err = s.db.Conn(ctx)
		if err == nil {
			break
		}
		if !isError(err, transientLogin...) || time.Now().Add(delay).After(deadline) {
			return nil, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (after %v)", ctx.Err(), err)
		}
		delay = min(2*delay, 10*time.Second)
	}
	if _, err := c.ExecContext(ctx, s.setup); err != nil {
		closeSession(c)
		return nil, err
	}
	return c, nil
}

// closeSession closes a pinned session's connection to the server for good.
//
// (*sql.Conn).Close alone would not: it hands the driver connection back to database/sql's free
// list ((*Conn).close to (*DB).putConn), where it keeps its open transaction and every
// lock of it (TABLOCK of a bulk load, MERGE's key-range locks, the state row's UPDLOCK, the
// schema's sp_getapplock) until database/sql happens to reuse it (the reset bit then rolls it
// back) or to close it. A function passed to Raw that returns driver.ErrBadConn makes
// database/sql close the driver connection instead ((*Conn).Raw's release, and
// (*Conn).closemuRUnlockCondReleaseConn, then (*DB).putConn's "Don't reuse bad connections"),
// which closes the socket (go-mssqldb's (*Conn).Close); the server rolls back the
// transaction of a connection that is gone. The Close after it then only reports that the
// connection is closed already.
func closeSession(c *sql.Conn) {
	_ = c.Raw(func(any) error { return driver.ErrBadConn })
	_ = c.Close()
}

// acquire takes a session from the pool. A session idle longer than idleCheck is pinged first;
// one that does not answer is closed and another is taken, at most once more than the pool holds.
func (s *sessions) acquire(ctx context.Context) (*puddle.Resource[*sql.Conn], error) {
	var lastErr error
	for range int(s.pool.Stat().MaxResources()) + 1 {
		res, err := s.pool.Acquire(ctx)
		if err != nil {
			return nil, err
		}
		if res.IdleDuration() < s.idleCheck {
			return res, nil
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err = res.Value().PingContext(pctx)
		cancel()
		if err == nil {
			return res, nil
		}
		// A ping that failed, for whatever reason, leaves the session in doubt: close it.
		res.Destroy()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lastErr = err
	}
	return nil, fmt.Errorf("no session answered a ping: %w", lastErr)
}

// reaper closes sessions idle longer than maxIdle, until close.
func (s *sessions) reaper() {
	defer close(s.reaperDone)
	tick := time.NewTicker(reapEvery)
	defer tick.Stop()
	for {
		select {
		case <-s.stopReaper:
			return
		case <-tick.C:
			reapIdle(s.pool, maxIdle)
		}
	}
}

// reapIdle destroys the idle resources of p that have been idle for at least limit, and hands
// the others back without marking them used (puddle's ReleaseUnused keeps their idle time). It
// returns how many it destroyed.
func reapIdle[T any](p *puddle.Pool[T], limit time.Duration) int {
	n := 0
	for _, res := range p.AcquireAllIdle() {
		if res.IdleDuration() >= limit {
			res.Destroy()
			n++
		} else {
			res.ReleaseUnused()
		}
	}
	return n
}

// close stops the reaper and closes every session, then the database handle.
func (s *sessions) close() {
	s.closeOnce.Do(func() {
		close(s.stopReaper)
		<-s.reaperDone
		s.pool.Close()
		s.db.Close()
	})
}

// fault is what an error says about the connection it came from.
type fault int

const (
	// faultNone: an error of SQL, of the caller or of its context; the session still talks.
	faultNone fault = iota
	// faultBroken: the session was known unusable before the statement was sent.
	faultBroken
	// faultLost: the connection broke while the statement was in flight.
	faultLost
)

// connectionFault tells whether err means the session's connection is gone.
//
//   - driver.ErrBadConn: go-mssqldb returns it on entry when an earlier error marked the
//     connection bad ((*Stmt).exec), and its RetryableError, for a request it could not
//     send, matches it with errors.Is (RetryableError.Is; (*Stmt).exec). sql.ErrConnDone:
//     database/sql closed the *sql.Conn after such an error.
//   - io.EOF, io.ErrUnexpectedEOF, a net.Error, mssqldb.StreamError (a broken stream, also a
//     failed drain after a cancel, cancelDrainError) and mssqldb.ServerError (a fatal
//     DONE_SRVERROR, processSingleResponse): the driver marks the connection bad on each
//     ((*Conn).checkBadConn) but does not make them retryable once the request was
//     sent ((*Stmt).processExec). With disableretry=true in the DSN even a failed
//     send comes back this way (msdsn.Parse).
//
// The context's own errors come first: context.DeadlineExceeded is a net.Error too (it has
// Timeout), but after a cancel the driver sends an attention and drains the reply (go-mssqldb's token processing),
// and the session stays usable.
func connectionFault(err error) fault {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return faultNone
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		return faultBroken
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return faultLost
	}
	var netErr net.Error
	var streamErr mssqldb.StreamError
	var serverErr mssqldb.ServerError
	if errors.As(err, &netErr) || errors.As(err, &streamErr) || errors.As(err, &serverErr) {
		return faultLost
	}
	return faultNone
}
