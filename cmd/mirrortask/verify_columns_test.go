package main

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk/sqlite"
)

// equalMirror makes a tenant and its equal SQLite mirror, and returns the source file, the
// target folder, and both files opened with database/sql.
func equalMirror(t *testing.T, name string) (src, dir string, sdb, mdb *sql.DB) {
	t.Helper()
	src = newTenant(t, name)
	dir = t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tn, err := tenant.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	fillMirror(t, target, tn)
	tn.Close()
	target.Close()
	var out strings.Builder
	if err := run(context.Background(), "verify", []string{"--source", src, "--target", dir}, &out); err != nil {
		t.Fatalf("verify of an equal mirror: %v\n%s", err, out.String())
	}
	open := func(p string) *sql.DB {
		db, err := sql.Open("sqlite", p+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return src, dir, open(src), open(filepath.Join(dir, "Mirror_"+name+".db"))
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// wantDifferent runs verify and wants it to find the tenant DIFFERENT, its report holding each
// of want.
func wantDifferent(t *testing.T, src, dir, what string, want ...string) {
	t.Helper()
	var out strings.Builder
	err := run(context.Background(), "verify", []string{"--source", src, "--target", dir}, &out)
	if !errors.Is(err, errDifferent) {
		t.Fatalf("%s: verify answered %v, want DIFFERENT\n%s", what, err, out.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("%s: the report lacks %q:\n%s", what, w, out.String())
		}
	}
}

// A column the mirror has and the source does not (a dropped column the mirror kept, with
// values in it) makes the table differ: the rows are read by the source's columns alone.
func TestVerifySeesAnExtraMirrorColumn(t *testing.T) {
	src, dir, _, mdb := equalMirror(t, "CustXcol")
	mustExec(t, mdb, `ALTER TABLE "contact" ADD COLUMN "stale" NVARCHAR_TEXT(20)`)
	mustExec(t, mdb, `UPDATE "contact" SET "stale" = 'left over'`)
	wantDifferent(t, src, dir, "mirror contact has an extra column stale", "its columns differ from the source's: has besides stale")
}

// Two adjacent text columns whose values shift bytes between them must not hash alike: the row
// hash once framed each value by 0x00 ... 0x01 without escaping those bytes in the text.
func TestVerifyTextCannotShiftBetweenColumns(t *testing.T) {
	src, dir, sdb, mdb := equalMirror(t, "CustFrame")
	mustExec(t, sdb, `UPDATE "contact" SET "name" = ?, "kananame" = ? WHERE "contact_id" = 2`, "A\x01kananame\x00B", "C")
	mustExec(t, mdb, `UPDATE "contact" SET "name" = ?, "kananame" = ? WHERE "contact_id" = 2`, "A", "B\x01kananame\x00C")
	var n, k string
	if err := mdb.QueryRow(`SELECT "name", "kananame" FROM "contact" WHERE "contact_id" = 2`).Scan(&n, &k); err != nil || n != "A" || k != "B\x01kananame\x00C" {
		t.Fatalf("mirror row 2 reads %q %q %v", n, k, err)
	}
	wantDifferent(t, src, dir, `source contact 2 name "A\x01kananame\x00B" kananame "C", mirror name "A" kananame "B\x01kananame\x00C"`)
}

// An empty binary at the source and NULL in the mirror.
func TestVerifyEmptyBinaryIsNotNull(t *testing.T) {
	src, dir, sdb, mdb := equalMirror(t, "CustBin")
	var id int64
	if err := sdb.QueryRow(`SELECT min("binary_object_id") FROM "binary_object"`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	mustExec(t, sdb, `UPDATE "binary_object" SET "data" = x'' WHERE "binary_object_id" = ?`, id)
	mustExec(t, mdb, `UPDATE "binary_object" SET "data" = NULL WHERE "binary_object_id" = ?`, id)
	wantDifferent(t, src, dir, "source binary empty, mirror NULL")
}

// The source widens a column (mirrortask alter --kind widen-column); the mirror's table keeps
// the old type in its catalog (the TableSchema that widens it never arrived or failed).
func TestVerifySeesANarrowerMirrorColumn(t *testing.T) {
	src, dir, _, _ := equalMirror(t, "CustWiden")
	tn, err := tenant.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	what, err := tn.Alter(context.Background(), tenant.AlterWiden)
	tn.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Log(what)
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := target.Open(context.Background(), "CustWiden")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := m.Tables(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := tables["contact"].Table.Columns[tables["contact"].Table.Column("number1")]
	t.Logf("mirror catalog: contact.number1 is %s", c.TypeString())
	m.Close()
	target.Close()
	wantDifferent(t, src, dir, "source contact.number1 widened, mirror's catalog keeps "+c.TypeString(), "its columns differ from the source's: narrower or NOT NULL number1")
}
