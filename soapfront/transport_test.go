package soapfront

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"

	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

func TestCheckContentType(t *testing.T) {
	cases := []struct {
		header string
		ok     bool
	}{
		{"text/xml; charset=utf-8", true},
		{"text/xml", true},
		{"TEXT/XML; charset=UTF-8", true},
		{"application/xml", true},
		{`application/soap+xml; charset=utf-8; action="http://x/Op"`, true},
		{"", false},
		{"application/json", false},
		{"text/plain", false},
		{"multipart/related; type=\"application/xop+xml\"", false},
		{"text/xml; charset=iso-8859-1", false},
		{"text/xml; charset", false},
	}
	for _, c := range cases {
		_, _, err := checkContentType(c.header)
		if (err == nil) != c.ok {
			t.Errorf("checkContentType(%q) error = %v, want ok=%v", c.header, err, c.ok)
		}
		var te *errTransport
		if err != nil && (!errors.As(err, &te) || te.status != http.StatusUnsupportedMediaType) {
			t.Errorf("checkContentType(%q) = %v, want a 415 transport error", c.header, err)
		}
	}
}

func TestSoapAction(t *testing.T) {
	cases := []struct {
		header, contentType, want string
	}{
		{`"http://a/b/RowData"`, "text/xml", `"http://a/b/RowData"`},
		{" http://a/b/Wipe ", "text/xml", "http://a/b/Wipe"},
		{"", `application/soap+xml; action="http://a/b/Wipe"`, "http://a/b/Wipe"},
		{"", "text/xml", ""},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.header != "" {
			h.Set("SOAPAction", c.header)
		}
		_, params, err := checkContentType(c.contentType)
		if err != nil {
			t.Fatal(err)
		}
		if got := soapAction(h, params); got != c.want {
			t.Errorf("soapAction(%q, %q) = %q, want %q", c.header, c.contentType, got, c.want)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	cases := map[string]bool{
		"":                       false,
		"gzip":                   true,
		"gzip, deflate":          true,
		"deflate, gzip;q=0.5":    true,
		"gzip;q=0":               false,
		"gzip; q=0.0, identity":  false,
		"*":                      true,
		"br":                     false,
		"identity;q=1, *;q=0.1":  true,
		"x-gzip":                 true,
		"GZIP":                   true,
		"gzip;level=1;q=garbage": true,
	}
	for header, want := range cases {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestIsWSDLQuery(t *testing.T) {
	cases := map[string]bool{"wsdl": true, "WSDL": true, "wsdl=": true, "x=1&wsdl": true, "": false, "xsd=1": false, "wsdlx": false}
	for q, want := range cases {
		if got := isWSDLQuery(q); got != want {
			t.Errorf("isWSDLQuery(%q) = %v, want %v", q, got, want)
		}
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenBody(t *testing.T) {
	payload := []byte(strings.Repeat("<V>some row data</V>", 100))
	var zlibBuf, flateBuf bytes.Buffer
	zw := zlib.NewWriter(&zlibBuf)
	zw.Write(payload)
	zw.Close()
	fw, _ := flate.NewWriter(&flateBuf, flate.BestSpeed)
	fw.Write(payload)
	fw.Close()
	bomb := gzipped(t, make([]byte, 10<<20)) // 10 MiB of zeros in about 10 KiB

	cases := []struct {
		name     string
		encoding string
		body     []byte
		limit    int64
		want     []byte
		status   int // expected refusal; 0 when the body reads back as want
	}{
		{"plain", "", payload, 1 << 20, payload, 0},
		{"identity", "identity", payload, 1 << 20, payload, 0},
		{"gzip", "gzip", gzipped(t, payload), 1 << 20, payload, 0},
		{"zlib deflate", "deflate", zlibBuf.Bytes(), 1 << 20, payload, 0},
		{"raw deflate", "deflate", flateBuf.Bytes(), 1 << 20, payload, 0},
		{"exactly at the limit", "", payload, int64(len(payload)), payload, 0},
		{"plain over the limit", "", payload, int64(len(payload)) - 1, nil, http.StatusRequestEntityTooLarge},
		{"gzip bomb", "gzip", bomb, 1 << 20, nil, http.StatusRequestEntityTooLarge},
		{"gzip that is not gzip", "gzip", payload, 1 << 20, nil, http.StatusBadRequest},
		{"truncated gzip", "gzip", gzipped(t, payload)[:40], 1 << 20, nil, http.StatusBadRequest},
		{"brotli", "br", payload, 1 << 20, nil, http.StatusUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/mirroring", bytes.NewReader(c.body))
			if c.encoding != "" {
				r.Header.Set("Content-Encoding", c.encoding)
			}
			var counted atomic.Int64
			b, err := openBody(r, r.Body, c.limit, func(n int64) { counted.Add(n) })
			var got []byte
			if err == nil {
				got, err = io.ReadAll(b)
				b.Close()
			}
			if c.status == 0 {
				if err != nil {
					t.Fatalf("read: %v", err)
				}
				if !bytes.Equal(got, c.want) {
					t.Fatalf("read %d bytes, want %d", len(got), len(c.want))
				}
				if counted.Load() != int64(len(c.want)) {
					t.Fatalf("counted %d decoded bytes, want %d", counted.Load(), len(c.want))
				}
				return
			}
			if err == nil {
				t.Fatalf("read %d bytes without error, want status %d", len(got), c.status)
			}
			if f := classify(err); f.status != c.status || f.code != wire.FaultClient {
				t.Fatalf("error %v classified as %d %s, want %d s:Client", err, f.status, f.code, c.status)
			}
			if c.status == http.StatusRequestEntityTooLarge && counted.Load() > c.limit+1 {
				t.Fatalf("decoded %d bytes past a limit of %d", counted.Load(), c.limit)
			}
		})
	}
}

func TestOpenBodyRefusesDeclaredLength(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/mirroring", strings.NewReader("x"))
	r.ContentLength = 1 << 40
	if _, err := openBody(r, r.Body, 1<<20, nil); classify(err).status != http.StatusRequestEntityTooLarge {
		t.Fatalf("openBody with Content-Length 1 TiB = %v, want 413", err)
	}
}

func TestRedact(t *testing.T) {
	cases := []struct{ in, want string }{
		{"dial postgres://mirrord:s3cret@db:5432/x failed", "dial postgres://mirrord:***@db:5432/x failed"},
		{"sqlserver://sa:p@ss;w0rd@host?database=master", "sqlserver://sa:***@host?database=master"},
		{"connect: user=x password=hunter2 host=y", "connect: user=x password=*** host=y"},
		{`Password="a b"; server=q`, `Password=***; server=q`},
		{"token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln refused", "token [token] refused"},
		{"table contact has no column x", "table contact has no column x"},
	}
	for _, c := range cases {
		if got := redact(c.in); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		err    error
		code   string
		status int
	}{
		{fmt.Errorf("apply: %w", engine.ErrBadRequest), wire.FaultClient, 500},
		{fmt.Errorf("token: %w", auth.ErrInvalidToken), wire.FaultClient, 500},
		{&wire.Error{Operation: "RowData", Msg: "bad"}, wire.FaultClient, 500},
		{&clientError{"SOAPAction disagrees"}, wire.FaultClient, 500},
		{&errBodyTooLarge{limit: 10}, wire.FaultClient, 413},
		{errDraining, wire.FaultServer, 503},
		{errors.New("database is down"), wire.FaultServer, 500},
	}
	for _, c := range cases {
		f := classify(c.err)
		if f.code != c.code || f.status != c.status {
			t.Errorf("classify(%v) = %s %d, want %s %d", c.err, f.code, f.status, c.code, c.status)
		}
	}
}

func TestTokenGate(t *testing.T) {
	body := strings.Repeat("x", unverifiedLimit+10)
	g := &tokenGate{r: strings.NewReader(body), left: unverifiedLimit}
	n, err := io.Copy(io.Discard, g)
	if n != unverifiedLimit || err == nil || !strings.Contains(err.Error(), "before the SignedToken could be verified") || !errors.Is(err, errClient) {
		t.Fatalf("unverified read: %d bytes, %v", n, err)
	}
	g = &tokenGate{r: strings.NewReader(body), left: unverifiedLimit}
	head := make([]byte, 100)
	if _, err := io.ReadFull(g, head); err != nil {
		t.Fatal(err)
	}
	g.open()
	n, err = io.Copy(io.Discard, g)
	if n != int64(len(body)-100) || err != nil {
		t.Fatalf("after the token is verified: %d bytes, %v", n, err)
	}
}
