package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Options tune a Target. The zero value is the default.
type Options struct {
	// NameTemplate is the template of a tenant's file name in the folder: {ctx} stands for the
	// tenant's context identifier. Default "Mirror_{ctx}.db".
	NameTemplate string
	// BusyTimeout is how long a statement waits for a lock that another process (an operator's
	// sqlite3 shell, the partner's own jobs) holds on the file. Default 10s.
	BusyTimeout time.Duration
	// ReadConns is the number of read connections per tenant file (catalog reads, counts);
	// writes always go through one connection of their own. Default 2.
	ReadConns int
	// RowIDTables creates every keyed table as an ordinary rowid table. By default a keyed
	// table whose declared row is narrow is WITHOUT ROWID, where loads and upserts by key
	// measured faster, and a wider one is a rowid table, where they measured faster and the
	// file smaller (TYPES.md); rowid tables also suit a partner who needs rowid or incremental
	// blob I/O.
	RowIDTables bool
}

// DefaultFileName is the file name template when Options.NameTemplate is empty.
const DefaultFileName = "Mirror_{ctx}.db"

const ctxPlaceholder = "{ctx}"

// Target is a folder of tenant mirror files. It is safe for concurrent use; each tenant's file
// is opened once and kept open until Close.
type Target struct {
	dir  string
	opts Options

	mirrors *bulk.Opener[*Mirror] // one per tenant, opened on first contact
}

var _ bulk.Target = (*Target)(nil)

// Open returns a target on the folder dir, creating the folder if it is missing.
func Open(dir string, opts Options) (*Target, error) {
	if dir == "" {
		return nil, errors.New("sqlite target: the folder is empty")
	}
	if opts.NameTemplate == "" {
		opts.NameTemplate = DefaultFileName
	}
	if _, err := fileName(opts.NameTemplate, "Cust1"); err != nil {
		return nil, fmt.Errorf("sqlite target: %w", err)
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	if opts.ReadConns <= 0 {
		opts.ReadConns = 2
	}
	if strings.ContainsRune(dir, '?') {
		return nil, fmt.Errorf("sqlite target: folder %q contains '?', which the driver reads as the start of its options", dir)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite target: create folder: %w", err)
	}
	// An absolute path, so that errors name the files where an operator finds them, and the
	// path can be told apart from other text in the messages a caller is sent.
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sqlite target: %w", err)
	}
	dir = abs
	return &Target{dir: dir, opts: opts, mirrors: bulk.NewOpener((*Mirror).close)}, nil
}

// fileName applies the template to a tenant. The name without its extension must pass
// schema.CheckName, so that a template cannot reach outside the folder or make odd file names.
func fileName(template, tenant string) (string, error) {
	if strings.Count(template, ctxPlaceholder) != 1 {
		return "", fmt.Errorf("file name template %q must contain %s exactly once", template, ctxPlaceholder)
	}
	name := strings.Replace(template, ctxPlaceholder, tenant, 1)
	stem := strings.TrimSuffix(name, filepath.Ext(name))
	if err := schema.CheckName("file", stem); err != nil {
		return "", fmt.Errorf("file name template %q for tenant %s: %w", template, tenant, err)
	}
	return name, nil
}

// Path is the file that holds a tenant's mirror.
func (t *Target) Path(tenant string) (string, error) {
	if err := schema.CheckName("tenant", tenant); err != nil {
		return "", err
	}
	name, err := fileName(t.opts.NameTemplate, tenant)
	if err != nil {
		return "", err
	}
	return filepath.Join(t.dir, name), nil
}

// Open returns the tenant's mirror, creating its file and state table on first contact.
func (t *Target) Open(ctx context.Context, tenant string) (bulk.Mirror, error) {
	m, err := t.OpenMirror(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// OpenMirror is Open with the concrete type.
func (t *Target) OpenMirror(ctx context.Context, tenant string) (*Mirror, error) {
	path, err := t.Path(tenant)
	if err != nil {
		return nil, err
	}
	return t.mirrors.Get(ctx, tenant, func(ctx context.Context) (*Mirror, error) {
		m, err := openMirrorRetrying(ctx, tenant, path, t.opts)
		if err == nil {
			m.forget = func() { t.mirrors.Forget(tenant, m) }
		}
		return m, err
	})
}

// Ping reports whether the folder is there and is a folder.
func (t *Target) Ping(ctx context.Context) error {
	fi, err := os.Stat(t.dir)
	if err != nil {
		return fmt.Errorf("sqlite target: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("sqlite target: %s is not a folder", t.dir)
	}
	return ctx.Err()
}

// Close closes every tenant file. Mirrors handed out before stop working.
func (t *Target) Close() error { return t.mirrors.Close() }

// dsn is the driver's data source name for a file: pragmas run on every new connection.
func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "foreign_keys(0)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Take the write lock at BEGIN: a deferred transaction that reads first and then
		// writes fails with SQLITE_BUSY, without waiting, when another process wrote meanwhile.
		q.Set("_txlock", "immediate")
	}
	return path + "?" + q.Encode()
}

// openMirrorRetrying opens the file, again while another process holds it locked: setting the
// journal mode of a new file to WAL needs a moment alone with it, and SQLite answers SQLITE_BUSY
// at once rather than waiting out the busy timeout when two processes open it together.
func openMirrorRetrying(ctx context.Context, tenant, path string, opts Options) (*Mirror, error) {
	deadline := time.Now().Add(opts.BusyTimeout)
	delay := 10 * time.Millisecond
	for {
		m, err := openMirror(ctx, tenant, path, opts)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return m, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

func openMirror(ctx context.Context, tenant, path string, opts Options) (*Mirror, error) {
	fail := func(err error) (*Mirror, error) {
		return nil, fmt.Errorf("tenant %s: open %s: %w", tenant, path, err)
	}
	w, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, false))
	if err != nil {
		return fail(err)
	}
	// One writer connection serializes every write to the file inside this process, so
	// concurrent applies wait their turn in database/sql's queue instead of meeting SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	state := bulk.StateTable(tenant)
	if err := prepareStateTable(ctx, w, state); err != nil {
		w.Close()
		return fail(err)
	}
	r, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, true))
	if err != nil {
		w.Close()
		return fail(err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	m := &Mirror{tenant: tenant, path: path, state: state, w: w, r: r,
		withoutRowID: narrowRow, rowsPerWrite: defaultRowsPerWrite}
	if opts.RowIDTables {
		m.withoutRowID = func(schema.Table) bool { return false }
	}
	m.Ops = m.ledger().Ops()
	return m, nil
}

// prepareStateTable creates the state table, or adds the columns that a state table made by an
// earlier version lacks.
func prepareStateTable(ctx context.Context, w *sql.DB, state string) error {
	if _, err := w.ExecContext(ctx, createStateTableSQL(state)); err != nil {
		return err
	}
	rows, err := w.QueryContext(ctx, stateColumnsSQL(state))
	if err != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		have[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range stateColumns {
		if have[c.name] {
			continue
		}
		// Another process may add it first: a duplicate column then is no error.
		if _, err := w.ExecContext(ctx, addStateColumnSQL(state, c.name, c.definition)); err != nil && !strings.Contains(err.Error(), "duplicate column") {
			return fmt.Errorf("add column %s to %s: %w", c.name, state, err)
		}
	}
	return nil
}
