package target

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	routes, err := ParseRoutes(strings.NewReader(`
# big tenants on their own server
Cust1*    postgres://mirrord:pw@big/postgres   Big_{ctx}
Cust2?    /srv/mirrors/small
*         sqlite:///srv/mirrors/rest
`), "routes.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) != 3 {
		t.Fatalf("%d routes", len(routes))
	}
	if r := routes[0]; r.Pattern != "Cust1*" || r.Spec.Kind != PostgreSQL || r.NameTemplate != "Big_{ctx}" || r.Where != "routes.txt:3" {
		t.Fatalf("first route %+v", r)
	}
	if r := routes[1]; r.Spec.Kind != SQLite || r.Spec.Dir != "/srv/mirrors/small" || r.NameTemplate != "" {
		t.Fatalf("second route %+v", r)
	}
	for text, want := range map[string]string{
		"Cust1":                           "got 1 fields",
		"Cust1 /a Mirror_{ctx} extra":     "got 4 fields",
		"Cust[1 /a":                       "pattern",
		"Cust1 mysql://x":                 "unknown scheme",
		"Cust1 /a Mirror":                 "must contain {ctx}",
		"# ok\n\nCust1 /a\nCust2 ftp://x": "routes.txt:4",
	} {
		if _, err := ParseRoutes(strings.NewReader(text), "routes.txt"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("routes %q: error %v, want one with %q", text, err, want)
		}
	}
}

// A tenant lives on the target of the first route it matches, else on the fallback; new routes
// apply to tenants opened after them.
func TestRouterOpensEachTenantOnItsRoute(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	big, small, rest := filepath.Join(base, "big"), filepath.Join(base, "small"), filepath.Join(base, "rest")
	routes, err := ParseRoutes(strings.NewReader("Cust1* "+big+" Big_{ctx}\nCust1* "+small+"\nCust2? "+small+"\n"), "routes")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(routes, Route{Pattern: "*", Spec: Spec{Kind: SQLite, Dir: rest}}, Options{NameTemplate: "Mirror_{ctx}"})
	defer r.Close()
	for _, tenant := range []string{"Cust17", "Cust21", "Cust300"} {
		m, err := r.Open(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.States(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range []string{filepath.Join(big, "Big_Cust17.db"), filepath.Join(small, "Mirror_Cust21.db"), filepath.Join(rest, "Mirror_Cust300.db")} {
		if _, err := os.Stat(file); err != nil {
			t.Errorf("no mirror where its route says: %v", err)
		}
	}
	if _, exists, err := r.Locate(ctx, "Cust21"); err != nil || !exists {
		t.Fatalf("Locate Cust21: %v %v", exists, err)
	}
	if err := r.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if checks := r.Check(ctx); len(checks) < 3 {
		t.Fatalf("checks of three targets: %+v", checks)
	}

	// New routes are for the tenants opened from then on: one opened before stays, even when
	// its mirror is opened again (as the engine does after a failed read).
	r.SetRoutes(nil)
	if got := r.Route("Cust17"); got.Spec.Dir != big {
		t.Fatalf("after SetRoutes(nil) Cust17, opened before, routes to %+v", got)
	}
	if _, err := r.Open(ctx, "Cust17"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(rest, "Mirror_Cust17.db")); err == nil {
		t.Fatal("Cust17, opened again after new routes, got a new mirror on the fallback")
	}
	if got := r.Route("Cust18"); got.Spec.Dir != rest {
		t.Fatalf("after SetRoutes(nil) Cust18, never opened, routes to %+v", got)
	}
	if _, err := r.Open(ctx, "bad name"); err == nil {
		t.Fatal("a bad tenant name was opened")
	}
}
