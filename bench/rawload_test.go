package bench

// The raw loads that BenchmarkWholePath measures mirrord against: the sqlite3 shell's
// .import of a CSV file, and PostgreSQL's COPY of a CSV file (as psql's \copy sends it), each
// into tables made by mirrord's own DDL; and
// the checks that the raw load and mirrord stored the same rows.
//
// The sqlite3 shell's .import binds every CSV field as text (a column's affinity then makes
// numbers of it) and has no way to write NULL or a BLOB:
//   - NULL is written as an empty field and arrives as '' (the shell imports an empty field,
//     quoted or not, as the empty string). A NULL and an empty string cost the same to store, so
//     the baseline stays a plain .import; the content check compares mirrord's NULLs as '' and
//     reports how many values that concerned.
//   - binary is written as its upper-case hex digits and arrives as that text, twice the bytes
//     (the shell stops a field at its first zero byte, so raw bytes cannot pass). Only the demo
//     tenant's binary_object table, a fraction of a percent of its rows, has binary values.
// Every other value arrives as exactly what mirrord stores (TYPES.md of bulk/sqlite): integers
// as numbers; floats as numbers too, written with 18 significant digits, since the shell reads
// about one shortest form in ten thousand as its neighbour (appendCSVField says more); NaN as
// the text NaN and ±Inf as the REAL infinities (written as ±9e999); strings as they are (CR,
// LF, commas, quotes and blanks inside quotes); dates, decimals and GUIDs as the protocol's
// canonical text. TestCSVImportRoundTrip checks each of these through the installed sqlite3,
// and the benchmark compares every value of its first load.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
)

// appendCSVRow appends one row of values, in the Go types of package bulk, as a CSV record
// that the sqlite3 shell's .import --csv reads back as what mirrord's SQLite target stores.
func appendCSVRow(dst []byte, cols []schema.Column, vals []any) ([]byte, error) {
	return appendRecord(dst, cols, vals, appendCSVField)
}

// appendPGCSVRow appends one row as a record of PostgreSQL's COPY … (FORMAT csv), as psql's
// \copy of a CSV file sends it: what appendCSVRow writes, which already tells a NULL (an empty
// unquoted field, COPY's NULL in CSV) from an empty string (always quoted), except binary, in
// bytea's hex form, and the float infinities, which PostgreSQL spells out.
func appendPGCSVRow(dst []byte, cols []schema.Column, vals []any) ([]byte, error) {
	return appendRecord(dst, cols, vals, func(dst []byte, c schema.Column, v any) ([]byte, error) {
		switch v := v.(type) {
		case []byte:
			return append(append(dst, `\x`...), hex.EncodeToString(v)...), nil
		case float64:
			switch {
			case math.IsInf(v, 1):
				return append(dst, "Infinity"...), nil
			case math.IsInf(v, -1):
				return append(dst, "-Infinity"...), nil
			}
		}
		return appendCSVField(dst, c, v)
	})
}

// appendRecord appends one CSV record, each value written by field.
func appendRecord(dst []byte, cols []schema.Column, vals []any, field func([]byte, schema.Column, any) ([]byte, error)) ([]byte, error) {
	if len(vals) != len(cols) {
		return dst, fmt.Errorf("%d values for %d columns", len(vals), len(cols))
	}
	for i, c := range cols {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = field(dst, c, vals[i]); err != nil {
			return dst, fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	return append(dst, '\n'), nil
}

func appendCSVField(dst []byte, c schema.Column, v any) ([]byte, error) {
	if v == nil {
		return dst, nil
	}
	switch c.Type.Family() {
	case schema.FamilyBool:
		b, ok := v.(bool)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		if b {
			return append(dst, '1'), nil
		}
		return append(dst, '0'), nil
	case schema.FamilyInteger:
		n, ok := v.(int64)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case schema.FamilyFloat:
		f, ok := v.(float64)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		switch {
		case math.IsNaN(f):
			return append(dst, "NaN"...), nil
		case math.IsInf(f, 1):
			return append(dst, "9e999"...), nil
		case math.IsInf(f, -1):
			return append(dst, "-9e999"...), nil
		}
		if math.Abs(f) < 1e-280 {
			// Where the shell scales twice, so that more digits do not help; 0 and 5e-324
			// pass exactly.
			return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
		}
		// 18 significant digits: the shell's reading (sqlite3AtoF, scaling in long double)
		// misses the shortest form of about one double in ten thousand by a unit in the last
		// place, and gets 18 digits right (no miss among 400,000 random doubles above 1e-280).
		return strconv.AppendFloat(dst, f, 'e', 17, 64), nil
	case schema.FamilyBinary:
		b, ok := v.([]byte)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		return append(dst, strings.ToUpper(hex.EncodeToString(b))...), nil
	case schema.FamilyString:
		s, ok := v.(string)
		if !ok {
			return dst, bulk.WrongType(c, v)
		}
		return appendCSVText(dst, s)
	}
	s, err := bulk.FormatValue(c, v)
	if err != nil {
		return dst, err
	}
	return appendCSVText(dst, s)
}

// appendCSVText quotes a text when the shell would otherwise split or cut it, and an empty text
// always, so that the file itself tells it from a NULL.
func appendCSVText(dst []byte, s string) ([]byte, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return dst, errors.New("the text holds a zero byte, where the sqlite3 shell's .import would cut it")
	}
	if s != "" && !strings.ContainsAny(s, ",\"\r\n") {
		return append(dst, s...), nil
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"'), nil
}

// writeCSV writes the rows of src to a new file at path, each by appendRow (appendCSVRow for
// the sqlite3 shell, appendPGCSVRow for PostgreSQL).
func writeCSV(path string, cols []schema.Column, src pgx.CopyFromSource, appendRow func([]byte, []schema.Column, []any) ([]byte, error)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<20)
	for i := 1; src.Next(); i++ {
		vals, err := src.Values()
		if err == nil {
			buf, err = appendRow(buf, cols, vals)
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("%s: row %d: %w", path, i, err)
		}
		if len(buf) >= 1<<20 {
			if _, err := f.Write(buf); err != nil {
				f.Close()
				return err
			}
			buf = buf[:0]
		}
	}
	if err := src.Err(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if _, err := f.Write(buf); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// csvImport is one .import of the sqlite3 shell: a CSV file into a table.
type csvImport struct {
	table string
	path  string
}

// sqliteImportPragmas are the connection settings of mirrord's SQLite target (its dsn in
// bulk/sqlite/target.go) that bear on a load's cost, set the same way for the shell. The
// shell's .import runs each file in one transaction of its own (it sends BEGIN when it finds
// the connection in autocommit, and COMMIT at the end), as mirrord writes each apply in one.
const sqliteImportPragmas = "PRAGMA journal_mode = WAL;\nPRAGMA synchronous = NORMAL;\nPRAGMA foreign_keys = 0;\nPRAGMA busy_timeout = 10000;\n"

// sqliteImportScript is what the shell reads on its standard input.
func sqliteImportScript(imports []csvImport) string {
	var b strings.Builder
	b.WriteString(".bail on\n")
	b.WriteString(sqliteImportPragmas)
	for _, im := range imports {
		// .import takes its arguments as the shell's own tokens: double quotes keep blanks.
		fmt.Fprintf(&b, ".import --csv %q %q\n", im.path, im.table)
	}
	return b.String()
}

// runSQLiteImport runs the sqlite3 shell once on db with the imports and returns the time of
// the whole process run. Anything the shell says on its error output fails the load.
func runSQLiteImport(ctx context.Context, sqlite3, db string, imports []csvImport) (time.Duration, error) {
	return runSQLiteScript(ctx, sqlite3, db, strings.NewReader(sqliteImportScript(imports)))
}

// runSQLiteScript runs the sqlite3 shell once on db with script on its standard input and
// returns the time of the whole process run. Anything the shell says on its error output fails.
func runSQLiteScript(ctx context.Context, sqlite3, db string, script io.Reader) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, sqlite3, db)
	cmd.Stdin = script
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil || stderr.Len() > 0 {
		return took, fmt.Errorf("sqlite3 %s: %v: %.1000s", db, err, stderr.String())
	}
	return took, nil
}

// lookSQLite3 finds the sqlite3 shell or skips the benchmark or test that needs it.
func lookSQLite3(tb testing.TB) string {
	path, err := exec.LookPath("sqlite3")
	if err != nil {
		tb.Skipf("the sqlite3 command-line shell is not installed (Debian's sqlite3 package; scripts/tools.sh installs it): %v", err)
	}
	return path
}

// sqliteTablesFile makes a new mirror file of tenant in dir holding tables, created by
// mirrord's SQLite target itself, closed again for the shell to load; it returns the file.
func sqliteTablesFile(ctx context.Context, dir, tenant string, tables []schema.Table) (string, error) {
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		return "", err
	}
	defer target.Close()
	m, err := target.Open(ctx, tenant)
	if err != nil {
		return "", err
	}
	for _, t := range tables {
		if err := m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, t)}); err != nil {
			return "", fmt.Errorf("creating table %s: %w", t.Name, err)
		}
	}
	path, err := target.Path(tenant)
	if err != nil {
		return "", err
	}
	return path, target.Close()
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// sqliteRowCount counts the rows of a table of a SQLite file that match where ("" for all).
func sqliteRowCount(ctx context.Context, path, table, where string) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	q := "SELECT count(*) FROM " + quoteIdent(table)
	if where != "" {
		q += " WHERE " + where
	}
	var n int64
	if err := db.QueryRowContext(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %s: %w", path, q, err)
	}
	return n, nil
}

// compareSQLite checks that table holds the same rows in the raw file as in mirrord's: every
// value equal, unless exact a NULL of mirrord's taken as the empty string and a BLOB as its hex
// text (the file comment says why). It returns how many of mirrord's values were NULL.
func compareSQLite(ctx context.Context, rawPath, mirrorPath string, table schema.Table, exact bool) (nulls int64, err error) {
	db, err := sql.Open("sqlite", "file:"+rawPath)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, "ATTACH DATABASE ? AS m", mirrorPath); err != nil {
		return 0, err
	}
	var raw, mirrored, nullSum []string
	for _, c := range table.Columns {
		q := quoteIdent(c.Name)
		raw = append(raw, q)
		if exact {
			mirrored = append(mirrored, q)
		} else {
			mirrored = append(mirrored, asRawLoads(q))
		}
		nullSum = append(nullSum, fmt.Sprintf("(%s IS NULL)", q))
	}
	name := quoteIdent(table.Name)
	rawSel := "SELECT " + strings.Join(raw, ", ") + " FROM main." + name
	mirSel := "SELECT " + strings.Join(mirrored, ", ") + " FROM m." + name
	for _, q := range []struct{ what, sql string }{
		{"rows of the raw load that mirrord does not hold", rawSel + " EXCEPT " + mirSel},
		{"rows mirrord holds that the raw load does not", mirSel + " EXCEPT " + rawSel},
	} {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM ("+q.sql+")").Scan(&n); err != nil {
			return 0, fmt.Errorf("table %s: %w", table.Name, err)
		}
		if n != 0 {
			return 0, fmt.Errorf("table %s: %d %s; the first: %s", table.Name, n, q.what, firstDifference(ctx, db, table, q.sql, exact))
		}
	}
	var rawRows, mirRows int64
	if err := db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM main."+name+"), (SELECT count(*) FROM m."+name+"), "+
		"(SELECT coalesce(sum("+strings.Join(nullSum, " + ")+"), 0) FROM m."+name+")").Scan(&rawRows, &mirRows, &nulls); err != nil {
		return 0, fmt.Errorf("table %s: %w", table.Name, err)
	}
	if rawRows != mirRows {
		return 0, fmt.Errorf("table %s: %d rows in the raw load, %d in mirrord's", table.Name, rawRows, mirRows)
	}
	return nulls, nil
}

// asRawLoads is the SQL of a value of mirrord's as the raw load stores it: NULL as the empty
// string, a BLOB as its hex digits.
func asRawLoads(col string) string {
	return fmt.Sprintf("CASE WHEN %[1]s IS NULL THEN '' WHEN typeof(%[1]s) = 'blob' THEN hex(%[1]s) ELSE %[1]s END", col)
}

// firstDifference describes the first row that differs: its key and the columns whose values
// differ, each as the raw load and mirrord stored it.
func firstDifference(ctx context.Context, db *sql.DB, table schema.Table, differing string, exact bool) string {
	key := table.Key()
	if len(key) != 1 {
		return "(no single-column key to find it by)"
	}
	keyName := quoteIdent(table.Columns[key[0]].Name)
	var id any
	if err := db.QueryRowContext(ctx, "SELECT "+keyName+" FROM ("+differing+") LIMIT 1").Scan(&id); err != nil {
		return err.Error()
	}
	var cols []string
	for _, c := range table.Columns {
		w := "w." + quoteIdent(c.Name)
		if !exact {
			w = asRawLoads(w)
		}
		cols = append(cols, "quote(r."+quoteIdent(c.Name)+")", "quote("+w+")")
	}
	q := "SELECT " + strings.Join(cols, ", ") + " FROM main." + quoteIdent(table.Name) + " AS r JOIN m." + quoteIdent(table.Name) +
		" AS w USING (" + keyName + ") WHERE " + keyName + " = ?"
	vals := make([]string, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := db.QueryRowContext(ctx, q, id).Scan(ptrs...); err != nil {
		return fmt.Sprintf("key %v: %v", id, err)
	}
	var diffs []string
	for i, c := range table.Columns {
		if vals[2*i] != vals[2*i+1] {
			diffs = append(diffs, fmt.Sprintf("%s raw %.80s, mirrord %.80s", c.Name, vals[2*i], vals[2*i+1]))
		}
	}
	return fmt.Sprintf("key %v: %s", id, strings.Join(diffs, "; "))
}

// copyFrom copies the rows of src into table with pgx's CopyFrom and checks the count.
// copyCSV streams a CSV file into table by COPY … FROM STDIN (FORMAT csv), as psql's \copy
// does: the database's own bulk load, with no client work but reading the file.
func copyCSV(ctx context.Context, conn *pgx.Conn, table schema.Table, path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cols := make([]string, len(table.Columns))
	for i, c := range table.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	sql := "COPY " + pgx.Identifier{table.Name}.Sanitize() + " (" + strings.Join(cols, ", ") + ") FROM STDIN (FORMAT csv)"
	tag, err := conn.PgConn().CopyFrom(ctx, f, sql)
	if err != nil {
		return 0, fmt.Errorf("COPY into %s: %w", table.Name, err)
	}
	return tag.RowsAffected(), nil
}

// pgDigest is the row count and an md5 of every row's text, in key order: equal digests in two
// databases mean equal rows, however they were loaded. It aggregates each row's md5 rather than
// the text itself, which for a few million rows would pass the 1 GB limit of a text value.
func pgDigest(ctx context.Context, conn *pgx.Conn, table schema.Table) (string, error) {
	var cols, key []string
	for _, c := range table.Columns {
		q := pgx.Identifier{c.Name}.Sanitize()
		cols = append(cols, q)
		if c.PrimaryKey {
			key = append(key, q)
		}
	}
	var n int64
	var sum *string
	q := fmt.Sprintf("SELECT count(*), md5(string_agg(md5(ROW(%s)::text), '' ORDER BY %s)) FROM %s",
		strings.Join(cols, ", "), strings.Join(key, ", "), pgx.Identifier{table.Name}.Sanitize())
	if err := conn.QueryRow(ctx, q).Scan(&n, &sum); err != nil {
		return "", fmt.Errorf("digest of %s: %w", table.Name, err)
	}
	if sum == nil {
		return fmt.Sprintf("%d rows", n), nil
	}
	return fmt.Sprintf("%d rows, md5 %s", n, *sum), nil
}

// TestCSVImportRoundTrip loads values that are hard for CSV into mirrord's SQLite target and,
// as a CSV file, through the sqlite3 shell's .import into a table of the same DDL, and checks
// that both files hold the same values (NULLs as empty strings, binary as hex; see the file comment).
func TestCSVImportRoundTrip(t *testing.T) {
	shell := lookSQLite3(t)
	ctx := context.Background()
	table := schema.Table{Name: "tricky", Columns: []schema.Column{
		{Name: "id", Type: schema.Int, PrimaryKey: true},
		{Name: "s", Type: schema.NVarChar, Length: 100, Nullable: true},
		{Name: "note", Type: schema.NVarChar, Length: schema.Max, Nullable: true},
		{Name: "n", Type: schema.SmallInt, Nullable: true},
		{Name: "f", Type: schema.Float, Nullable: true},
		{Name: "at", Type: schema.DateTime, Nullable: true},
		{Name: "b", Type: schema.VarBinary, Length: schema.Max, Nullable: true},
		{Name: "flag", Type: schema.Bit, Nullable: true},
		{Name: "amount", Type: schema.Decimal, Precision: 19, Scale: 4, Nullable: true},
		{Name: "guid", Type: schema.UniqueIdentifier, Nullable: true},
	}}
	parse := func(col int, text string) any {
		v, err := bulk.ParseValue(table.Columns[col], text)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	texts := []string{"plain", "comma, inside", `"quoted" and "" doubled`, "line one\r\nline two\r\n", "carriage\rreturn only",
		"lf\nonly", "  leading and trailing  ", "", "tab\tand bell\x07 and unit separator\x1f", "emoji 😀 and Æøå", "12345", "NULL", "'single'"}
	// -367.90213396250857 and 285.1959843102251 are among the doubles whose shortest form the
	// shell reads as a neighbour.
	floats := []float64{0, 0.1, -123456.789, 1e300, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 2.5,
		-367.90213396250857, 285.1959843102251, -88.5303334561602, 1.380050997207067e-78}
	blobs := [][]byte{{}, {0, 1, 2, 0xff}, []byte("text, \"with\" quotes\n"), {0}}
	dates := []string{"1760-01-01T00:00:00", "9999-12-31T00:00:00", "2020-02-29T23:59:59.99", "2005-01-01T12:00:00.5"}
	var rows [][]any
	for i := range 60 {
		r := []any{int64(i + 1), texts[i%len(texts)], texts[(i+3)%len(texts)], int64(i*997%65536 - 32768), floats[i%len(floats)],
			parse(5, dates[i%len(dates)]), blobs[i%len(blobs)], i%2 == 0, parse(8, fmt.Sprintf("%d.%04d", i*1000-7000, i)),
			parse(9, fmt.Sprintf("6F9619FF-8B86-D011-B42D-00C04FC9%04X", i))}
		// Every column NULL in some rows, including beside an empty string in the same column.
		if i%5 == 4 {
			for c := 1; c < len(r); c++ {
				if (i/5+c)%3 == 0 {
					r[c] = nil
				}
			}
		}
		rows = append(rows, r)
	}

	mirrorDir := t.TempDir()
	target, err := sqlite.Open(mirrorDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	e := engine.New(target, engine.Options{})
	defer e.Close()
	const tenant = "Csv1"
	if _, err := e.SyncSchema(ctx, tenant, []schema.Table{table}); err != nil {
		t.Fatal(err)
	}
	a, err := e.BeginApply(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(table.Columns))
	for i, c := range table.Columns {
		names[i] = c.Name
	}
	w, err := a.Batch(table.Name, names)
	if err != nil {
		t.Fatal(err)
	}
	var values []bulk.Value
	for _, r := range rows {
		if values, err = bulk.ValuesOf(values[:0], r...); err != nil {
			t.Fatal(err)
		}
		if err := w.Add(bulk.Insert, values); err != nil {
			t.Fatal(err)
		}
	}
	w.SetLSN(1)
	w.Close()
	res, err := a.Finish()
	if err != nil || res[0].Err != nil {
		t.Fatalf("apply: %v %v", err, res[0].Err)
	}
	mirrorPath, err := target.Path(tenant)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tricky.csv")
	if err := writeCSV(csvPath, table.Columns, pgx.CopyFromRows(rows), appendCSVRow); err != nil {
		t.Fatal(err)
	}
	rawPath, err := sqliteTablesFile(ctx, dir, "Raw1", []schema.Table{table})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runSQLiteImport(ctx, shell, rawPath, []csvImport{{table: table.Name, path: csvPath}}); err != nil {
		t.Fatal(err)
	}
	nulls, err := compareSQLite(ctx, rawPath, mirrorPath, table, false)
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, r := range rows {
		for _, v := range r {
			if v == nil {
				want++
			}
		}
	}
	if nulls != want {
		t.Errorf("mirrord holds %d NULLs, want %d", nulls, want)
	}
	// The shell's types: numbers arrive as numbers, where the column's affinity makes them so.
	db, err := sql.Open("sqlite", "file:"+rawPath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var types string
	if err := db.QueryRow(`SELECT typeof(id) || ' ' || typeof(n) || ' ' || typeof(f) || ' ' || typeof(flag) || ' ' || typeof(amount) FROM tricky WHERE id = 2`).Scan(&types); err != nil {
		t.Fatal(err)
	}
	if types != "integer integer real integer text" {
		t.Errorf("stored types of row 2: %s", types)
	}
	if _, err := appendCSVText(nil, "zero\x00byte"); err == nil {
		t.Error("a text holding a zero byte was written to the CSV file, where the shell would cut it")
	}
}
