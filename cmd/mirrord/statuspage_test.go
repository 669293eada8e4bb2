package main

import (
	"context"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestServeStatusPage runs serve with --metrics-listen, sends it a whole cycle, and reads the
// tenant's row on /status there; the service listener does not serve the page.
func TestServeStatusPage(t *testing.T) {
	k := checkKeys(t)
	dir := t.TempDir()
	metricsAddr := freeAddr(t)
	addr := serveInProcess(t, "--app-id", "status-app", "--partner-key", k.PartnerXML, "--superoffice-cert", k.SuperOfficeCert,
		"--target", filepath.Join(dir, "mirrors"), "--metrics-listen", metricsAddr)
	cl := cycleClient(t, k, addr, "status-app", selfTestTenant)
	if err := cl.cycle(context.Background()); err != nil {
		t.Fatal(err)
	}

	page := get(t, "http://"+metricsAddr+"/status")
	for _, want := range []string{selfTestTenant, `class="state ok"`, "1020 rows", "0 in a cycle", "<svg"} {
		if !strings.Contains(page, want) {
			t.Fatalf("/status lacks %q:\n%s", want, page)
		}
	}
	if m := get(t, "http://"+metricsAddr+"/metrics"); runtime.GOOS != "windows" &&
		(!strings.Contains(m, "mirrord_spool_free_bytes ") || !strings.Contains(m, "mirrord_spool_size_bytes ")) {
		t.Fatalf("/metrics lacks the spool's room:\n%s", m)
	}
	if resp, err := http.Get("http://" + addr + "/status"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("the service listener serves /status without --status-on-listen")
		}
	}
}
