package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoutedTenantsVerify: one mirrord process routes one tenant to PostgreSQL (a second SQLite
// folder where there is no PostgreSQL) and the other to a SQLite folder; a whole cycle of each,
// then each mirror verifies equal to its source on its own target, and the other target holds
// no mirror of it.
func TestRoutedTenantsVerify(t *testing.T) {
	targets := processTargets(t)
	lite := targets[0]
	defer lite.teardown()
	routed, routedExtra := filepath.Join(t.TempDir(), "routed"), []string{}
	if len(targets) > 1 {
		pg := targets[1]
		defer pg.teardown()
		routed, routedExtra = pg.target, pg.extra
	}
	template := "Mirror_{ctx}"
	if len(routedExtra) == 2 {
		template = routedExtra[1]
	}
	routes := filepath.Join(t.TempDir(), "routes")
	if err := os.WriteFile(routes, []byte("CustBig* "+routed+" "+template+"\n* "+lite.target+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, url := startMirrord(t, filepath.Join(t.TempDir(), "unused"), "--routes", routes)
	k := testKeys(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		tenant, target string
		extra          []string
		other          string
	}{
		{"CustBig1", routed, []string{"--db-name", template}, lite.target},
		{"CustSmall1", lite.target, nil, routed},
	} {
		src := filepath.Join(dir, tc.tenant+".db")
		runOK(t, "init", "--source", src, "--scale", "600", "--seed", "5", "--tenant", tc.tenant)
		runOK(t, "sync", "--source", src, "--url", url, "--app-id", testAppID,
			"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey, "--partner-pub", k.PartnerPublicPEM)
		runOK(t, "verify", append([]string{"--source", src, "--target", tc.target}, tc.extra...)...)
		var out strings.Builder
		err := run(t.Context(), "verify", append([]string{"--source", src, "--target", tc.other}, tc.extra...), &out)
		if err == nil || !strings.Contains(out.String()+err.Error(), "does not exist") {
			t.Fatalf("%s on %s, where its route does not put it: %v\n%s", tc.tenant, tc.other, err, out.String())
		}
	}
}
