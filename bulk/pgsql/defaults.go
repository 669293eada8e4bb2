package pgsql

import (
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// columnDefault is the PostgreSQL expression of a column's SQL Server default, or "" when the
// column has none (or NULL); ok is false when PostgreSQL has no equivalent. Such a default is
// kept in the state table alone (every default is: bulk.EncodeDefaults), which the diff and
// `mirrord status` read, so it is never lost and never fails a migration.
//
// A literal is checked against the column's type the way a row's value is, then written in its
// canonical text with a cast, so that PostgreSQL reads it exactly as that value; a literal that
// does not parse as the column's type is not expressed. The time functions map to the
// PostgreSQL function of the same meaning for the column's type, evaluated in the server's
// TimeZone as SQL Server's are in its own.
func columnDefault(c schema.Column) (expr string, ok bool) {
	d := schema.ParseDefault(c.Default)
	family := c.Type.Family()
	switch d.Kind {
	case schema.DefaultNone, schema.DefaultNull:
		return "", true
	case schema.DefaultNumber, schema.DefaultString:
		v, err := bulk.ParseValue(c, d.Value)
		if err != nil {
			return "", false
		}
		text, err := bulk.FormatValue(c, v)
		if err != nil {
			return "", false
		}
		if family == schema.FamilyBinary {
			return "", false // a string or number into a binary column converts by bytes in SQL Server
		}
		t, err := pgType(c)
		if err != nil {
			return "", false
		}
		return literal(text) + "::" + t, true
	case schema.DefaultBinary:
		if family == schema.FamilyBinary {
			return `'\x` + d.Value + `'::bytea`, true
		}
	case schema.DefaultNow, schema.DefaultNowOffset:
		switch family {
		case schema.FamilyDateTime:
			return "LOCALTIMESTAMP", true
		case schema.FamilyDateTimeOffset:
			return "CURRENT_TIMESTAMP", true
		case schema.FamilyDate:
			return "CURRENT_DATE", true
		case schema.FamilyTime:
			return "LOCALTIME", true
		}
	case schema.DefaultUTCNow:
		switch family {
		case schema.FamilyDateTime:
			return "(now() AT TIME ZONE 'UTC')", true
		case schema.FamilyDateTimeOffset:
			return "CURRENT_TIMESTAMP", true
		case schema.FamilyDate:
			return "((now() AT TIME ZONE 'UTC')::date)", true
		}
	case schema.DefaultNewID:
		if family == schema.FamilyUUID {
			return "gen_random_uuid()", true
		}
	}
	return "", false
}
