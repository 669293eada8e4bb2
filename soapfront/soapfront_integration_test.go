package soapfront

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/klauspost/compress/gzip"
	_ "modernc.org/sqlite"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

const (
	testAppID  = "mirrord-test-app"
	testTenant = "Cust12020"
)

// keys are made once per test binary: RSA key generation is the slowest part of a fixture.
var keys struct {
	once                 sync.Once
	so, unknown, partner *rsa.PrivateKey
	soCert, unknownCert  *x509.Certificate
}

func testKeys(t testing.TB) {
	keys.once.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		cert := func(k *rsa.PrivateKey, cn string) *x509.Certificate {
			tmpl := &x509.Certificate{
				SerialNumber: big.NewInt(mrand.Int64N(1 << 62)),
				Subject:      pkix.Name{CommonName: cn},
				NotBefore:    time.Now().Add(-time.Hour),
				NotAfter:     time.Now().Add(24 * time.Hour),
			}
			der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
			if err != nil {
				panic(err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				panic(err)
			}
			return c
		}
		keys.so, keys.unknown, keys.partner = gen(), gen(), gen()
		keys.soCert, keys.unknownCert = cert(keys.so, "SuperOffice test"), cert(keys.unknown, "Somebody else")
	})
}

// backend is a real target and a way to read a tenant's mirror with plain SQL.
type backend struct {
	name   string
	target bulk.Target
	// query returns every value as text, "NULL" for NULL.
	query func(t *testing.T, tenant, q string) [][]string
	// mirrors lists the tenants that have a mirror database.
	mirrors func(t *testing.T) []string
	// dir is the SQLite target's folder; empty for PostgreSQL.
	dir string
}

func sqliteBackend(t *testing.T) backend {
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return backend{
		dir:    dir,
		name:   "sqlite",
		target: target,
		query: func(t *testing.T, tenant, q string) [][]string {
			db, err := sql.Open("sqlite", filepath.Join(dir, "Mirror_"+tenant+".db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			rows, err := db.Query(q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var out [][]string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				out = append(out, texts(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return out
		},
		mirrors: func(t *testing.T) []string {
			files, _ := filepath.Glob(filepath.Join(dir, "Mirror_*.db"))
			var out []string
			for _, f := range files {
				out = append(out, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "Mirror_"), ".db"))
			}
			return out
		},
	}
}

// pgBackend returns a PostgreSQL target whose databases share a random prefix and are dropped
// when the test ends, or a backend without target when MIRRORD_TEST_PG_DSN is unset.
func pgBackend(t *testing.T) backend {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		return backend{name: "postgres"}
	}
	prefix := fmt.Sprintf("soapt%d_", mrand.Uint32())
	target, err := pgsql.Open(context.Background(), dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin := func(t *testing.T) *pgx.Conn {
		conn, err := pgx.ConnectConfig(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return conn
	}
	databases := func(t *testing.T) []string {
		conn := admin(t)
		defer conn.Close(context.Background())
		rows, _ := conn.Query(context.Background(), "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return names
	}
	t.Cleanup(func() {
		for _, name := range databases(t) {
			conn := admin(t)
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
			conn.Close(context.Background())
		}
	})
	return backend{
		name:   "postgres",
		target: target,
		query: func(t *testing.T, tenant, q string) [][]string {
			c := cfg.Copy()
			c.Database = prefix + tenant
			conn, err := pgx.ConnectConfig(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			rows, err := conn.Query(context.Background(), q)
			if err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			var out [][]string
			for rows.Next() {
				vals, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, texts(vals))
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return out
		},
		mirrors: func(t *testing.T) []string {
			var out []string
			for _, name := range databases(t) {
				out = append(out, strings.TrimPrefix(name, prefix))
			}
			return out
		},
	}
}

func texts(vals []any) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
			out[i] = "NULL"
		case []byte:
			out[i] = string(v)
		default:
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// fixture is a Server over a real engine and target, behind an httptest.Server.
type fixture struct {
	t       *testing.T
	b       backend
	srv     *Server
	http    *httptest.Server
	url     string
	logs    *syncBuffer
	tenant  string
	pausedT string
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

type fixtureOption func(*Config)

// forEachBackend runs f over SQLite, and over PostgreSQL when MIRRORD_TEST_PG_DSN is set.
func forEachBackend(t *testing.T, f func(t *testing.T, fx *fixture), opts ...fixtureOption) {
	for _, mk := range []func(*testing.T) backend{sqliteBackend, pgBackend} {
		b := mk(t)
		t.Run(b.name, func(t *testing.T) {
			if b.target == nil {
				t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run (set it to a superuser DSN)")
			}
			f(t, newFixture(t, b, opts...))
		})
	}
}

func newFixture(t *testing.T, b backend, opts ...fixtureOption) *fixture {
	testKeys(t)
	// Default chunking: SQLite has one writer per file, so a later table of a call can buffer only
	// a few chunks while the first table holds the write transaction.
	e := engine.New(b.target, engine.Options{Wait: 10 * time.Second})
	t.Cleanup(func() { e.Close() })
	v := &auth.Verifier{}
	if err := v.SetCertificates(keys.soCert); err != nil {
		t.Fatal(err)
	}
	fx := &fixture{t: t, b: b, logs: &syncBuffer{}, tenant: testTenant}
	cfg := Config{
		AppID:      testAppID,
		Verifier:   v,
		PartnerKey: keys.partner,
		MaxBody:    1 << 20,
		Logger:     slog.New(slog.NewJSONHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Build:      "mirrord-test",
		Paused:     func(tenant string) bool { return tenant == fx.pausedT },
	}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(e, cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	mux.HandleFunc("/healthz", srv.Health)
	mux.HandleFunc("/readyz", srv.Ready)
	fx.srv = srv
	fx.http = httptest.NewServer(mux)
	t.Cleanup(fx.http.Close)
	fx.url = fx.http.URL + srv.Path()
	return fx
}

// token issues a SuperOffice-shaped token for the fixture's tenant, changed by mod.
func (fx *fixture) token(mod ...func(*auth.IssueClaims)) string {
	c := auth.IssueClaims{AppID: testAppID, Tenant: fx.tenant}
	for _, m := range mod {
		m(&c)
	}
	tok, err := auth.IssueToken(keys.so, keys.soCert, c)
	if err != nil {
		fx.t.Fatal(err)
	}
	return tok
}

type reqOption func(*http.Request)

func withHeader(k, v string) reqOption { return func(r *http.Request) { r.Header.Set(k, v) } }
func withoutHeader(k string) reqOption { return func(r *http.Request) { r.Header.Del(k) } }

// post sends a SOAP call and returns the status and the (decompressed) response body.
func (fx *fixture) post(op string, body []byte, opts ...reqOption) (int, []byte) {
	fx.t.Helper()
	return fx.postReader(op, bytes.NewReader(body), opts...)
}

func (fx *fixture) postReader(op string, body io.Reader, opts ...reqOption) (int, []byte) {
	fx.t.Helper()
	req, err := http.NewRequest(http.MethodPost, fx.url, body)
	if err != nil {
		fx.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if op != "" {
		req.Header.Set("SOAPAction", `"`+wire.Action(op)+`"`)
	}
	for _, o := range opts {
		o(req)
	}
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

func contactTable() schema.Table {
	return schema.Table{Name: "contact", Columns: []schema.Column{
		{Name: "contact_id", Type: schema.Int, PrimaryKey: true},
		{Name: "name", Type: schema.NVarChar, Length: 220, Nullable: true},
		{Name: "number1", Type: schema.BigInt, Nullable: true},
	}}
}

func personTable() schema.Table {
	return schema.Table{Name: "person", Columns: []schema.Column{
		{Name: "person_id", Type: schema.Int, PrimaryKey: true},
		{Name: "contact_id", Type: schema.Int},
		{Name: "firstname", Type: schema.NVarChar, Length: 100, Nullable: true},
	}}
}

func tableSchemaBody(t *testing.T, token, state string, tables ...schema.Table) []byte {
	var buf bytes.Buffer
	if err := wire.WriteTableSchemaRequest(&buf, token, wire.TableSchemaRequest{ClientState: state, Tables: tables}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func wipeBody(t *testing.T, token, state string, tables ...string) []byte {
	var buf bytes.Buffer
	if err := wire.WriteWipeRequest(&buf, token, wire.WipeRequest{ClientState: state, Tables: tables}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func completedBody(t *testing.T, token, state string) []byte {
	var buf bytes.Buffer
	if err := wire.WriteReplicationCompletedRequest(&buf, token, wire.ReplicationCompletedRequest{ClientState: state}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func authenticateBody(t *testing.T, token, state string) []byte {
	var buf bytes.Buffer
	if err := wire.WriteAuthenticateRequest(&buf, token, wire.AuthenticateRequest{ClientState: state}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rowBatch is one <Batch> of a RowData request written with wire.RowDataWriter.
type rowBatch struct {
	table   schema.Table
	cols    []string // nil: every column
	rows    []testRow
	lsn     int64
	lastLSN bool
}

type testRow struct {
	op   bulk.Op
	lsn  int64
	vals []any
}

func rowDataBody(t *testing.T, token, state string, batches ...rowBatch) []byte {
	var buf bytes.Buffer
	rw := wire.NewRowDataWriter(&buf, token, state)
	for _, b := range batches {
		cols := b.table.Columns
		if b.cols != nil {
			cols = nil
			for _, name := range b.cols {
				cols = append(cols, b.table.Columns[b.table.Column(name)])
			}
		}
		if err := rw.Begin(b.table.Name, cols); err != nil {
			t.Fatal(err)
		}
		for _, r := range b.rows {
			if err := rw.Row(r.op, r.lsn, r.vals...); err != nil {
				t.Fatal(err)
			}
		}
		var err error
		if b.lastLSN {
			err = rw.EndLSN(b.lsn)
		} else {
			err = rw.End()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// contactRows makes insert rows for contact ids from..to.
func contactRows(op bulk.Op, from, to int) []testRow {
	var rows []testRow
	for id := from; id <= to; id++ {
		rows = append(rows, testRow{op, int64(1000 + id), []any{int64(id), fmt.Sprintf("Fjord & Co <%d>\r\n", id), int64(id * 10)}})
	}
	return rows
}

func mustOK(t *testing.T, status int, body []byte) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", status, body)
	}
}

// readFault returns the fault a response body holds, failing the test when it holds none.
func readFault(t *testing.T, body []byte) *wire.Fault {
	t.Helper()
	_, err := wire.ReadWipeResponse(bytes.NewReader(body))
	var f *wire.Fault
	if !errors.As(err, &f) {
		t.Fatalf("response is not a SOAP fault (%v): %.300s", err, body)
	}
	return f
}

// tableLSN asks the server, through TableSchema with the same schema, for each table's LSN.
func (fx *fixture) tableLSNs(t *testing.T, tables ...schema.Table) map[string]int64 {
	t.Helper()
	status, body := fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "", tables...))
	mustOK(t, status, body)
	resp, err := wire.ReadTableSchemaResponse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, st := range resp.Tables {
		out[st.Name] = st.LSN
	}
	return out
}

func (fx *fixture) contactRows(t *testing.T) [][]string {
	return fx.b.query(t, fx.tenant, "SELECT contact_id, name, number1 FROM contact ORDER BY contact_id")
}

// seed creates contact and person and commits contact rows 1..3 at LSN 1003.
func (fx *fixture) seed(t *testing.T) {
	t.Helper()
	status, body := fx.post(wire.OpAuthenticate, authenticateBody(t, fx.token(), ""))
	mustOK(t, status, body)
	status, body = fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "", contactTable(), personTable()))
	mustOK(t, status, body)
	status, body = fx.post(wire.OpRowData, rowDataBody(t, fx.token(), "", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 1, 3), lsn: 1003, lastLSN: true}))
	mustOK(t, status, body)
	resp, err := wire.ReadRowDataResponse(bytes.NewReader(body))
	if err != nil || len(resp.Tables) != 1 || resp.Tables[0].ErrorMessage != "" || resp.Tables[0].Inserted != 3 {
		t.Fatalf("seed RowData = %+v, %v", resp, err)
	}
}

// unchanged checks that the seeded mirror is exactly as seed left it.
func (fx *fixture) unchanged(t *testing.T, before [][]string) {
	t.Helper()
	if after := fx.contactRows(t); !slices.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("contact rows changed:\nbefore %v\nafter  %v", before, after)
	}
	if got := fx.b.query(t, fx.tenant, "SELECT count(*) FROM person"); got[0][0] != "0" {
		t.Fatalf("person has %s rows, want 0", got[0][0])
	}
	if mirrors := fx.b.mirrors(t); !slices.Equal(mirrors, []string{fx.tenant}) {
		t.Fatalf("mirrors = %v, want only %s", mirrors, fx.tenant)
	}
	if fx.srv.Draining() {
		return // the LSNs can only be asked of a server that still takes calls
	}
	lsns := fx.tableLSNs(t, contactTable(), personTable())
	if lsns["contact"] != 1003 || lsns["person"] != -1 {
		t.Fatalf("LSNs = %v, want contact 1003 and person -1", lsns)
	}
}

// documentedAuthenticate are the two shapes SuperOffice's documentation shows for the request:
// the SignedToken with a default namespace, and with an h: prefix and whitespace after it.
var documentedAuthenticate = []string{
	`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header>
    <SignedToken s:mustUnderstand="1"
       xmlns="http://www.superoffice.com/online/mirroring/0.1">%s</SignedToken>
  </s:Header>
  <s:Body>
    <AuthenticateRequest
       xmlns="http://www.superoffice.com/online/mirroring/0.1">
      <ClientState>%s</ClientState>
    </AuthenticateRequest>
  </s:Body>
</s:Envelope>`,
	`<?xml version="1.0" encoding="utf-8"?>
<s:Envelope
    xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
    <s:Header>
        <h:SignedToken s:mustUnderstand="1"
            xmlns:h="http://www.superoffice.com/online/mirroring/0.1">%s
        </h:SignedToken>
    </s:Header>
    <s:Body>
        <AuthenticateRequest
            xmlns="http://www.superoffice.com/online/mirroring/0.1">
            <ClientState>%s</ClientState>
        </AuthenticateRequest>
    </s:Body>
</s:Envelope>`,
}

func TestAuthenticateDocumentedForms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		for i, form := range documentedAuthenticate {
			nonce := fmt.Sprintf("%032x", i+0xabc)
			state := fmt.Sprintf("state-%d", i)
			body := fmt.Sprintf(form, fx.token(func(c *auth.IssueClaims) { c.Nonce = nonce }), state)
			// The first form goes without SOAPAction: the body's element decides.
			op := wire.OpAuthenticate
			if i == 0 {
				op = ""
			}
			before := time.Now()
			status, out := fx.post(op, []byte(body))
			mustOK(t, status, out)
			resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if !resp.IsSuccessful || resp.ErrorMessage != "" {
				t.Fatalf("form %d: IsSuccessful=%v ErrorMessage=%q", i, resp.IsSuccessful, resp.ErrorMessage)
			}
			if resp.ClientState != state || resp.SupportedInterfaces != 1 || resp.SuperOfficeMirroringBuild != "mirrord-test" || resp.AdditionalInformationJson != "" {
				t.Fatalf("form %d: response %+v", i, resp)
			}
			if err := auth.VerifyApplicationToken(&keys.partner.PublicKey, resp.SignedApplicationToken, nonce, time.Now(), 0); err != nil {
				t.Fatalf("form %d: application token: %v", i, err)
			}
			// Check the parts by hand too: nonce, a UTC minute stamp of now, and the signature.
			parts := strings.Split(resp.SignedApplicationToken, ".")
			if len(parts) != 3 || parts[0] != nonce {
				t.Fatalf("form %d: token %q does not start with the nonce", i, resp.SignedApplicationToken)
			}
			stamp, err := time.Parse("200601021504", parts[1])
			if err != nil || stamp.Before(before.UTC().Truncate(time.Minute)) || stamp.After(time.Now().UTC()) {
				t.Fatalf("form %d: timestamp %q is not the UTC minute of the call (%v)", i, parts[1], err)
			}
			if _, err := base64.StdEncoding.DecodeString(parts[2]); err != nil {
				t.Fatalf("form %d: signature is not base64: %v", i, err)
			}
			if err := auth.VerifyApplicationToken(&keys.partner.PublicKey, resp.SignedApplicationToken, strings.Repeat("f", 32), time.Now(), 0); err == nil {
				t.Fatalf("form %d: the token verified with another nonce", i)
			}
		}
		if mirrors := fx.b.mirrors(t); !slices.Equal(mirrors, []string{testTenant}) {
			t.Fatalf("mirrors after Authenticate = %v, want [%s]", mirrors, testTenant)
		}
	})
}

func TestAuthenticateClock(t *testing.T) {
	fixed := time.Date(2024, 3, 1, 10, 22, 59, 0, time.UTC)
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		status, out := fx.post(wire.OpAuthenticate, authenticateBody(t, fx.token(), ""))
		mustOK(t, status, out)
		resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if parts := strings.Split(resp.SignedApplicationToken, "."); len(parts) != 3 || parts[1] != "202403011022" {
			t.Fatalf("token %q does not carry the clock's minute 202403011022", resp.SignedApplicationToken)
		}
	}, func(c *Config) { c.Now = func() time.Time { return fixed } })
}

func TestAuthenticatePaused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.pausedT = testTenant
		status, out := fx.post(wire.OpAuthenticate, authenticateBody(t, fx.token(), "s"))
		mustOK(t, status, out)
		resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		var info map[string]string
		if err := json.Unmarshal([]byte(resp.AdditionalInformationJson), &info); err != nil || info["doNotReplicate"] != "true" {
			t.Fatalf("AdditionalInformationJson = %q (%v), want doNotReplicate true", resp.AdditionalInformationJson, err)
		}
		if !resp.IsSuccessful || resp.SignedApplicationToken == "" || resp.ClientState != "s" {
			t.Fatalf("paused response %+v", resp)
		}
		if mirrors := fx.b.mirrors(t); len(mirrors) != 0 {
			t.Fatalf("a paused tenant's mirror was opened: %v", mirrors)
		}
	})
}

// badTokens are the tokens every operation must refuse, made from a good one.
func badTokens(fx *fixture) map[string]string {
	now := time.Now()
	good := fx.token()
	parts := strings.Split(good, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	tampered := strings.Replace(string(payload), testTenant, "Cust99999", -1)
	claims := jwt.MapClaims{
		"iss": auth.Issuer, "aud": "spn:" + testAppID, "sub": testTenant, auth.ContextClaim: testTenant,
		"nonce": strings.Repeat("ab", 16), "nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	hs.Header["x5t"] = auth.X5T(keys.soCert)
	hsToken, err := hs.SignedString(x509.MarshalPKCS1PublicKey(&keys.so.PublicKey))
	if err != nil {
		fx.t.Fatal(err)
	}
	unknown, err := auth.IssueToken(keys.unknown, keys.unknownCert, auth.IssueClaims{AppID: testAppID, Tenant: testTenant})
	if err != nil {
		fx.t.Fatal(err)
	}
	return map[string]string{
		"expired":          fx.token(func(c *auth.IssueClaims) { c.Now = now.Add(-20 * time.Minute) }),
		"not yet valid":    fx.token(func(c *auth.IssueClaims) { c.Now = now.Add(20 * time.Minute) }),
		"wrong issuer":     fx.token(func(c *auth.IssueClaims) { c.Claims = map[string]any{"iss": "Evil AS"} }),
		"wrong audience":   fx.token(func(c *auth.IssueClaims) { c.AppID = "someone-else" }),
		"alg none":         enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + ".",
		"alg none header":  fx.token(func(c *auth.IssueClaims) { c.Header = map[string]any{"alg": "none"} }),
		"HS256 public key": hsToken,
		"tampered payload": parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tampered)) + "." + parts[2],
		"unknown cert":     unknown,
		"no tenant claim":  fx.token(func(c *auth.IssueClaims) { c.Claims = map[string]any{auth.ContextClaim: nil} }),
		"tenant mismatch":  fx.token(func(c *auth.IssueClaims) { c.Claims = map[string]any{"sub": "Cust99999"} }),
		"bad tenant name":  fx.token(func(c *auth.IssueClaims) { c.Tenant = "Cust]; DROP" }),
		"malformed":        "not-a-jwt",
		"four parts":       good + ".x",
		"missing":          "",
	}
}

func TestRejectedTokens(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		before := fx.contactRows(t)
		for name, tok := range badTokens(fx) {
			calls := map[string][]byte{
				wire.OpAuthenticate:         authenticateBody(t, tok, "st"),
				wire.OpTableSchema:          tableSchemaBody(t, tok, "st", personTable()), // would drop contact
				wire.OpWipe:                 wipeBody(t, tok, "st", "contact"),
				wire.OpRowData:              rowDataBody(t, tok, "st", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 10, 12), lsn: 2000, lastLSN: true}),
				wire.OpReplicationCompleted: completedBody(t, tok, "st"),
			}
			if tok == "" {
				// No SignedToken header at all.
				calls[wire.OpWipe] = bytes.Replace(calls[wire.OpWipe], []byte(`<s:Header><SignedToken s:mustUnderstand="1" xmlns="`+wire.Namespace+`"></SignedToken></s:Header>`), nil, 1)
			}
			for op, body := range calls {
				status, out := fx.post(op, body)
				if op == wire.OpAuthenticate {
					mustOK(t, status, out)
					resp, err := wire.ReadAuthenticateResponse(bytes.NewReader(out))
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if resp.IsSuccessful || resp.ErrorMessage == "" || resp.SignedApplicationToken != "" || resp.ClientState != "st" {
						t.Errorf("%s: Authenticate answered %+v, want IsSuccessful=false with a reason", name, resp)
					}
					continue
				}
				if status != http.StatusInternalServerError {
					t.Errorf("%s on %s: status %d, want 500: %.300s", name, op, status, out)
					continue
				}
				if f := readFault(t, out); f.Code != wire.FaultClient {
					t.Errorf("%s on %s: fault %s %q, want s:Client", name, op, f.Code, f.Message)
				}
			}
		}
		fx.unchanged(t, before)
		if logs := fx.logs.String(); strings.Contains(logs, strings.Split(fx.token(), ".")[0]+".") {
			t.Fatalf("a token reached the log")
		}
	})
}

// hostileRowData are RowData bodies that must be refused whole: each has a good first batch, so
// a partial write would show.
func hostileBodies(t *testing.T, fx *fixture) map[string][]byte {
	tok := fx.token()
	good := rowDataBody(t, tok, "", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 20, 25)})
	// good ends with </Batches></RowDataRequest></s:Body></s:Envelope>; hostile batches go before it.
	tail := []byte("</Batches></RowDataRequest></s:Body></s:Envelope>")
	if !bytes.HasSuffix(good, tail) {
		t.Fatalf("unexpected RowData shape: %s", good)
	}
	withBatch := func(batch string) []byte {
		return slices.Concat(good[:len(good)-len(tail)], []byte(batch), tail)
	}
	envelope := func(body string) []byte {
		return []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><SignedToken xmlns="` +
			wire.Namespace + `">` + tok + `</SignedToken></s:Header><s:Body>` + body + `</s:Body></s:Envelope>`)
	}
	laughs := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
		`<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>`
	deep := strings.Repeat("<x>", 100000) + strings.Repeat("</x>", 100000)
	return map[string][]byte{
		"truncated XML":            good[:len(good)-40],
		"wrong namespace":          bytes.Replace(good, []byte(`<RowDataRequest xmlns="`+wire.Namespace+`"`), []byte(`<RowDataRequest xmlns="http://example.com/other"`), 1),
		"bad value":                withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>number1</Name></Columns><Rows><Row op="I" lsn="1"><V>30</V><V>12abc</V></Row></Rows><Lsn>2000</Lsn></Batch>`),
		"int overflow":             withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Rows><Row op="I" lsn="1"><V>99999999999</V></Row></Rows></Batch>`),
		"unknown column":           withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>nope</Name></Columns><Rows><Row op="I" lsn="1"><V>31</V><V>x</V></Row></Rows></Batch>`),
		"duplicate column":         withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name</Name><Name>name</Name></Columns><Rows><Row op="I" lsn="1"><V>32</V><V>a</V><V>b</V></Row></Rows></Batch>`),
		"unknown table":            withBatch(`<Batch><Table>nosuchtable</Table><Columns><Name>id</Name></Columns><Rows><Row op="I" lsn="1"><V>1</V></Row></Rows></Batch>`),
		"table with ]":             withBatch(`<Batch><Table>contact]; DROP TABLE contact; --</Table><Columns><Name>contact_id</Name></Columns><Rows><Row op="I" lsn="1"><V>33</V></Row></Rows></Batch>`),
		"table with quote":         withBatch(`<Batch><Table>contact"; DELETE FROM contact; --</Table><Columns><Name>contact_id</Name></Columns><Rows><Row op="I" lsn="1"><V>34</V></Row></Rows></Batch>`),
		"column with ;":            withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name;DROP</Name></Columns><Rows><Row op="I" lsn="1"><V>35</V><V>x</V></Row></Rows></Batch>`),
		"missing key":              withBatch(`<Batch><Table>contact</Table><Columns><Name>name</Name></Columns><Rows><Row op="U" lsn="1"><V>x</V></Row></Rows></Batch>`),
		"bad op":                   withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Rows><Row op="X" lsn="1"><V>36</V></Row></Rows></Batch>`),
		"too few values":           withBatch(`<Batch><Table>contact</Table><Columns><Name>contact_id</Name><Name>name</Name></Columns><Rows><Row op="I" lsn="1"><V>37</V></Row></Rows></Batch>`),
		"billion laughs":           slices.Concat([]byte(laughs), envelope(`<RowDataRequest xmlns="`+wire.Namespace+`"><ClientState>&lol3;</ClientState></RowDataRequest>`)),
		"deep nesting":             envelope(`<RowDataRequest xmlns="` + wire.Namespace + `"><ClientState/>` + deep + `</RowDataRequest>`),
		"unknown element in a row": envelope(`<RowDataRequest xmlns="` + wire.Namespace + `"><ClientState/><Batches><Batch><Table>contact</Table><Columns><Name>contact_id</Name></Columns><Rows><Row op="I" lsn="1"><V>1</V><Bogus/></Row></Rows></Batch></Batches></RowDataRequest>`),
		"unknown op":               envelope(`<DropEverythingRequest xmlns="` + wire.Namespace + `"/>`),
		"not XML":                  []byte("hello, this is not XML at all"),
		"empty body":               nil,
	}
}

func TestHostileBodies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		before := fx.contactRows(t)
		for name, body := range hostileBodies(t, fx) {
			status, out := fx.post("", body)
			if status != http.StatusInternalServerError {
				t.Errorf("%s: status %d, want 500: %.300s", name, status, out)
				continue
			}
			f := readFault(t, out)
			if f.Code != wire.FaultClient || f.Message == "" {
				t.Errorf("%s: fault %s %q, want s:Client with a reason", name, f.Code, f.Message)
			}
			if strings.Contains(f.Message, "goroutine ") {
				t.Errorf("%s: fault carries a stack trace", name)
			}
			t.Logf("%s: %s", name, f.Message)
		}
		// The fault names operation, table, row and column where it knows them.
		status, out := fx.post(wire.OpRowData, hostileBodies(t, fx)["bad value"])
		f := readFault(t, out)
		for _, want := range []string{"RowData", "contact", "row 1", "number1", "12abc"} {
			if !strings.Contains(f.Message, want) {
				t.Errorf("bad value fault %q (status %d) does not name %q", f.Message, status, want)
			}
		}

		// Bad names in TableSchema are refused before any SQL is made of them.
		for _, name := range []string{"contact]", `con"tact`, "contact;drop", "x y"} {
			tab := contactTable()
			tab.Name = name
			status, out := fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "", contactTable(), personTable(), tab))
			if f := readFault(t, out); status != 500 || f.Code != wire.FaultClient {
				t.Errorf("TableSchema with table %q: %d %s %q", name, status, f.Code, f.Message)
			}
		}
		fx.unchanged(t, before)
	})
}

func TestTransportRefusals(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		before := fx.contactRows(t)
		body := rowDataBody(t, fx.token(), "", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 40, 45), lsn: 3000, lastLSN: true})

		// Oversized: 2 MiB of rows against a 1 MiB limit, plain and gzipped.
		var big []testRow
		for id := 100; id < 20000; id++ {
			big = append(big, testRow{bulk.Insert, int64(id), []any{int64(id), strings.Repeat("x", 100), int64(id)}})
		}
		oversized := rowDataBody(t, fx.token(), "", rowBatch{table: contactTable(), rows: big, lsn: 5000, lastLSN: true})
		if len(oversized) < 2<<20 {
			t.Fatalf("oversized body is only %d bytes", len(oversized))
		}
		// The bomb's whitespace sits where XML allows it, so only the size limit can stop it.
		at := bytes.Index(body, []byte("<Batches>")) + len("<Batches>")
		bomb := gzipBytes(t, slices.Concat(body[:at], bytes.Repeat([]byte(" "), 8<<20), body[at:]))
		if len(bomb) >= 1<<20 {
			t.Fatalf("the gzip bomb is %d bytes on the wire: it must pass the wire limit to test the decoded one", len(bomb))
		}

		cases := []struct {
			name   string
			method string
			body   []byte
			opts   []reqOption
			status int
		}{
			{"oversized", http.MethodPost, oversized, nil, http.StatusRequestEntityTooLarge},
			{"oversized chunked", http.MethodPost, oversized, []reqOption{func(r *http.Request) { r.ContentLength = -1 }}, http.StatusRequestEntityTooLarge},
			{"oversized gzipped", http.MethodPost, gzipBytes(t, oversized), []reqOption{withHeader("Content-Encoding", "gzip")}, http.StatusRequestEntityTooLarge},
			{"gzip bomb", http.MethodPost, bomb, []reqOption{withHeader("Content-Encoding", "gzip")}, http.StatusRequestEntityTooLarge},
			{"corrupt gzip", http.MethodPost, body, []reqOption{withHeader("Content-Encoding", "gzip")}, http.StatusBadRequest},
			{"PUT", http.MethodPut, body, nil, http.StatusMethodNotAllowed},
			{"DELETE", http.MethodDelete, nil, nil, http.StatusMethodNotAllowed},
			{"GET without wsdl", http.MethodGet, nil, nil, http.StatusMethodNotAllowed},
			{"JSON", http.MethodPost, body, []reqOption{withHeader("Content-Type", "application/json")}, http.StatusUnsupportedMediaType},
			{"no content type", http.MethodPost, body, []reqOption{withoutHeader("Content-Type")}, http.StatusUnsupportedMediaType},
			{"latin1", http.MethodPost, body, []reqOption{withHeader("Content-Type", "text/xml; charset=iso-8859-1")}, http.StatusUnsupportedMediaType},
			{"SOAPAction disagrees", http.MethodPost, body, []reqOption{withHeader("SOAPAction", wire.Action(wire.OpWipe))}, http.StatusInternalServerError},
			{"SOAPAction unknown", http.MethodPost, body, []reqOption{withHeader("SOAPAction", "urn:DropDatabase")}, http.StatusInternalServerError},
		}
		for _, c := range cases {
			req, err := http.NewRequest(c.method, fx.url, bytes.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "text/xml; charset=utf-8")
			req.Header.Set("SOAPAction", wire.Action(wire.OpRowData))
			for _, o := range c.opts {
				o(req)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d: %.300s", c.name, resp.StatusCode, c.status, out)
				continue
			}
			if f := readFault(t, out); f.Code != wire.FaultClient {
				t.Errorf("%s: fault %s %q, want s:Client", c.name, f.Code, f.Message)
			}
			if c.status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") == "" {
				t.Errorf("%s: 405 without Allow", c.name)
			}
		}
		fx.unchanged(t, before)
	})
}

func gzipBytes(t *testing.T, data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

func TestWSDLAndProbes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		for _, q := range []string{"?wsdl", "?WSDL"} {
			resp, err := http.Get(fx.url + q)
			if err != nil {
				t.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(out, []byte("definitions")) || !bytes.Contains(out, []byte(fx.url)) {
				t.Fatalf("GET %s: %d, %.200s", q, resp.StatusCode, out)
			}
		}
		for _, p := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(fx.http.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d", p, resp.StatusCode)
			}
		}
		// A gzip response when the client asks for one.
		req, _ := http.NewRequest(http.MethodGet, fx.url+"?wsdl", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := io.ReadAll(zr); err != nil || !bytes.Contains(out, []byte("definitions")) {
			t.Fatalf("gzipped WSDL does not read back: %v", err)
		}
	})
}

func TestEndToEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		status, out := fx.post(wire.OpAuthenticate, authenticateBody(t, fx.token(), "c0"))
		mustOK(t, status, out)

		// TableSchema, with an unquoted SOAPAction.
		status, out = fx.post("", tableSchemaBody(t, fx.token(), "c1", contactTable(), personTable()),
			withHeader("SOAPAction", wire.Action(wire.OpTableSchema)))
		mustOK(t, status, out)
		ts, err := wire.ReadTableSchemaResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if ts.ClientState != "c1" || len(ts.Tables) != 2 || ts.Tables[0].SchemaChange != "Created" || ts.Tables[0].LSN != -1 {
			t.Fatalf("TableSchema answered %+v", ts)
		}

		// Wipe, without SOAPAction.
		status, out = fx.post("", wipeBody(t, fx.token(), "c2", "contact", "person"))
		mustOK(t, status, out)
		if w, err := wire.ReadWipeResponse(bytes.NewReader(out)); err != nil || w.ClientState != "c2" {
			t.Fatalf("Wipe answered %+v, %v", w, err)
		}

		// RowData: two tables, several batches each, interleaved, gzipped on the way in. At most
		// two batches a table: on SQLite a table whose loader waits for the single writer can
		// buffer only that many (see the engine's "loader took no rows").
		persons := func(from, to int) []testRow {
			var rows []testRow
			for id := from; id <= to; id++ {
				rows = append(rows, testRow{bulk.Insert, int64(500 + id), []any{int64(id), int64(id % 3), fmt.Sprintf("P%d", id)}})
			}
			return rows
		}
		body := rowDataBody(t, fx.token(), "c3",
			rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 1, 10)},
			rowBatch{table: personTable(), rows: persons(1, 4)},
			rowBatch{table: personTable(), rows: persons(5, 5), lsn: 505, lastLSN: true},
			rowBatch{table: contactTable(), cols: []string{"contact_id", "name"}, rows: []testRow{
				{bulk.Insert, 1011, []any{int64(11), nil}},
			}, lsn: 1011, lastLSN: true},
		)
		status, out = fx.post(wire.OpRowData, gzipBytes(t, body), withHeader("Content-Encoding", "gzip"))
		mustOK(t, status, out)
		rd, err := wire.ReadRowDataResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		want := []wire.RowDataTableState{
			{Name: "contact", LSN: 1011, Inserted: 11},
			{Name: "person", LSN: 505, Inserted: 5},
		}
		if rd.ClientState != "c3" || !slices.Equal(rd.Tables, want) {
			t.Fatalf("RowData answered %+v, want %+v", rd, want)
		}

		// A second RowData: updates, deletes and an update that leaves a column out.
		status, out = fx.post(wire.OpRowData, rowDataBody(t, fx.token(), "c4",
			rowBatch{table: contactTable(), rows: []testRow{
				{bulk.Update, 1012, []any{int64(2), "Renamed", int64(222)}},
				{bulk.Delete, 1013, []any{int64(3), nil, nil}},
			}},
			rowBatch{table: contactTable(), cols: []string{"contact_id", "number1"}, rows: []testRow{
				{bulk.Update, 1014, []any{int64(4), int64(444)}},
			}, lsn: 1014, lastLSN: true},
			rowBatch{table: personTable(), cols: []string{"person_id", "contact_id"}, rows: []testRow{
				{bulk.Delete, 506, []any{int64(5), int64(0)}},
			}, lsn: 506, lastLSN: true},
		))
		mustOK(t, status, out)
		rd, err = wire.ReadRowDataResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		want = []wire.RowDataTableState{
			{Name: "contact", LSN: 1014, Updated: 2, Deleted: 1},
			{Name: "person", LSN: 506, Deleted: 1},
		}
		if !slices.Equal(rd.Tables, want) {
			t.Fatalf("second RowData answered %+v, want %+v", rd.Tables, want)
		}

		status, out = fx.post(wire.OpReplicationCompleted, completedBody(t, fx.token(), "c5"))
		mustOK(t, status, out)
		rc, err := wire.ReadReplicationCompletedResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		wantSummary := []wire.TableSummary{
			{Name: "contact", Inserted: 11, Updated: 2, Deleted: 1},
			{Name: "person", Inserted: 5, Deleted: 1},
		}
		if rc.ClientState != "c5" || !slices.Equal(rc.Summary, wantSummary) {
			t.Fatalf("ReplicationCompleted answered %+v, want %+v", rc, wantSummary)
		}

		rows := fx.contactRows(t)
		if len(rows) != 10 {
			t.Fatalf("contact has %d rows, want 10: %v", len(rows), rows)
		}
		wantRows := map[string][]string{
			"1":  {"1", "Fjord & Co <1>\r\n", "10"},
			"2":  {"2", "Renamed", "222"},
			"4":  {"4", "Fjord & Co <4>\r\n", "444"},
			"11": {"11", "NULL", "NULL"},
		}
		for _, r := range rows {
			if w, ok := wantRows[r[0]]; ok && !slices.Equal(r, w) {
				t.Errorf("contact row %s = %q, want %q", r[0], r, w)
			}
			if r[0] == "3" {
				t.Errorf("contact row 3 was not deleted")
			}
		}
		if got := fx.b.query(t, fx.tenant, "SELECT person_id, contact_id, firstname FROM person ORDER BY person_id"); len(got) != 4 || !slices.Equal(got[3], []string{"4", "1", "P4"}) {
			t.Fatalf("person rows = %v", got)
		}
		if lsns := fx.tableLSNs(t, contactTable(), personTable()); lsns["contact"] != 1014 || lsns["person"] != 506 {
			t.Fatalf("LSNs = %v", lsns)
		}

		// Metrics and the log line.
		var m bytes.Buffer
		fx.srv.Metrics().WritePrometheus(&m)
		for _, want := range []string{
			`mirrord_rows_total{tenant="Cust12020",table="contact",op="inserted"} 11`,
			`mirrord_rows_total{tenant="Cust12020",table="person",op="deleted"} 1`,
			`mirrord_soap_calls_total{operation="RowData",outcome="ok"} 2`,
			`mirrord_soap_request_bytes_inflight 0`,
		} {
			if !strings.Contains(m.String(), want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		logs := fx.logs.String()
		if !strings.Contains(logs, `"operation":"RowData","tenant":"Cust12020","tables":2,"rows":16`) {
			t.Errorf("no RowData log line with tenant, tables and rows:\n%s", logs)
		}
		if strings.Contains(logs, strings.Split(fx.token(), ".")[0]+".") {
			t.Errorf("a token reached the log")
		}
	})
}

// TestTableFailureIsolated: a table the database refuses rolls back alone and says why; the
// other table of the call commits.
func TestTableFailureIsolated(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		noKey := schema.Table{Name: "nokey", Columns: []schema.Column{{Name: "v", Type: schema.Int, Nullable: true}}}
		status, out := fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "", contactTable(), personTable(), noKey))
		mustOK(t, status, out)
		status, out = fx.post(wire.OpRowData, rowDataBody(t, fx.token(), "",
			rowBatch{table: noKey, rows: []testRow{{bulk.Update, 1, []any{int64(1)}}}, lsn: 7, lastLSN: true},
			rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 50, 51), lsn: 1051, lastLSN: true},
		))
		mustOK(t, status, out)
		rd, err := wire.ReadRowDataResponse(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		if len(rd.Tables) != 2 || rd.Tables[0].ErrorMessage == "" || rd.Tables[0].LSN != -1 ||
			rd.Tables[1].ErrorMessage != "" || rd.Tables[1].LSN != 1051 || rd.Tables[1].Inserted != 2 {
			t.Fatalf("RowData answered %+v", rd.Tables)
		}
	})
}

func TestPanicBecomesServerFault(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		status, out := fx.post(wire.OpAuthenticate, authenticateBody(t, fx.token(), ""))
		if status != http.StatusInternalServerError {
			t.Fatalf("status %d, want 500: %s", status, out)
		}
		if f := readFault(t, out); f.Code != wire.FaultServer || f.Message != panicMessage {
			t.Fatalf("fault %s %q, want s:Server %q", f.Code, f.Message, panicMessage)
		}
		if logs := fx.logs.String(); !strings.Contains(logs, "pause list exploded") || !strings.Contains(logs, "goroutine") {
			t.Fatalf("the panic and its stack were not logged")
		}
	}, func(c *Config) {
		c.Paused = func(string) bool { panic("pause list exploded") }
	})
}

// slowBody is a request body that stops after its first part until released.
type slowBody struct {
	first, rest []byte
	release     chan struct{}
	sentFirst   chan struct{}
	stage       int
}

func newSlowBody(body []byte, split int) *slowBody {
	return &slowBody{first: body[:split], rest: body[split:], release: make(chan struct{}), sentFirst: make(chan struct{})}
}

func (s *slowBody) Read(p []byte) (int, error) {
	switch s.stage {
	case 0:
		n := copy(p, s.first)
		s.first = s.first[n:]
		if len(s.first) == 0 {
			s.stage = 1
			close(s.sentFirst)
		}
		return n, nil
	case 1:
		<-s.release
		s.stage = 2
		fallthrough
	default:
		if len(s.rest) == 0 {
			return 0, io.EOF
		}
		n := copy(p, s.rest)
		s.rest = s.rest[n:]
		return n, nil
	}
}

func (fx *fixture) waitInflight(t *testing.T, n int) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		fx.srv.mu.Lock()
		got := fx.srv.inflight
		fx.srv.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls in flight, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDrain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		body := rowDataBody(t, fx.token(), "slow", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 60, 69), lsn: 1069, lastLSN: true})
		slow := newSlowBody(body, len(body)/2)
		type result struct {
			status int
			body   []byte
		}
		done := make(chan result, 1)
		go func() {
			status, out := fx.postReader(wire.OpRowData, slow, func(r *http.Request) { r.ContentLength = int64(len(body)) })
			done <- result{status, out}
		}()
		<-slow.sentFirst
		fx.waitInflight(t, 1)

		shutdown := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shutdown <- fx.srv.Shutdown(ctx)
		}()
		for !fx.srv.Draining() {
			time.Sleep(time.Millisecond)
		}
		status, out := fx.post(wire.OpReplicationCompleted, completedBody(t, fx.token(), ""))
		if status != http.StatusServiceUnavailable {
			t.Fatalf("a new call while draining got %d, want 503: %s", status, out)
		}
		if resp, err := http.Get(fx.http.URL + "/readyz"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("readyz while draining: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		select {
		case err := <-shutdown:
			t.Fatalf("Shutdown returned %v with a call in flight", err)
		default:
		}

		close(slow.release)
		r := <-done
		mustOK(t, r.status, r.body)
		rd, err := wire.ReadRowDataResponse(bytes.NewReader(r.body))
		if err != nil || len(rd.Tables) != 1 || rd.Tables[0].Inserted != 10 || rd.Tables[0].LSN != 1069 {
			t.Fatalf("the call in flight answered %+v, %v", rd, err)
		}
		if err := <-shutdown; err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
		if got := fx.b.query(t, fx.tenant, "SELECT count(*) FROM contact"); got[0][0] != "13" {
			t.Fatalf("contact has %s rows, want 13", got[0][0])
		}
	})
}

// TestDrainDeadline: when Shutdown's deadline passes, the call still in flight rolls back whole.
func TestDrainDeadline(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		before := fx.contactRows(t)
		body := rowDataBody(t, fx.token(), "slow", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 70, 79), lsn: 1079, lastLSN: true})
		slow := newSlowBody(body, len(body)-100)
		done := make(chan int, 1)
		go func() {
			status, _ := fx.postReader(wire.OpRowData, slow, func(r *http.Request) { r.ContentLength = int64(len(body)) })
			done <- status
		}()
		<-slow.sentFirst
		fx.waitInflight(t, 1)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := fx.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v, want the deadline", err)
		}
		close(slow.release)
		if status := <-done; status != http.StatusServiceUnavailable {
			t.Fatalf("the cancelled call answered %d, want 503", status)
		}
		fx.unchanged(t, before)
	})
}
