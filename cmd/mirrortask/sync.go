package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// splitURLs reads --url: one endpoint, or several separated by commas.
func splitURLs(list string) []string {
	var urls []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// url is the endpoint of the next call.
func (tk *task) url() string {
	return tk.urls[int(tk.next.Add(1)-1)%len(tk.urls)]
}

// DefaultBatchBytes is SuperOffice's default BatchSize preference, in bytes.
const DefaultBatchBytes = 1000000

// task is one Mirroring Task cycle's settings.
type task struct {
	// urls are the mirrord endpoints; calls take them in turn, as a load balancer would hand
	// them to several mirrord processes.
	urls       []string
	next       atomic.Uint64
	appID      string
	tenantName string
	// soKey and soCert sign the tokens, standing in for SuperOffice's certificate.
	soKey  *rsa.PrivateKey
	soCert *x509.Certificate
	// partnerPub verifies the partner's SignedApplicationToken.
	partnerPub *rsa.PublicKey
	batchBytes int
	parallel   int
	client     *http.Client
	// What a real Task's requests may look like beyond mirrord's own contract, to prove the
	// forgiving decoder end to end: the writers' variant, one TableSchema call per table, a
	// summary with ReplicationCompleted, and column defaults in the schema.
	variant        wire.Variant
	schemaPerTable bool
	summary        bool
	defaults       bool
}

func cmdSync(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("sync")
	source := fs.String("source", "", "the tenant file")
	url := fs.String("url", "", "the mirrord endpoint, e.g. http://localhost:8080/mirroring; several, comma-separated, take the calls in turn")
	appID := fs.String("app-id", "", "the partner application's id (tokens carry aud spn:<app-id>)")
	certPath := fs.String("superoffice-cert", "", "the certificate that signs tokens (superoffice.crt from mirrord keygen)")
	keyPath := fs.String("superoffice-key", "", "its private key (superoffice.key from mirrord keygen)")
	pubPath := fs.String("partner-pub", "", "the partner's public key (partner.pub.pem or .xml) that signs Authenticate answers")
	name := fs.String("tenant", "", "context identifier to sync as (default: the tenant's own)")
	batchBytes := fs.Int("batch-bytes", DefaultBatchBytes, "bytes of encoded XML per RowData call")
	parallel := fs.Int("parallel", 4, "tables in flight at once")
	timeout := fs.Duration("timeout", 10*time.Minute, "longest wait for one call")
	variants := fs.String("variant", "", "write requests as a WCF client might: unknown-elements, datacontract, xsi-nil (comma-separated)")
	perTable := fs.Bool("schema-per-table", false, "send one TableSchema call per table instead of one with every table")
	summary := fs.Bool("summary", false, "send ReplicationCompleted with a summary of each table's counts")
	defaults := fs.Bool("defaults", false, "send column defaults in TableSchema, as SuperOffice's tables have them")
	if err := parse(fs, args, "source", "url", "app-id", "superoffice-cert", "superoffice-key", "partner-pub"); err != nil {
		return err
	}
	if *batchBytes < 1 || *parallel < 1 {
		return fmt.Errorf("%w: --batch-bytes and --parallel must be at least 1", errUsage)
	}
	variant, err := parseVariant(*variants)
	if err != nil {
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
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	tk := &task{
		urls: splitURLs(*url), appID: *appID, tenantName: *name, soKey: key, soCert: cert, partnerPub: pub,
		batchBytes: *batchBytes, parallel: *parallel,
		client:  &http.Client{Timeout: *timeout, Transport: &http.Transport{MaxIdleConnsPerHost: *parallel + 1}},
		variant: variant, schemaPerTable: *perTable, summary: *summary, defaults: *defaults,
	}
	res, err := tk.sync(ctx, t)
	if res != nil {
		res.print(out, err)
	}
	return err
}

// tableResult is what one table's part of a cycle did.
type tableResult struct {
	name string
	// mode is "full" (wiped and repopulated), "changes", or "current" (nothing to send).
	mode   string
	reason string
	rows   int64
	bytes  int64
	calls  int
	start  time.Time
	took   time.Duration
	// counts are the server's answer.
	counts bulk.Counts
	err    error
}

// syncResult is a cycle's report.
type syncResult struct {
	tenant  string
	lsn     int64
	paused  bool
	tables  []*tableResult
	started time.Time
	took    time.Duration
}

// print writes the report; err is the cycle's own error, which fails the total line even when
// no table failed (a call that failed as a whole, a ReplicationCompleted refused).
func (r *syncResult) print(out io.Writer, err error) {
	if r.paused {
		fmt.Fprintf(out, "tenant %s: the partner asks not to replicate now (doNotReplicate); nothing sent\n", r.tenant)
		return
	}
	fmt.Fprintf(out, "%-20s %-8s %10s %12s %9s %10s  %s\n", "table", "mode", "rows", "bytes", "time", "rows/s", "note")
	var rows, bytes int64
	failed := 0
	for _, t := range r.tables {
		note := t.reason
		if t.err != nil {
			note = "FAILED: " + t.err.Error()
			failed++
		}
		rows += t.rows
		bytes += t.bytes
		fmt.Fprintf(out, "%-20s %-8s %10d %12d %9s %10.0f  %s\n", t.name, t.mode, t.rows, t.bytes,
			t.took.Round(time.Millisecond), rate(t.rows, t.took), note)
	}
	status := "ok"
	switch {
	case failed > 0:
		status = fmt.Sprintf("%d tables FAILED", failed)
	case err != nil:
		status = "FAILED: " + err.Error()
	}
	fmt.Fprintf(out, "total: tenant %s, %d tables, %d rows, %d bytes, %s, %.0f rows/s, LSN %d, %s\n",
		r.tenant, len(r.tables), rows, bytes, r.took.Round(time.Millisecond), rate(rows, r.took), r.lsn, status)
}

func rate(rows int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(rows) / d.Seconds()
}

// sync runs one cycle as PROTOCOL.md describes the Mirroring Task: Authenticate, TableSchema,
// Wipe of the tables to repopulate, RowData until nothing remains, ReplicationCompleted. It
// returns the report with an error when the cycle or any table failed.
func (tk *task) sync(ctx context.Context, t *tenant.Tenant) (*syncResult, error) {
	res := &syncResult{tenant: tk.tenantName, started: time.Now()}
	if res.tenant == "" {
		res.tenant = t.Name()
	}
	if err := schema.CheckName("tenant", res.tenant); err != nil {
		return nil, err
	}
	c := &client{task: tk, tenant: res.tenant}
	paused, err := c.authenticate(ctx)
	if err != nil {
		return nil, err
	}
	if paused {
		res.paused = true
		return res, nil
	}
	tables := t.Tables()
	if tk.defaults {
		tables = withDefaults(tables)
	}
	states := map[string]int64{}
	if tk.schemaPerTable {
		for _, tb := range tables {
			one, err := c.tableSchema(ctx, []schema.Table{tb})
			if err != nil {
				return nil, err
			}
			maps.Copy(states, one)
		}
	} else if states, err = c.tableSchema(ctx, tables); err != nil {
		return nil, err
	}
	// The LSN the cycle brings every table to: nothing changes the source during a cycle.
	current, err := t.CurrentLSN(ctx)
	if err != nil {
		return nil, err
	}
	res.lsn = current
	var wipe []string
	for _, tb := range tables {
		mirrorLSN, ok := states[tb.Name]
		if !ok {
			return nil, fmt.Errorf("TableSchema answered no LSN for table %s", tb.Name)
		}
		minValid, err := t.MinValidLSN(ctx, tb.Name)
		if err != nil {
			return nil, err
		}
		r := &tableResult{name: tb.Name, mode: "changes"}
		switch {
		case mirrorLSN == bulk.NoLSN:
			r.mode, r.reason = "full", "mirror has no data (LSN -1)"
		case mirrorLSN > current:
			r.mode, r.reason = "full", fmt.Sprintf("mirror LSN %d is ahead of the source's %d", mirrorLSN, current)
		case mirrorLSN < minValid:
			r.mode, r.reason = "full", fmt.Sprintf("mirror LSN %d is older than the retention window (%d)", mirrorLSN, minValid)
		case mirrorLSN == current:
			r.mode = "current"
		default:
			r.reason = fmt.Sprintf("since LSN %d", mirrorLSN)
		}
		if r.mode == "full" {
			wipe = append(wipe, tb.Name)
		}
		res.tables = append(res.tables, r)
		states[tb.Name] = mirrorLSN
	}
	if len(wipe) > 0 {
		if err := c.wipe(ctx, wipe); err != nil {
			return res, err
		}
	}
	var work []*tableResult
	for _, r := range res.tables {
		if r.mode != "current" {
			work = append(work, r)
		}
	}
	err = tk.sendRows(ctx, c, t, work, states, current)
	res.took = time.Since(res.started)
	if err != nil {
		return res, err
	}
	var summary []wire.TableSummary
	if tk.summary {
		for _, r := range res.tables {
			summary = append(summary, wire.TableSummary{Name: r.name, Inserted: r.counts.Inserted, Updated: r.counts.Updated, Deleted: r.counts.Deleted})
		}
	}
	if _, err := c.replicationCompleted(ctx, summary); err != nil {
		return res, err
	}
	res.took = time.Since(res.started)
	var failed []string
	for _, r := range res.tables {
		if r.err != nil {
			failed = append(failed, r.name)
		}
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("tables %s failed; their changes come again next cycle", strings.Join(failed, ", "))
	}
	return res, nil
}

// sendRows runs --parallel workers. Each takes the next table from the queue and writes its
// rows into the worker's current RowData call; a call is sent when it reaches --batch-bytes,
// and a table that ends before that leaves room for the next table in the same call. A
// table's last batch carries the source's LSN; the batches before it carry none.
func (tk *task) sendRows(ctx context.Context, c *client, t *tenant.Tenant, work []*tableResult, mirrorLSN map[string]int64, lsn int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var mu sync.Mutex
	next := 0
	take := func() *tableResult {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(work) || ctx.Err() != nil {
			return nil
		}
		next++
		return work[next-1]
	}
	var wg sync.WaitGroup
	for range min(tk.parallel, max(1, len(work))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{tk: tk, c: c, t: t, lsn: lsn, mirrorLSN: mirrorLSN}
			if err := w.run(ctx, take); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// worker builds and sends one RowData call at a time.
type worker struct {
	tk        *task
	c         *client
	t         *tenant.Tenant
	lsn       int64
	mirrorLSN map[string]int64

	body *bytes.Buffer
	bw   *bufio.Writer
	rw   *wire.RowDataWriter
	// inCall are the tables with a batch in the current call, and the rows each carries.
	inCall []*callPart
}

type callPart struct {
	table *tableResult
	rows  int64
	bytes int64
	last  bool // the table's last batch, carrying the LSN
}

// size is the bytes of the call so far. The RowDataWriter buffers through bw (bufio reuses a
// writer that is already a large enough *bufio.Writer), so nothing is hidden from the count.
func (w *worker) size() int { return w.body.Len() + w.bw.Buffered() }

func (w *worker) open() error {
	token, err := w.c.token("")
	if err != nil {
		return err
	}
	w.body.Reset()
	w.bw.Reset(w.body)
	w.rw = w.tk.variant.NewRowDataWriter(w.bw, token, "")
	w.inCall = w.inCall[:0]
	return nil
}

func (w *worker) run(ctx context.Context, take func() *tableResult) error {
	w.body = new(bytes.Buffer)
	w.bw = bufio.NewWriterSize(w.body, 256<<10)
	if err := w.open(); err != nil {
		return err
	}
	for {
		r := take()
		if r == nil {
			break
		}
		if err := w.table(ctx, r); err != nil {
			return err
		}
	}
	return w.flush(ctx)
}

// table writes all of one table's rows, sending calls as they fill.
func (w *worker) table(ctx context.Context, r *tableResult) error {
	r.start = time.Now()
	var rows *tenant.Rows
	var err error
	if r.mode == "full" {
		rows, err = w.t.AllRows(ctx, r.name)
	} else {
		rows, err = w.t.ChangesSince(ctx, r.name, w.mirrorLSN[r.name])
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	tb := rows.Table()
	part, err := w.begin(r, tb)
	if err != nil {
		return err
	}
	for rows.Next() {
		row := rows.Row()
		before := w.size()
		if err := w.rw.Row(row.Op, row.LSN, row.Values...); err != nil {
			return fmt.Errorf("table %s: %w", r.name, err)
		}
		part.rows++
		part.bytes += int64(w.size() - before)
		if w.size() >= w.tk.batchBytes {
			if err := w.rw.End(); err != nil {
				return err
			}
			if err := w.send(ctx); err != nil {
				return err
			}
			if r.err != nil {
				// The server refused this table's rows: later rows without those would
				// leave a gap under a new LSN, so the rest waits for the next cycle.
				return nil
			}
			if part, err = w.begin(r, tb); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading the source: %w", err)
	}
	if err := w.rw.EndLSN(w.lsn); err != nil {
		return err
	}
	part.last = true
	if w.size() >= w.tk.batchBytes {
		return w.send(ctx)
	}
	return nil
}

func (w *worker) begin(r *tableResult, tb schema.Table) (*callPart, error) {
	if err := w.rw.Begin(tb.Name, tb.Columns); err != nil {
		return nil, err
	}
	p := &callPart{table: r}
	w.inCall = append(w.inCall, p)
	return p, nil
}

func (w *worker) flush(ctx context.Context) error {
	if len(w.inCall) == 0 {
		return nil
	}
	return w.send(ctx)
}

// send ends the call, posts it and books the answer per table, then opens the next call.
func (w *worker) send(ctx context.Context) error {
	if err := w.rw.Close(); err != nil {
		return err
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	resp, err := w.c.rowData(ctx, w.body.Bytes())
	if err != nil {
		names := make([]string, 0, len(w.inCall))
		for _, p := range w.inCall {
			names = append(names, p.table.name)
		}
		return fmt.Errorf("RowData call with tables %s: %w", strings.Join(names, ", "), err)
	}
	states := make(map[string]wire.RowDataTableState, len(resp.Tables))
	for _, s := range resp.Tables {
		states[s.Name] = s
	}
	for _, p := range w.inCall {
		r := p.table
		r.rows += p.rows
		r.bytes += p.bytes
		r.calls++
		r.took = time.Since(r.start)
		s, ok := states[r.name]
		switch {
		case !ok:
			r.err = fmt.Errorf("the RowData answer has no state for table %s", r.name)
		case s.ErrorMessage != "":
			r.err = errors.New(s.ErrorMessage)
		case p.last && s.LSN != w.lsn:
			r.err = fmt.Errorf("the mirror answered LSN %d after the last batch, not %d", s.LSN, w.lsn)
		default:
			r.counts.Add(bulk.Counts{Inserted: s.Inserted, Updated: s.Updated, Deleted: s.Deleted})
		}
	}
	return w.open()
}

// client makes the calls of one tenant's cycle, each with a fresh token.
type client struct {
	task   *task
	tenant string
}

func (c *client) token(nonce string) (string, error) {
	return auth.IssueToken(c.task.soKey, c.task.soCert, auth.IssueClaims{AppID: c.task.appID, Tenant: c.tenant, Nonce: nonce})
}

// post sends one SOAP request and returns the response body for the caller to decode (a fault
// decodes as a *wire.Fault error).
func (c *client) post(ctx context.Context, operation string, body []byte) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.task.url(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(operation)+`"`)
	resp, err := c.task.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", operation, err)
	}
	ct := resp.Header.Get("Content-Type")
	if resp.StatusCode != http.StatusOK && !strings.Contains(ct, "xml") {
		defer resp.Body.Close()
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 500))
		return nil, fmt.Errorf("%s: HTTP %s: %s", operation, resp.Status, strings.TrimSpace(string(msg)))
	}
	return resp.Body, nil
}

// call writes a request with write, posts it and decodes the answer with read.
func call[T any](ctx context.Context, c *client, operation string, write func(w io.Writer, token string) error, read func(io.Reader) (T, error)) (T, error) {
	var zero T
	token, err := c.token("")
	if err != nil {
		return zero, err
	}
	var buf bytes.Buffer
	if err := write(&buf, token); err != nil {
		return zero, err
	}
	body, err := c.post(ctx, operation, buf.Bytes())
	if err != nil {
		return zero, err
	}
	defer body.Close()
	resp, err := read(body)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", operation, err)
	}
	return resp, nil
}

// authenticate calls Authenticate with a token carrying a fresh nonce and checks the partner's
// signed answer. paused reports the partner's doNotReplicate.
func (c *client) authenticate(ctx context.Context) (paused bool, err error) {
	nonce, err := auth.NewNonce()
	if err != nil {
		return false, err
	}
	token, err := c.token(nonce)
	if err != nil {
		return false, err
	}
	var buf bytes.Buffer
	if err := c.task.variant.WriteAuthenticateRequest(&buf, token, wire.AuthenticateRequest{}); err != nil {
		return false, err
	}
	body, err := c.post(ctx, wire.OpAuthenticate, buf.Bytes())
	if err != nil {
		return false, err
	}
	defer body.Close()
	resp, err := wire.ReadAuthenticateResponse(body)
	if err != nil {
		return false, fmt.Errorf("Authenticate: %w", err)
	}
	if !resp.IsSuccessful {
		return false, fmt.Errorf("Authenticate refused: %s", resp.ErrorMessage)
	}
	if err := auth.VerifyApplicationToken(c.task.partnerPub, resp.SignedApplicationToken, nonce, time.Now(), 0); err != nil {
		return false, fmt.Errorf("Authenticate: the partner's answer does not verify: %w", err)
	}
	return doNotReplicate(resp.AdditionalInformationJson)
}

// doNotReplicate reads {"doNotReplicate":"true"} (a string in the documented sample; a JSON
// boolean is taken too).
func doNotReplicate(info string) (bool, error) {
	if strings.TrimSpace(info) == "" {
		return false, nil
	}
	var fields map[string]any
	if err := json.Unmarshal([]byte(info), &fields); err != nil {
		return false, fmt.Errorf("Authenticate: AdditionalInformationJson %q is not a JSON object: %w", info, err)
	}
	switch v := fields["doNotReplicate"].(type) {
	case bool:
		return v, nil
	case string:
		return strings.EqualFold(strings.TrimSpace(v), "true"), nil
	}
	return false, nil
}

func (c *client) tableSchema(ctx context.Context, tables []schema.Table) (map[string]int64, error) {
	resp, err := call(ctx, c, wire.OpTableSchema, func(w io.Writer, token string) error {
		return c.task.variant.WriteTableSchemaRequest(w, token, wire.TableSchemaRequest{Tables: tables})
	}, wire.ReadTableSchemaResponse)
	if err != nil {
		return nil, err
	}
	states := make(map[string]int64, len(resp.Tables))
	for _, s := range resp.Tables {
		states[s.Name] = s.LSN
	}
	return states, nil
}

func (c *client) wipe(ctx context.Context, tables []string) error {
	sort.Strings(tables)
	_, err := call(ctx, c, wire.OpWipe, func(w io.Writer, token string) error {
		return c.task.variant.WriteWipeRequest(w, token, wire.WipeRequest{Tables: tables})
	}, wire.ReadWipeResponse)
	return err
}

func (c *client) rowData(ctx context.Context, body []byte) (wire.RowDataResponse, error) {
	rc, err := c.post(ctx, wire.OpRowData, body)
	if err != nil {
		return wire.RowDataResponse{}, err
	}
	defer rc.Close()
	return wire.ReadRowDataResponse(rc)
}

func (c *client) replicationCompleted(ctx context.Context, summary []wire.TableSummary) (wire.ReplicationCompletedResponse, error) {
	return call(ctx, c, wire.OpReplicationCompleted, func(w io.Writer, token string) error {
		return c.task.variant.WriteReplicationCompletedRequest(w, token, wire.ReplicationCompletedRequest{Summary: summary})
	}, wire.ReadReplicationCompletedResponse)
}

// parseVariant reads --variant.
func parseVariant(list string) (wire.Variant, error) {
	var v wire.Variant
	for _, name := range splitURLs(list) {
		switch name {
		case "unknown-elements":
			v.UnknownElements = true
		case "datacontract":
			v.DataContract = true
		case "xsi-nil":
			v.XSINil = true
		default:
			return v, fmt.Errorf("%w: --variant %q: want unknown-elements, datacontract or xsi-nil", errUsage, name)
		}
	}
	return v, nil
}

// withDefaults gives the tables' columns the defaults SuperOffice's own tables carry: zero for
// numbers and flags, an empty string for text, the time of insert for registration dates, a new
// id for GUIDs. The key columns get none.
func withDefaults(tables []schema.Table) []schema.Table {
	out := make([]schema.Table, len(tables))
	for i, t := range tables {
		t.Columns = slices.Clone(t.Columns)
		for j, c := range t.Columns {
			if c.PrimaryKey {
				continue
			}
			switch c.Type {
			case schema.Bit, schema.TinyInt, schema.SmallInt, schema.Int, schema.BigInt, schema.Decimal, schema.Numeric, schema.Money, schema.Float, schema.Real:
				c.Default = "((0))"
			case schema.VarChar, schema.NVarChar, schema.Char, schema.NChar:
				c.Default = "(N'')"
			case schema.DateTime, schema.DateTime2, schema.SmallDateTime:
				c.Default = "(getutcdate())"
			case schema.UniqueIdentifier:
				c.Default = "(newid())"
			}
			t.Columns[j] = c
		}
		out[i] = t
	}
	return out
}
