package mssql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// unicodeKeyCollation is the collation of nchar and nvarchar key columns, and of char and
// varchar key columns where the database's code page is 1252: binary, so that the mirror's key
// tells apart every pair of keys the source tells apart ("Åse" and "åse", "ss" and "ß", two
// emoji), whatever the database's default collation folds together. The code page of a
// collation does not matter to Unicode types.
const unicodeKeyCollation = "Latin1_General_100_BIN2"

// collations are the collations a mirror names in its DDL and staging, chosen once per mirror
// from its database's collation (readCollations).
type collations struct {
	// database is the database's collation; empty when not read.
	database string
	// key is the collation of char and varchar key columns: a BIN2 collation of the database's
	// code page. A BIN2 collation of another code page would store the key in that code page:
	// Latin1_General_100_BIN2 (code page 1252) in a UTF-8 or a code page 1250 database turns
	// every character outside 1252 into '?' or a best fit, so that 'A😀' and 'A😁' become one
	// key. COLLATE DATABASE_DEFAULT would keep the code page but, usually case and accent
	// insensitive, fold 'Åse' and 'åse' into one key.
	key string
	// legacy is the collation of text and ntext columns where the database's own cannot hold
	// them, empty where it can; legacyErr says why there is none where one is needed.
	legacy    string
	legacyErr error
}

// defaultCollations are the collations of a database whose code page is 1252 and whose
// collation holds text: what this package used before it read the database's.
var defaultCollations = collations{key: unicodeKeyCollation}

// chooseKeyCollation picks the key collation among the BIN2 collations of the database's code
// page (candidates, read from sys.fn_helpcollations): Latin1_General_100_BIN2 or its _UTF8 form
// first, as the collation used before and the best known; then a version 100 or 140 BIN2 (the
// newer sort weights), then any, by name so that every process picks the same. It reports false
// when there is no candidate.
func chooseKeyCollation(candidates []string) (string, bool) {
	rank := func(name string) int {
		switch {
		case name == unicodeKeyCollation || name == unicodeKeyCollation+"_UTF8":
			return 0
		case strings.Contains(name, "_100_BIN2") || strings.Contains(name, "_140_BIN2"):
			return 1
		}
		return 2
	}
	var best string
	for _, c := range candidates {
		if !strings.HasSuffix(c, "_BIN2") && !strings.HasSuffix(c, "_BIN2_UTF8") {
			continue
		}
		if best == "" || rank(c) < rank(best) || rank(c) == rank(best) && c < best {
			best = c
		}
	}
	return best, best != ""
}

// legacyCollation derives, from a database collation that cannot hold text or ntext, one that
// can: the same collation without its _SC and _UTF8 flags. SQL Server refuses text and ntext
// under a collation with either flag, "The legacy LOB types do not support UTF-8 or UTF-16
// encodings. Use types varchar(max), nvarchar(max) or a collation which does not have the _SC or
// _UTF8 flags" (errors 4188 when a column is created, 4189 when a value is converted).
//
// needed is false when the database's collation holds them. ok is false when no collation can
// be derived: the version 140 collations (Japanese_XJIS_140_…) handle supplementary characters
// without the flag, and are taken to refuse text as the flagged ones do.
func legacyCollation(database string) (legacy string, needed, ok bool) {
	parts := strings.Split(database, "_")
	keep := parts[:0:0]
	for _, p := range parts {
		if p == "SC" || p == "UTF8" {
			needed = true
			continue
		}
		keep = append(keep, p)
	}
	if slices.Contains(parts, "140") {
		return "", true, false
	}
	if !needed {
		return "", false, true
	}
	return strings.Join(keep, "_"), true, true
}

// readCollations reads the database's collation and chooses the mirror's collations from it.
func (m *Mirror) readCollations(ctx context.Context) (collations, error) {
	cl := collations{}
	err := m.withConn(ctx, func(c *sql.Conn) error {
		var codePage sql.NullInt64
		if err := c.QueryRowContext(ctx, databaseCollationSQL).Scan(&cl.database, &codePage); err != nil {
			return fmt.Errorf("read the database's collation: %w", err)
		}
		rows, err := c.QueryContext(ctx, binaryCollationsSQL, codePage.Int64)
		if err != nil {
			return fmt.Errorf("list the BIN2 collations of code page %d: %w", codePage.Int64, err)
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var ok bool
		if cl.key, ok = chooseKeyCollation(names); !ok {
			// Not seen: every code page a database collation can have has BIN2 collations.
			// The key keeps the collation used before rather than none.
			cl.key = unicodeKeyCollation
		}
		legacy, needed, ok := legacyCollation(cl.database)
		switch {
		case !needed:
		case !ok:
			cl.legacyErr = fmt.Errorf("SQL Server cannot create text or ntext columns under the database collation %s (error 4188), and mirrord knows no collation of it that can; create the mirror database with a collation without _SC, _UTF8 or version 140 (Options.CreateOptions COLLATE)", cl.database)
		default:
			var exists bool
			if err := c.QueryRowContext(ctx, collationExistsSQL, legacy).Scan(&exists); err != nil {
				return fmt.Errorf("look for collation %s: %w", legacy, err)
			}
			if exists {
				cl.legacy = legacy
			} else {
				cl.legacyErr = fmt.Errorf("SQL Server cannot create text or ntext columns under the database collation %s (error 4188), and the collation without its flags, %s, does not exist; create the mirror database with a collation without _SC or _UTF8 (Options.CreateOptions COLLATE)", cl.database, legacy)
			}
		}
		return nil
	})
	return cl, err
}

// columnCollations names the collation of each column of t that needs one named, by column name:
// char and varchar keys the key collation, nchar and nvarchar keys the Unicode one, and text and
// ntext the legacy one where the database's own cannot hold them. actual, when given, holds the
// collations the catalog shows for columns that exist, and wins: a staging key column compared
// with the table's under another collation fails (error 468, collation conflict), and an ALTER
// COLUMN keeps the collation the column has. It fails for a text or ntext column that the
// database cannot hold.
func (cl collations) columnCollations(t schema.Table, actual map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, c := range t.Columns {
		var want string
		switch {
		case c.PrimaryKey && (c.Type == schema.Char || c.Type == schema.VarChar):
			want = cl.key
		case c.PrimaryKey && (c.Type == schema.NChar || c.Type == schema.NVarChar):
			want = unicodeKeyCollation
		case c.Type == schema.Text || c.Type == schema.NText:
			if cl.legacyErr != nil {
				if _, exists := actual[c.Name]; !exists {
					return nil, bulk.ForTable(t.Name, fmt.Errorf("column %s is %s: %w", c.Name, c.Type, cl.legacyErr))
				}
			}
			want = cl.legacy
		}
		if want == "" {
			continue
		}
		if a := actual[c.Name]; a != "" {
			want = a
		}
		out[c.Name] = want
	}
	return out, nil
}
