package pgsql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mirrord/mirrord/schema"
)

// The type table, SQL Server type -> PostgreSQL type (TYPES.md says what each one loses):
//
//	bit                               boolean
//	tinyint, smallint                 smallint
//	int                               integer
//	bigint                            bigint
//	decimal(p,s), numeric(p,s)        numeric(p,s)
//	money                             numeric(19,4)
//	smallmoney                        numeric(10,4)
//	float                             double precision
//	real                              real
//	date                              date
//	time(n)                           time(min(n,6))
//	datetime                          timestamp(3)
//	smalldatetime                     timestamp(0)
//	datetime2(n)                      timestamp(min(n,6))
//	datetimeoffset(n)                 timestamptz(min(n,6))
//	char/varchar/nchar/nvarchar(n)    varchar(n)
//	varchar(max), nvarchar(max), text, ntext, xml   text
//	binary, varbinary, image          bytea
//	uniqueidentifier                  uuid
//
// Types are written as PostgreSQL's format_type() spells them, so that the catalog's answer can
// be compared with the mapping as plain text.

// maxFraction is the number of fractional second digits PostgreSQL keeps (microseconds).
const maxFraction = 6

// pgType is the PostgreSQL type of a normalized column, as format_type() writes it.
func pgType(c schema.Column) (string, error) {
	switch c.Type.Family() {
	case schema.FamilyBool:
		return "boolean", nil
	case schema.FamilyInteger:
		switch c.Type {
		case schema.TinyInt, schema.SmallInt:
			return "smallint", nil
		case schema.Int:
			return "integer", nil
		}
		return "bigint", nil
	case schema.FamilyDecimal:
		p, s := c.Digits()
		return "numeric(" + strconv.Itoa(p) + "," + strconv.Itoa(s) + ")", nil
	case schema.FamilyFloat:
		if c.Type == schema.Real {
			return "real", nil
		}
		return "double precision", nil
	case schema.FamilyDate:
		return "date", nil
	case schema.FamilyTime:
		return "time(" + strconv.Itoa(fractionDigits(c)) + ") without time zone", nil
	case schema.FamilyDateTime:
		return "timestamp(" + strconv.Itoa(fractionDigits(c)) + ") without time zone", nil
	case schema.FamilyDateTimeOffset:
		return "timestamp(" + strconv.Itoa(fractionDigits(c)) + ") with time zone", nil
	case schema.FamilyString:
		// text, ntext and xml are always max.
		if c.Length == schema.Max {
			return "text", nil
		}
		return "character varying(" + strconv.Itoa(c.Length) + ")", nil
	case schema.FamilyBinary:
		return "bytea", nil
	case schema.FamilyUUID:
		return "uuid", nil
	}
	return "", fmt.Errorf("column %s: type %q has no PostgreSQL mapping", c.Name, string(c.Type))
}

// fractionDigits is the number of fractional second digits a time-like column keeps in
// PostgreSQL; values are truncated to it before they are sent, since PostgreSQL rounds (and
// rounding could turn 23:59:59.9999999 into the next day). datetime's 1/300 seconds need 3.
func fractionDigits(c schema.Column) int {
	switch {
	case c.Type == schema.DateTime:
		return 3
	case c.Type == schema.SmallDateTime:
		return 0
	case c.Type.HasFraction():
		return min(c.Scale, maxFraction)
	}
	return maxFraction
}

// commentPrefix starts the column comment that records a column's SQL Server type, since the
// mapping is not injective (varchar and nvarchar, datetime and datetime2(3) share a type).
const commentPrefix = "mirrord:"

// typeComment is the column comment Migrate writes: mirrord:nvarchar(220).
func typeComment(c schema.Column) string { return commentPrefix + c.TypeString() }

// parseTypeString reads a type as schema.Column.TypeString writes it (nvarchar(220),
// decimal(19,4), varbinary(max), datetime2(7), int) into a normalized column of that type.
func parseTypeString(s string) (schema.Column, error) {
	name, args, hasArgs := strings.Cut(s, "(")
	c := schema.Column{Type: schema.Type(name)}
	if !schema.Known(c.Type) {
		return schema.Column{}, fmt.Errorf("unknown type %q", s)
	}
	if hasArgs {
		inner, ok := strings.CutSuffix(args, ")")
		if !ok {
			return schema.Column{}, fmt.Errorf("type %q lacks its closing parenthesis", s)
		}
		first, second, two := strings.Cut(inner, ",")
		atoi := func(v string) (int, error) {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("type %q has a bad argument %q", s, v)
			}
			return n, nil
		}
		switch {
		case c.Type.HasDigits():
			if !two {
				return schema.Column{}, fmt.Errorf("type %q needs precision and scale", s)
			}
			var err error
			if c.Precision, err = atoi(first); err != nil {
				return schema.Column{}, err
			}
			if c.Scale, err = atoi(second); err != nil {
				return schema.Column{}, err
			}
		case c.Type.HasFraction():
			if two {
				return schema.Column{}, fmt.Errorf("type %q takes one argument", s)
			}
			n, err := atoi(first)
			if err != nil {
				return schema.Column{}, err
			}
			c.Scale = n
		default:
			if two {
				return schema.Column{}, fmt.Errorf("type %q takes one argument", s)
			}
			if first == "max" {
				c.Length = schema.Max
			} else {
				n, err := atoi(first)
				if err != nil {
					return schema.Column{}, err
				}
				c.Length = n
			}
		}
	}
	n := c.Normalize()
	if n.TypeString() != s {
		return schema.Column{}, fmt.Errorf("type %q is not in canonical form (%s)", s, n.TypeString())
	}
	return n, nil
}

// columnFromCatalog turns a catalog column into a column with a SQL Server type. The comment is
// trusted only when its type maps to exactly the physical type; otherwise the physical type is
// mapped back, so that a column someone altered by hand shows up as a change. A physical type
// with no SQL Server counterpart comes back as an unknown type "postgresql:<type>", which no
// desired column equals, so the table is recreated.
func columnFromCatalog(name, physical, comment string, notNull, primaryKey bool) schema.Column {
	col := schema.Column{}
	if s, ok := strings.CutPrefix(comment, commentPrefix); ok {
		if c, err := parseTypeString(s); err == nil {
			if t, err := pgType(c); err == nil && t == physical {
				col = c
			}
		}
	}
	if col.Type == "" {
		col = reverseType(physical)
	}
	col.Name, col.Nullable, col.PrimaryKey = name, !notNull, primaryKey
	return col
}

// reverseType maps a physical PostgreSQL type (format_type text) to the SQL Server type that
// would produce it, choosing the widest candidate where several do (nvarchar over varchar,
// datetime2 over datetime).
func reverseType(physical string) schema.Column {
	unknown := schema.Column{Type: schema.Type("postgresql:" + physical)}
	base, args, hasArgs := strings.Cut(physical, "(")
	var nums []int
	rest := ""
	if hasArgs {
		inner, after, ok := strings.Cut(args, ")")
		if !ok {
			return unknown
		}
		rest = after
		for _, f := range strings.Split(inner, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				return unknown
			}
			nums = append(nums, n)
		}
	}
	fraction := func() int {
		if len(nums) == 1 {
			return nums[0]
		}
		return maxFraction
	}
	switch {
	case physical == "boolean":
		return schema.Column{Type: schema.Bit}
	case physical == "smallint":
		return schema.Column{Type: schema.SmallInt}
	case physical == "integer":
		return schema.Column{Type: schema.Int}
	case physical == "bigint":
		return schema.Column{Type: schema.BigInt}
	case base == "numeric" && len(nums) == 2 && nums[0] >= 1 && nums[0] <= 38 && nums[1] >= 0 && nums[1] <= nums[0]:
		return schema.Column{Type: schema.Decimal, Precision: nums[0], Scale: nums[1]}
	case physical == "double precision":
		return schema.Column{Type: schema.Float}
	case physical == "real":
		return schema.Column{Type: schema.Real}
	case physical == "date":
		return schema.Column{Type: schema.Date}
	case physical == "text" || physical == "character varying":
		return schema.Column{Type: schema.NVarChar, Length: schema.Max}
	case base == "character varying" && len(nums) == 1 && nums[0] >= 1 && nums[0] <= schema.MaxUnicodeLength:
		return schema.Column{Type: schema.NVarChar, Length: nums[0]}
	case base == "character varying" && len(nums) == 1 && nums[0] > schema.MaxUnicodeLength && nums[0] <= schema.MaxByteLength:
		return schema.Column{Type: schema.VarChar, Length: nums[0]}
	case physical == "bytea":
		return schema.Column{Type: schema.VarBinary, Length: schema.Max}
	case physical == "uuid":
		return schema.Column{Type: schema.UniqueIdentifier}
	}
	timeZone := strings.TrimPrefix(rest, " ")
	if !hasArgs {
		base, timeZone, _ = strings.Cut(physical, " ")
	}
	switch {
	case base == "time" && timeZone == "without time zone" && len(nums) <= 1:
		return schema.Column{Type: schema.Time, Scale: fraction()}
	case base == "timestamp" && timeZone == "without time zone" && len(nums) <= 1:
		return schema.Column{Type: schema.DateTime2, Scale: fraction()}
	case base == "timestamp" && timeZone == "with time zone" && len(nums) <= 1:
		return schema.Column{Type: schema.DateTimeOffset, Scale: fraction()}
	}
	return unknown
}
