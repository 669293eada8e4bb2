package bulktest

// The round trips: every type at its edges, keys of several types, U+0000 and float specials.

import (
	"encoding/base64"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// typeCases are values at the edges of each type, as text. The round trip writes them in rows
// (row i takes case i of each column, NULL where a column has fewer) plus a row of NULLs.
func typeCases() map[string][]any {
	nines := strings.Repeat("9", 38)
	rng := rand.New(rand.NewPCG(1, 2))
	mb := make([]byte, 1<<20)
	for i := range mb {
		mb[i] = byte(rng.IntN(256))
	}
	mb[0], mb[len(mb)-1] = 0, 0
	b8000 := make([]byte, 8000)
	for i := range b8000 {
		b8000[i] = byte(i)
	}
	enc := base64.StdEncoding.EncodeToString
	return map[string][]any{
		"c_bit":              {"0", "1", "true"},
		"c_tinyint":          {"0", "255"},
		"c_smallint":         {"-32768", "32767", "0"},
		"c_int":              {"-2147483648", "2147483647"},
		"c_bigint":           {"-9223372036854775808", "9223372036854775807"},
		"c_decimal":          {"-99999999.99", "99999999.99", "0.01", "0.00"},
		"c_decimal_38_0":     {"-" + nines, nines, "0"},
		"c_numeric_38_10":    {"-" + nines[:28] + "." + nines[:10], nines[:28] + "." + nines[:10], "0.0000000001", "-0.0000000001"},
		"c_numeric_5_1":      {"-9999.9", "9999.9"},
		"c_money":            {"-922337203685477.5808", "922337203685477.5807", "0.0001"},
		"c_smallmoney":       {"-214748.3648", "214748.3647"},
		"c_float":            {"1.7976931348623157e308", "-1.7976931348623157e308", "5e-324", "-0", "INF", "-INF", "NaN", "2.2250738585072014e-308", "0.1"},
		"c_real":             {"3.4028235e38", "-3.4028235e38", "1e-45", "-0", "1.1754944e-38", "0.1"},
		"c_date":             {"0001-01-01", "9999-12-31", "2024-02-29"},
		"c_time_0":           {"00:00:00", "23:59:59"},
		"c_time":             {"00:00:00", "23:59:59.9999999", "12:34:56.1234567", "00:00:00.0000001"},
		"c_datetime":         {"1753-01-01T00:00:00", "9999-12-31T23:59:59.997", "2024-03-01T10:22:05.003"},
		"c_datetime2_3":      {"0001-01-01T00:00:00", "9999-12-31T23:59:59.999"},
		"c_datetime2":        {"0001-01-01T00:00:00", "9999-12-31T23:59:59.9999999", "2024-03-01T10:22:05.1234567", "1969-12-31T23:59:59.9999999"},
		"c_smalldatetime":    {"1900-01-01T00:00:00", "2079-06-06T23:59:00"},
		"c_datetimeoffset":   {"2024-03-01T10:22:05.1234567-14:00", "2024-03-01T10:22:05.1234567+14:00", "2024-03-01T10:22:05.1234567+05:30", "0001-01-01T14:00:00+14:00", "9999-12-31T09:59:59.9999999-14:00", "2024-03-01T10:22:05+00:00"},
		"c_datetimeoffset_0": {"2024-03-01T10:22:05-05:00", "2024-03-01T10:22:05+00:00"},
		"c_char":             {"abcdefghij", "ÆØÅæøåéüß!"},
		"c_varchar":          {"", "Blåbærsyltetøy", strings.Repeat("x", 50), "tab\there"},
		"c_varchar_max":      {strings.Repeat("Lorem ipsum dolor sit amet. ", 4000)},
		"c_nchar":            {"ÆØÅ😀abcde", "          "},
		"c_nvarchar":         {strings.Repeat("😀", 2000), strings.Repeat("é", 4000), "", "CR\rLF\nCRLF\r\ntab\tend", "  spaces  ", "𝄞 and 中文"},
		"c_nvarchar_max":     {strings.Repeat("Æ😀a\r\n", 30000), ""},
		"c_text":             {"text\r\nwith CRLF", ""},
		"c_ntext":            {"ñ😀\r", "x"},
		"c_xml":              {`<a b="1">x &amp; y</a>`, `<a>ü😀</a>`},
		"c_binary":           {enc(make([]byte, 16)), enc([]byte{0, 1, 0, 2, 0, 3, 0, 4, 255, 254, 0, 0, 0, 0, 0, 1})},
		"c_varbinary":        {"", "AA==", enc(b8000)},
		"c_varbinary_max":    {enc(mb), "AAAA"},
		"c_image":            {"AAECAwQ=", ""},
		"c_guid":             {"00000000-0000-0000-0000-000000000000", "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"},
		"c_rowversion":       {"AAAAAAAAB9E=", "AAAAAAAAAAA="},
		"c_required":         {"required", ""},
	}
}

// typeRows makes the round trip rows: full rows with every column, as text.
func typeRows(tbl schema.Table, limits Limits) [][]any {
	cases := typeCases()
	if limits.NoFloatSpecials {
		cases["c_float"] = slices.DeleteFunc(slices.Clone(cases["c_float"]), func(v any) bool {
			return v == "INF" || v == "-INF" || v == "NaN"
		})
	}
	n := 0
	for _, c := range cases {
		n = max(n, len(c))
	}
	rows := make([][]any, n+1)
	for i := range rows {
		row := make([]any, len(tbl.Columns))
		for j, c := range tbl.Columns {
			switch vals := cases[c.Name]; {
			case c.Name == "id":
				row[j] = i + 1
			case i < len(vals):
				row[j] = vals[i]
			case c.Name == "c_required":
				row[j] = "-"
			}
		}
		rows[i] = row
	}
	return rows
}

func allColumns(tbl schema.Table) string {
	var names []string
	for _, c := range tbl.Columns {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func (s *suite) testRoundTrip(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, allTypes)
	expectTable(t, tbl, allTypes)
	texts := typeRows(tbl, s.h.Limits)
	cols := allColumns(tbl)
	var first []rowText
	for _, r := range texts {
		first = append(first, ins(cols, r...))
	}
	// The first load goes straight into the empty table; the second updates every row through
	// the merge path, each row taking the next row's values, so NULLs replace values and back.
	counts := s.apply(t, m, tbl, emptyWithLSN(1), first...)
	expectCounts(t, counts, int64(len(texts)), 0, 0)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, texts...))
	expectLSN(t, m, tbl.Name, 1)

	var second []rowText
	var want [][]any
	for i := range texts {
		next := append([]any{i + 1}, texts[(i+1)%len(texts)][1:]...)
		second = append(second, upd(cols, next...))
		want = append(want, next)
	}
	counts = s.apply(t, m, tbl, withLSN(2), second...)
	expectCounts(t, counts, 0, int64(len(texts)), 0)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, want...))
	expectLSN(t, m, tbl.Name, 2)
}

// keyed has a primary key of several types, so that merge and delete match on each of them.
var keyed = table("keyed",
	"k_nvarchar nvarchar(40) key", "k_int int key", "k_guid uniqueidentifier key", "k_date date key",
	"k_datetime2 datetime2(7) key", "k_decimal decimal(18,4) key", "value nvarchar(20) null",
)

func (s *suite) testCompositeKey(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, keyed)
	cols := allColumns(tbl)
	a := []any{"Åse 😀", 1, "6f9619ff-8b86-d011-b42d-00c04fc964ff", "2024-02-29", "2024-03-01T10:22:05.1234567", "-12.5"}
	b := []any{"Åse 😀", 2, "6f9619ff-8b86-d011-b42d-00c04fc964ff", "2024-02-29", "2024-03-01T10:22:05.1234567", "-12.5"}
	c := []any{"åse 😀", 1, "00000000-0000-0000-0000-000000000001", "0001-01-01", "9999-12-31T23:59:59.9999999", "99999999999999.9999"}
	with := func(key []any, v any) []any { return append(append([]any{}, key...), v) }
	s.apply(t, m, tbl, withLSN(1), ins(cols, with(a, "a")...), ins(cols, with(b, "b")...), ins(cols, with(c, "c")...))
	keyCols := strings.TrimSuffix(cols, ",value")
	counts := s.apply(t, m, tbl, withLSN(2), upd(cols, with(a, "a2")...), del(keyCols, b...), upd(cols, with(c, "c2")...))
	expectCounts(t, counts, 0, 2, 1)
	s.expectRows(t, m, tbl, fullRows(t, tbl, cols, with(a, "a2"), with(c, "c2")))
}

var nulText = table("nul_text", "id int key", "s_nul nvarchar(100) null")

func (s *suite) testNulInText(t *testing.T, m bulk.Mirror) {
	tbl := s.create(t, m, nulText)
	s.apply(t, m, tbl, withLSN(1), ins("id,s_nul", 1, "before"))
	rows := bulk.NewSliceRows(buildRows(t, tbl, ins("id,s_nul", 2, "plain"), ins("id,s_nul", 3, "a\x00b")))
	_, err := m.Apply(t.Context(), tbl, rows, withLSN(2))
	if s.h.Limits.NulInText {
		if err != nil {
			t.Fatalf("Apply of U+0000 in a string: %v (the Harness declares NulInText)", err)
		}
		s.expectRows(t, m, tbl, fullRows(t, tbl, "id,s_nul", []any{1, "before"}, []any{2, "plain"}, []any{3, "a\x00b"}))
		expectLSN(t, m, tbl.Name, 2)
		return
	}
	expectError(t, err, "Apply of U+0000 in a string (the Harness declares no NulInText)", "nul_text", "s_nul")
	s.expectRows(t, m, tbl, fullRows(t, tbl, "id,s_nul", []any{1, "before"}))
	expectLSN(t, m, tbl.Name, 1)
}

var floats = table("float_specials", "id int key", "f float null")

// testFloatSpecials checks a target that declares NoFloatSpecials refuses INF and NaN whole;
// targets that hold them are covered by the round trip.
func (s *suite) testFloatSpecials(t *testing.T, m bulk.Mirror) {
	if !s.h.Limits.NoFloatSpecials {
		t.Skip("the target holds INF, -INF and NaN: the round trip covers them")
	}
	tbl := s.create(t, m, floats)
	s.apply(t, m, tbl, withLSN(1), ins("id,f", 1, "1.5"))
	for _, v := range []string{"INF", "-INF", "NaN"} {
		rows := bulk.NewSliceRows(buildRows(t, tbl, ins("id,f", 2, "2.5"), ins("id,f", 3, v)))
		_, err := m.Apply(t.Context(), tbl, rows, withLSN(2))
		expectError(t, err, "Apply of "+v+" into a float (the Harness declares NoFloatSpecials)", "float_specials", "f")
		s.expectRows(t, m, tbl, fullRows(t, tbl, "id,f", []any{1, "1.5"}))
		expectLSN(t, m, tbl.Name, 1)
	}
}
