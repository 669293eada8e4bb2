package soapfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// Answers of Authenticate fixed by the contract.
const (
	// supportedInterfaces is the interface version mirrord implements, as documented.
	supportedInterfaces = 1
	// doNotReplicate asks the Mirroring Task to skip this cycle: maintenance on our side.
	doNotReplicate = `{"doNotReplicate":"true"}`
)

// call is one SOAP call in progress: what its log line and metrics report.
type call struct {
	id        string // names the call in its log line and in a server fault's text
	start     time.Time
	op        string
	tenant    string
	tables    int
	rows      int64
	failed    int // RowData tables that rolled back
	bytesRead atomic.Int64
	outcome   string
	status    int
	errMsg    string
	wrote     bool
	body      *body
	// The capture of a refused request (Config.CaptureDir): the decoded body so far, the token
	// to redact from it, whether the token checked out (only then is a call captured), and the
	// file.
	captured    *captureBuffer
	token       string
	verified    bool // the token checked out
	captureFile string
	// What the operation did, for the Observer.
	results     []engine.TableApplyResult
	wiped       []string
	completion  *engine.Completion
	clientState string
}

// serveCall runs one POSTed SOAP call from the transport checks to the response.
func (s *Server) serveCall(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		s.refuse(w, r, http.StatusServiceUnavailable, "mirrord is shutting down; retry later")
		return
	}
	defer s.leave()
	c := &call{id: newCallID(), start: time.Now(), op: opUnknown}
	s.metrics.inflightCalls.Add(1)
	defer func() {
		s.metrics.inflightCalls.Add(-1)
		s.metrics.inflightBytes.Add(-c.bytesRead.Load())
		s.finishCall(r, c)
	}()
	defer s.recoverCall(w, r, c)

	ctx, cancel := context.WithCancelCause(r.Context())
	defer cancel(nil)
	var wakeMu sync.Mutex
	handlerDone := false
	stop := context.AfterFunc(s.base, func() {
		cancel(context.Cause(s.base))
		// A decoder blocked on a slow client would not see the cancellation: the read
		// deadline wakes it, so the call rolls back now rather than when the client moves.
		wakeMu.Lock()
		defer wakeMu.Unlock()
		if !handlerDone {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
	defer func() {
		stop()
		// w must not be touched once the handler has returned.
		wakeMu.Lock()
		handlerDone = true
		wakeMu.Unlock()
	}()

	payload, status, err := s.dispatch(ctx, w, r, c)
	if err != nil {
		f := classify(err)
		if ctxErr := context.Cause(ctx); errors.Is(ctxErr, errDraining) {
			f = classify(ctxErr)
		}
		if f.code == wire.FaultServer {
			// The caller reads no addresses, logins or paths; the log line has them.
			f.msg += " (mirrord's log has the details under call " + c.id + ")"
		}
		c.outcome, c.status, c.errMsg = f.outcome, f.status, redact(err.Error())
		payload, status = faultBody(f.code, f.msg), f.status
		s.capture(c, err)
	}
	if c.outcome == "" {
		c.outcome = outcomeOK
	}
	c.status = status
	c.wrote = true
	s.writeBody(w, r, status, "text/xml; charset=utf-8", payload)
}

// finishCall writes the call's log line and metrics. The token is never logged.
func (s *Server) finishCall(r *http.Request, c *call) {
	d := time.Since(c.start)
	var wireBytes int64
	if c.body != nil {
		wireBytes = c.body.WireBytes()
	}
	s.metrics.call(c.op, c.outcome, d, wireBytes)
	s.observe(c, d, wireBytes)
	attrs := []any{
		"call", c.id, "operation", c.op, "tenant", c.tenant, "tables", c.tables, "rows", c.rows,
		"bytes", wireBytes, "decoded_bytes", c.bytesRead.Load(),
		"duration", d, "outcome", c.outcome, "status", c.status, "remote", r.RemoteAddr,
	}
	if c.failed > 0 {
		attrs = append(attrs, "failed_tables", c.failed)
	}
	if c.captureFile != "" {
		attrs = append(attrs, "capture", c.captureFile)
	}
	switch c.outcome {
	case outcomeOK:
		s.log.Info("call", attrs...)
	case outcomeServerFault:
		s.log.Error("call", append(attrs, "err", c.errMsg)...)
	default:
		s.log.Warn("call", append(attrs, "err", c.errMsg)...)
	}
}

// dispatch reads the call's header, checks its token and runs its operation. It returns the
// response body and status, or the error a fault answers.
func (s *Server) dispatch(ctx context.Context, w http.ResponseWriter, r *http.Request, c *call) ([]byte, int, error) {
	_, params, err := checkContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, 0, err
	}
	actionOp, ok := wire.ActionOperation(soapAction(r.Header, params))
	if !ok {
		return nil, 0, &clientError{fmt.Sprintf("SOAPAction %.200q is not an action of the contract; want %s<Operation>", soapAction(r.Header, params), wire.ActionPrefix)}
	}
	if actionOp != "" {
		c.op = actionOp
	}
	// Until the token is verified, what comes over the wire is bounded as well as what it
	// decompresses to: counted after decompression alone, a body of empty deflate blocks made
	// mirrord read up to --max-body of them for a caller it had not checked.
	wireGate := &tokenGate{r: newDeadlineBody(ctx, w, r.Body, s.cfg.BodyProgress, s.cfg.ReadTimeout), left: unverifiedLimit}
	b, err := openBody(r, wireGate, s.cfg.MaxBody, func(n int64) {
		c.bytesRead.Add(n)
		s.metrics.inflightBytes.Add(n)
	})
	if err != nil {
		return nil, 0, err
	}
	defer b.Close()
	c.body = b

	gate := &tokenGate{r: s.capturing(c, b), left: unverifiedLimit}
	dec := wire.NewDecoder(gate)
	// Only a caller whose token checks out makes mirrord count and log what it skips: anyone
	// else could use up the names the metric keeps apart.
	dec.OnSkip = func(operation, element string) {
		if c.verified {
			s.skipped(operation, element)
		}
	}
	hdr, err := dec.Start()
	if err != nil {
		return nil, 0, err
	}
	if actionOp != "" && actionOp != hdr.Operation {
		return nil, 0, &clientError{fmt.Sprintf("SOAPAction names %s but the body holds a %sRequest", actionOp, hdr.Operation)}
	}
	c.op = hdr.Operation

	c.token = hdr.Token
	claims, tokenErr := s.cfg.Verifier.Verify(hdr.Token)
	c.verified = tokenErr == nil
	if tokenErr != nil && !errors.Is(tokenErr, auth.ErrInvalidToken) {
		// The verifier is not configured: mirrord's fault, whatever the operation.
		return nil, 0, fmt.Errorf("token check: %w", tokenErr)
	}
	if tokenErr != nil && hdr.Token == "" {
		tokenErr = &clientError{"the SOAP header has no SignedToken"}
	}
	if hdr.Operation == wire.OpAuthenticate {
		return s.authenticate(ctx, dec, c, claims, tokenErr)
	}
	if tokenErr != nil {
		return nil, 0, fmt.Errorf("%s refused: %w", hdr.Operation, tokenErr)
	}
	c.tenant = claims.Tenant
	gate.open()
	wireGate.open()

	var out bytes.Buffer
	switch hdr.Operation {
	case wire.OpTableSchema:
		err = s.tableSchema(ctx, dec, c, &out)
	case wire.OpWipe:
		err = s.wipe(ctx, dec, c, &out)
	case wire.OpRowData:
		err = s.rowData(ctx, dec, c, &out)
	case wire.OpReplicationCompleted:
		err = s.replicationCompleted(ctx, dec, c, &out)
	default:
		err = &clientError{fmt.Sprintf("operation %s is not served", hdr.Operation)}
	}
	if err != nil {
		return nil, 0, err
	}
	return out.Bytes(), http.StatusOK, nil
}

// authenticate answers Authenticate. A refused token is not a fault: the documented answer is
// IsSuccessful=false with the reason, HTTP 200.
func (s *Server) authenticate(ctx context.Context, dec *wire.Decoder, c *call, claims auth.Claims, tokenErr error) ([]byte, int, error) {
	req, decodeErr := dec.Authenticate()
	c.clientState = req.ClientState
	resp := wire.AuthenticateResponse{
		SupportedInterfaces:       supportedInterfaces,
		SuperOfficeMirroringBuild: s.cfg.Build,
		ClientState:               req.ClientState,
	}
	var out bytes.Buffer
	reject := func(reason string) ([]byte, int, error) {
		c.outcome, c.errMsg = outcomeRejected, reason
		resp.IsSuccessful, resp.ErrorMessage = false, reason
		if err := wire.WriteAuthenticateResponse(&out, resp); err != nil {
			return nil, 0, err
		}
		return out.Bytes(), http.StatusOK, nil
	}
	if tokenErr != nil {
		// The token's verdict comes first; the body was read only for its ClientState.
		return reject(tokenErr.Error())
	}
	c.tenant = claims.Tenant
	if decodeErr != nil {
		return nil, 0, decodeErr
	}
	paused := s.cfg.Paused != nil && s.cfg.Paused(claims.Tenant)
	if paused {
		// Maintenance: the mirror is not opened, so a database under repair is left alone.
		resp.AdditionalInformationJson = doNotReplicate
	} else if err := s.engine.Authenticate(ctx, claims.Tenant); err != nil {
		if errors.Is(err, engine.ErrBadRequest) {
			return reject(err.Error())
		}
		return nil, 0, fmt.Errorf("Authenticate tenant %s: %w", claims.Tenant, err)
	}
	token, err := auth.SignApplicationToken(s.cfg.PartnerKey, claims.Nonce, s.cfg.Now())
	if err != nil {
		return nil, 0, err
	}
	resp.IsSuccessful, resp.SignedApplicationToken = true, token
	if err := wire.WriteAuthenticateResponse(&out, resp); err != nil {
		return nil, 0, err
	}
	return out.Bytes(), http.StatusOK, nil
}

func (s *Server) tableSchema(ctx context.Context, dec *wire.Decoder, c *call, out *bytes.Buffer) error {
	req, err := dec.TableSchema()
	if err != nil {
		return err
	}
	c.clientState = req.ClientState
	c.tables = len(req.Tables)
	results, err := s.engine.SyncSchema(ctx, c.tenant, req.Tables)
	if err != nil {
		return fmt.Errorf("TableSchema: %w", err)
	}
	resp := wire.TableSchemaResponse{ClientState: req.ClientState, Tables: make([]wire.TableSchemaState, len(results))}
	for i, res := range results {
		resp.Tables[i] = wire.TableSchemaState{Name: res.Name, LSN: res.LSN, SchemaChange: string(res.Change)}
	}
	return wire.WriteTableSchemaResponse(out, resp)
}

func (s *Server) wipe(ctx context.Context, dec *wire.Decoder, c *call, out *bytes.Buffer) error {
	req, err := dec.Wipe()
	if err != nil {
		return err
	}
	c.clientState = req.ClientState
	c.tables = len(req.Tables)
	if err := s.engine.Wipe(ctx, c.tenant, req.Tables); err != nil {
		return fmt.Errorf("Wipe: %w", err)
	}
	c.wiped = req.Tables
	return wire.WriteWipeResponse(out, wire.WipeResponse{ClientState: req.ClientState})
}

func (s *Server) replicationCompleted(ctx context.Context, dec *wire.Decoder, c *call, out *bytes.Buffer) error {
	req, err := dec.ReplicationCompleted()
	if err != nil {
		return err
	}
	c.clientState = req.ClientState
	sent := make([]engine.TableCounts, len(req.Summary))
	for i, t := range req.Summary {
		sent[i] = engine.TableCounts{Name: t.Name, Counts: bulk.Counts{Inserted: t.Inserted, Updated: t.Updated, Deleted: t.Deleted}}
	}
	done, err := s.engine.Complete(ctx, c.tenant, sent)
	if err != nil {
		return fmt.Errorf("ReplicationCompleted: %w", err)
	}
	c.tables = len(done.Counts)
	c.completion = &done
	s.metrics.cycleCompleted(c.tenant, time.Now())
	resp := wire.ReplicationCompletedResponse{ClientState: req.ClientState, Summary: make([]wire.TableSummary, len(done.Counts))}
	for i, tc := range done.Counts {
		resp.Summary[i] = wire.TableSummary{Name: tc.Name, Inserted: tc.Inserted, Updated: tc.Updated, Deleted: tc.Deleted}
		c.rows += tc.Inserted + tc.Updated + tc.Deleted
	}
	if len(done.Dropped) > 0 {
		s.log.Info("tables dropped at the end of the cycle", "call", c.id, "tenant", c.tenant, "tables", done.Dropped)
	}
	s.logSummary(c, done)
	return wire.WriteReplicationCompletedResponse(out, resp)
}

// rowData streams the request's batches into one engine Apply. Any decode error aborts the whole
// call, so nothing of it is written; a table the database refuses rolls back alone and says so
// in its ErrorMessage.
func (s *Server) rowData(ctx context.Context, dec *wire.Decoder, c *call, out *bytes.Buffer) (err error) {
	apply, err := s.engine.BeginApply(ctx, c.tenant)
	if err != nil {
		return fmt.Errorf("RowData: %w", err)
	}
	began := time.Now()
	sink := &rowSink{apply: apply, bytesRead: &c.bytesRead, tables: map[string]*tableTally{}}
	finished := false
	defer func() {
		// A panic or an early return must not leave loaders holding transactions open.
		if !finished {
			apply.Abort(errors.New("RowData: the call failed before its rows were complete"))
		}
	}()
	clientState, err := dec.RowData(sink)
	if err != nil {
		finished = true
		apply.Abort(err)
		return err
	}
	c.clientState = clientState
	decoded := time.Now()
	finished = true
	results, err := apply.Finish()
	s.metrics.finishDuration.UpdateDuration(decoded)
	s.metrics.applyDuration.UpdateDuration(began)
	if err != nil {
		return fmt.Errorf("RowData: %w", err)
	}
	resp := wire.RowDataResponse{ClientState: clientState, Tables: make([]wire.RowDataTableState, len(results))}
	c.tables = len(results)
	c.results = results
	for i, res := range results {
		st := wire.RowDataTableState{Name: res.Name, LSN: res.LSN}
		var tally tableTally
		if t := sink.tables[res.Name]; t != nil {
			tally = *t
		}
		if res.Err != nil {
			st.ErrorMessage = redact(res.Err.Error())
			if !errors.Is(res.Err, engine.ErrBadRequest) {
				st.ErrorMessage = public(st.ErrorMessage) + " (mirrord's log has the details under call " + c.id + ")"
			}
			c.failed++
			s.log.Warn("table rolled back", "call", c.id, "operation", wire.OpRowData, "tenant", c.tenant, "table", res.Name,
				"rows", tally.rows, "err", redact(res.Err.Error()))
		} else {
			st.Inserted, st.Updated, st.Deleted = res.Counts.Inserted, res.Counts.Updated, res.Counts.Deleted
			c.rows += tally.rows
		}
		s.metrics.applied(c.tenant, res.Name, res.Counts, tally.bytes, res.Err != nil)
		resp.Tables[i] = st
	}
	if c.failed > 0 {
		c.outcome = outcomePartial
	}
	return wire.WriteRowDataResponse(out, resp)
}

// rowSink hands the decoder's batches to the engine and tallies rows and bytes per table.
type rowSink struct {
	apply     *engine.Apply
	bytesRead *atomic.Int64
	tables    map[string]*tableTally
}

type tableTally struct {
	rows  int64
	bytes int64 // decoded request bytes read while the table's batches were
}

func (s *rowSink) Batch(table string, columns []string) (wire.BatchSink, error) {
	b, err := s.apply.Batch(table, columns)
	if err != nil {
		return nil, err
	}
	t := s.tables[table]
	if t == nil {
		t = &tableTally{}
		s.tables[table] = t
	}
	return &batchSink{b: b, tally: t, bytesRead: s.bytesRead, startBytes: s.bytesRead.Load()}, nil
}

type batchSink struct {
	b          *engine.Batch
	tally      *tableTally
	bytesRead  *atomic.Int64
	startBytes int64
}

func (b *batchSink) Columns() []schema.Column { return b.b.Columns() }

func (b *batchSink) Add(op bulk.Op, values []bulk.Value) error {
	b.tally.rows++
	return b.b.Add(op, values)
}

func (b *batchSink) SetLSN(lsn int64) error { return b.b.SetLSN(lsn) }

func (b *batchSink) Close() error {
	b.tally.bytes += b.bytesRead.Load() - b.startBytes
	return b.b.Close()
}

// faultBody renders a SOAP fault.
func faultBody(code, msg string) []byte {
	var buf bytes.Buffer
	_ = wire.WriteFault(&buf, code, msg) // a bytes.Buffer does not fail
	return buf.Bytes()
}

// unverifiedLimit is how much of a body is read before its token is verified: the envelope,
// the header and the start of the body fit easily, and an Authenticate call never needs more.
const unverifiedLimit = 1 << 20

// tokenGate lets an unauthenticated caller make mirrord read at most unverifiedLimit bytes: the
// rest of a body is read only once the call's token has been verified.
type tokenGate struct {
	r      io.Reader
	left   int64
	opened bool
}

func (g *tokenGate) open() { g.opened = true }

func (g *tokenGate) Read(p []byte) (int, error) {
	if g.opened {
		return g.r.Read(p)
	}
	if g.left <= 0 {
		return 0, &clientError{fmt.Sprintf("more than %d bytes came before the SignedToken could be verified", unverifiedLimit)}
	}
	if int64(len(p)) > g.left {
		p = p[:g.left]
	}
	n, err := g.r.Read(p)
	g.left -= int64(n)
	return n, err
}

// newCallID is a short random name for a call, unique enough to find its log line.
func newCallID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
