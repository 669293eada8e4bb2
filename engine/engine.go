// Package engine applies mirroring calls to a bulk.Target: tenants, per-table lanes, schema sync, wipes, streamed row applies, LSN bookkeeping and per-cycle counts.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Options tune the engine. Zero values take the defaults.
type Options struct {
	// MaxApplies caps the table applies running at once across all tenants. Each holds one
	// database connection for its transaction, so this is the cap on connections in use.
	MaxApplies int
	// MaxAppliesPerTenant caps the table applies of one tenant at once: set it below the
	// target's connection pool per tenant, so that a loader never waits inside the target.
	MaxAppliesPerTenant int
	// SpoolDir holds the temporary files of rows whose table waits for its turn; the
	// system's temporary folder when empty.
	SpoolDir string
	// MaxInflightBytes caps the decoded row bytes waiting between decoders and loaders.
	MaxInflightBytes int64
	// ChunkRows is how many rows a decoder hands to a loader at a time.
	ChunkRows int
	// Wait bounds how long a call waits for a busy (tenant, table) lane, an apply slot or
	// in-flight budget before it fails with a clear error instead of hanging.
	Wait   time.Duration
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultMaxApplies          = 16
	DefaultMaxAppliesPerTenant = 4
	DefaultMaxInflightBytes    = 64 << 20
	DefaultChunkRows           = 2048
	DefaultWait                = 2 * time.Minute
)

func (o Options) withDefaults() Options {
	if o.MaxApplies <= 0 {
		o.MaxApplies = DefaultMaxApplies
	}
	if o.MaxAppliesPerTenant <= 0 {
		o.MaxAppliesPerTenant = DefaultMaxAppliesPerTenant
	}
	if o.MaxInflightBytes <= 0 {
		o.MaxInflightBytes = DefaultMaxInflightBytes
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = DefaultChunkRows
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ErrBadRequest marks errors that are the caller's mistake (errors.Is): a bad name, an unknown
// table or column, a schema that does not validate. Other errors are the server's or the database's.
var ErrBadRequest = errors.New("bad request")

type requestError struct{ msg string }

func (e *requestError) Error() string        { return e.msg }
func (e *requestError) Is(target error) bool { return target == ErrBadRequest }

func badRequest(format string, args ...any) error {
	return &requestError{msg: fmt.Sprintf(format, args...)}
}

// Change is the schema change a TableSchema call made to a table, as the response names it.
type Change string

const (
	ChangeNone      Change = "None"
	ChangeCreated   Change = "Created"
	ChangeAltered   Change = "Altered"
	ChangeRecreated Change = "Recreated"
)

// TableResult is one table's answer to TableSchema.
type TableResult struct {
	Name   string
	LSN    int64
	Change Change
}

// TableCounts are one table's committed rows since the tenant's last Authenticate.
type TableCounts struct {
	Name string
	bulk.Counts
}

// Engine applies mirroring calls to one target. It is safe for concurrent use.
type Engine struct {
	target   bulk.Target
	opts     Options
	slots    *semaphore.Weighted
	inflight *semaphore.Weighted

	mu      sync.Mutex
	tenants map[string]*tenant
}

// New returns an engine over target.
func New(target bulk.Target, opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{
		target:   target,
		opts:     opts,
		slots:    semaphore.NewWeighted(int64(opts.MaxApplies)),
		inflight: semaphore.NewWeighted(opts.MaxInflightBytes),
		tenants:  make(map[string]*tenant),
	}
}

// Close closes every tenant's mirror and the target.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, t := range e.tenants {
		if m := t.current(); m != nil {
			errs = append(errs, m.Close())
		}
	}
	e.tenants = map[string]*tenant{}
	errs = append(errs, e.target.Close())
	return errors.Join(errs...)
}

// Ping reports whether the target answers.
func (e *Engine) Ping(ctx context.Context) error { return e.target.Ping(ctx) }

// tenant is one tenant's mirror, its cached catalog and its counts since Authenticate.
type tenant struct {
	name string

	openMu sync.Mutex  // guards mirror; held while it is opened
	mirror bulk.Mirror // read through current()

	mu     sync.Mutex
	tables map[string]bulk.TableState // nil until read
	fresh  map[string]bool            // tables created or wiped this cycle that took only inserts since
	counts map[string]*bulk.Counts
	lanes  map[string]*lane
	slots  *semaphore.Weighted // the tenant's share of apply slots
}

// tenant returns the tenant, opening its mirror (and creating it on first contact) if needed.
func (e *Engine) tenant(ctx context.Context, name string) (*tenant, error) {
	if err := schema.CheckName("tenant", name); err != nil {
		return nil, &requestError{msg: err.Error()}
	}
	if len(bulk.StateTable(name)) > schema.MaxNameLength {
		return nil, badRequest("tenant name %q is too long for its state table name", name)
	}
	e.mu.Lock()
	t := e.tenants[name]
	if t == nil {
		t = &tenant{
			name:   name,
			fresh:  map[string]bool{},
			counts: map[string]*bulk.Counts{},
			lanes:  map[string]*lane{},
			slots:  semaphore.NewWeighted(int64(e.opts.MaxAppliesPerTenant)),
		}
		e.tenants[name] = t
	}
	e.mu.Unlock()

	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.mirror == nil {
		m, err := e.target.Open(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open the mirror of tenant %s: %w", name, err)
		}
		t.mirror = m
	}
	return t, nil
}

// current is the tenant's mirror. The lock orders reads against reopen.
func (t *tenant) current() bulk.Mirror {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	return t.mirror
}

// reopen closes the tenant's mirror and opens it again through the target.
func (t *tenant) reopen(ctx context.Context, target bulk.Target) error {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.mirror != nil {
		t.mirror.Close()
		t.mirror = nil
	}
	t.forget()
	m, err := target.Open(ctx, t.name)
	if err != nil {
		return fmt.Errorf("open the mirror of tenant %s anew: %w", t.name, err)
	}
	t.mirror = m
	return nil
}

// catalog returns the cached catalog, reading it from the mirror when it is not cached or when
// refresh is set.
func (t *tenant) catalog(ctx context.Context, refresh bool) (map[string]bulk.TableState, error) {
	t.mu.Lock()
	tables := t.tables
	t.mu.Unlock()
	if tables != nil && !refresh {
		return tables, nil
	}
	tables, err := t.current().Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the catalog of tenant %s: %w", t.name, err)
	}
	t.mu.Lock()
	t.tables = tables
	t.mu.Unlock()
	return tables, nil
}

// forget drops the cached catalog so that the next use reads it again.
func (t *tenant) forget() {
	t.mu.Lock()
	t.tables = nil
	t.mu.Unlock()
}

func (t *tenant) setLSN(table string, lsn int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st, ok := t.tables[table]; ok {
		st.LSN = lsn
		// Copy on write: readers hold the old map without the lock.
		next := make(map[string]bulk.TableState, len(t.tables))
		for k, v := range t.tables {
			next[k] = v
		}
		next[table] = st
		t.tables = next
	}
}

// isFresh reports whether the table was created or wiped this cycle and took only inserts since.
func (t *tenant) isFresh(table string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fresh[table]
}

// setFresh records whether the table is fresh: true after a create or wipe, false once it takes
// an update or a delete.
func (t *tenant) setFresh(table string, fresh bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fresh {
		t.fresh[table] = true
	} else {
		delete(t.fresh, table)
	}
}

func (t *tenant) addCounts(table string, c bulk.Counts) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := t.counts[table]
	if sum == nil {
		sum = &bulk.Counts{}
		t.counts[table] = sum
	}
	sum.Add(c)
}

// Authenticate opens the tenant's mirror (creating it on first contact) and starts a new cycle:
// the counts that Complete reports start again from zero. A mirror that no longer answers (its
// database or file was deleted between cycles) is opened anew, which creates it again.
func (e *Engine) Authenticate(ctx context.Context, tenant string) error {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	if _, err := t.catalog(ctx, true); err != nil {
		e.opts.Logger.Warn("mirror does not answer; opening it anew", "tenant", tenant, "err", err)
		if err := t.reopen(ctx, e.target); err != nil {
			return err
		}
		if _, err := t.catalog(ctx, true); err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.counts = map[string]*bulk.Counts{}
	t.mu.Unlock()
	return nil
}

// SyncSchema brings the mirror to the tables of a TableSchema call: each table is diffed against
// the catalog the target reads back and migrated; mirrored tables absent from the call are
// dropped. It answers each table's LSN (-1 after create or recreate) and change.
func (e *Engine) SyncSchema(ctx context.Context, tenant string, tables []schema.Table) ([]TableResult, error) {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	desired := make([]schema.Table, len(tables))
	seen := make(map[string]string, len(tables))
	state := strings.ToLower(bulk.StateTable(tenant))
	for i, tab := range tables {
		v, err := tab.Validate()
		if err != nil {
			return nil, &requestError{msg: err.Error()}
		}
		key := strings.ToLower(v.Name)
		if key == state {
			return nil, badRequest("table %s has the name of the mirror's state table", v.Name)
		}
		if prev, dup := seen[key]; dup {
			return nil, badRequest("table %s is named twice (also as %s)", v.Name, prev)
		}
		seen[key] = v.Name
		desired[i] = v
	}

	names := make([]string, 0, len(desired))
	for _, d := range desired {
		names = append(names, d.Name)
	}
	before, err := t.catalog(ctx, true)
	if err != nil {
		return nil, err
	}
	locked := slices.Clone(names)
	for name := range before {
		locked = append(locked, name)
	}
	release, err := e.lockLanes(ctx, t, locked)
	if err != nil {
		return nil, err
	}
	defer release()
	defer t.forget()
	// Read again under the lanes: a wipe or apply that finished while we waited has moved LSNs.
	current, err := t.catalog(ctx, true)
	if err != nil {
		return nil, err
	}
	var absent []string
	for name := range current {
		// A table another process created meanwhile is not locked: it is left for the next call.
		if !slices.Contains(names, name) && slices.Contains(locked, name) {
			absent = append(absent, name)
		}
	}
	slices.Sort(absent)

	// Drop first: a table renamed only in case must be gone before its new spelling is created
	// on a database whose names ignore case.
	if len(absent) > 0 {
		if err := t.current().Drop(ctx, absent); err != nil {
			return nil, fmt.Errorf("drop tables %s: %w", strings.Join(absent, ", "), err)
		}
		e.opts.Logger.Info("tables dropped", "tenant", tenant, "tables", absent)
	}
	results := make([]TableResult, len(desired))
	for i, d := range desired {
		var cur *schema.Table
		st, exists := current[d.Name]
		if exists {
			cur = &st.Table
		}
		plan := schema.Diff(cur, d)
		hash := d.Hash()
		if plan.Action != schema.None || st.Hash != hash {
			if err := t.current().Migrate(ctx, plan); err != nil {
				return nil, fmt.Errorf("%s table %s: %w", plan.Action, d.Name, err)
			}
		}
		res := TableResult{Name: d.Name, LSN: st.LSN, Change: ChangeNone}
		switch plan.Action {
		case schema.Create:
			res.LSN, res.Change = bulk.NoLSN, ChangeCreated
		case schema.Recreate:
			res.LSN, res.Change = bulk.NoLSN, ChangeRecreated
			e.opts.Logger.Info("table recreated", "tenant", tenant, "table", d.Name, "reason", plan.Reason)
		case schema.Alter:
			res.Change = ChangeAltered
		}
		t.setFresh(d.Name, plan.Action == schema.Create || plan.Action == schema.Recreate)
		results[i] = res
	}
	return results, nil
}

// Wipe removes every row of the tables and sets their LSN to -1, in one transaction; the tables
// and their indexes stay.
func (e *Engine) Wipe(ctx context.Context, tenant string, tables []string) error {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil
	}
	if _, err := e.mirrored(ctx, t, tables); err != nil {
		return err
	}
	release, err := e.lockLanes(ctx, t, tables)
	if err != nil {
		return err
	}
	defer release()
	if err := t.current().Wipe(ctx, tables); err != nil {
		t.forget()
		return fmt.Errorf("wipe %s: %w", strings.Join(tables, ", "), err)
	}
	for _, name := range tables {
		t.setLSN(name, bulk.NoLSN)
		t.setFresh(name, true)
	}
	return nil
}

// mirrored returns the catalog entries of the named tables, reading the catalog again once if a
// name is missing (another process may have created it). A name the mirror does not have is the
// caller's mistake.
func (e *Engine) mirrored(ctx context.Context, t *tenant, names []string) ([]bulk.TableState, error) {
	for attempt := 0; ; attempt++ {
		tables, err := t.catalog(ctx, attempt > 0)
		if err != nil {
			return nil, err
		}
		out := make([]bulk.TableState, 0, len(names))
		var missing string
		for _, name := range names {
			st, ok := tables[name]
			if !ok {
				missing = name
				break
			}
			out = append(out, st)
		}
		if missing == "" {
			return out, nil
		}
		if attempt > 0 {
			if err := schema.CheckName("table", missing); err != nil {
				return nil, &requestError{msg: err.Error()}
			}
			return nil, badRequest("table %s is not mirrored for tenant %s (send it in TableSchema first)", missing, t.name)
		}
	}
}

// Complete ends a cycle: it returns each table's committed inserted, updated and deleted rows
// since the tenant's last Authenticate, sorted by table name.
func (e *Engine) Complete(ctx context.Context, tenant string) ([]TableCounts, error) {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]TableCounts, 0, len(t.counts))
	for name, c := range t.counts {
		out = append(out, TableCounts{Name: name, Counts: *c})
	}
	slices.SortFunc(out, func(a, b TableCounts) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
