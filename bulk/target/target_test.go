package target

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk/sqlite"
)

func TestParse(t *testing.T) {
	tests := []struct {
		spec string
		want Spec
		desc string
	}{
		{"./mirrors", Spec{Kind: SQLite, Dir: "./mirrors"}, "sqlite ./mirrors"},
		{"  /var/lib/mirrord ", Spec{Kind: SQLite, Dir: "/var/lib/mirrord"}, "sqlite /var/lib/mirrord"},
		{"sqlite:///var/mirrors", Spec{Kind: SQLite, Dir: "/var/mirrors"}, "sqlite /var/mirrors"},
		{"SQLite://rel/dir", Spec{Kind: SQLite, Dir: "rel/dir"}, "sqlite rel/dir"},
		{"file:///tmp/m", Spec{Kind: SQLite, Dir: "/tmp/m"}, "sqlite /tmp/m"},
		{"postgres://u:secret@db/postgres", Spec{Kind: PostgreSQL, DSN: "postgres://u:secret@db/postgres"}, "postgres postgres://u:xxxxx@db/postgres"},
		{"postgresql://u@db/postgres", Spec{Kind: PostgreSQL, DSN: "postgresql://u@db/postgres"}, "postgres postgresql://u@db/postgres"},
		{"sqlserver://sa:p%40ss@host?database=master&password=x", Spec{Kind: SQLServer, DSN: "sqlserver://sa:p%40ss@host?database=master&password=x"},
			"sqlserver sqlserver://sa:xxxxx@host?database=master&password=xxxxx"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.spec)
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			continue
		}
		if d := got.String(); d != tt.desc {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.spec, d, tt.desc)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct{ spec, want string }{
		{"", `--target "" names no folder`},
		{"sqlite://", `--target "sqlite://" names no folder`},
		{"mysql://root:hunter2@db/x", `unknown scheme "mysql"`},
		{"sqlite://%zz", `--target "sqlite://%zz"`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.spec)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q): error %v, want one containing %q", tt.spec, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("Parse(%q): the error shows the password: %v", tt.spec, err)
		}
	}
}

func TestOpenSQLite(t *testing.T) {
	dir := t.TempDir()
	tg, desc, err := Open(context.Background(), "sqlite://"+dir, Options{NameTemplate: "M_{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	if desc != "sqlite "+dir {
		t.Errorf("description %q, want %q", desc, "sqlite "+dir)
	}
	path, err := tg.(*sqlite.Target).Path("Cust1")
	if err != nil || path != filepath.Join(dir, "M_Cust1.db") {
		t.Errorf("the tenant's file is %q (%v), want M_Cust1.db in the folder", path, err)
	}
	if _, _, err := Open(context.Background(), dir, Options{NameTemplate: "../{ctx}"}); err == nil {
		t.Error("a name template that leaves the folder opened")
	}
}
