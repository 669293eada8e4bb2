package mssql

import (
	"errors"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/schema"
)

func TestChooseKeyCollation(t *testing.T) {
	cases := []struct {
		name       string
		candidates []string
		want       string
	}{
		{"code page 1252 keeps the collation used before", []string{"Danish_Norwegian_BIN2", "Latin1_General_100_BIN2", "Latin1_General_BIN2", "SQL_Latin1_General_CP1_BIN2"}, "Latin1_General_100_BIN2"},
		{"UTF-8", []string{"Albanian_100_BIN2_UTF8", "Latin1_General_100_BIN2_UTF8", "Japanese_XJIS_140_BIN2_UTF8"}, "Latin1_General_100_BIN2_UTF8"},
		{"code page 1250: a version 100 BIN2 of it", []string{"Albanian_BIN2", "Croatian_100_BIN2", "Czech_100_BIN2", "Polish_100_BIN2", "Polish_BIN2"}, "Croatian_100_BIN2"},
		{"code page 932: version 140 beats the old", []string{"Japanese_BIN2", "Japanese_XJIS_140_BIN2"}, "Japanese_XJIS_140_BIN2"},
		{"only old ones: by name", []string{"Thai_BIN2", "Lao_BIN2"}, "Lao_BIN2"},
		{"the plain BIN collations are no candidates", []string{"Latin1_General_BIN", "Greek_100_BIN2"}, "Greek_100_BIN2"},
	}
	for _, c := range cases {
		got, ok := chooseKeyCollation(c.candidates)
		if !ok || got != c.want {
			t.Errorf("%s: chooseKeyCollation = %q, %t; want %q", c.name, got, ok, c.want)
		}
	}
	if got, ok := chooseKeyCollation([]string{"Latin1_General_CI_AS"}); ok {
		t.Errorf("no BIN2 candidate: chose %q", got)
	}
}

func TestLegacyCollation(t *testing.T) {
	cases := []struct {
		database   string
		legacy     string
		needed, ok bool
	}{
		{"SQL_Latin1_General_CP1_CI_AS", "", false, true},
		{"Latin1_General_100_CI_AS", "", false, true},
		{"Latin1_General_100_CI_AS_SC_UTF8", "Latin1_General_100_CI_AS", true, true},
		{"Latin1_General_100_CI_AS_SC", "Latin1_General_100_CI_AS", true, true},
		{"Latin1_General_100_BIN2_UTF8", "Latin1_General_100_BIN2", true, true},
		{"Latin1_General_100_CI_AS_KS_WS_SC_UTF8", "Latin1_General_100_CI_AS_KS_WS", true, true},
		{"Vietnamese_100_CI_AS_SC_UTF8", "Vietnamese_100_CI_AS", true, true},
		{"Japanese_XJIS_140_CI_AS", "", true, false},
		{"Japanese_XJIS_140_CI_AS_UTF8", "", true, false},
	}
	for _, c := range cases {
		legacy, needed, ok := legacyCollation(c.database)
		if legacy != c.legacy || needed != c.needed || ok != c.ok {
			t.Errorf("legacyCollation(%s) = %q, %t, %t; want %q, %t, %t", c.database, legacy, needed, ok, c.legacy, c.needed, c.ok)
		}
	}
}

// TestColumnCollations: a text column that the database cannot hold is refused with an error
// naming table, column and collation, unless it exists already.
func TestColumnCollations(t *testing.T) {
	_, _, ok := legacyCollation("Japanese_XJIS_140_CI_AS")
	if ok {
		t.Fatal("a version 140 collation derived a legacy one")
	}
	cl := collations{database: "Japanese_XJIS_140_CI_AS", key: "Japanese_XJIS_140_BIN2"}
	cl.legacyErr = errLegacyForTest
	tbl := schema.Table{Name: "notes", Columns: []schema.Column{
		{Name: "id", Type: schema.VarChar, Length: 10, PrimaryKey: true},
		{Name: "body", Type: schema.Text, Length: schema.Max, Nullable: true},
	}}
	_, err := cl.columnCollations(tbl, nil)
	if err == nil || !strings.Contains(err.Error(), "table notes: column body is text") || !strings.Contains(err.Error(), "Japanese_XJIS_140_CI_AS") {
		t.Errorf("error %v", err)
	}
	coll, err := cl.columnCollations(tbl, map[string]string{"id": "Japanese_BIN2", "body": "Japanese_CI_AS"})
	if err != nil {
		t.Fatal(err)
	}
	if coll["id"] != "Japanese_BIN2" {
		t.Errorf("an existing key column takes %q, want its own collation", coll["id"])
	}
	coll, _ = cl.columnCollations(schema.Table{Name: "k", Columns: tbl.Columns[:1]}, nil)
	if coll["id"] != "Japanese_XJIS_140_BIN2" {
		t.Errorf("a new key column takes %q", coll["id"])
	}
}

var errLegacyForTest = errors.New("SQL Server cannot create text or ntext columns under the database collation Japanese_XJIS_140_CI_AS")
