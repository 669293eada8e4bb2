package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/target"
)

// TestServeRoutes runs one serve whose routes put one tenant on PostgreSQL (a second SQLite
// folder where there is no PostgreSQL) and the rest in a SQLite folder, sends each a whole
// cycle, and finds each mirror on its own target only, with its rows.
func TestServeRoutes(t *testing.T) {
	k := checkKeys(t)
	dir := t.TempDir()
	routed := filepath.Join(dir, "routed")
	if dsn := os.Getenv("MIRRORD_TEST_PG_DSN"); dsn != "" {
		routed = dsn
	}
	rest := filepath.Join(dir, "rest")
	routesFile := filepath.Join(dir, "routes")
	if err := os.WriteFile(routesFile, []byte("# big tenants apart\nCustBig* "+routed+" RouteTest_{ctx}\n* "+rest+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := serveInProcess(t, "--app-id", "routes-app", "--partner-key", k.PartnerXML, "--superoffice-cert", k.SuperOfficeCert,
		"--target", filepath.Join(dir, "unused"), "--routes", routesFile)

	big, small := "CustBig7", "CustSmall7"
	for _, tenant := range []string{big, small} {
		cl := cycleClient(t, k, addr, "routes-app", tenant)
		if err := cl.cycle(context.Background()); err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
	}

	bg := context.Background()
	for _, place := range []struct {
		spec, template, here, notHere string
	}{{routed, "RouteTest_{ctx}", big, small}, {rest, "Mirror_{ctx}", small, big}} {
		tg, where, err := target.Open(bg, place.spec, target.Options{NameTemplate: place.template})
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		loc := tg.(bulk.Locator)
		if _, exists, err := loc.Locate(bg, place.notHere); err != nil || exists {
			t.Errorf("%s holds a mirror of %s, routed elsewhere (%v)", where, place.notHere, err)
		}
		if _, exists, err := loc.Locate(bg, place.here); err != nil || !exists {
			t.Fatalf("%s holds no mirror of %s: %v", where, place.here, err)
		}
		m, err := tg.Open(bg, place.here)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := m.RowCount(bg, selfTestTable.Name); err != nil || n != selfTestRows-selfTestChanged {
			t.Errorf("%s: %s has %d rows (%v), want %d", where, place.here, n, err, selfTestRows-selfTestChanged)
		}
		if err := checkSelfTestRows(bg, m); err != nil {
			t.Errorf("%s: %s: %v", where, place.here, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "unused")); err == nil {
		if entries, _ := os.ReadDir(filepath.Join(dir, "unused")); len(entries) > 0 {
			t.Errorf("the fallback target, which no tenant routes to, holds %d files", len(entries))
		}
	}
}

// Routes given one by one (--route, or an array in --config) come before the file's.
func TestRoutesFromConfigAndFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "routes")
	if err := os.WriteFile(file, []byte("Cust1* "+filepath.Join(dir, "file")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	config := writeConfig(t, "routes = \""+file+"\"\nroute = [\"Cust1* "+filepath.Join(dir, "inline")+" Inline_{ctx}\"]\n")
	fs, f := serveFlagSet()
	if err := parseFlags(fs, []string{"--config", config}); err != nil {
		t.Fatal(err)
	}
	routes, err := f.target.readRoutes()
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 2 || routes[0].NameTemplate != "Inline_{ctx}" || routes[1].Spec.Dir != filepath.Join(dir, "file") {
		t.Fatalf("routes %+v", routes)
	}
	f.target.route = append(f.target.route, "Cust2 mysql://x")
	if _, err := f.target.readRoutes(); err == nil || !strings.Contains(err.Error(), "--route:2") {
		t.Fatalf("a bad --route: %v", err)
	}
}
