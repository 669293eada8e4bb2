package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/soapfront/auth"
)

func checkKeys(t *testing.T) auth.KeyFiles {
	t.Helper()
	k, err := auth.GenerateKeys(t.TempDir(), auth.KeygenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func runCheck(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := check(context.Background(), args, &out)
	return out.String(), err
}

func TestCheckSQLite(t *testing.T) {
	k := checkKeys(t)
	out, err := runCheck(t, "--app-id", "demo-app", "--partner-key", k.PartnerXML, "--partner-pub", k.PartnerPublicPEM,
		"--environment", "production", "--superoffice-cert", k.SuperOfficeCert, "--target", t.TempDir(), "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, want := range []string{"ok    app id", "ok    partner public key", "SuperOffice Online Production Federated Login", "ok    folder", "ok    listen address", "all "} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckPostgres(t *testing.T) {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("MIRRORD_TEST_PG_DSN is not set: the PostgreSQL check needs a server (make test starts one)")
	}
	k := checkKeys(t)
	out, err := runCheck(t, "--app-id", "demo", "--partner-key", k.PartnerXML, "--environment", "sod",
		"--target", dsn, "--listen", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	for _, want := range []string{"ok    server", "PostgreSQL 1", "ok    create database", "ok    tables and bulk load"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
}

// TestCheckFailsClearly: each thing wrong is named, and an unreachable SQL Server fails within
// the check's time instead of hanging.
func TestCheckFailsClearly(t *testing.T) {
	k := checkKeys(t)
	other := checkKeys(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a closed port: nothing answers there
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	start := time.Now()
	out, err := runCheck(t, "--app-id", "not an id", "--partner-key", k.PartnerXML, "--partner-pub", other.PartnerPublicPEM,
		"--target", "sqlserver://sa:secret@"+addr+"?database=master", "--listen", busy.Addr().String(), "--timeout", "20s")
	if err == nil {
		t.Fatalf("check passed:\n%s", out)
	}
	if took := time.Since(start); took > 40*time.Second {
		t.Errorf("check took %v against a closed port", took)
	}
	for _, want := range []string{"FAIL  app id", "FAIL  partner public key", "FAIL  superoffice certificate", "FAIL  listen address"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("the report shows the password:\n%s", out)
	}
	if !strings.Contains(strings.ToLower(out), "fail  server") && !strings.Contains(out, "FAIL  dsn") && !strings.Contains(out, "FAIL  connect") {
		t.Logf("report:\n%s", out)
	}
	if !strings.Contains(out, "FAIL") || !strings.Contains(out, addr[strings.LastIndex(addr, ":")+1:]) && !strings.Contains(out, "refused") && !strings.Contains(out, "dial") {
		t.Errorf("the SQL Server failure says nothing of the connection:\n%s", out)
	}
}

// TestCheckSelfTest runs a whole cycle through the endpoint into SQLite, and into PostgreSQL
// where it is available, twice each: the second run finds the first's mirror and reuses it.
func TestCheckSelfTest(t *testing.T) {
	targets := map[string]string{"sqlite": t.TempDir()}
	if dsn := os.Getenv("MIRRORD_TEST_PG_DSN"); dsn != "" {
		targets["postgres"] = dsn
	}
	for name, target := range targets {
		t.Run(name, func(t *testing.T) {
			k := checkKeys(t)
			for run := 1; run <= 2; run++ {
				out, err := runCheck(t, "--self-test", "--app-id", "demo-app", "--partner-key", k.PartnerXML, "--environment", "sod",
					"--target", target, "--db-name", "SelfTest_{ctx}", "--listen", "127.0.0.1:0")
				if err != nil {
					t.Fatalf("run %d: %v\n%s", run, err, out)
				}
				if !strings.Contains(out, "ok    self-test") || !strings.Contains(out, "1000 rows inserted, 10 updated, 10 deleted, and every row read back") {
					t.Fatalf("run %d: the report lacks the self-test:\n%s", run, out)
				}
			}
		})
	}
	// A failing check before it keeps the self-test from running.
	out, err := runCheck(t, "--self-test", "--app-id", "demo-app", "--partner-key", "/nonexistent", "--environment", "sod",
		"--target", t.TempDir(), "--listen", "127.0.0.1:0")
	if err == nil || !strings.Contains(out, "self-test") || !strings.Contains(out, "not run") {
		t.Fatalf("a self-test after a failed check: %v\n%s", err, out)
	}
}

func TestCheckHooks(t *testing.T) {
	k := checkKeys(t)
	args := []string{"--app-id", "demo-app", "--partner-key", k.PartnerXML, "--environment", "sod", "--target", t.TempDir(), "--listen", "127.0.0.1:0"}
	out, err := runCheck(t, append(args, "--hook-exec", "cycle.completed=true", "--webhook", "https://partner.example/hook")...)
	if err != nil || !strings.Contains(out, "ok    hooks") {
		t.Fatalf("good hooks: %v\n%s", err, out)
	}
	out, err = runCheck(t, append(args, "--hook-exec", "table.before=/nonexistent/partner-hook")...)
	if err == nil || !strings.Contains(out, "/nonexistent/partner-hook") {
		t.Fatalf("a missing hook command: %v\n%s", err, out)
	}
}
