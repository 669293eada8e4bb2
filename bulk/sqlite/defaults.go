package sqlite

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// columnDefault is the SQLite expression of a column's SQL Server default, or "" when the column
// has none (or NULL); ok is false when SQLite has no equivalent. Such a default is kept in the
// state table alone (every default is: bulk.EncodeDefaults), which the diff and `mirrord status`
// read, so it is never lost and never fails a migration.
//
// A literal is checked against the column's type the way a row's value is and written in the
// form the column stores (TYPES.md), so that SQLite holds it exactly as that value. The time
// functions write the stored text forms to the second; newid() writes a random GUID in SQL
// Server's upper-case form.
func columnDefault(c schema.Column) (expr string, ok bool) {
	d := schema.ParseDefault(c.Default)
	stamp := func(utc bool, format string) string {
		modifier := ", 'localtime'"
		if utc {
			modifier = ""
		}
		return "(strftime('" + format + "', 'now'" + modifier + "))"
	}
	switch d.Kind {
	case schema.DefaultNone, schema.DefaultNull:
		return "", true
	case schema.DefaultNumber, schema.DefaultString:
		if c.Type.Family() == schema.FamilyBinary {
			return "", false // a string or number into a binary column converts by bytes in SQL Server
		}
		v, err := bulk.Parser(c)(d.Value)
		if err != nil {
			return "", false
		}
		stored, err := newEncoder(c)(v)
		if err != nil {
			return "", false
		}
		return storedLiteral(stored)
	case schema.DefaultBinary:
		if c.Type.Family() == schema.FamilyBinary {
			return "X'" + d.Value + "'", true
		}
	case schema.DefaultNow, schema.DefaultUTCNow, schema.DefaultNowOffset:
		utc := d.Kind == schema.DefaultUTCNow
		switch c.Type.Family() {
		case schema.FamilyDateTime:
			return stamp(utc, "%Y-%m-%dT%H:%M:%S"), true
		case schema.FamilyDate:
			return stamp(utc, "%Y-%m-%d"), true
		case schema.FamilyTime:
			return stamp(utc, "%H:%M:%S"), true
		case schema.FamilyDateTimeOffset:
			// The instant, written in UTC with its offset.
			return "(strftime('%Y-%m-%dT%H:%M:%S', 'now') || '+00:00')", true
		}
	case schema.DefaultNewID:
		if c.Type.Family() == schema.FamilyUUID {
			return "(upper(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(2)) || '-' || hex(randomblob(6))))", true
		}
	}
	return "", false
}

// storedLiteral writes a stored value as an SQLite literal.
func storedLiteral(v any) (string, bool) {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", true
	case []byte:
		return "X'" + hex.EncodeToString(x) + "'", true
	}
	return "", false
}

// hasDefault reports whether the column has a default SQLite applies.
func hasDefault(c schema.Column) bool {
	expr, _ := columnDefault(c)
	return expr != ""
}
