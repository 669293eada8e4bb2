package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestServerKilledMidCycle kills a real mirrord process with SIGKILL while a cycle streams rows
// into its SQLite mirrors, so that transactions and the write-ahead log are cut off, then
// starts it again on the same folder: the rerun cycle must leave the mirror equal to the source.
func TestServerKilledMidCycle(t *testing.T) {
	dir := t.TempDir()
	k := testKeys(t)
	mirrors := filepath.Join(dir, "mirrors")
	serve := func() (*exec.Cmd, string) { return startMirrord(t, mirrors) }

	src := filepath.Join(dir, "source.db")
	var out bytes.Buffer
	if err := run(context.Background(), "init", []string{"--source", src, "--scale", "30000", "--seed", "7"}, &out); err != nil {
		t.Fatal(err)
	}
	syncArgs := func(url string) []string {
		return []string{"--source", src, "--url", url, "--app-id", testAppID,
			"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey,
			"--partner-pub", k.PartnerPublicPEM, "--parallel", "3", "--batch-bytes", "200000"}
	}

	server, url := serve()
	done := make(chan error, 1)
	go func() {
		var out bytes.Buffer
		done <- run(context.Background(), "sync", syncArgs(url), &out)
	}()
	// Kill once the first mirror file exists and rows are flowing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if files, _ := filepath.Glob(filepath.Join(mirrors, "*.db")); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no mirror file appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := server.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	server.Wait()
	err := <-done
	if err == nil {
		t.Fatal("the cycle whose server was killed reported success: the kill came too late to test anything")
	}
	t.Logf("interrupted cycle: %v", err)

	_, url = serve()
	out.Reset()
	if err := run(context.Background(), "sync", syncArgs(url), &out); err != nil {
		t.Fatalf("rerun after the kill: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), "verify", []string{"--source", src, "--target", mirrors}, &out); err != nil {
		t.Fatalf("verify after the rerun: %v\n%s", err, out.String())
	}
}
