package soapfront

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/soapfront/wire"
)

func withProgress(d time.Duration) fixtureOption {
	return func(c *Config) { c.BodyProgress = d }
}

// rawPost opens a connection, sends a request's headers and the first part of its body, and
// returns the connection without sending the rest.
func rawPost(t *testing.T, fx *fixture, op string, body []byte, sent int) net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(fx.http.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: %q\r\nContent-Length: %d\r\n\r\n",
		fx.srv.Path(), addr, wire.Action(op), len(body))
	if _, err := conn.Write(body[:sent]); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestStalledBodiesEnd: bodies that stop arriving, unauthenticated or in the middle of a table's
// rows, end within the progress deadline, release what they held, and write nothing.
func TestStalledBodiesEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		fx.seed(t)
		before := fx.contactRows(t)

		// Many unauthenticated bodies that stall before their token: all answered and closed.
		junk := authenticateBody(t, fx.token(), "stalled")
		var conns []net.Conn
		for range 40 {
			conns = append(conns, rawPost(t, fx, wire.OpAuthenticate, junk, 40))
		}
		start := time.Now()
		var wg sync.WaitGroup
		for _, c := range conns {
			wg.Go(func() {
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		if waited := time.Since(start); waited > 10*time.Second {
			t.Errorf("stalled unauthenticated bodies held for %v", waited)
		}
		fx.waitInflight(t, 0)

		// An authenticated RowData that stalls in the middle of its rows: the table's lane,
		// slot and transaction are released, and the next call for the table goes through.
		body := rowDataBody(t, fx.token(), "stall", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 60, 90), lsn: 1090, lastLSN: true})
		conn := rawPost(t, fx, wire.OpRowData, body, len(body)/2)
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("the stalled call got no answer: %v", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(answer), "sent nothing for") {
			t.Errorf("stalled RowData answered %d %s", resp.StatusCode, answer)
		}
		fx.unchanged(t, before)
		status, out := fx.post(wire.OpRowData, rowDataBody(t, fx.token(), "next", rowBatch{table: contactTable(), rows: contactRows(bulk.Insert, 60, 61), lsn: 1061, lastLSN: true}))
		mustOK(t, status, out)
	}, withProgress(time.Second))
}

// TestTruncatedBodyIsTheClients: a body shorter than its Content-Length is the caller's fault.
func TestTruncatedBodyIsTheClients(t *testing.T) {
	b := sqliteBackend(t)
	fx := newFixture(t, b)
	body := tableSchemaBody(t, fx.token(), "short", contactTable())
	conn := rawPost(t, fx, wire.OpTableSchema, append(body, make([]byte, 100)...), len(body))
	conn.(*net.TCPConn).CloseWrite()
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a body shorter than its Content-Length answered %d %s", resp.StatusCode, answer)
	}
	if f := readFault(t, answer); f.Code != wire.FaultClient || !strings.Contains(f.Message, "Content-Length") {
		t.Errorf("fault %+v", f)
	}
}

// TestServerFaultsHideWhereThingsAre: a server-side failure answers without the local paths it
// met, and names the call whose log line has them.
func TestServerFaultsHideWhereThingsAre(t *testing.T) {
	b := sqliteBackend(t)
	fx := newFixture(t, b)
	// The tenant's mirror file cannot be created: a folder stands where the file would be.
	if err := os.Mkdir(filepath.Join(b.dir, "Mirror_"+fx.tenant+".db"), 0o755); err != nil {
		t.Fatal(err)
	}
	status, out := fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "s", contactTable()))
	f := readFault(t, out)
	if status != http.StatusInternalServerError || f.Code != wire.FaultServer {
		t.Fatalf("answered %d %+v", status, f)
	}
	if strings.Contains(f.Message, b.dir) || strings.Contains(f.Message, "/tmp") || !strings.Contains(f.Message, "[path]") {
		t.Errorf("the fault shows a local path: %s", f.Message)
	}
	if !strings.Contains(f.Message, "under call ") || !strings.Contains(fx.logs.String(), b.dir) {
		t.Errorf("the fault names no call, or the log lacks the path: %s", f.Message)
	}
}

func TestPublicMessages(t *testing.T) {
	cases := []struct{ in, leak string }{
		{"failed to connect to `user=mirrord database=Mirror_Cust1`: 10.1.2.3:5432 (db.internal): dial error: dial tcp 10.1.2.3:5432: connect: connection refused", "10.1.2.3"},
		{"failed to connect to `user=mirrord database=Mirror_Cust1`: 10.1.2.3:5432", "user=mirrord"},
		{"unable to open tcp connection with host 'sqlhost:1433': dial tcp: lookup sqlhost: no such host", "sqlhost:1433"},
		{"dial tcp [fd00::1]:1433: i/o timeout", "fd00::1"},
		{"tenant Cust1: open /var/lib/mirrord/Mirror_Cust1.db: permission denied", "/var/lib"},
		{"spool rows: open /tmp/mirrord-spool-123: no space left on device", "/tmp/"},
		{"server=db.example.com;user id=sa;password=secret", "secret"},
		{"connect to db.example.com:5432 refused", "db.example.com"},
		{"dial tcp: lookup db.internal on 10.0.0.2:53: no such host", "db.internal"},
		{"a table named x exists in database Mirror_Cust1 but is not mirrored", "Mirror_Cust1"},
	}
	for _, c := range cases {
		if got := public(c.in); strings.Contains(got, c.leak) {
			t.Errorf("public(%q) = %q still shows %q", c.in, got, c.leak)
		}
	}
	// What is not an address stays.
	for _, keep := range []string{"table contact: column registered, row 2: 2024-03-01T10:22:05 is out of range", "LSN 99 is lower than the mirror's LSN 100", "database is locked (5)"} {
		if got := public(keep); got != keep {
			t.Errorf("public(%q) = %q", keep, got)
		}
	}
}

// TestCaptures: a request the wire refuses is kept with its token redacted and its fault beside
// it; one refused for its token is not; the newest captures are kept.
func TestCaptures(t *testing.T) {
	dir := t.TempDir()
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.CaptureDir = dir })
	token := fx.token()
	bad := bytes.Replace(tableSchemaBody(t, token, "state", contactTable()), []byte("<Name>contact</Name>"), []byte("<Name>contact</Nme>"), 1)
	status, out := fx.post(wire.OpTableSchema, bad)
	if status != http.StatusInternalServerError || readFault(t, out).Code != wire.FaultClient {
		t.Fatalf("a malformed TableSchema answered %d %s", status, out)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.xml"))
	if len(files) != 1 {
		t.Fatalf("captures %v, want one", files)
	}
	got, _ := os.ReadFile(files[0])
	if bytes.Contains(got, []byte(token)) || !bytes.Contains(got, []byte("[redacted]")) || !bytes.Contains(got, []byte("</Nme>")) {
		t.Errorf("the capture holds the token, or not the request:\n%s", got)
	}
	note, _ := os.ReadFile(strings.TrimSuffix(files[0], ".xml") + ".txt")
	if !bytes.Contains(note, []byte("fault:")) || !bytes.Contains(note, []byte("TableSchema")) {
		t.Errorf("the fault beside the capture: %s", note)
	}
	if !strings.Contains(fx.logs.String(), filepath.Base(files[0])) {
		t.Errorf("the call's log line does not name the capture")
	}

	// Nor is a request whose token was refused or never verified: anyone who reaches the port
	// could otherwise fill the folder and push the operator's captures out.
	for name, c := range map[string]struct {
		op   string
		body []byte
	}{
		"a refused token": {wire.OpTableSchema, tableSchemaBody(t, "not.a.token", "s", contactTable())},
		"a SOAPAction the body disagrees with, before the token is checked": {wire.OpWipe, tableSchemaBody(t, "not.a.token", "s", contactTable())},
		"a malformed envelope with no token":                                {wire.OpTableSchema, []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header></s:Headr>`)},
	} {
		if status, out := fx.post(c.op, c.body); status != http.StatusInternalServerError || readFault(t, out).Code != wire.FaultClient {
			t.Errorf("%s: answered %d %s", name, status, out)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "*.xml")); len(files) != 1 {
			t.Errorf("%s was captured: %v", name, files)
		}
	}
	for range maxCaptures + 5 {
		fx.post(wire.OpTableSchema, bad)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "*.xml")); len(files) != maxCaptures {
		t.Errorf("%d captures kept, want the newest %d", len(files), maxCaptures)
	}
}

// TestUnverifiedWireBytesBounded: before a call's token is verified, at most about 1 MiB is read
// from the wire, not only 1 MiB of what it decompresses to: a gzip body padded with empty
// deflate blocks (five bytes each, no output) made mirrord read all of them, up to --max-body.
func TestUnverifiedWireBytesBounded(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.MaxBody = 64 << 20 })
	plain := tableSchemaBody(t, "not.a.token", "s", contactTable())
	at := bytes.Index(plain, []byte("<s:Header>"))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(plain[:at])
	_ = zw.Flush() // byte-aligned from here: what follows are empty stored blocks
	buf.Write(bytes.Repeat([]byte{0x00, 0x00, 0x00, 0xff, 0xff}, (16<<20)/5))
	_, _ = zw.Write(plain[at:])
	_ = zw.Close()
	status, out := fx.post(wire.OpTableSchema, buf.Bytes(), withHeader("Content-Encoding", "gzip"))
	if status != http.StatusInternalServerError || !bytes.Contains(out, []byte("before the SignedToken could be verified")) {
		t.Errorf("answered %d %.300s", status, out)
	}
	var read int64
	for _, line := range strings.Split(fx.logs.String(), "\n") {
		var rec struct {
			Msg   string `json:"msg"`
			Bytes int64  `json:"bytes"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "call" {
			read = rec.Bytes
		}
	}
	if read == 0 || read > 2<<20 {
		t.Errorf("mirrord read %d bytes of a %d-byte body before refusing its token", read, buf.Len())
	}
}

// TestForgivingWireIsCountedAndLogged: what a Mirroring Task sends that mirrord does not read is
// skipped, counted by name and logged once per name.
func TestForgivingWireIsCountedAndLogged(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t))
	body := []byte(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><SignedToken xmlns="` + wire.Namespace + `">` + fx.token() +
		`</SignedToken></s:Header><s:Body><AuthenticateRequest xmlns="` + wire.Namespace + `" xmlns:dc="` + wire.DataContractNamespace +
		`"><dc:ClientState extra="1">state</dc:ClientState><dc:Bogus><Deep>x</Deep></dc:Bogus></AuthenticateRequest></s:Body></s:Envelope>`)
	for range 3 {
		status, out := fx.post(wire.OpAuthenticate, body)
		mustOK(t, status, out)
		if !bytes.Contains(out, []byte("<IsSuccessful>true</IsSuccessful>")) || !bytes.Contains(out, []byte("state")) {
			t.Fatalf("Authenticate with unknown content: %s", out)
		}
	}
	var metrics bytes.Buffer
	fx.srv.Metrics().WritePrometheus(&metrics)
	for _, want := range []string{
		`mirrord_wire_skipped_total{operation="Authenticate",element="AuthenticateRequest/Bogus"} 3`,
		`mirrord_wire_skipped_total{operation="Authenticate",element="ClientState@extra"} 3`,
	} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics.String())
		}
	}
	if n := strings.Count(fx.logs.String(), `"element":"AuthenticateRequest/Bogus"`); n != 1 {
		t.Errorf("the skipped element is logged %d times, want once", n)
	}
	// A caller whose token does not check out makes mirrord count nothing.
	forged := bytes.Replace(body, []byte("Bogus"), []byte("Forged"), -1)
	forged = bytes.Replace(forged, []byte(fx.token()[:20]), []byte("eyJhbGciOiJub25lIn0."), 1)
	fx.post(wire.OpAuthenticate, forged)
	metrics.Reset()
	fx.srv.Metrics().WritePrometheus(&metrics)
	if strings.Contains(metrics.String(), "Forged") {
		t.Errorf("a refused caller's unknown element is counted:\n%s", metrics.String())
	}
}

// TestAttributeFloodIsCheap: the megabyte read before a token is verified, filled with attributes
// (which once cost 30 s of CPU each), is refused at once with a fault that says why; four at once
// too.
func TestAttributeFloodIsCheap(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t))
	var b strings.Builder
	b.WriteString(`<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header`)
	for i := 0; b.Len() < 1<<20-100; i++ {
		fmt.Fprintf(&b, ` a%d="x"`, i)
	}
	b.WriteString(`/><s:Body/></s:Envelope>`)
	body := []byte(b.String())
	start := time.Now()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			status, out := fx.post(wire.OpAuthenticate, body)
			f := readFault(t, out)
			if status != http.StatusInternalServerError || f.Code != wire.FaultClient || !strings.Contains(f.Message, "256 attributes") {
				t.Errorf("attribute flood answered %d %+v", status, f)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("four attribute floods took %v", took)
	}
}
