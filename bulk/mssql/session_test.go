package mssql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/puddle/v2"
	mssqldb "github.com/microsoft/go-mssqldb"
)

// TestCloseSession shows the trap and the fix: (*sql.Conn).Close hands the driver connection
// back to database/sql, open; closeSession closes it.
func TestCloseSession(t *testing.T) {
	f := &fakeConnector{}
	db := sql.OpenDB(f)
	defer db.Close()
	ctx := t.Context()

	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if f.conn(t, 1).isClosed() || db.Stats().Idle != 1 {
		t.Fatalf("(*sql.Conn).Close: driver connection closed %t, idle %d; the trap is gone, so is the reason for closeSession", f.conn(t, 1).isClosed(), db.Stats().Idle)
	}

	c, err = db.Conn(ctx) // database/sql hands out the same driver connection again
	if err != nil {
		t.Fatal(err)
	}
	closeSession(c)
	if !f.conn(t, 1).isClosed() {
		t.Error("closeSession left the driver connection open")
	}
	if st := db.Stats(); st.OpenConnections != 0 || st.Idle != 0 {
		t.Errorf("after closeSession: %d open, %d idle; want none", st.OpenConnections, st.Idle)
	}
}

// TestSessionsDestroyAndRelease: a destroyed session's connection is closed, a released one is
// kept and handed out again.
func TestSessionsDestroyAndRelease(t *testing.T) {
	f := &fakeConnector{}
	m := fakeMirror(t, f, 2)
	ctx := t.Context()

	res, err := m.sessions.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := res.Value()
	res.Release()
	if f.conn(t, 1).isClosed() {
		t.Fatal("Release closed the connection")
	}
	res, err = m.sessions.acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value() != first {
		t.Error("a released session was not handed out again")
	}
	res.Destroy()
	f.conn(t, 1).waitClosed(t)
	if got := f.conn(t, 1).statements(); len(got) == 0 || got[0] != sessionSetupSQL {
		t.Errorf("the session was not set up: %q", got)
	}
}

// TestInTx covers the retry of a lost BEGIN TRANSACTION, and what withConn does with the
// session after each kind of failure.
func TestInTx(t *testing.T) {
	lost := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	duplicate := mssqldb.Error{Number: errDuplicateKey, Message: "Violation of PRIMARY KEY constraint"}
	cases := []struct {
		name string
		// fail decides the fake's errors; fnErr is what the transaction's body returns.
		fail  func(n int, query string) error
		fnErr error
		// want: whether inTx fails, how many times the body ran, how many connections were
		// opened, and which of them end closed.
		wantErr    bool
		wantRuns   int
		wantOpened int
		wantClosed []int
		// wantRollback is whether connection 1 was sent the rollback.
		wantRollback bool
	}{
		{
			name:     "commit",
			wantRuns: 1, wantOpened: 1,
		},
		{
			name: "BEGIN lost on a dead session is retried on a new one",
			fail: func(n int, q string) error {
				if n == 1 && q == beginSQL {
					return io.EOF
				}
				return nil
			},
			wantRuns: 1, wantOpened: 2, wantClosed: []int{1},
		},
		{
			name: "BEGIN on a session the driver knows is bad is retried",
			fail: func(n int, q string) error {
				if n == 1 && q == beginSQL {
					return fmt.Errorf("wrapped: %w", driver.ErrBadConn)
				}
				return nil
			},
			wantRuns: 1, wantOpened: 2, wantClosed: []int{1},
		},
		{
			name: "BEGIN lost twice is retried once",
			fail: func(n int, q string) error {
				if q == beginSQL {
					return lost
				}
				return nil
			},
			wantErr: true, wantRuns: 0, wantOpened: 2, wantClosed: []int{1, 2},
		},
		{
			name: "BEGIN refused by the server is not retried",
			fail: func(n int, q string) error {
				if q == beginSQL {
					return mssqldb.Error{Number: 3902, Message: "refused"}
				}
				return nil
			},
			wantErr: true, wantRuns: 0, wantOpened: 1, wantRollback: true,
		},
		{
			name:    "connection lost inside the transaction: no retry, no rollback, closed",
			fnErr:   fmt.Errorf("merge: %w", io.ErrUnexpectedEOF),
			wantErr: true, wantRuns: 1, wantOpened: 1, wantClosed: []int{1},
		},
		{
			name:    "an error of SQL rolls back and keeps the session",
			fnErr:   fmt.Errorf("merge: %w", duplicate),
			wantErr: true, wantRuns: 1, wantOpened: 1, wantRollback: true,
		},
		{
			name: "a rollback that fails closes the session",
			fail: func(n int, q string) error {
				if q == rollbackSQL {
					return mssqldb.Error{Number: 4022, Message: "Bulk load data was expected but not sent"}
				}
				return nil
			},
			fnErr:   duplicate,
			wantErr: true, wantRuns: 1, wantOpened: 1, wantClosed: []int{1}, wantRollback: true,
		},
		{
			name:    "a session in doubt is closed without a rollback",
			fnErr:   &brokenSession{errors.New("bulk copy could not be ended")},
			wantErr: true, wantRuns: 1, wantOpened: 1, wantClosed: []int{1},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := &fakeConnector{fail: c.fail}
			m := fakeMirror(t, f, 2)
			runs := 0
			err := m.inTx(t.Context(), func(*sql.Conn) error {
				runs++
				return c.fnErr
			})
			if (err != nil) != c.wantErr {
				t.Fatalf("inTx: %v, want an error: %t", err, c.wantErr)
			}
			if runs != c.wantRuns {
				t.Errorf("the body ran %d times, want %d", runs, c.wantRuns)
			}
			if n := f.opened(); n != c.wantOpened {
				t.Errorf("%d connections opened, want %d", n, c.wantOpened)
			}
			for n := 1; n <= f.opened(); n++ {
				if slices.Contains(c.wantClosed, n) {
					f.conn(t, n).waitClosed(t)
				}
			}
			m.sessions.close() // waits for every destructor; closes the rest
			if got := slices.Contains(f.conn(t, 1).statements(), rollbackSQL); got != c.wantRollback {
				t.Errorf("rollback sent on connection 1: %t, want %t (%q)", got, c.wantRollback, f.conn(t, 1).statements())
			}
		})
	}
}

// TestRollbackIsBounded: the rollback after a failure runs after the caller's context ended,
// with a deadline of its own.
func TestRollbackIsBounded(t *testing.T) {
	var deadline atomic.Value
	f := &fakeConnector{execCtx: func(_ int, q string, ctx context.Context) {
		if q == rollbackSQL {
			dl, ok := ctx.Deadline()
			deadline.Store(fmt.Sprintf("%t %t", ok && time.Until(dl) <= rollbackTimeout && time.Until(dl) > 0, ctx.Err() == nil))
		}
	}}
	m := fakeMirror(t, f, 1)
	ctx, cancel := context.WithCancel(t.Context())
	err := m.withConn(ctx, func(*sql.Conn) error {
		cancel() // the caller gives up while the statement runs
		return errors.New("statement failed")
	})
	if err == nil {
		t.Fatal("no error")
	}
	if got := deadline.Load(); got != "true true" {
		t.Errorf("rollback context: bounded and live = %v, want true true", got)
	}
}

// TestAcquirePingsIdleSessions: a session idle past the check is pinged; one that does not
// answer is closed and a new one is used.
func TestAcquirePingsIdleSessions(t *testing.T) {
	var dead atomic.Bool
	f := &fakeConnector{fail: func(n int, q string) error {
		if n == 1 && q == "PING" && dead.Load() {
			return &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
		}
		return nil
	}}
	m := fakeMirror(t, f, 2)
	if err := m.withConn(t.Context(), func(*sql.Conn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	m.sessions.idleCheck = 0 // every session is old enough to be checked
	dead.Store(true)
	var used *sql.Conn
	if err := m.withConn(t.Context(), func(c *sql.Conn) error { used = c; return nil }); err != nil {
		t.Fatal(err)
	}
	f.conn(t, 1).waitClosed(t)
	if f.opened() != 2 || used == nil {
		t.Fatalf("%d connections opened, want 2", f.opened())
	}

	// A session used just now is not pinged.
	m.sessions.idleCheck = time.Hour
	before := len(f.conn(t, 2).statements())
	if err := m.withConn(t.Context(), func(*sql.Conn) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if after := f.conn(t, 2).statements()[before:]; len(after) != 0 {
		t.Errorf("a session idle under the check sent %q before use", after)
	}
}

// TestReapIdle: resources idle past the limit are destroyed; the others go back with their idle
// time kept, so that they are reaped in their turn.
func TestReapIdle(t *testing.T) {
	var destroyed atomic.Int32
	next := atomic.Int32{}
	pool, err := puddle.NewPool(&puddle.Config[int32]{
		Constructor: func(context.Context) (int32, error) { return next.Add(1), nil },
		Destructor:  func(int32) { destroyed.Add(1) },
		MaxSize:     3,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := t.Context()
	a, _ := pool.Acquire(ctx)
	b, _ := pool.Acquire(ctx)
	a.Release()
	b.Release()
	time.Sleep(20 * time.Millisecond)

	if n := reapIdle(pool, time.Hour); n != 0 {
		t.Fatalf("reaped %d resources idle for 20ms with a limit of an hour", n)
	}
	if st := pool.Stat(); st.IdleResources() != 2 {
		t.Fatalf("%d idle after a reap that kept all, want 2", st.IdleResources())
	}
	// ReleaseUnused kept their idle time: a limit of 10ms reaps both.
	if n := reapIdle(pool, 10*time.Millisecond); n != 2 {
		t.Fatalf("reaped %d, want 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for destroyed.Load() != 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if destroyed.Load() != 2 || pool.Stat().TotalResources() != 0 {
		t.Errorf("destroyed %d, %d left; want 2 and 0", destroyed.Load(), pool.Stat().TotalResources())
	}
}

func TestConnectionFault(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want fault
	}{
		{"nil", nil, faultNone},
		{"bad connection", driver.ErrBadConn, faultBroken},
		{"wrapped bad connection", fmt.Errorf("begin: %w", driver.ErrBadConn), faultBroken},
		{"connection done", sql.ErrConnDone, faultBroken},
		{"EOF", io.EOF, faultLost},
		{"wrapped unexpected EOF", fmt.Errorf("x: %w", io.ErrUnexpectedEOF), faultLost},
		{"reset by peer", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, faultLost},
		{"read deadline (connection timeout)", fmt.Errorf("x: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), faultLost},
		{"stream error", mssqldb.StreamError{InnerError: errors.New("bad token")}, faultLost},
		{"server error", mssqldb.ServerError{}, faultLost},
		{"context canceled", context.Canceled, faultNone},
		{"context deadline (a net.Error too)", fmt.Errorf("x: %w", context.DeadlineExceeded), faultNone},
		{"duplicate key", mssqldb.Error{Number: errDuplicateKey}, faultNone},
		{"plain error", errors.New("column x: bad value"), faultNone},
		{"ErrNotFresh", fmt.Errorf("x: %w", errors.New("not fresh")), faultNone},
	}
	for _, c := range cases {
		if got := connectionFault(c.err); got != c.want {
			t.Errorf("%s: connectionFault(%v) = %d, want %d", c.name, c.err, got, c.want)
		}
	}
}

// fakeBulk is a bulk copy that fails where told.
type fakeBulk struct {
	failAdd  int // AddRow fails on this row (from 1); 0 never
	doneErr  error
	count    int64 // what Done reports; -1 for the rows added
	added    int
	doneCall int
}

func (b *fakeBulk) AddRow([]any) error {
	if b.added+1 == b.failAdd {
		return errors.New("bulkcopy: invalid type for int column")
	}
	b.added++
	return nil
}

func (b *fakeBulk) Done() (int64, error) {
	b.doneCall++
	if b.doneErr != nil {
		return 0, b.doneErr
	}
	if b.count >= 0 {
		return b.count, nil
	}
	return int64(b.added), nil
}

func TestCopyRows(t *testing.T) {
	rowsOf := func(n int, err error) func() ([]any, bool, error) {
		i := 0
		return func() ([]any, bool, error) {
			if i == n {
				return nil, false, err
			}
			i++
			return []any{int64(i)}, true, nil
		}
	}
	lost := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("reset")}
	cases := []struct {
		name       string
		bulk       fakeBulk
		rows       int
		nextErr    error
		wantErr    string // "" for none
		wantBroken bool
	}{
		{"all rows", fakeBulk{count: -1}, 3, nil, "", false},
		{"AddRow fails on row 1: Done still ends the load", fakeBulk{failAdd: 1, count: -1}, 3, nil, "bulk copy matches column names with case", false},
		{"AddRow fails on row 2", fakeBulk{failAdd: 2, count: -1}, 3, nil, "row 7: bulkcopy: invalid type", false},
		{"AddRow fails and so does Done", fakeBulk{failAdd: 1, doneErr: lost}, 3, nil, "then ending the bulk copy", true},
		{"next fails", fakeBulk{count: -1}, 2, errors.New("decoder failed"), "decoder failed", false},
		{"next fails and so does Done", fakeBulk{doneErr: lost}, 2, errors.New("decoder failed"), "then ending the bulk copy", true},
		{"Done fails after every row", fakeBulk{doneErr: mssqldb.Error{Number: errDuplicateKey, Message: "dup"}}, 2, nil, "dup", false},
		{"short count", fakeBulk{count: 1}, 2, nil, "the server reports 1 rows, 2 were sent", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.bulk
			err := copyRows(&b, "t", func() int64 { return 7 }, rowsOf(c.rows, c.nextErr))
			if b.doneCall != 1 {
				t.Errorf("Done called %d times, want once", b.doneCall)
			}
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error %v, want one with %q", err, c.wantErr)
			}
			var broken *brokenSession
			if got := errors.As(err, &broken); got != c.wantBroken {
				t.Errorf("brokenSession: %t, want %t", got, c.wantBroken)
			}
		})
	}
}
