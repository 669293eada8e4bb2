package main

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/sqlite"
)

func newTenant(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "source.db")
	tn, err := tenant.Create(context.Background(), src, tenant.Config{Scale: 300, Seed: 3, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := tn.Close(); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestVerifyMissingMirror: a tenant with no mirror differs, and verify creates none.
func TestVerifyMissingMirror(t *testing.T) {
	src := newTenant(t, "CustNone")
	dir := t.TempDir()
	var out strings.Builder
	err := run(context.Background(), "verify", []string{"--source", src, "--target", "sqlite://" + dir}, &out)
	if !errors.Is(err, errDifferent) || !strings.Contains(out.String(), "DIFFERENT") || !strings.Contains(out.String(), "Mirror_CustNone.db does not exist") {
		t.Fatalf("verify of a missing mirror: %v\n%s", err, out.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("verify left %d files in the target folder; it must create nothing", len(entries))
	}
}

// TestVerifyEqualInCycle: a mirror equal to its source verifies while its cycle is in progress,
// when the state table holds the cycle's row besides the tables'; a row changed in the mirror
// is then named.
func TestVerifyEqualInCycle(t *testing.T) {
	src := newTenant(t, "CustEq")
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	tn, err := tenant.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	fillMirror(t, target, tn)
	tn.Close()
	var out strings.Builder
	if err := run(context.Background(), "verify", []string{"--source", src, "--target", dir}, &out); err != nil || strings.Contains(out.String(), bulk.CycleRow) {
		t.Fatalf("verify of an equal mirror: %v\n%s", err, out.String())
	}
	db, err := sql.Open("sqlite", filepath.Join(dir, "Mirror_CustEq.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE "contact" SET "name" = 'changed' WHERE "contact_id" = 2`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err = run(context.Background(), "verify", []string{"--source", src, "--target", dir}, &out)
	if !errors.Is(err, errDifferent) || !strings.Contains(out.String(), `2 (column name: source`) || !strings.Contains(out.String(), `mirror "changed")`) {
		t.Fatalf("verify of a changed row: %v\n%s", err, out.String())
	}
}
