package bulktest

import (
	"fmt"
	"testing"

	"github.com/mirrord/mirrord/bulk"
)

// charKeys has a varchar key: the key type whose values a database stores in a code page, and
// compares by a collation, where an nvarchar key is Unicode.
var charKeys = table("char_keys", "k varchar(20) key", "v nvarchar(20) null")

// testCharKeys loads keys that the source tells apart and a database could fold into one: by
// case ("Åse", "åse"), by a linguistic collation ("ss", "ß"), and, where varchar holds any
// character (Limits.VarcharUnicode), by a code page that lacks them ("A😀" and "A😁" both "A??",
// "Łódź" and "Lódz" by best fit). Folded keys fail an apply or, worse, make one row overwrite
// another. Every key must come back as its own row, byte for byte, counted as an insert, then
// as an update; and again through the direct load into a wiped table.
func (s *suite) testCharKeys(t *testing.T, m bulk.Mirror) {
	keys := []string{"Åse", "åse", "ss", "ß", "plain"}
	if s.h.Limits.VarcharUnicode {
		keys = append(keys, "A😀", "A😁", "Łódź", "Lódz")
	}
	tbl := s.create(t, m, charKeys)
	rows := func(op func(string, ...any) rowText, prefix string) ([]rowText, [][]any) {
		var texts []rowText
		var want [][]any
		for i, k := range keys {
			v := fmt.Sprintf("%s%d", prefix, i)
			texts = append(texts, op("k,v", k, v))
			want = append(want, []any{k, v})
		}
		return texts, fullRows(t, tbl, "k,v", want...)
	}
	n := int64(len(keys))

	inserts, want := rows(ins, "a")
	expectCounts(t, s.apply(t, m, tbl, withLSN(1), inserts...), n, 0, 0)
	s.expectRows(t, m, tbl, want)

	updates, want := rows(upd, "b")
	expectCounts(t, s.apply(t, m, tbl, withLSN(2), updates...), 0, n, 0)
	s.expectRows(t, m, tbl, want)

	t.Run("Fresh", func(t *testing.T) {
		if err := m.Wipe(t.Context(), []string{tbl.Name}); err != nil {
			t.Fatalf("Wipe: %v", err)
		}
		inserts, want := rows(ins, "c")
		expectCounts(t, s.apply(t, m, tbl, emptyWithLSN(3), inserts...), n, 0, 0)
		s.expectRows(t, m, tbl, want)
	})
}
