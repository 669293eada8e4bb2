package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/soapfront/auth"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncWriter collects a process's output for a test's failure message.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitHealthy waits until url answers 200, failing if serve ends first.
func waitHealthy(t *testing.T, url string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			t.Fatalf("serve ended before it answered: %v", err)
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 in 20 s: %v", url, errors.Join(err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	return string(body)
}

// serveInProcess runs serve with args, listening on a free loopback address, until the test
// ends, and returns that address once /healthz answers there.
func serveInProcess(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, append(args, "--listen", addr, "--log-level", "error")) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	waitHealthy(t, "http://"+addr+"/healthz", done)
	return addr
}

// cycleClient sends cycles to the serve at addr as tenant, with tokens for appID signed by the
// test SuperOffice key of k.
func cycleClient(t *testing.T, k auth.KeyFiles, addr, appID, tenant string) *selfTestClient {
	t.Helper()
	key, err := auth.LoadPartnerKey(k.SuperOfficeKey)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := auth.ReadCertificates(k.SuperOfficeCert)
	if err != nil {
		t.Fatal(err)
	}
	return &selfTestClient{url: "http://" + addr + "/mirroring", token: func() (string, error) {
		return auth.IssueToken(key, certs[0], auth.IssueClaims{AppID: appID, Tenant: tenant})
	}}
}
