// Package status keeps a tally of what each tenant's calls did and serves it as one read-only
// HTML page, so that an operator of many tenants sees at a glance which are behind or failing.
//
// A Board is a soapfront.Observer: it hears every call of a verified tenant once its answer is
// written, and keeps, per tenant, the last Authenticate, the open and the last completed cycle,
// each table's LSN and last error, and the rows applied per minute over the last hour. It keeps
// nothing it is not shown, so its memory grows only with the tenants and tables mirrored.
// The page names tenants and tables and shows the database's errors: serve it where only
// operators reach it (mirrord serve puts it on --metrics-listen).
package status

import (
	"sort"
	"sync"
	"time"

	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// DefaultBehind is how long a tenant may go without a completed cycle before the page calls it
// behind. SuperOffice's Task runs every few minutes; the alert rules in deploy/ use the same.
const DefaultBehind = 2 * time.Hour

// window is how far back the rows chart looks, in minutes.
const window = 60

// maxErrLen bounds an error kept for the page: a database's message can be long.
const maxErrLen = 500

// Options configure a Board.
type Options struct {
	// Behind is how long a tenant may go without a completed cycle before it is shown as
	// behind; DefaultBehind when zero.
	Behind time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Version is shown in the page's footer.
	Version string
}

// Board is the tally behind the status page. Its methods are safe for concurrent use.
type Board struct {
	opts    Options
	started time.Time

	mu      sync.Mutex
	tenants map[string]*tenant
	rows    minutes // all tenants
}

// tenant is what the page knows of one tenant.
type tenant struct {
	name      string
	firstSeen time.Time
	lastAuth  time.Time
	lastCall  time.Time
	// The open cycle: from its first call to ReplicationCompleted. start is zero when none is open.
	start  time.Time
	failed map[string]bool // tables that rolled back in the open cycle
	last   *cycle          // the last completed cycle
	tables map[string]*table
	// lastErr is the newest call that failed as a whole; cleared by a later call that did not.
	lastErr *callError
	rows    minutes
}

// cycle is one completed cycle.
type cycle struct {
	end      time.Time
	duration time.Duration
	rows     int64
	tables   int
	failed   []string // tables that rolled back during the cycle
}

// table is what the page knows of one table of a tenant.
type table struct {
	name    string
	lsn     int64
	applied time.Time // last RowData that wrote it
	rows    int64     // rows written since mirrord started
	err     string    // the last RowData's error; empty once it applied again
	errAt   time.Time
	wiped   time.Time
}

type callError struct {
	op, id, msg string
	at          time.Time
}

// minutes counts rows per minute in a ring of the last window minutes.
type minutes struct {
	at   [window]int64 // the Unix minute each slot counts
	rows [window]int64
}

func (m *minutes) add(now time.Time, n int64) {
	minute := now.Unix() / 60
	i := minute % window
	if m.at[i] != minute {
		m.at[i], m.rows[i] = minute, 0
	}
	m.rows[i] += n
}

// series returns the rows of each of the last window minutes, oldest first, ending with now's.
func (m *minutes) series(now time.Time) [window]int64 {
	var out [window]int64
	minute := now.Unix() / 60
	for k := range window {
		want := minute - int64(window-1-k)
		if i := want % window; m.at[i] == want {
			out[k] = m.rows[i]
		}
	}
	return out
}

func (m *minutes) total(now time.Time) int64 {
	var n int64
	for _, r := range m.series(now) {
		n += r
	}
	return n
}

// New returns an empty Board.
func New(opts Options) *Board {
	if opts.Behind <= 0 {
		opts.Behind = DefaultBehind
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Board{opts: opts, started: opts.Now(), tenants: map[string]*tenant{}}
}

// Observe records what a call did. It is the soapfront.Observer of the Board.
func (b *Board) Observe(c soapfront.Call) {
	now := b.opts.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.tenants[c.Tenant]
	if t == nil {
		t = &tenant{name: c.Tenant, firstSeen: now, tables: map[string]*table{}}
		b.tenants[c.Tenant] = t
	}
	t.lastCall = now
	if !succeeded(c.Outcome) {
		t.lastErr = &callError{op: c.Operation, id: c.ID, msg: clip(c.Err), at: now}
		return
	}
	t.lastErr = nil
	start := c.Start
	if start.IsZero() {
		start = now
	}
	if c.Operation != wire.OpReplicationCompleted && t.start.IsZero() {
		t.start, t.failed = start, map[string]bool{}
	}
	switch c.Operation {
	case wire.OpAuthenticate:
		t.lastAuth = now
	case wire.OpWipe:
		for _, name := range c.Wiped {
			t.table(name).wiped = now
		}
	case wire.OpRowData:
		for _, res := range c.Tables {
			tb := t.table(res.Name)
			tb.lsn = res.LSN
			if res.Err != nil {
				tb.err, tb.errAt = clip(res.Err.Error()), now
				t.failed[res.Name] = true
				continue
			}
			n := res.Counts.Inserted + res.Counts.Updated + res.Counts.Deleted
			tb.err, tb.applied = "", now
			tb.rows += n
			t.rows.add(now, n)
			b.rows.add(now, n)
		}
	case wire.OpReplicationCompleted:
		if c.Completion == nil {
			return
		}
		cy := &cycle{end: now, tables: len(c.Completion.Counts)}
		for _, tc := range c.Completion.Counts {
			cy.rows += tc.Inserted + tc.Updated + tc.Deleted
		}
		if !t.start.IsZero() {
			start = t.start
		}
		cy.duration = now.Sub(start)
		for name := range t.failed {
			cy.failed = append(cy.failed, name)
		}
		sort.Strings(cy.failed)
		t.last, t.start, t.failed = cy, time.Time{}, nil
	}
}

func (t *tenant) table(name string) *table {
	tb := t.tables[name]
	if tb == nil {
		tb = &table{name: name}
		t.tables[name] = tb
	}
	return tb
}

// succeeded says whether a call's outcome means its operation ran: a RowData call with tables
// rolled back ran (each table's own error is kept with the table).
func succeeded(outcome string) bool { return outcome == "ok" || outcome == "partial" }

func clip(s string) string {
	if len(s) <= maxErrLen {
		return s
	}
	cut := maxErrLen
	for cut > 0 && s[cut]&0xC0 == 0x80 { // never split a UTF-8 sequence
		cut--
	}
	return s[:cut] + "…"
}
