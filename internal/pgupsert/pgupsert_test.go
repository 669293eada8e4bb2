package pgupsert

import (
	"testing"

	"github.com/mirrord/mirrord/schema"
)

func TestSQLWithAKeyOfTwoColumns(t *testing.T) {
	tb := schema.Table{Name: "link", Columns: []schema.Column{
		{Name: "a", Type: schema.Int, PrimaryKey: true},
		{Name: "note", Type: schema.NVarChar, Length: 10, Nullable: true},
		{Name: "b", Type: schema.Int, PrimaryKey: true},
	}}
	upsert, del := SQL(tb)
	if want := `INSERT INTO "link" ("a", "note", "b") VALUES ($1, $2, $3) ON CONFLICT ("a", "b") DO UPDATE SET "note" = EXCLUDED."note"`; upsert != want {
		t.Errorf("upsert:\n got %s\nwant %s", upsert, want)
	}
	if want := `DELETE FROM "link" WHERE "a" = $1 AND "b" = $2`; del != want {
		t.Errorf("delete: got %s, want %s", del, want)
	}
}
