//go:build unix

package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// authenticateAs posts an Authenticate for tenant to the serve at addr, with a token from the
// SuperOffice test key of k, and returns the answer.
func authenticateAs(t *testing.T, addr string, k auth.KeyFiles, tenant string) wire.AuthenticateResponse {
	t.Helper()
	got, err := call(context.Background(), cycleClient(t, k, addr, "reload-app", tenant), wire.OpAuthenticate,
		func(w io.Writer, token string) error {
			return wire.WriteAuthenticateRequest(w, token, wire.AuthenticateRequest{ClientState: "s"})
		}, wire.ReadAuthenticateResponse)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServeReloads runs serve in this process: an edited pause file takes effect at the next
// Authenticate, and SIGHUP makes a rotated SuperOffice certificate the one trusted.
func TestServeReloads(t *testing.T) {
	k := checkKeys(t)
	dir := t.TempDir()
	certPath := filepath.Join(dir, "superoffice.crt")
	copyFile(t, k.SuperOfficeCert, certPath)
	pausePath := filepath.Join(dir, "paused")
	if err := os.WriteFile(pausePath, []byte("# none yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveInProcess(t, "--app-id", "reload-app", "--partner-key", k.PartnerXML, "--superoffice-cert", certPath,
		"--target", filepath.Join(dir, "mirrors"), "--pause-file", pausePath)

	if got := authenticateAs(t, addr, k, "Cust1"); !got.IsSuccessful || got.AdditionalInformationJson != "" {
		t.Fatalf("before pausing: %+v", got)
	}
	// The file's time may not move within its resolution: its size does.
	if err := os.WriteFile(pausePath, []byte("# maintenance\nCust1 # until noon\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := authenticateAs(t, addr, k, "Cust1"); !strings.Contains(got.AdditionalInformationJson, "doNotReplicate") {
		t.Fatalf("the pause file's tenant was not paused: %+v", got)
	}
	if got := authenticateAs(t, addr, k, "Cust2"); got.AdditionalInformationJson != "" {
		t.Fatalf("a tenant not in the pause file was paused: %+v", got)
	}
	// A broken file keeps the tenants it paused.
	if err := os.WriteFile(pausePath, []byte("Cust1\nnot a tenant!\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := authenticateAs(t, addr, k, "Cust1"); !strings.Contains(got.AdditionalInformationJson, "doNotReplicate") {
		t.Fatalf("a broken pause file unpaused its tenant: %+v", got)
	}

	// SuperOffice rotates its certificate: until SIGHUP the new one is not trusted, after it
	// only the new one is.
	rotated := checkKeys(t)
	copyFile(t, rotated.SuperOfficeCert, certPath)
	if got := authenticateAs(t, addr, rotated, "Cust2"); got.IsSuccessful {
		t.Fatal("a certificate written but not reloaded was trusted")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !authenticateAs(t, addr, rotated, "Cust2").IsSuccessful {
		if time.Now().After(deadline) {
			t.Fatal("the rotated certificate is not trusted 10 s after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := authenticateAs(t, addr, k, "Cust2"); got.IsSuccessful {
		t.Fatal("the replaced certificate is still trusted after SIGHUP")
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestServeReloadsHooks: a hook added to the --config file is taken on SIGHUP, without a restart.
func TestServeReloadsHooks(t *testing.T) {
	k := checkKeys(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "mirrord.toml")
	if err := os.WriteFile(config, []byte("app-id = \"hooks-app\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveInProcess(t, "--config", config, "--partner-key", k.PartnerXML, "--superoffice-cert", k.SuperOfficeCert,
		"--target", filepath.Join(dir, "mirrors"))
	cl := cycleClient(t, k, addr, "hooks-app", "Cust1")
	marker := filepath.Join(dir, "completed")
	if err := cl.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a hook ran before it was configured")
	}

	hook := "hook-exec = [\"cycle.completed=sh -c 'echo \\\"$MIRRORD_TENANT\\\" > " + marker + "'\"]\n"
	if err := os.WriteFile(config, []byte("app-id = \"hooks-app\"\n"+hook), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := cl.cycle(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if data, err := os.ReadFile(marker); err == nil {
			if strings.TrimSpace(string(data)) != "Cust1" {
				t.Fatalf("the hook wrote %q", data)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the hook added to --config did not run within 15 s of SIGHUP")
		}
	}
}
