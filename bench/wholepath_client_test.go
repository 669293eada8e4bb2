//go:build linux

package bench

// The Mirroring Task's side of BenchmarkWholePath: a cycle's requests encoded before the clock
// starts, each with a placeholder where its token goes, and sent through a real HTTP client in
// the order of mirrortask sync (cmd/mirrortask/sync.go): TableSchema with every table, Wipe of
// the tables it repopulates, RowData calls of about 1 MB from a few lanes at once (each lane's
// calls one after another; a table's calls all in one lane, in order), ReplicationCompleted.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

const (
	// wholeBatchBytes is SuperOffice's default BatchSize, mirrortask's --batch-bytes.
	wholeBatchBytes = 1_000_000
	// wholeLanes is mirrortask sync's default --parallel: tables in flight at once.
	wholeLanes = 4
	// wholePlaceholder stands for the token in an encoded request; it is spliced out when sent.
	wholePlaceholder = "WHOLEPATH-BENCH-TOKEN"
)

// wholeRequest is one encoded call: size bytes at off in src, the token's placeholder at
// tokenAt among them.
type wholeRequest struct {
	op        string
	src       io.ReaderAt
	off, size int64
	tokenAt   int64
	// parts are the tables of a RowData call, in order.
	parts []callPart
}

// callPart is one table's batch in a RowData call.
type callPart struct {
	table string
	rows  int64
	// lsn is what the table's last batch carries, and what the answer must say; 0 before that.
	lsn int64
}

// body is the request with token in place of the placeholder, and its length.
func (r *wholeRequest) body(token string) (io.Reader, int64) {
	skip := r.tokenAt + int64(len(wholePlaceholder))
	return io.MultiReader(io.NewSectionReader(r.src, r.off, r.tokenAt), strings.NewReader(token),
		io.NewSectionReader(r.src, r.off+skip, r.size-skip)), r.size - int64(len(wholePlaceholder)) + int64(len(token))
}

func tokenAt(op string, body []byte) (int64, error) {
	at := bytes.Index(body, []byte(wholePlaceholder))
	if at < 0 {
		return 0, fmt.Errorf("%s request: the token placeholder is missing", op)
	}
	return int64(at), nil
}

// controlRequest encodes a small call, kept in memory.
func controlRequest(op string, write func(w io.Writer, token string) error) (*wholeRequest, error) {
	var buf bytes.Buffer
	if err := write(&buf, wholePlaceholder); err != nil {
		return nil, fmt.Errorf("%s request: %w", op, err)
	}
	at, err := tokenAt(op, buf.Bytes())
	if err != nil {
		return nil, err
	}
	return &wholeRequest{op: op, src: bytes.NewReader(buf.Bytes()), size: int64(buf.Len()), tokenAt: at}, nil
}

// spool holds the RowData calls of a cycle in a file, as mirrortask bench does: sending reads
// them from the page cache, and the benchmark's heap stays near what mirrord's own would be,
// so that the collector runs as often as in a mirrord process.
type spool struct {
	f    *os.File
	size int64
}

func (sp *spool) add(op string, body []byte, parts []callPart) (*wholeRequest, error) {
	at, err := tokenAt(op, body)
	if err != nil {
		return nil, err
	}
	if _, err := sp.f.Write(body); err != nil {
		return nil, err
	}
	r := &wholeRequest{op: op, src: sp.f, off: sp.size, size: int64(len(body)), tokenAt: at, parts: parts}
	sp.size += r.size
	return r, nil
}

// tableLoad is one table's rows in a cycle, handed to emit in the order they are sent.
type tableLoad struct {
	table schema.Table
	rows  func(emit func(op bulk.Op, lsn int64, vals []any) error) error
	// sent counts the rows by op, which ReplicationCompleted must answer for the table.
	sent bulk.Counts
}

// wholeCycle is a cycle's requests, the same for any tenant: the token names the tenant.
type wholeCycle struct {
	tables                 []schema.Table
	schema, wipe, complete *wholeRequest // wipe is nil when nothing is repopulated
	lanes                  [][]*wholeRequest
	sent                   map[string]bulk.Counts
	rows, bytes            int64
	calls                  int
	spool                  *spool
}

// close removes the cycle's spool file.
func (c *wholeCycle) close() {
	c.spool.f.Close()
	os.Remove(c.spool.f.Name())
}

// encodeCycle encodes the requests of a cycle that sends every table's rows and brings each
// table to lsn, its RowData calls into a spool file in dir. Tables go to lanes as mirrortask
// sync's workers take them from its queue, with the lane that has sent the fewest bytes so far
// standing for the worker that is free first.
func encodeCycle(dir string, loads []tableLoad, lanes int, lsn int64, wipe bool) (c *wholeCycle, err error) {
	f, err := os.CreateTemp(dir, "requests-*.xml")
	if err != nil {
		return nil, err
	}
	c = &wholeCycle{sent: map[string]bulk.Counts{}, spool: &spool{f: f}}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	var names []string
	for _, l := range loads {
		c.tables = append(c.tables, l.table)
		names = append(names, l.table.Name)
		c.sent[l.table.Name] = l.sent
		c.rows += l.sent.Inserted + l.sent.Updated + l.sent.Deleted
	}
	slices.Sort(names) // mirrortask sends Wipe's names sorted
	if c.schema, err = controlRequest(wire.OpTableSchema, func(w io.Writer, token string) error {
		return wire.WriteTableSchemaRequest(w, token, wire.TableSchemaRequest{Tables: c.tables})
	}); err != nil {
		return nil, err
	}
	if wipe {
		if c.wipe, err = controlRequest(wire.OpWipe, func(w io.Writer, token string) error {
			return wire.WriteWipeRequest(w, token, wire.WipeRequest{Tables: names})
		}); err != nil {
			return nil, err
		}
	}
	if c.complete, err = controlRequest(wire.OpReplicationCompleted, func(w io.Writer, token string) error {
		return wire.WriteReplicationCompletedRequest(w, token, wire.ReplicationCompletedRequest{})
	}); err != nil {
		return nil, err
	}
	encoders := make([]*laneEncoder, min(lanes, len(loads)))
	for i := range encoders {
		encoders[i] = newLaneEncoder(c.spool)
	}
	for _, l := range loads {
		free := encoders[0]
		for _, e := range encoders[1:] {
			if e.sent() < free.sent() {
				free = e
			}
		}
		if err := free.table(l, lsn); err != nil {
			return nil, fmt.Errorf("encoding table %s: %w", l.table.Name, err)
		}
	}
	for _, e := range encoders {
		if err := e.close(); err != nil {
			return nil, err
		}
		c.lanes = append(c.lanes, e.calls)
		c.calls += len(e.calls)
		for _, r := range e.calls {
			c.bytes += r.size
		}
	}
	return c, nil
}

// laneEncoder writes one lane's RowData calls as a mirrortask sync worker builds them: a call is
// closed once it reaches wholeBatchBytes, and a table that ends before that leaves the rest of
// the call to the lane's next table.
type laneEncoder struct {
	spool *spool
	body  *bytes.Buffer
	bw    *bufio.Writer
	rw    *wire.RowDataWriter
	parts []callPart
	calls []*wholeRequest
	done  int64 // bytes of the closed calls
}

func newLaneEncoder(sp *spool) *laneEncoder {
	body := bytes.NewBuffer(make([]byte, 0, wholeBatchBytes+wholeBatchBytes/4))
	l := &laneEncoder{spool: sp, body: body, bw: bufio.NewWriterSize(body, 256<<10)}
	l.open()
	return l
}

func (l *laneEncoder) open() {
	l.body.Reset()
	l.bw.Reset(l.body)
	// The writer buffers through bw (bufio reuses a large enough *bufio.Writer), so size sees
	// every byte written.
	l.rw = wire.NewRowDataWriter(l.bw, wholePlaceholder, "")
	l.parts = nil
}

func (l *laneEncoder) size() int   { return l.body.Len() + l.bw.Buffered() }
func (l *laneEncoder) sent() int64 { return l.done + int64(l.size()) }
func (l *laneEncoder) begin(t schema.Table) error {
	l.parts = append(l.parts, callPart{table: t.Name})
	return l.rw.Begin(t.Name, t.Columns)
}

func (l *laneEncoder) table(t tableLoad, lsn int64) error {
	if err := l.begin(t.table); err != nil {
		return err
	}
	err := t.rows(func(op bulk.Op, rowLSN int64, vals []any) error {
		if err := l.rw.Row(op, rowLSN, vals...); err != nil {
			return err
		}
		l.parts[len(l.parts)-1].rows++
		if l.size() < wholeBatchBytes {
			return nil
		}
		if err := l.rw.End(); err != nil {
			return err
		}
		if err := l.finish(); err != nil {
			return err
		}
		return l.begin(t.table)
	})
	if err != nil {
		return err
	}
	if err := l.rw.EndLSN(lsn); err != nil {
		return err
	}
	l.parts[len(l.parts)-1].lsn = lsn
	if l.size() >= wholeBatchBytes {
		return l.finish()
	}
	return nil
}

func (l *laneEncoder) finish() error {
	if err := l.rw.Close(); err != nil {
		return err
	}
	if err := l.bw.Flush(); err != nil {
		return err
	}
	r, err := l.spool.add(wire.OpRowData, l.body.Bytes(), l.parts)
	if err != nil {
		return err
	}
	l.calls = append(l.calls, r)
	l.done += r.size
	l.open()
	return nil
}

func (l *laneEncoder) close() error {
	if len(l.parts) == 0 {
		return nil
	}
	return l.finish()
}

// wholeClient sends a cycle's calls to one server.
type wholeClient struct {
	url    string
	client *http.Client
	issue  func(tenant, nonce string) (string, error)
}

func newWholeClient(srv *memoryServer) *wholeClient {
	return &wholeClient{url: srv.url, issue: srv.issue, client: &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 2 * wholeLanes, DisableCompression: true,
	}}}
}

// post sends r with token in place of the placeholder and returns the answer of a 200.
func (c *wholeClient) post(ctx context.Context, r *wholeRequest, token string) ([]byte, error) {
	body, size := r.body(token)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(r.op)+`"`)
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.op, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: reading the answer: %w", r.op, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %s: %.1000s", r.op, resp.Status, out)
	}
	return out, nil
}

// authenticate begins the tenant's cycle, opening its mirror (a PostgreSQL database or a SQLite
// file is created on first contact). It is not timed: the raw load's fresh database is made
// before its clock too.
func (c *wholeClient) authenticate(ctx context.Context, tenant string) error {
	nonce, err := auth.NewNonce()
	if err != nil {
		return err
	}
	token, err := c.issue(tenant, nonce)
	if err != nil {
		return err
	}
	r, err := controlRequest(wire.OpAuthenticate, func(w io.Writer, token string) error {
		return wire.WriteAuthenticateRequest(w, token, wire.AuthenticateRequest{})
	})
	if err != nil {
		return err
	}
	out, err := c.post(ctx, r, token)
	if err != nil {
		return err
	}
	resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(out))
	if err != nil {
		return fmt.Errorf("Authenticate: %w", err)
	}
	if !resp.IsSuccessful {
		return fmt.Errorf("Authenticate of tenant %s refused: %s", tenant, resp.ErrorMessage)
	}
	return nil
}

// wholeRun is what the client saw of one cycle.
type wholeRun struct {
	took, cpu time.Duration
	schema    time.Duration // of took: TableSchema and Wipe, before the first RowData
	// profiled says whether a CPU profile ran for the cycle's span.
	profiled bool
	// answers are the RowData answers in the order they arrived.
	answers []rowAnswer
}

// rowAnswer is one RowData answer: when it arrived, counted from the cycle's first call, and
// the rows its call carried.
type rowAnswer struct {
	at   time.Duration
	rows int64
}

// run sends the cycle for tenant, after Authenticate, and times it from the first call to the
// last answer, with b's timer running for that span only. Every call gets a token of its own,
// signed before the clock starts. TableSchema must answer every table at wantLSN with
// wantChange; every RowData answer and the ReplicationCompleted summary are checked. prof, when
// it can, profiles this process's CPU for the same span.
func (c *wholeClient) run(b *testing.B, tenant string, cy *wholeCycle, wantLSN int64, wantChange string, prof *cpuProfiler) (wholeRun, error) {
	ctx := context.Background()
	tokens := map[*wholeRequest]string{}
	all := []*wholeRequest{cy.schema, cy.complete}
	if cy.wipe != nil {
		all = append(all, cy.wipe)
	}
	for _, lane := range cy.lanes {
		all = append(all, lane...)
	}
	for _, r := range all {
		var err error
		if tokens[r], err = c.issue(tenant, ""); err != nil {
			return wholeRun{}, err
		}
	}
	tl := &timeline{answers: make([]rowAnswer, 0, cy.calls)}
	profiled := prof.start(b)
	b.StartTimer()
	start, cpuStart := time.Now(), processCPUTime()
	tl.start = start
	err := c.send(ctx, cy, tokens, wantLSN, wantChange, tl)
	run := wholeRun{took: time.Since(start), cpu: processCPUTime() - cpuStart, schema: tl.schema, answers: tl.answers, profiled: profiled}
	b.StopTimer()
	if profiled {
		prof.stop()
	}
	if err != nil {
		return wholeRun{}, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	return run, nil
}

// timeline collects the RowData answers of a cycle from all lanes.
type timeline struct {
	start   time.Time
	schema  time.Duration // when TableSchema and Wipe had answered
	mu      sync.Mutex
	answers []rowAnswer
}

func (t *timeline) answered(r *wholeRequest) {
	at := time.Since(t.start)
	var rows int64
	for _, p := range r.parts {
		rows += p.rows
	}
	t.mu.Lock()
	t.answers = append(t.answers, rowAnswer{at: at, rows: rows})
	t.mu.Unlock()
}

func (c *wholeClient) send(ctx context.Context, cy *wholeCycle, tokens map[*wholeRequest]string, wantLSN int64, wantChange string, tl *timeline) error {
	out, err := c.post(ctx, cy.schema, tokens[cy.schema])
	if err != nil {
		return err
	}
	schemaResp, err := wire.ReadTableSchemaResponse(bytes.NewReader(out))
	if err != nil {
		return fmt.Errorf("TableSchema: %w", err)
	}
	if len(schemaResp.Tables) != len(cy.tables) {
		return fmt.Errorf("TableSchema answered %d tables, not %d", len(schemaResp.Tables), len(cy.tables))
	}
	for _, st := range schemaResp.Tables {
		if st.LSN != wantLSN || st.SchemaChange != wantChange {
			return fmt.Errorf("TableSchema answered table %s at LSN %d, %s; want LSN %d, %s", st.Name, st.LSN, st.SchemaChange, wantLSN, wantChange)
		}
	}
	if cy.wipe != nil {
		out, err := c.post(ctx, cy.wipe, tokens[cy.wipe])
		if err != nil {
			return err
		}
		if _, err := wire.ReadWipeResponse(bytes.NewReader(out)); err != nil {
			return fmt.Errorf("Wipe: %w", err)
		}
	}
	tl.schema = time.Since(tl.start)
	errs := make([]error, len(cy.lanes))
	var wg sync.WaitGroup
	for i, lane := range cy.lanes {
		wg.Go(func() {
			for _, r := range lane {
				if errs[i] = c.rowData(ctx, r, tokens[r]); errs[i] != nil {
					return
				}
				tl.answered(r)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if out, err = c.post(ctx, cy.complete, tokens[cy.complete]); err != nil {
		return err
	}
	done, err := wire.ReadReplicationCompletedResponse(bytes.NewReader(out))
	if err != nil {
		return fmt.Errorf("ReplicationCompleted: %w", err)
	}
	got := map[string]bulk.Counts{}
	for _, s := range done.Summary {
		got[s.Name] = bulk.Counts{Inserted: s.Inserted, Updated: s.Updated, Deleted: s.Deleted}
	}
	for name, want := range cy.sent {
		if got[name] != want {
			return fmt.Errorf("ReplicationCompleted counts table %s as %+v; the cycle sent %+v", name, got[name], want)
		}
	}
	return nil
}

func (c *wholeClient) rowData(ctx context.Context, r *wholeRequest, token string) error {
	out, err := c.post(ctx, r, token)
	if err != nil {
		return err
	}
	resp, err := wire.ReadRowDataResponse(bytes.NewReader(out))
	if err != nil {
		return fmt.Errorf("RowData: %w", err)
	}
	for _, p := range r.parts {
		i := slices.IndexFunc(resp.Tables, func(s wire.RowDataTableState) bool { return s.Name == p.table })
		switch {
		case i < 0:
			return fmt.Errorf("RowData: the answer has no state for table %s", p.table)
		case resp.Tables[i].ErrorMessage != "":
			return fmt.Errorf("RowData: table %s: %s", p.table, resp.Tables[i].ErrorMessage)
		case resp.Tables[i].Inserted+resp.Tables[i].Updated+resp.Tables[i].Deleted != p.rows:
			st := resp.Tables[i]
			return fmt.Errorf("RowData: table %s answered %d inserted, %d updated, %d deleted for the %d rows of its batch", p.table, st.Inserted, st.Updated, st.Deleted, p.rows)
		case p.lsn != 0 && resp.Tables[i].LSN != p.lsn:
			return fmt.Errorf("RowData: table %s answered LSN %d after its last batch, not %d", p.table, resp.Tables[i].LSN, p.lsn)
		}
	}
	return nil
}
