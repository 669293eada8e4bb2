package main

import (
	"flag"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	cases := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"512MiB", 512 << 20, true}, {"1GiB", 1 << 30, true}, {"64KiB", 64 << 10, true},
		{"1000000", 1000000, true}, {" 2 MiB ", 2 << 20, true}, {"10MB", 10_000_000, true}, {"7B", 7, true},
		{"0", 0, false}, {"-5MiB", 0, false}, {"12XB", 0, false}, {"1.5GiB", 0, false}, {"", 0, false},
		{"MiB", 0, false}, {"99999999999GiB", 0, false}, {"010", 0, false},
	}
	for _, c := range cases {
		got, err := parseSize(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok %t", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestEnvironmentFillsUnsetFlags(t *testing.T) {
	t.Setenv("MIRRORD_APP_ID", "from-env")
	t.Setenv("MIRRORD_MAX_BODY", "1GiB")
	t.Setenv("MIRRORD_SUPEROFFICE_CERT", "a.crt, b.crt")
	t.Setenv("MIRRORD_LISTEN", ":9999")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, []string{"--listen", ":7000"}); err != nil {
		t.Fatal(err)
	}
	if f.appID != "from-env" || int64(f.maxBody) != 1<<30 || len(f.certs) != 2 || f.certs[1] != "b.crt" {
		t.Fatalf("environment not applied: %+v", f)
	}
	if f.listen != ":7000" {
		t.Fatalf("the command line must win over the environment: listen %q", f.listen)
	}
	t.Setenv("MIRRORD_MAX_BODY", "lots")
	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	f = serveFlags{}
	f.register(fs)
	if err := parseFlags(fs, nil); err == nil {
		t.Fatal("a bad MIRRORD_MAX_BODY was accepted")
	}
}

func TestServeRefusesToStartWithoutItsSecrets(t *testing.T) {
	f := serveFlags{}
	err := f.check()
	if err == nil {
		t.Fatal("serve started without app id, partner key and certificate")
	}
	for _, want := range []string{"--app-id", "--partner-key", "--superoffice-cert"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
