package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// Bench modes.
const (
	benchRepopulation = "repopulation"
	benchIncremental  = "incremental"
	benchAddColumn    = "add-column"
)

// benchSettings are the flags of mirrortask bench.
type benchSettings struct {
	mode       string
	tenants    int
	tables     int
	rows       int64
	changes    int64
	parallel   int
	batchBytes int
	seed       uint64
	pgDSN      string
	dbName     string
	keep       bool
	spoolDir   string
	mirrordPID int
}

func cmdBench(ctx context.Context, args []string, out io.Writer) error {
	if sweepRequested(args) {
		return cmdSweep(ctx, args, out)
	}
	fs := newFlags("bench")
	var s benchSettings
	url := fs.String("url", "", "the mirrord endpoint, e.g. http://localhost:8080/mirroring")
	appID := fs.String("app-id", "", "the partner application's id (tokens carry aud spn:<app-id>)")
	certPath := fs.String("superoffice-cert", "", "the certificate that signs tokens (superoffice.crt from mirrord keygen)")
	keyPath := fs.String("superoffice-key", "", "its private key (superoffice.key from mirrord keygen)")
	pubPath := fs.String("partner-pub", "", "the partner's public key (partner.pub.pem or .xml) that signs Authenticate answers")
	fs.StringVar(&s.mode, "mode", benchRepopulation, "repopulation (wipe, then every row), incremental (60% updates, 25% inserts, 15% deletes against --rows) or add-column (a nullable column added to --rows rows vs recreate and repopulate)")
	fs.IntVar(&s.tenants, "tenants", 1, "distinct tenants syncing at once, each its own mirror")
	fs.IntVar(&s.tables, "tables", 1, "contact-like tables per tenant, the rows split evenly between them")
	fs.Int64Var(&s.rows, "rows", 1_000_000, "rows per tenant: all of them in repopulation, the table's size in incremental and add-column")
	fs.Int64Var(&s.changes, "changes", 100_000, "changes per tenant in incremental mode")
	fs.IntVar(&s.parallel, "parallel", 1, "RowData calls in flight per tenant (one table per call at a time, as the Mirroring Task does)")
	fs.IntVar(&s.batchBytes, "batch-bytes", DefaultBatchBytes, "bytes of encoded XML per RowData call")
	fs.Uint64Var(&s.seed, "seed", 1, "seed of the changes")
	fs.StringVar(&s.pgDSN, "pg", "", "the PostgreSQL that mirrord writes to: raw COPY and batched upsert run there in a fresh database, and the bench's mirrors are dropped from it at the end")
	fs.StringVar(&s.dbName, "db-name", "Mirror_{ctx}", "mirrord's --db-name, to drop the bench's mirror databases at the end")
	fs.BoolVar(&s.keep, "keep", false, "keep the bench's mirror databases")
	fs.StringVar(&s.spoolDir, "spool-dir", "", "folder of the temporary file holding the encoded requests (default: the system's temporary folder)")
	fs.IntVar(&s.mirrordPID, "mirrord-pid", 0, "process id of mirrord, to report its peak RSS (VmHWM) at the end (Linux)")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest wait for one call")
	fs.Bool("sweep", false, "instead, measure mirrord's worker counts in this process against a --target and recommend --max-applies and --max-applies-per-tenant (mirrortask bench --sweep -h for its flags)")
	if err := parse(fs, args, "url", "app-id", "superoffice-cert", "superoffice-key", "partner-pub", "pg"); err != nil {
		return err
	}
	if err := s.check(); err != nil {
		return err
	}
	key, cert, err := loadSigner(*certPath, *keyPath)
	if err != nil {
		return err
	}
	pub, err := auth.LoadPartnerPublicKey(*pubPath)
	if err != nil {
		return fmt.Errorf("--partner-pub: %w", err)
	}
	conns := s.tenants*s.parallel + 2
	tk := &task{
		urls: splitURLs(*url), appID: *appID, soKey: key, soCert: cert, partnerPub: pub,
		batchBytes: s.batchBytes, parallel: s.parallel,
		client: &http.Client{Timeout: *timeout, Transport: &http.Transport{
			MaxIdleConns: conns, MaxIdleConnsPerHost: conns, DisableCompression: true,
		}},
	}
	b := &bench{s: s, tk: tk, out: out}
	return b.run(ctx)
}

func (s *benchSettings) check() error {
	switch s.mode {
	case benchRepopulation, benchIncremental, benchAddColumn:
	default:
		return fmt.Errorf("%w: --mode %q is none of %s, %s, %s", errUsage, s.mode, benchRepopulation, benchIncremental, benchAddColumn)
	}
	switch {
	case s.tenants < 1, s.tables < 1, s.parallel < 1, s.batchBytes < 1:
		return fmt.Errorf("%w: --tenants, --tables, --parallel and --batch-bytes must be at least 1", errUsage)
	case s.rows < int64(s.tables):
		return fmt.Errorf("%w: --rows %d is fewer than one row per table (--tables %d)", errUsage, s.rows, s.tables)
	case s.mode == benchIncremental && (s.changes < 1 || s.changes > s.rows):
		return fmt.Errorf("%w: --changes %d must be between 1 and --rows %d", errUsage, s.changes, s.rows)
	case !strings.Contains(s.dbName, "{ctx}"):
		return fmt.Errorf("%w: --db-name %q has no {ctx}", errUsage, s.dbName)
	}
	return nil
}

// bench is one run of mirrortask bench.
type bench struct {
	s   benchSettings
	tk  *task
	out io.Writer
	// runID keeps the tenants of two runs apart: mirrord caches each tenant's state, and the
	// mirrors of an earlier run may have been dropped behind its back.
	runID   string
	tenants []*benchTenant
}

// benchTenant is one tenant's client and the token its RowData calls reuse.
type benchTenant struct {
	name string
	c    *client

	mu       sync.Mutex
	token    string
	issuedAt time.Time
}

// rowDataToken reuses a token for a minute: signing one per call would put the sender's RSA
// cost into the figures, and mirrord checks each token's lifetime, not its reuse.
func (bt *benchTenant) rowDataToken() (string, error) {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	if bt.token == "" || time.Since(bt.issuedAt) > time.Minute {
		token, err := bt.c.token("")
		if err != nil {
			return "", err
		}
		bt.token, bt.issuedAt = token, time.Now()
	}
	return bt.token, nil
}

func (b *bench) run(ctx context.Context) error {
	var id [3]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	b.runID = hex.EncodeToString(id[:])
	for i := range b.s.tenants {
		name := fmt.Sprintf("Bench%s_%d", b.runID, i+1)
		if err := schema.CheckName("tenant", name); err != nil {
			return err
		}
		b.tenants = append(b.tenants, &benchTenant{name: name, c: &client{task: b.tk, tenant: name}})
	}
	fmt.Fprintf(b.out, "bench %s: %d tenants (Bench%s_*), %d tables each, %d rows per tenant, --parallel %d, --batch-bytes %d\n",
		b.s.mode, b.s.tenants, b.runID, b.s.tables, b.s.rows, b.s.parallel, b.s.batchBytes)
	if !b.s.keep {
		defer b.dropMirrors()
	}
	var err error
	switch b.s.mode {
	case benchRepopulation:
		err = b.repopulation(ctx)
	case benchIncremental:
		err = b.incremental(ctx)
	case benchAddColumn:
		err = b.addColumn(ctx)
	}
	if err == nil && b.s.mirrordPID > 0 {
		hwm, herr := peakRSS(b.s.mirrordPID)
		if herr != nil {
			return herr
		}
		fmt.Fprintf(b.out, "mirrord peak RSS (VmHWM of pid %d): %s\n", b.s.mirrordPID, hwm)
	}
	return err
}

// repopulation: every tenant wipes its tables and receives every row.
func (b *bench) repopulation(ctx context.Context) error {
	plan := b.fullPlan(1)
	sp, err := b.encode(plan)
	if err != nil {
		return err
	}
	defer sp.remove()
	if err := b.prepare(ctx, benchTables(b.s.tables), true); err != nil {
		return err
	}
	res, err := b.drive(ctx, sp)
	if err != nil {
		return err
	}
	res.print(b.out, "mirrord")
	if err := b.complete(ctx); err != nil {
		return err
	}
	copied, err := b.rawCopy(ctx, plan)
	if err != nil {
		return err
	}
	copied.print(b.out)
	fmt.Fprintf(b.out, "ratios: mirrord/raw COPY rows/s = %.1f%% (%.0f vs %.0f rows/s, goal >= 60%%)\n",
		100*res.rowsPerSecond()/copied.rowsPerSecond(), res.rowsPerSecond(), copied.rowsPerSecond())
	return nil
}

// incremental: the tenants' tables are loaded with --rows rows first, then one cycle of
// --changes changes is timed.
func (b *bench) incremental(ctx context.Context) error {
	base := b.fullPlan(1)
	sp, err := b.encode(base)
	if err != nil {
		return err
	}
	if err := b.prepare(ctx, benchTables(b.s.tables), true); err != nil {
		sp.remove()
		return err
	}
	loaded, err := b.drive(ctx, sp)
	sp.remove()
	if err != nil {
		return err
	}
	loaded.print(b.out, "load (untimed base)")
	if err := b.complete(ctx); err != nil {
		return err
	}
	changes := b.changePlan(base.lastLSN + 1)
	sp, err = b.encode(changes)
	if err != nil {
		return err
	}
	defer sp.remove()
	res, err := b.drive(ctx, sp)
	if err != nil {
		return err
	}
	res.print(b.out, "mirrord")
	if err := b.complete(ctx); err != nil {
		return err
	}
	copied, err := b.rawCopy(ctx, changes)
	if err != nil {
		return err
	}
	copied.print(b.out)
	upsert, err := b.batchedUpsert(ctx, base, changes)
	if err != nil {
		return err
	}
	upsert.print(b.out)
	fmt.Fprintf(b.out, "ratios: mirrord/raw COPY rows/s = %.1f%% (goal >= 35%%), mirrord/batched upsert = %.2fx (goal >= 3x); %.0f, %.0f, %.0f rows/s\n",
		100*res.rowsPerSecond()/copied.rowsPerSecond(), res.rowsPerSecond()/upsert.rowsPerSecond(),
		res.rowsPerSecond(), copied.rowsPerSecond(), upsert.rowsPerSecond())
	return nil
}

// addColumn: with --rows rows in each tenant's tables, a nullable column is added (in place),
// then the same tables are recreated (a shorter column forces it) and repopulated.
func (b *bench) addColumn(ctx context.Context) error {
	plan := b.fullPlan(1)
	sp, err := b.encode(plan)
	if err != nil {
		return err
	}
	defer sp.remove()
	v1 := benchTables(b.s.tables)
	if err := b.prepare(ctx, v1, true); err != nil {
		return err
	}
	loaded, err := b.drive(ctx, sp)
	if err != nil {
		return err
	}
	loaded.print(b.out, "load (untimed base)")
	if err := b.complete(ctx); err != nil {
		return err
	}
	v2 := make([]schema.Table, len(v1))
	v3 := make([]schema.Table, len(v1))
	for i, t := range v1 {
		v2[i] = t
		v2[i].Columns = append(cloneColumns(t.Columns), schema.Column{Name: "bench_added", Type: schema.NVarChar, Length: 50, Nullable: true})
		// A shorter column cannot be changed in place: the table is dropped and created again.
		v3[i] = v2[i]
		v3[i].Columns = cloneColumns(v2[i].Columns)
		for j := range v3[i].Columns {
			if v3[i].Columns[j].Name == "number1" {
				v3[i].Columns[j].Length--
			}
		}
	}
	alter, err := b.schemaPhase(ctx, v2, "Altered")
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "add column: TableSchema with a nullable column added to %d rows per tenant: %s\n", b.s.rows, alter.Round(time.Microsecond))
	recreate, err := b.schemaPhase(ctx, v3, "Recreated")
	if err != nil {
		return err
	}
	res, err := b.drive(ctx, sp)
	if err != nil {
		return err
	}
	res.print(b.out, "repopulate after recreate")
	if err := b.complete(ctx); err != nil {
		return err
	}
	total := recreate + res.took
	fmt.Fprintf(b.out, "recreate and repopulate: TableSchema %s + RowData %s = %s\n",
		recreate.Round(time.Millisecond), res.took.Round(time.Millisecond), total.Round(time.Millisecond))
	fmt.Fprintf(b.out, "ratios: add column / recreate-and-repopulate = %.3f%% (%s vs %s, goal < 1%%)\n",
		100*alter.Seconds()/total.Seconds(), alter.Round(time.Microsecond), total.Round(time.Millisecond))
	return nil
}

func cloneColumns(cols []schema.Column) []schema.Column {
	return append([]schema.Column(nil), cols...)
}

// prepare runs each tenant's cycle up to its first RowData: Authenticate, TableSchema, and
// Wipe when wipe is set.
func (b *bench) prepare(ctx context.Context, tables []schema.Table, wipe bool) error {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.Name
	}
	return b.eachTenant(func(bt *benchTenant) error {
		paused, err := bt.c.authenticate(ctx)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", bt.name, err)
		}
		if paused {
			return fmt.Errorf("tenant %s: mirrord asks not to replicate now (doNotReplicate)", bt.name)
		}
		if _, err := bt.c.tableSchema(ctx, tables); err != nil {
			return fmt.Errorf("tenant %s: %w", bt.name, err)
		}
		if wipe {
			// wipe sorts the names it is given: each tenant gets its own copy.
			if err := bt.c.wipe(ctx, slices.Clone(names)); err != nil {
				return fmt.Errorf("tenant %s: %w", bt.name, err)
			}
		}
		return nil
	})
}

// schemaPhase sends TableSchema with tables for every tenant at once, checks that each table
// answers the expected SchemaChange, and returns the longest call.
func (b *bench) schemaPhase(ctx context.Context, tables []schema.Table, want string) (time.Duration, error) {
	var mu sync.Mutex
	var longest time.Duration
	err := b.eachTenant(func(bt *benchTenant) error {
		start := time.Now()
		resp, err := call(ctx, bt.c, wire.OpTableSchema, func(w io.Writer, token string) error {
			return wire.WriteTableSchemaRequest(w, token, wire.TableSchemaRequest{Tables: tables})
		}, wire.ReadTableSchemaResponse)
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("tenant %s: %w", bt.name, err)
		}
		for _, st := range resp.Tables {
			if st.SchemaChange != want {
				return fmt.Errorf("tenant %s: table %s answered SchemaChange %s, not %s", bt.name, st.Name, st.SchemaChange, want)
			}
		}
		mu.Lock()
		longest = max(longest, took)
		mu.Unlock()
		return nil
	})
	return longest, err
}

// complete ends each tenant's cycle.
func (b *bench) complete(ctx context.Context) error {
	return b.eachTenant(func(bt *benchTenant) error {
		if _, err := bt.c.replicationCompleted(ctx, nil); err != nil {
			return fmt.Errorf("tenant %s: %w", bt.name, err)
		}
		return nil
	})
}

// eachTenant runs fn for every tenant at once and returns the first error.
func (b *bench) eachTenant(fn func(*benchTenant) error) error {
	errs := make([]error, len(b.tenants))
	var wg sync.WaitGroup
	for i, bt := range b.tenants {
		wg.Go(func() { errs[i] = fn(bt) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// driveResult is what one timed RowData phase did over all tenants.
type driveResult struct {
	rows, bytes int64
	calls       int
	errors      int
	firstError  error
	took        time.Duration
	latencies   []time.Duration
}

func (r *driveResult) rowsPerSecond() float64 { return rate(r.rows, r.took) }

func (r *driveResult) print(out io.Writer, what string) {
	sort.Slice(r.latencies, func(i, j int) bool { return r.latencies[i] < r.latencies[j] })
	fmt.Fprintf(out, "%s: %d rows, %.1f MB in %d calls, %s: %.0f rows/s, %.1f MB/s; call latency p50 %s, p99 %s, max %s; %d errors\n",
		what, r.rows, float64(r.bytes)/1e6, r.calls, r.took.Round(time.Millisecond), r.rowsPerSecond(),
		float64(r.bytes)/1e6/r.took.Seconds(), percentile(r.latencies, 50), percentile(r.latencies, 99),
		percentile(r.latencies, 100), r.errors)
	if r.firstError != nil {
		fmt.Fprintf(out, "  first error: %v\n", r.firstError)
	}
}

// percentile takes the nearest-rank percentile p of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100
	return sorted[min(max(rank, 1), len(sorted))-1].Round(time.Millisecond)
}

// drive sends the spooled calls of every tenant at once, --parallel calls in flight per tenant,
// each table's calls in order and never two at once for the same table. The clock runs from
// the first call to the last answer.
func (b *bench) drive(ctx context.Context, sp *spool) (*driveResult, error) {
	res := &driveResult{}
	var mu sync.Mutex
	record := func(c spooledCall, took time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		res.calls++
		res.latencies = append(res.latencies, took)
		if err != nil {
			res.errors++
			if res.firstError == nil {
				res.firstError = err
			}
			return
		}
		res.rows += int64(c.rows)
		res.bytes += c.size
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, bt := range b.tenants {
		var next int
		var qmu sync.Mutex
		take := func() []spooledCall {
			qmu.Lock()
			defer qmu.Unlock()
			if next >= len(sp.tables) {
				return nil
			}
			next++
			return sp.tables[next-1]
		}
		for range min(b.s.parallel, len(sp.tables)) {
			wg.Go(func() {
				for calls := take(); calls != nil; calls = take() {
					for _, c := range calls {
						t0 := time.Now()
						err := b.send(ctx, bt, sp, c)
						record(c, time.Since(t0), err)
						if err != nil {
							// The table's later calls would leave a gap: the Task stops the table too.
							break
						}
					}
				}
			})
		}
	}
	wg.Wait()
	res.took = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, nil
}

// send posts one spooled call with a fresh-enough token spliced in, and checks the answer.
func (b *bench) send(ctx context.Context, bt *benchTenant, sp *spool, c spooledCall) error {
	token, err := bt.rowDataToken()
	if err != nil {
		return err
	}
	head := io.NewSectionReader(sp.f, c.off, sp.tokenAt)
	tail := io.NewSectionReader(sp.f, c.off+sp.tokenAt+int64(len(tokenPlaceholder)), c.size-sp.tokenAt-int64(len(tokenPlaceholder)))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.tk.url(), io.MultiReader(head, strings.NewReader(token), tail))
	if err != nil {
		return err
	}
	req.ContentLength = c.size - int64(len(tokenPlaceholder)) + int64(len(token))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(wire.OpRowData)+`"`)
	resp, err := b.tk.client.Do(req)
	if err != nil {
		return fmt.Errorf("tenant %s table %s: RowData: %w", bt.name, c.table, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && !strings.Contains(resp.Header.Get("Content-Type"), "xml") {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return fmt.Errorf("tenant %s table %s: RowData: HTTP %s: %s", bt.name, c.table, resp.Status, strings.TrimSpace(string(msg)))
	}
	answer, err := wire.ReadRowDataResponse(resp.Body)
	if err != nil {
		return fmt.Errorf("tenant %s table %s: RowData: %w", bt.name, c.table, err)
	}
	for _, st := range answer.Tables {
		if st.Name != c.table {
			continue
		}
		switch {
		case st.ErrorMessage != "":
			return fmt.Errorf("tenant %s table %s: %s", bt.name, c.table, st.ErrorMessage)
		case c.lsn != 0 && st.LSN != c.lsn:
			return fmt.Errorf("tenant %s table %s: the mirror answered LSN %d after the last batch, not %d", bt.name, c.table, st.LSN, c.lsn)
		}
		return nil
	}
	return fmt.Errorf("tenant %s: the RowData answer has no state for table %s", bt.name, c.table)
}

// dropMirrors drops the mirror databases of the run's tenants from --pg.
func (b *bench) dropMirrors() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	for _, bt := range b.tenants {
		names = append(names, strings.ReplaceAll(b.s.dbName, "{ctx}", bt.name))
	}
	if err := dropDatabases(ctx, b.s.pgDSN, names); err != nil {
		fmt.Fprintf(b.out, "warning: dropping the bench's mirror databases: %v\n", err)
	}
}

// peakRSS reads VmHWM, the peak resident set size, of a process.
func peakRSS(pid int) (string, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", fmt.Errorf("--mirrord-pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("--mirrord-pid %d: /proc/%d/status has no VmHWM", pid, pid)
}
