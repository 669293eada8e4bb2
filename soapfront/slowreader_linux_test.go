package soapfront

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/mirrord/mirrord/soapfront/wire"
)

// The callers of these tests hold no valid token and never read their answers, which are large
// (an Authenticate echoes its ClientState). Each call blocks writing its answer until
// Config.AnswerTimeout; without that deadline it blocked for ever, and so did Shutdown.

const slowReaderAnswerTimeout = 2 * time.Second

// shutdownReturns checks, a second after the requests went out (the answers fill the socket's
// buffers, and then a call blocks in its write), that a call is stuck, and that Shutdown, once
// its own short deadline has passed, returns within a few answer timeouts: the stuck calls end
// at their deadline.
func shutdownReturns(t *testing.T, fx *fixture) {
	t.Helper()
	time.Sleep(slowReaderAnswerTimeout / 2)
	fx.srv.mu.Lock()
	inflight := fx.srv.inflight
	fx.srv.mu.Unlock()
	if inflight == 0 {
		t.Fatal("no call is stuck writing its answer: the test does not test what it should")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- fx.srv.Shutdown(ctx) }()
	select {
	case <-done:
	case <-time.After(5 * slowReaderAnswerTimeout):
		t.Fatalf("Shutdown has not returned %s after its deadline: %d calls are stuck writing answers nobody reads", 5*slowReaderAnswerTimeout, inflight)
	}
}

// pipelineUnread dials addr with a 4 KiB receive buffer and sends n Authenticate requests of
// body one after another on the connection without reading any answer: the answers fill the
// socket's buffers, and then a write of the server's blocks.
func pipelineUnread(t *testing.T, addr, path string, body []byte, n int) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for range n {
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: %q\r\nContent-Length: %d\r\n\r\n",
				path, addr, wire.Action(wire.OpAuthenticate), len(body))
			if _, err := conn.Write(body); err != nil {
				return
			}
		}
	}()
	return conn
}

func TestAnswerNotReadOverHTTP1(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.AnswerTimeout = slowReaderAnswerTimeout })
	body := authenticateBody(t, "not-a-token", strings.Repeat("&", 60000)) // about 300 KB of answer
	conn := pipelineUnread(t, strings.TrimPrefix(fx.http.URL, "http://"), fx.srv.Path(), body, 40)
	defer conn.Close()
	shutdownReturns(t, fx)
}

// smallSendBuffer is a listener whose connections have a 4 KiB send buffer, so that a few
// small answers fill it.
type smallSendBuffer struct{ net.Listener }

func (l smallSendBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// TestSmallAnswersNotRead: answers of a few hundred bytes, which net/http keeps in its buffers
// until the handler has returned, are flushed under the deadline too: a caller that reads none
// of them loses its connection, rather than pinning it for ever.
func TestSmallAnswersNotRead(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.AnswerTimeout = slowReaderAnswerTimeout })
	mux := http.NewServeMux()
	mux.Handle(fx.srv.Path(), fx.srv)
	ts := httptest.NewUnstartedServer(mux)
	ts.Listener = smallSendBuffer{ts.Listener}
	ts.Start()
	defer ts.Close()
	body := authenticateBody(t, "not-a-token", "s")
	conn := pipelineUnread(t, strings.TrimPrefix(ts.URL, "http://"), fx.srv.Path(), body, 2000)
	defer conn.Close()
	time.Sleep(3 * slowReaderAnswerTimeout)
	// Read what was sent: the server must have closed the connection (EOF or a reset), not be
	// holding it open with answers waiting.
	_ = conn.SetReadDeadline(time.Now().Add(slowReaderAnswerTimeout))
	buf := make([]byte, 64<<10)
	for {
		if _, err := conn.Read(buf); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the connection is still open %s after its caller stopped reading", 3*slowReaderAnswerTimeout)
			}
			return
		}
	}
}

func TestAnswerNotReadOverHTTP2(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.AnswerTimeout = slowReaderAnswerTimeout })
	mux := http.NewServeMux()
	mux.Handle(fx.srv.Path(), fx.srv)
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	defer ts.Close()
	host := strings.TrimPrefix(ts.URL, "https://")
	conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("negotiated %q, want h2", p)
	}
	if _, err := conn.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	var writing sync.Mutex // the framer's writes are not safe from two goroutines at once
	// A stream window of 0: the server may send no answer until the caller allows it, which
	// it never does.
	if err := fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			f, err := fr.ReadFrame()
			if err != nil {
				return
			}
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				writing.Lock()
				_ = fr.WriteSettingsAck()
				writing.Unlock()
			}
		}
	}()
	body := authenticateBody(t, "not-a-token", strings.Repeat("x", 8000))
	for i := range 20 {
		var hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		for _, kv := range [][2]string{
			{":method", "POST"}, {":scheme", "https"}, {":authority", host}, {":path", fx.srv.Path()},
			{"content-type", "text/xml; charset=utf-8"}, {"soapaction", wire.Action(wire.OpAuthenticate)},
			{"content-length", strconv.Itoa(len(body))},
		} {
			if err := enc.WriteField(hpack.HeaderField{Name: kv[0], Value: kv[1]}); err != nil {
				t.Fatal(err)
			}
		}
		id := uint32(2*i + 1)
		writing.Lock()
		err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: hb.Bytes(), EndHeaders: true})
		if err == nil {
			err = fr.WriteData(id, true, body)
		}
		writing.Unlock()
		if err != nil {
			t.Fatal(err)
		}
	}
	shutdownReturns(t, fx)
}

// TestKeptAliveConnectionAfterAnswerDeadline: the answer's write deadline stays after its
// handler returns (net/http clears it once the response is finished), so the next request on
// the same connection must begin without it, or what net/http writes for that request before
// its answer (a 100 Continue, which .NET clients ask for on every POST) would fail once the
// old deadline had passed.
func TestKeptAliveConnectionAfterAnswerDeadline(t *testing.T) {
	fx := newFixture(t, sqliteBackend(t), func(c *Config) { c.AnswerTimeout = 200 * time.Millisecond })
	body := authenticateBody(t, fx.token(), "s")
	addr := strings.TrimPrefix(fx.http.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rd := bufio.NewReader(conn)
	for i := range 2 {
		if i > 0 {
			time.Sleep(500 * time.Millisecond) // past the first answer's deadline
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/xml; charset=utf-8\r\nSOAPAction: %q\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
			fx.srv.Path(), addr, wire.Action(wire.OpAuthenticate), len(body))
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		cont, err := http.ReadResponse(rd, nil)
		if err != nil || cont.StatusCode != http.StatusContinue {
			t.Fatalf("request %d: no 100 Continue: %v %v", i+1, cont, err)
		}
		if _, err := conn.Write(body); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(rd, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte("<IsSuccessful>true</IsSuccessful>")) {
			t.Fatalf("request %d answered %d %s", i+1, resp.StatusCode, out)
		}
	}
}
