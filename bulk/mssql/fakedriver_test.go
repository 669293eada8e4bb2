package mssql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"sync"
	"testing"
	"time"
)

// fakeConnector is a database/sql driver with no server behind it: each connection records the
// statements it was sent and whether it was closed, and fail decides, by connection number
// (from 1) and statement, which of them fail. It drives the session handling of this package
// (pool, destroy, ping, retry) through the real database/sql, which is where its traps are.
type fakeConnector struct {
	mu    sync.Mutex
	conns []*fakeConn
	// fail returns the error of a statement (or of "PING") on connection n; nil lets it pass.
	fail func(n int, query string) error
	// execCtx, when set, sees the context of every statement.
	execCtx func(n int, query string, ctx context.Context)
}

func (f *fakeConnector) Connect(context.Context) (driver.Conn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := &fakeConn{f: f, n: len(f.conns) + 1}
	f.conns = append(f.conns, c)
	return c, nil
}

func (f *fakeConnector) Driver() driver.Driver { return fakeDriver{} }

// conn returns connection n (from 1).
func (f *fakeConnector) conn(t *testing.T, n int) *fakeConn {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if n > len(f.conns) {
		t.Fatalf("connection %d was never opened (%d were)", n, len(f.conns))
	}
	return f.conns[n-1]
}

func (f *fakeConnector) opened() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.conns)
}

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return nil, errors.New("use the connector") }

type fakeConn struct {
	f      *fakeConnector
	n      int
	mu     sync.Mutex
	sent   []string
	closed bool
}

func (c *fakeConn) run(ctx context.Context, query string) error {
	c.mu.Lock()
	c.sent = append(c.sent, query)
	c.mu.Unlock()
	if c.f.execCtx != nil {
		c.f.execCtx(c.n, query, ctx)
	}
	if c.f.fail != nil {
		return c.f.fail(c.n, query)
	}
	return nil
}

func (c *fakeConn) ExecContext(ctx context.Context, query string, _ []driver.NamedValue) (driver.Result, error) {
	if err := c.run(ctx, query); err != nil {
		return nil, err
	}
	return driver.RowsAffected(0), nil
}

func (c *fakeConn) Ping(ctx context.Context) error { return c.run(ctx, "PING") }

func (c *fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("fake: no Prepare") }
func (c *fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("fake: no Begin") }

func (c *fakeConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *fakeConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *fakeConn) statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

// waitClosed waits for puddle's destructor, which runs in a goroutine of its own.
func (c *fakeConn) waitClosed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !c.isClosed() {
		if time.Now().After(deadline) {
			t.Fatalf("connection %d was never closed", c.n)
		}
		time.Sleep(time.Millisecond)
	}
}

// fakeMirror is a Mirror over the fake driver with a pool of size sessions.
func fakeMirror(t *testing.T, f *fakeConnector, size int32) *Mirror {
	t.Helper()
	s, err := newSessions(sql.OpenDB(f), size, sessionSetupSQL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return &Mirror{tenant: "CustFake", sessions: s}
}
