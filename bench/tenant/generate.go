package tenant

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Values are made from a random stream seeded by (tenant seed, table, row id, variant), so that
// a row's content depends on nothing else: the same seed gives the same tenant whatever order
// rows are made in, and an update (a new variant) gives new content for the same key.
func rowRand(seed uint64, table string, id int64, variant uint64) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(table))
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(id)*0x9E3779B97F4A7C15^variant))
}

// generator makes the values of one table's rows. refSizes bounds the ids a reference column
// points at, so that foreign keys mostly hit rows that exist.
type generator struct {
	seed     uint64
	refSizes map[string]int64
}

// row returns the values of row id of d, in column order, as the Go types of package bulk.
func (g *generator) row(d *tableDef, id int64, variant uint64) []any {
	r := rowRand(g.seed, d.name, id, variant)
	vals := make([]any, len(d.cols))
	for i, c := range d.cols {
		vals[i] = g.value(r, c, id)
	}
	return vals
}

var (
	// unknownDate is SuperOffice's "unknown/zero" date; foreverDate its "forever".
	unknownDate = time.Date(1760, 1, 1, 0, 0, 0, 0, time.UTC)
	foreverDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
	epoch       = time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)
)

// awkward are strings that break naive codecs: XML markup, CR and CRLF, tabs, characters outside
// the BMP (two UTF-16 code units each), a control character that XML cannot carry, trailing
// and leading blanks, and the empty string.
var awkward = []string{
	"Fjord & Co <AS>",
	`"quoted" and 'single' & <tag/>`,
	"line one\r\nline two\r\n",
	"carriage\rreturn only",
	"tab\tseparated\tvalues",
	"emoji 😀 and clef 𝄞",
	"𝟘𝟙𝟚 mathematical digits",
	"bell\x07 and unit separator\x1f",
	"  leading and trailing  ",
	"Æser på Ørsta, Åse & Zoë",
	"]]> end of CDATA",
	"&amp; already escaped",
	"",
}

var words = strings.Fields(`fjord nordic consulting data systems bakery office solutions trading
	marine energy software partner global service studio logistics nature design health north
	south west east group holding invest media digital cloud green blue river stone mountain
	coast harbour bridge forest meadow lake garden silver golden arctic polar`)

var firstNames = strings.Fields("Anna Bjørn Carla David Eva Frode Greta Hans Ingrid Jon Kari Lars Maria Nils Ola Petra Rune Siri Tor Unni")
var lastNames = strings.Fields("Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Berg Haugen Dahl Lie Bakke")

func (g *generator) value(r *rand.Rand, c columnDef, id int64) any {
	if c.kind == kindKey {
		return id
	}
	if c.Nullable && r.IntN(100) < 20 {
		return nil
	}
	switch c.kind {
	case kindRef:
		n := int64(20)
		if s, ok := g.refSizes[c.ref]; ok && s > 0 {
			n = s
		} else if c.ref == "" {
			n = 1000
		}
		return 1 + r.Int64N(n)
	case kindInt:
		switch r.IntN(50) {
		case 0:
			return int64(math.MaxInt32)
		case 1:
			return int64(math.MinInt32)
		case 2:
			return int64(0)
		}
		return r.Int64N(100000)
	case kindShort:
		if r.IntN(50) == 0 {
			return int64(math.MinInt16)
		}
		return r.Int64N(65536) - 32768
	case kindUShort:
		if r.IntN(50) == 0 {
			return int64(math.MaxInt16)
		}
		return r.Int64N(1000)
	case kindBool:
		return r.Int64N(2)
	case kindEnum:
		return r.Int64N(12)
	case kindDouble:
		return g.double(r, c.Name)
	case kindDateTime:
		return g.dateTime(r)
	case kindString:
		return g.str(r, c.Name, c.chars)
	case kindClob:
		return g.clob(r)
	case kindBlob:
		n := r.IntN(4096)
		if r.IntN(20) == 0 {
			n = 0
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	return nil
}

func (g *generator) double(r *rand.Rand, name string) float64 {
	lower := strings.ToLower(name)
	switch {
	case strings.Contains(lower, "latitude"):
		return r.Float64()*180 - 90
	case strings.Contains(lower, "longitude"):
		return r.Float64()*360 - 180
	case strings.Contains(lower, "amount"), strings.Contains(lower, "earning"), strings.Contains(lower, "price"):
		return math.Round(r.Float64()*1e7) / 100
	}
	switch r.IntN(40) {
	case 0:
		return 1e300
	case 1:
		return 5e-324
	case 2:
		return 0.1
	case 3:
		return -123456.789
	}
	return r.NormFloat64() * 1000
}

// dateTime is a SQL Server datetime: whole 10 ms (a multiple of its 1/300 s tick), sometimes
// SuperOffice's "unknown" 1760-01-01 or "forever" 9999-12-31.
func (g *generator) dateTime(r *rand.Rand) time.Time {
	switch r.IntN(40) {
	case 0:
		return unknownDate
	case 1:
		return foreverDate
	}
	t := epoch.Add(time.Duration(r.Int64N(20*365*24*3600)) * time.Second)
	if r.IntN(2) == 0 {
		t = t.Add(time.Duration(r.IntN(100)) * 10 * time.Millisecond)
	}
	return t
}

func (g *generator) str(r *rand.Rand, name string, chars int) string {
	var s string
	lower := strings.ToLower(name)
	switch {
	case r.IntN(30) == 0:
		s = awkward[r.IntN(len(awkward))]
	case r.IntN(40) == 0:
		s = ""
	case lower == "firstname":
		s = firstNames[r.IntN(len(firstNames))]
	case lower == "lastname":
		s = lastNames[r.IntN(len(lastNames))]
	case strings.Contains(lower, "email") || lower == "from_address" || lower == "filter_address":
		s = firstNames[r.IntN(len(firstNames))] + "." + lastNames[r.IntN(len(lastNames))] + "@" + words[r.IntN(len(words))] + ".example"
		s = strings.ToLower(s)
	case strings.Contains(lower, "phone"):
		s = "+47 " + strconv.Itoa(20000000+r.IntN(79999999))
	case strings.Contains(lower, "url"):
		s = "https://www." + words[r.IntN(len(words))] + ".example/" + words[r.IntN(len(words))] + "?id=" + strconv.Itoa(r.IntN(1e6))
	case lower == "zipcode" || strings.HasPrefix(lower, "number") || strings.HasSuffix(lower, "_number"):
		s = strconv.Itoa(r.IntN(100000))
	case lower == "name" || lower == "heading" || lower == "title" || lower == "description":
		s = capitalize(words[r.IntN(len(words))]) + " " + capitalize(words[r.IntN(len(words))])
		if r.IntN(3) == 0 {
			s += " AS"
		}
	default:
		n := 1 + r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = words[r.IntN(len(words))]
		}
		s = strings.Join(parts, " ")
	}
	return fitUTF16(s, chars)
}

// clob is a long text of a few paragraphs, now and then with awkward pieces inside.
func (g *generator) clob(r *rand.Rand) string {
	var b strings.Builder
	n := 10 + r.IntN(250)
	for i := 0; i < n; i++ {
		if i > 0 {
			switch r.IntN(20) {
			case 0:
				b.WriteString("\r\n")
			case 1:
				b.WriteString(".\n\n")
			default:
				b.WriteByte(' ')
			}
		}
		if r.IntN(60) == 0 {
			b.WriteString(awkward[r.IntN(len(awkward))])
			continue
		}
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.String()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fitUTF16 cuts s to at most n UTF-16 code units, the unit an nvarchar length counts, without
// splitting a character.
func fitUTF16(s string, n int) string {
	units := 0
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i]
		}
	}
	return s
}
