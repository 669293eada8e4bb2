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
	"github.com/mirrord/mirrord/internal/freelist"
	"github.com/mirrord/mirrord/schema"
)

// Options tune the engine. Zero values take the defaults.
type Options struct {
	// MaxApplies caps the table applies running at once across all tenants. Each holds one
	// database connection for its transaction, so this is the cap on connections in use.
	MaxApplies int
	// MaxAppliesPerTenant caps the table applies of one tenant at once: set it below the
	// target's connection pool per tenant, so that a loader never waits inside the target.
	// A mirror that writes fewer tables at once (bulk.WriterLimiter: SQLite writes one) lowers
	// it for its tenant.
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
	// Hooks hears the events a partner's code may refuse (hooks.go); none when nil.
	Hooks Hooks
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

// TableCounts are the rows one table took since the tenant's cycle began, as the mirror
// counted them (every process that served the cycle adds to them).
type TableCounts struct {
	Name string
	bulk.Counts
}

// TableCycle is one mirrored table as a cycle ended: the rows it took in the cycle and its LSN.
type TableCycle struct {
	Name string
	bulk.Counts
	LSN int64
}

// Completion is what ReplicationCompleted did: each table's counts for the cycle, sorted by
// name, the tables dropped because no TableSchema call of the cycle named them, and the counts
// the Mirroring Task sent with the call (its own summary, where it sent one), kept for whatever
// follows the cycle. Tables lists every table still mirrored, with its LSN, for the hooks.
type Completion struct {
	Counts  []TableCounts
	Dropped []string
	Sent    []TableCounts
	Tables  []TableCycle
}

// ErrBusy marks errors that go away when the call is sent again: another process changed the
// mirror while the call ran, or the server had no room for it in time.
var ErrBusy = errors.New("retry later")

type busyError struct{ msg string }

func (e *busyError) Error() string        { return e.msg }
func (e *busyError) Is(target error) bool { return target == ErrBusy }

// Engine applies mirroring calls to one target. It is safe for concurrent use.
type Engine struct {
	target   bulk.Target
	opts     Options
	slots    *semaphore.Weighted
	inflight *semaphore.Weighted
	// chunks keeps the arrays of chunks that loaders have read, for the decoders' next ones:
	// without it a long call allocates, clears and collects ChunkRows rows of values at every
	// chunk (a quarter of what a repopulation allocated).
	chunks freelist.List[*chunk]

	mu      sync.Mutex
	tenants map[string]*tenant
}

// chunkListBytes bounds the chunk arrays an engine keeps while idle: about twenty chunks of
// DefaultChunkRows rows of twelve columns.
const chunkListBytes = 16 << 20

// New returns an engine over target.
func New(target bulk.Target, opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{
		target:   target,
		opts:     opts,
		slots:    semaphore.NewWeighted(int64(opts.MaxApplies)),
		inflight: semaphore.NewWeighted(opts.MaxInflightBytes),
		chunks:   freelist.List[*chunk]{Max: chunkListBytes},
		tenants:  make(map[string]*tenant),
	}
}

// Close closes every tenant's mirror and the target.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	for _, t := range e.tenants {
		t.openMu.Lock()
		if t.m != nil {
			errs = append(errs, t.m.Close())
			t.m = nil
		}
		t.openMu.Unlock()
	}
	e.tenants = map[string]*tenant{}
	errs = append(errs, e.target.Close())
	return errors.Join(errs...)
}

// Ping reports whether the target answers.
func (e *Engine) Ping(ctx context.Context) error { return e.target.Ping(ctx) }

// tenant is one tenant's mirror and what this process keeps of it: the catalog it read last, and
// which tables may still be loaded straight in (a guess that costs time when wrong, never data).
// Everything that must hold across processes (schema hashes, LSNs, the cycle, its counts, which
// tables it wiped) lives in the mirror.
type tenant struct {
	name string

	openMu sync.Mutex  // guards m; held while it is opened
	m      bulk.Mirror // nil until opened, and after an open failed; read through mirror()

	mu     sync.Mutex
	tables map[string]bulk.TableState // the catalog; nil until read
	fresh  map[string]bool            // tables created or wiped this cycle that took only inserts since
	lanes  map[string]*lane
	cycle  hookCycle // what this process saw of the tenant's cycle, for the hooks
	// slots are the tenant's share of apply slots, sized when the mirror is first opened
	// (under openMu) and kept from then on.
	slots *semaphore.Weighted
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
			name:  name,
			fresh: map[string]bool{},
			lanes: map[string]*lane{},
			cycle: newHookCycle(),
		}
		e.tenants[name] = t
	}
	e.mu.Unlock()

	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.m == nil {
		m, err := e.target.Open(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open the mirror of tenant %s: %w", name, err)
		}
		t.m = m
	}
	if t.slots == nil {
		t.slots = semaphore.NewWeighted(int64(e.applySlots(t.m)))
	}
	return t, nil
}

// applySlots is how many tables of the mirror's tenant may be applied at once: no more than the
// mirror writes at once, so that the tables over it wait in the engine with their chunks spooled,
// never inside the mirror, where a waiting Apply would stop taking rows and block the decoder
// that feeds the call's other tables.
func (e *Engine) applySlots(m bulk.Mirror) int {
	n := e.opts.MaxAppliesPerTenant
	if wl, ok := m.(bulk.WriterLimiter); ok && wl.MaxWriters() > 0 {
		n = min(n, wl.MaxWriters())
	}
	return n
}

// mirror is the tenant's mirror. It fails, rather than handing out nothing, when a reopen
// failed after the caller found the tenant: the target went away meanwhile.
func (t *tenant) mirror() (bulk.Mirror, error) {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.m == nil {
		return nil, fmt.Errorf("the mirror of tenant %s is not open: the target did not answer when it was opened anew", t.name)
	}
	return t.m, nil
}

// reopen closes the tenant's mirror and opens it again through the target.
func (t *tenant) reopen(ctx context.Context, target bulk.Target) error {
	t.openMu.Lock()
	defer t.openMu.Unlock()
	if t.m != nil {
		t.m.Close()
		t.m = nil
	}
	t.forget()
	m, err := target.Open(ctx, t.name)
	if err != nil {
		return fmt.Errorf("open the mirror of tenant %s anew: %w", t.name, err)
	}
	t.m = m
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
	m, err := t.mirror()
	if err != nil {
		return nil, err
	}
	tables, err = m.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the catalog of tenant %s: %w", t.name, err)
	}
	t.mu.Lock()
	t.tables = tables
	t.mu.Unlock()
	return tables, nil
}

// currentCatalog returns the catalog, read again when the mirror's state table says another
// process changed a table since it was read (states is that state table, read just now).
func (t *tenant) currentCatalog(ctx context.Context, states map[string]bulk.TableState) (map[string]bulk.TableState, error) {
	tables, err := t.catalog(ctx, false)
	if err != nil {
		return nil, err
	}
	stale := len(tables) != len(states)
	for name, st := range states {
		if cached, ok := tables[name]; !ok || cached.Hash != st.Hash {
			stale = true
			break
		}
	}
	if !stale {
		return tables, nil
	}
	return t.catalog(ctx, true)
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

// Authenticate opens the tenant's mirror (creating it on first contact) and begins a new cycle
// in it: no table is named by the cycle yet, and the counts start again from zero. A mirror
// that no longer answers (its database or file was deleted between cycles) is opened anew,
// which creates it again.
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
	m, err := t.mirror()
	if err != nil {
		return err
	}
	if err := m.BeginCycle(ctx); err != nil {
		return err
	}
	t.beginHookCycle()
	return nil
}

// maxSchemaTries bounds how often a TableSchema call plans again when another process changed
// the mirror between its read of the catalog and its migration.
const maxSchemaTries = 4

// SyncSchema brings the mirror to the tables of a TableSchema call: each table is diffed against
// the catalog the target reads back and migrated, and the call's tables are recorded as named by
// the cycle. Mirrored tables absent from the call stay until the cycle completes (Complete drops
// those no call of the cycle named), except one whose name differs from a table of the call in
// case only: it goes at once, so that the new spelling can be created on databases whose names
// ignore case. It answers each table's LSN (-1 after create or recreate) and change.
func (e *Engine) SyncSchema(ctx context.Context, tenant string, tables []schema.Table) ([]TableResult, error) {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	m, err := t.mirror()
	if err != nil {
		return nil, err
	}
	// Named first, before anything can refuse the call: a table the call names is the cycle's,
	// so that the cycle's end never drops it, whether or not its schema could be applied.
	var named []string
	for _, tab := range tables {
		if schema.CheckName("table", tab.Name) == nil {
			named = append(named, tab.Name)
		}
	}
	if err := m.NameTables(ctx, named); err != nil {
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
		if !slices.Contains(locked, name) {
			locked = append(locked, name)
		}
	}
	release, err := e.lockLanes(ctx, t, locked)
	if err != nil {
		return nil, err
	}
	defer release()
	defer t.forget()
	for try := 1; ; try++ {
		results, err := e.syncSchema(ctx, t, m, desired, seen)
		if err == nil {
			t.schemaChanged(results)
		}
		if !errors.Is(err, bulk.ErrSchemaChanged) {
			return results, err
		}
		if try == maxSchemaTries {
			return nil, &busyError{fmt.Sprintf("the schema of tenant %s changed under this call %d times (another mirrord process is migrating it); send it again: %v", tenant, try, err)}
		}
		e.opts.Logger.Info("schema changed by another process; planning again", "tenant", tenant, "err", err)
	}
}

// syncSchema plans each table against the catalog read now (under the lanes, so that no wipe or
// apply of this process moves it) and migrates it.
func (e *Engine) syncSchema(ctx context.Context, t *tenant, m bulk.Mirror, desired []schema.Table, named map[string]string) ([]TableResult, error) {
	current, err := t.catalog(ctx, true)
	if err != nil {
		return nil, err
	}
	// A table the state table lists but the database lacks (dropped by hand) is missing from the
	// catalog, and its plan is a create made from the state row that is still there.
	states, err := m.States(ctx)
	if err != nil {
		return nil, err
	}
	var respelled []string
	for name := range current {
		if spelled, ok := named[strings.ToLower(name)]; ok && spelled != name {
			respelled = append(respelled, name)
		}
	}
	// The state row of a table dropped by hand and since renamed in case goes too, before the
	// new spelling is created: on SQLite, whose names ignore case, dropping the old name at the
	// cycle's end (no call names it) would drop the new table with its rows.
	for name := range states {
		if _, listed := current[name]; listed {
			continue
		}
		if spelled, ok := named[strings.ToLower(name)]; ok && spelled != name {
			respelled = append(respelled, name)
		}
	}
	if len(respelled) > 0 {
		slices.Sort(respelled)
		if err := m.Drop(ctx, respelled); err != nil {
			return nil, fmt.Errorf("drop tables %s, renamed in case: %w", strings.Join(respelled, ", "), err)
		}
		e.opts.Logger.Info("tables dropped: renamed in case", "tenant", t.name, "tables", respelled)
	}
	results := make([]TableResult, len(desired))
	for i, d := range desired {
		var cur *schema.Table
		st, exists := current[d.Name]
		if exists {
			cur = &st.Table
		}
		plan := schema.Diff(cur, d)
		from := st.Hash
		if !exists {
			from = states[d.Name].Hash
		}
		if plan.Action != schema.None || st.Hash != d.Hash() {
			if err := m.Migrate(ctx, bulk.Migration{Plan: plan, From: from}); err != nil {
				return nil, bulk.ForTable(d.Name, err)
			}
		}
		res := TableResult{Name: d.Name, LSN: st.LSN, Change: ChangeNone}
		switch plan.Action {
		case schema.Create:
			res.LSN, res.Change = bulk.NoLSN, ChangeCreated
		case schema.Recreate:
			res.LSN, res.Change = bulk.NoLSN, ChangeRecreated
			e.opts.Logger.Info("table recreated", "tenant", t.name, "table", d.Name, "reason", plan.Reason)
		case schema.Alter:
			res.Change = ChangeAltered
		}
		t.setFresh(d.Name, plan.Action == schema.Create || plan.Action == schema.Recreate)
		results[i] = res
	}
	return results, nil
}

// Wipe removes every row of the tables and sets their LSN to -1, in one transaction; the tables
// and their indexes stay. Once it has committed, the table.wiped hook hears each table, with the
// tables' lanes still held: a hook that fails fails the call, but the wipe stays done.
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
	m, err := t.mirror()
	if err != nil {
		return err
	}
	if err := m.Wipe(ctx, tables); err != nil {
		t.forget()
		return err // the mirror's error names the wipe and its tables
	}
	for _, name := range tables {
		t.setLSN(name, bulk.NoLSN)
		t.setFresh(name, true)
	}
	return e.wiped(ctx, t, tables)
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

// Complete ends a cycle: it drops the mirrored tables that none of the cycle's TableSchema calls
// named, and returns each table's counts for the cycle beside the summary the caller sent.
func (e *Engine) Complete(ctx context.Context, tenant string, sent []TableCounts) (Completion, error) {
	t, err := e.tenant(ctx, tenant)
	if err != nil {
		return Completion{}, err
	}
	m, err := t.mirror()
	if err != nil {
		return Completion{}, err
	}
	done := Completion{Sent: sent}
	if done.Dropped, err = m.EndCycle(ctx); err != nil {
		return Completion{}, err
	}
	if len(done.Dropped) > 0 {
		t.forget()
		e.opts.Logger.Info("tables dropped: no TableSchema call of the cycle named them", "tenant", tenant, "tables", done.Dropped)
	}
	states, err := m.States(ctx)
	if err != nil {
		return Completion{}, err
	}
	for _, name := range bulk.SortedNames(states) {
		st := states[name]
		if c := st.Cycle; c.Any() {
			done.Counts = append(done.Counts, TableCounts{Name: name, Counts: c})
		}
		done.Tables = append(done.Tables, TableCycle{Name: name, Counts: st.Cycle, LSN: st.LSN})
	}
	t.endHookCycle()
	return done, nil
}
