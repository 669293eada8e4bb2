package hooks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/hooks"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

const (
	testAppID  = "mirrord-hooks-test"
	testTenant = "Cust4711"
)

// keys are made once per test binary: RSA key generation is the slowest part of a fixture.
var keys struct {
	once         sync.Once
	so, partner  *rsa.PrivateKey
	soCert       *x509.Certificate
	generateErrs error
}

func testKeys(t *testing.T) {
	keys.once.Do(func() {
		var err error
		if keys.so, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			keys.generateErrs = err
			return
		}
		if keys.partner, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			keys.generateErrs = err
			return
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "SuperOffice test"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &keys.so.PublicKey, keys.so)
		if err == nil {
			keys.soCert, err = x509.ParseCertificate(der)
		}
		keys.generateErrs = err
	})
	if keys.generateErrs != nil {
		t.Fatal(keys.generateErrs)
	}
}

// backend is a real target and a way to read a tenant's mirror with plain SQL.
type backend struct {
	name   string
	target bulk.Target
	count  func(t *testing.T, tenant, table string) int // rows of a mirrored table
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return backend{name: "sqlite", target: target, count: func(t *testing.T, tenant, table string) int {
		db, err := sql.Open("sqlite", filepath.Join(dir, "Mirror_"+tenant+".db"))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}}
}

// pgBackend is a PostgreSQL target whose databases are dropped when the test ends; without
// MIRRORD_TEST_PG_DSN it has no target.
func pgBackend(t *testing.T) backend {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		return backend{name: "postgres"}
	}
	prefix := fmt.Sprintf("hookt%d_", mrand.Uint32())
	target, err := pgsql.Open(context.Background(), dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	connect := func(t *testing.T, database string) *pgx.Conn {
		c := cfg.Copy()
		if database != "" {
			c.Database = database
		}
		conn, err := pgx.ConnectConfig(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	t.Cleanup(func() {
		target.Close()
		conn := connect(t, "")
		defer conn.Close(context.Background())
		rows, _ := conn.Query(context.Background(), "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, name := range names {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
		}
	})
	return backend{name: "postgres", target: target, count: func(t *testing.T, tenant, table string) int {
		conn := connect(t, prefix+tenant)
		defer conn.Close(context.Background())
		var n int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}}
}

// forEachBackend runs f over SQLite, and over PostgreSQL when MIRRORD_TEST_PG_DSN is set.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, mk := range []func(*testing.T) backend{sqliteBackend, pgBackend} {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			if b.target == nil {
				t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run (set it to a DSN allowed to CREATE DATABASE)")
			}
			f(t, b)
		})
	}
}

// fixture is mirrord's SOAP front end over a real engine and target, with hooks, behind a real
// HTTP server.
type fixture struct {
	t       *testing.T
	b       backend
	hooks   *hooks.Dispatcher
	metrics *metrics.Set
	url     string
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newFixture(t *testing.T, b backend, cfg hooks.Config) *fixture {
	testKeys(t)
	fx := &fixture{t: t, b: b, metrics: metrics.NewSet(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg.Metrics, cfg.Logger = fx.metrics, log
	var e *engine.Engine // the SQL hooks run through it; it is built after them
	if cfg.RunSQL == nil {
		cfg.RunSQL = func(ctx context.Context, tenant, table, text string) error { return e.RunSQL(ctx, tenant, table, text) }
	}
	d, err := hooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fx.hooks = d
	e = engine.New(b.target, engine.Options{Wait: 10 * time.Second, Hooks: d, Logger: log})
	v := &auth.Verifier{}
	if err := v.SetCertificates(keys.soCert); err != nil {
		t.Fatal(err)
	}
	srv, err := soapfront.New(e, soapfront.Config{AppID: testAppID, Verifier: v, PartnerKey: keys.partner, Logger: log, Observer: d})
	if err != nil {
		t.Fatal(err)
	}
	h := httptest.NewServer(srv)
	fx.url = h.URL + srv.Path()
	t.Cleanup(func() {
		h.Close()
		e.Close()
		d.Close(context.Background())
		if t.Failed() {
			t.Logf("mirrord's log:\n%s", fx.logs.String())
		}
	})
	return fx
}

func (fx *fixture) token() string {
	tok, err := auth.IssueToken(keys.so, keys.soCert, auth.IssueClaims{AppID: testAppID, Tenant: testTenant})
	if err != nil {
		fx.t.Fatal(err)
	}
	return tok
}

// post sends a SOAP call and returns the status and the response body.
func (fx *fixture) post(op string, body []byte) (int, []byte) {
	fx.t.Helper()
	req, err := http.NewRequest(http.MethodPost, fx.url, bytes.NewReader(body))
	if err != nil {
		fx.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(op)+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		fx.t.Fatal(err)
	}
	return resp.StatusCode, out
}

func (fx *fixture) mustPost(op string, body []byte) []byte {
	fx.t.Helper()
	status, out := fx.post(op, body)
	if status != http.StatusOK {
		fx.t.Fatalf("%s: status %d: %s", op, status, out)
	}
	return out
}

func (fx *fixture) authenticate(state string) {
	fx.t.Helper()
	var buf bytes.Buffer
	if err := wire.WriteAuthenticateRequest(&buf, fx.token(), wire.AuthenticateRequest{ClientState: state}); err != nil {
		fx.t.Fatal(err)
	}
	resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(fx.mustPost(wire.OpAuthenticate, buf.Bytes())))
	if err != nil || !resp.IsSuccessful {
		fx.t.Fatalf("Authenticate: %+v, %v", resp, err)
	}
}

// tableSchema returns each table's change as the answer names it.
func (fx *fixture) tableSchema(state string, tables ...schema.Table) map[string]string {
	fx.t.Helper()
	var buf bytes.Buffer
	if err := wire.WriteTableSchemaRequest(&buf, fx.token(), wire.TableSchemaRequest{ClientState: state, Tables: tables}); err != nil {
		fx.t.Fatal(err)
	}
	resp, err := wire.ReadTableSchemaResponse(bytes.NewReader(fx.mustPost(wire.OpTableSchema, buf.Bytes())))
	if err != nil {
		fx.t.Fatal(err)
	}
	out := map[string]string{}
	for _, st := range resp.Tables {
		out[st.Name] = st.SchemaChange
	}
	return out
}

// lsns asks, through TableSchema with the same tables, for each table's LSN.
func (fx *fixture) lsns(tables ...schema.Table) map[string]int64 {
	fx.t.Helper()
	var buf bytes.Buffer
	if err := wire.WriteTableSchemaRequest(&buf, fx.token(), wire.TableSchemaRequest{Tables: tables}); err != nil {
		fx.t.Fatal(err)
	}
	resp, err := wire.ReadTableSchemaResponse(bytes.NewReader(fx.mustPost(wire.OpTableSchema, buf.Bytes())))
	if err != nil {
		fx.t.Fatal(err)
	}
	out := map[string]int64{}
	for _, st := range resp.Tables {
		out[st.Name] = st.LSN
	}
	return out
}

func (fx *fixture) wipe(tables ...string) (int, []byte) {
	fx.t.Helper()
	var buf bytes.Buffer
	if err := wire.WriteWipeRequest(&buf, fx.token(), wire.WipeRequest{ClientState: "wipe", Tables: tables}); err != nil {
		fx.t.Fatal(err)
	}
	return fx.post(wire.OpWipe, buf.Bytes())
}

func (fx *fixture) complete(sent ...wire.TableSummary) {
	fx.t.Helper()
	var buf bytes.Buffer
	if err := wire.WriteReplicationCompletedRequest(&buf, fx.token(), wire.ReplicationCompletedRequest{Summary: sent}); err != nil {
		fx.t.Fatal(err)
	}
	fx.mustPost(wire.OpReplicationCompleted, buf.Bytes())
}

// batch is one <Batch> of a RowData request: rows of every column of table, at lsn.
type batch struct {
	table schema.Table
	op    bulk.Op
	rows  [][]any
	lsn   int64
}

// rowData sends the batches in one RowData call and returns each table's answer by name.
func (fx *fixture) rowData(batches ...batch) map[string]wire.RowDataTableState {
	fx.t.Helper()
	var buf bytes.Buffer
	rw := wire.NewRowDataWriter(&buf, fx.token(), "rows")
	for _, b := range batches {
		if err := rw.Begin(b.table.Name, b.table.Columns); err != nil {
			fx.t.Fatal(err)
		}
		for _, r := range b.rows {
			if err := rw.Row(b.op, b.lsn, r...); err != nil {
				fx.t.Fatal(err)
			}
		}
		if err := rw.EndLSN(b.lsn); err != nil {
			fx.t.Fatal(err)
		}
	}
	if err := rw.Close(); err != nil {
		fx.t.Fatal(err)
	}
	resp, err := wire.ReadRowDataResponse(bytes.NewReader(fx.mustPost(wire.OpRowData, buf.Bytes())))
	if err != nil {
		fx.t.Fatal(err)
	}
	out := map[string]wire.RowDataTableState{}
	for _, st := range resp.Tables {
		out[st.Name] = st
	}
	return out
}

// metric reads one sample of the hooks' metrics, 0 when it is absent.
func (fx *fixture) metric(name string) float64 {
	var buf bytes.Buffer
	fx.metrics.WritePrometheus(&buf)
	for _, line := range strings.Split(buf.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

func contactTable(keyCols ...string) schema.Table {
	t := schema.Table{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
	}}
	for _, k := range keyCols {
		t.Columns[t.Column(k)].PrimaryKey, t.Columns[t.Column(k)].Nullable = true, false
	}
	return t
}

func personTable() schema.Table {
	return schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "person_id", Type: schema.Int, PrimaryKey: true},
		{Name: "firstname", Type: schema.NVarChar, Length: 100, Nullable: true},
	}}
}

func noKeyTable() schema.Table {
	return schema.Table{Name: "nokey", Columns: []schema.Column{{Name: "v", Type: schema.Int, Nullable: true}}}
}

func rows(from, to int, text string) [][]any {
	var out [][]any
	for id := from; id <= to; id++ {
		out = append(out, []any{int64(id), fmt.Sprintf("%s %d", text, id)})
	}
	return out
}
