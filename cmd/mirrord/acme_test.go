package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// acmeTestDomain is the domain the ACME test asks a certificate for: pebble resolves it through
// loopbackDNS. (autocert refuses a name of one label, such as localhost.)
const acmeTestDomain = "mirrord.test"

// pebbleVersion is the release of Let's Encrypt's ACME test server the test builds.
const pebbleVersion = "v2.10.3"

// pebble builds (once per machine, kept in the user's cache folder) Let's Encrypt's ACME test
// server and returns its binary and its module folder (which holds its test certificates), or
// skips the test saying why.
func pebble(t *testing.T) (bin, moduleDir string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building the pebble ACME test server")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	gobin := filepath.Join(cache, "mirrord-test", "pebble-"+pebbleVersion)
	bin = filepath.Join(gobin, "pebble")
	mod := "github.com/letsencrypt/pebble/v2"
	if _, err := os.Stat(bin); err != nil {
		cmd := exec.Command("go", "install", mod+"/cmd/pebble@"+pebbleVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-mod=mod", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Skipf("cannot build pebble %s through the Go module proxy (%v), skipping the ACME test:\n%s", pebbleVersion, err, out)
		}
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", mod+"@"+pebbleVersion).Output()
	if err != nil {
		t.Skipf("cannot find pebble's module folder: %v", err)
	}
	return bin, strings.TrimSpace(string(out))
}

// TestACMECertificate gets the service listener's certificate from a local pebble through
// TLS-ALPN-01 on the listener itself, then serves HTTPS with it to a client that trusts only
// pebble's root.
func TestACMECertificate(t *testing.T) {
	bin, moduleDir := pebble(t)
	dir := t.TempDir()
	pebbleAddr, mgmtAddr := freeAddr(t), freeAddr(t)
	dnsAddr := loopbackDNS(t)
	_, port, _ := net.SplitHostPort(freeAddr(t))
	tlsPort, _ := strconv.Atoi(port)
	config := map[string]any{"pebble": map[string]any{
		"listenAddress":                  pebbleAddr,
		"managementListenAddress":        mgmtAddr,
		"certificate":                    filepath.Join(moduleDir, "test/certs/localhost/cert.pem"),
		"privateKey":                     filepath.Join(moduleDir, "test/certs/localhost/key.pem"),
		"httpPort":                       5002,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}}
	configPath := filepath.Join(dir, "pebble.json")
	data, _ := json.Marshal(config)
	if err := os.WriteFile(configPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	pctx, stopPebble := context.WithCancel(context.Background())
	cmd := exec.CommandContext(pctx, bin, "-config", configPath, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	var pebbleLog syncWriter
	cmd.Stdout, cmd.Stderr = &pebbleLog, &pebbleLog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stopPebble()
		_ = cmd.Wait()
	}()

	minica := filepath.Join(moduleDir, "test/certs/pebble.minica.pem")
	pebbleClient := trusting(t, minica)
	waitFor(t, "pebble's directory", func() bool {
		resp, err := pebbleClient.Get("https://" + pebbleAddr + "/dir")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	k := checkKeys(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, []string{"--app-id", "acme-app", "--partner-key", k.PartnerXML, "--superoffice-cert", k.SuperOfficeCert,
			"--target", filepath.Join(dir, "mirrors"), "--listen", "127.0.0.1:" + port, "--log-level", "warn",
			"--acme-domain", acmeTestDomain, "--acme-directory", "https://" + pebbleAddr + "/dir",
			"--acme-ca", minica, "--acme-cache", filepath.Join(dir, "acme"), "--acme-email", "ops@example.com"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()

	// The certificate chains to pebble's root, which pebble makes afresh at each start.
	resp, err := pebbleClient.Get("https://" + mgmtAddr + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatalf("pebble's root is no PEM: %s", rootPEM)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: acmeTestDomain},
	}}
	var lastErr error
	waitFor(t, "an HTTPS answer with the ACME certificate", func() bool {
		resp, err := client.Get("https://127.0.0.1:" + port + "/healthz")
		if err != nil {
			lastErr = err
			return false
		}
		defer resp.Body.Close()
		if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
			return false
		}
		leaf := resp.TLS.PeerCertificates[0]
		return resp.StatusCode == http.StatusOK && leaf.VerifyHostname(acmeTestDomain) == nil
	}, func() string { return "last error: " + errString(lastErr) + "\npebble:\n" + pebbleLog.String() })

	// The certificate and the account key are kept for the next start.
	var names []string
	waitFor(t, "account key and certificate in --acme-cache", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "acme"))
		names = names[:0]
		for _, e := range entries {
			names = append(names, e.Name())
		}
		all := strings.Join(names, " ")
		return strings.Contains(all, acmeTestDomain) && strings.Contains(all, "acme_account")
	}, func() string { return fmt.Sprintf("the cache holds %v", names) })
}

// loopbackDNS answers DNS queries on a loopback port, over UDP and TCP (pebble asks over TCP),
// every A query with 127.0.0.1 and any other with no record, so that pebble validates
// acmeTestDomain against this machine.
func loopbackDNS(t *testing.T) string {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	udp, err := net.ListenPacket("udp", tcp.Addr().String())
	if err != nil {
		t.Skipf("no UDP port beside the DNS test server's TCP port: %v", err)
	}
	t.Cleanup(func() { udp.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if answer := dnsAnswer(buf[:n]); answer != nil {
				_, _ = udp.WriteTo(answer, from)
			}
		}
	}()
	go func() {
		for {
			conn, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				for {
					var size [2]byte
					if _, err := io.ReadFull(conn, size[:]); err != nil {
						return
					}
					query := make([]byte, binary.BigEndian.Uint16(size[:]))
					if _, err := io.ReadFull(conn, query); err != nil {
						return
					}
					answer := dnsAnswer(query)
					if answer == nil {
						return
					}
					_, _ = conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(answer))))
					_, _ = conn.Write(answer)
				}
			}()
		}
	}()
	return tcp.Addr().String()
}

// dnsAnswer answers one DNS query: 127.0.0.1 to an A question, no record to any other.
func dnsAnswer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired})
	if b.StartQuestions() != nil || b.Question(q) != nil || b.StartAnswers() != nil {
		return nil
	}
	if q.Type == dnsmessage.TypeA {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
		if b.AResource(rh, dnsmessage.AResource{A: [4]byte{127, 0, 0, 1}}) != nil {
			return nil
		}
	}
	msg, err := b.Finish()
	if err != nil {
		return nil
	}
	return msg
}

func trusting(t *testing.T, pemFile string) *http.Client {
	t.Helper()
	data, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("%s holds no certificate", pemFile)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// waitFor polls ok for up to a minute; why, if given, explains a timeout.
func waitFor(t *testing.T, what string, ok func() bool, why ...func() string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !ok() {
		if time.Now().After(deadline) {
			msg := ""
			for _, w := range why {
				msg += "\n" + w()
			}
			t.Fatalf("no %s within a minute%s", what, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func errString(err error) string {
	if err == nil {
		return "none"
	}
	return err.Error()
}
