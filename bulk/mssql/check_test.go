package mssql

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestVersionVerdict(t *testing.T) {
	cases := []struct {
		version string
		edition int
		ok      bool
		note    string
	}{
		{"16.0.4135.4", 3, true, ""},
		{"15.0.2000.5", 2, true, ""},
		{"13.0.5026.0", 4, true, "UTF-8"},
		{"12.0.6024.0", 3, true, "UTF-8"},
		{"11.0.7001.0", 3, false, "2014"},
		{"12.0.2000.8", 5, true, ""}, // Azure SQL Database reports 12 whatever it runs
		{"16.0.0.0", 8, true, ""},
		{"10.0.0.0", 6, false, "Synapse"},
		{"", 3, false, "number"},
	}
	for _, c := range cases {
		ok, note := versionVerdict(c.version, c.edition)
		if ok != c.ok || (c.note == "") != (note == "") || !strings.Contains(note, c.note) {
			t.Errorf("versionVerdict(%q, %d) = %t, %q; want %t and a note with %q", c.version, c.edition, ok, note, c.ok, c.note)
		}
	}
}

func TestCreateDatabaseVerdict(t *testing.T) {
	yes, no, null := sql.NullInt64{Int64: 1, Valid: true}, sql.NullInt64{Valid: true}, sql.NullInt64{}
	cases := []struct {
		edition            int
		perm, roleA, roleB sql.NullInt64
		ok                 bool
		grant              string
	}{
		{3, yes, no, no, true, ""},
		{3, no, yes, no, true, ""},
		{3, no, no, yes, true, ""},
		{3, no, no, no, false, "GRANT CREATE ANY DATABASE TO [mirrord]"},
		{5, no, yes, null, true, ""},
		{5, no, no, null, false, "ALTER ROLE dbmanager ADD MEMBER [mirrord]"},
		{5, null, null, null, false, "dbmanager"},
	}
	for _, c := range cases {
		got := createDatabaseVerdict(c.edition, "mirrord", c.perm, c.roleA, c.roleB)
		if got.OK != c.ok || !strings.Contains(got.Detail, c.grant) || got.Name != "create database" {
			t.Errorf("edition %d, %v %v %v: %+v; want OK %t and %q", c.edition, c.perm, c.roleA, c.roleB, got, c.ok, c.grant)
		}
	}
}

func TestTemplateMatches(t *testing.T) {
	cases := []struct {
		template, name string
		want           bool
	}{
		{"Mirror_{ctx}", "Mirror_Cust1", true},
		{"Mirror_{ctx}", "Mirror_", false},
		{"Mirror_{ctx}", "master", false},
		{"{ctx}_mirror", "Cust1_mirror", true},
		{"m_{ctx}_db", "m_Cust1_db", true},
		{"m_{ctx}_db", "m_Cust1_dbx", false},
		{"fixed", "fixed", false},
	}
	for _, c := range cases {
		if got := templateMatches(c.template, c.name); got != c.want {
			t.Errorf("templateMatches(%q, %q) = %t", c.template, c.name, got)
		}
	}
}

// TestCheckDSNTimeouts: the check's own connections carry a dial and a connection timeout,
// whatever the DSN said.
func TestCheckDSNTimeouts(t *testing.T) {
	base, err := parseDSN("sqlserver://sa:pw@h?database=master&Connection+Timeout=0&DIAL+TIMEOUT=300")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(checkDSN(base, "Mirror_X"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("dial timeout") != "10" || q.Get("connection timeout") != "30" || len(q) != 5 || q.Get("database") != "Mirror_X" {
		t.Errorf("checkDSN query %s", u.RawQuery)
	}
}

// TestCheckUnreachable: the check ends promptly, with a failed "connect" that names how far it
// got, against a port nothing listens on and against one that accepts TCP and never speaks
// (where the driver's prelogin read ignores the context).
func TestCheckUnreachable(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never written to
		}
	}()
	defer func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	}()

	cases := []struct {
		name, addr, want string
	}{
		{"closed port", closedAddr, "dial"},
		{"silent listener", silent.Addr().String(), "prelogin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			defer cancel()
			start := time.Now()
			checks := CheckDSN(ctx, "sqlserver://sa:pw@"+c.addr+"?database=master", Options{})
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("the check took %v with a 2 s context", took)
			}
			if len(checks) != 1 || checks[0].Name != "connect" || checks[0].OK || !strings.Contains(checks[0].Detail, c.want) {
				t.Errorf("checks %+v, want one failed connect naming %q", checks, c.want)
			}
		})
	}
}

// TestOpenSilentServer: Open returns by the end of its context against a server that accepts
// TCP and never speaks.
func TestOpenSilentServer(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never written to
		}
	}()
	defer func() {
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	start := time.Now()
	_, err = Open(ctx, "sqlserver://sa:pw@"+silent.Addr().String()+"?database=master", Options{})
	if err == nil || time.Since(start) > 4*time.Second {
		t.Errorf("Open: %v after %v; want an error within the context's second", err, time.Since(start))
	}
}
