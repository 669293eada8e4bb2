package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// maxListedKeys is how many differing keys verify lists per table.
const maxListedKeys = 10

func cmdVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("verify")
	source := fs.String("source", "", "the tenant file")
	target := fs.String("target", "", "where the mirrors live: a folder or sqlite:///folder, or postgres://…")
	dbName := fs.String("db-name", "Mirror_{ctx}", "name template of the mirror database; {ctx} is the tenant")
	name := fs.String("tenant", "", "context identifier of the mirror (default: the tenant's own)")
	if err := parse(fs, args, "source", "target"); err != nil {
		return err
	}
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	ctxName := *name
	if ctxName == "" {
		ctxName = t.Name()
	}
	return verify(ctx, t, *target, *dbName, ctxName, out)
}

// mirrorDB reads a mirror with plain SQL, values converted back to bulk values.
type mirrorDB interface {
	// lsns reads the state table: each mirrored table's LSN.
	lsns(ctx context.Context, tenant string) (map[string]int64, error)
	// rows reads every row of tb, in key order.
	rows(ctx context.Context, tb schema.Table) (valueRows, error)
	// normalize turns a value into what the database can keep of it, so that both sides
	// compare alike.
	normalize(c schema.Column, v any) any
	close()
}

type valueRows interface {
	Next() bool
	Values() []any
	Err() error
	Close()
}

// tableCheck is one table's comparison.
type tableCheck struct {
	name                 string
	srcRows, mirrorRows  int64
	srcHash, mirrorHash  uint64
	problem              string
	keys                 []string
	sourceLSN, mirrorLSN int64
}

func (c *tableCheck) differs() bool { return c.problem != "" }

func verify(ctx context.Context, t *tenant.Tenant, target, dbName, ctxName string, out io.Writer) error {
	if !strings.Contains(dbName, "{ctx}") {
		return fmt.Errorf("%w: --db-name %q must contain {ctx}", errUsage, dbName)
	}
	if err := schema.CheckName("tenant", ctxName); err != nil {
		return err
	}
	database := strings.ReplaceAll(dbName, "{ctx}", ctxName)
	start := time.Now()
	m, where, err := openMirror(ctx, target, database)
	if err != nil {
		fmt.Fprintf(out, "verify tenant %s: DIFFERENT: %v\n", ctxName, err)
		return errDifferent
	}
	defer m.close()
	current, err := t.CurrentLSN(ctx)
	if err != nil {
		return err
	}
	lsns, err := m.lsns(ctx, ctxName)
	if err != nil {
		fmt.Fprintf(out, "verify tenant %s: DIFFERENT: reading the state table of %s: %v\n", ctxName, where, err)
		return errDifferent
	}
	tables := t.Tables()
	checks := make([]*tableCheck, len(tables))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var fatal error
	var fatalOnce sync.Once
	for i, tb := range tables {
		checks[i] = &tableCheck{name: tb.Name, sourceLSN: current, mirrorLSN: bulk.NoLSN}
		lsn, mirrored := lsns[tb.Name]
		if !mirrored {
			checks[i].problem = "not mirrored (no row in the state table)"
			continue
		}
		checks[i].mirrorLSN = lsn
		wg.Add(1)
		go func(c *tableCheck, tb schema.Table) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := compareTable(ctx, t, m, tb, c); err != nil {
				fatalOnce.Do(func() { fatal = err })
			}
		}(checks[i], tb)
	}
	wg.Wait()
	if fatal != nil {
		return fatal
	}
	inSource := map[string]bool{}
	for _, tb := range tables {
		inSource[tb.Name] = true
	}
	var extra []string
	for name := range lsns {
		if !inSource[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)

	fmt.Fprintf(out, "verify tenant %s: source %s (LSN %d) against %s\n", ctxName, t.Path(), current, where)
	fmt.Fprintf(out, "%-20s %10s %10s %10s  %s\n", "table", "source", "mirror", "mirrorLSN", "result")
	var rows int64
	different := 0
	for _, c := range checks {
		result := "equal"
		if c.differs() {
			different++
			result = "DIFFERENT: " + c.problem
			if len(c.keys) > 0 {
				result += "; keys: " + strings.Join(c.keys, ", ")
			}
		} else if c.mirrorLSN != c.sourceLSN {
			result = fmt.Sprintf("equal (mirror LSN %d, source %d: the next cycle resends)", c.mirrorLSN, c.sourceLSN)
		}
		rows += c.srcRows
		fmt.Fprintf(out, "%-20s %10d %10d %10d  %s\n", c.name, c.srcRows, c.mirrorRows, c.mirrorLSN, result)
	}
	for _, name := range extra {
		different++
		fmt.Fprintf(out, "%-20s %10s %10s %10d  DIFFERENT: mirrored but not at the source (dropped there)\n", name, "-", "-", lsns[name])
	}
	took := time.Since(start).Round(time.Millisecond)
	if different > 0 {
		fmt.Fprintf(out, "verify: DIFFERENT: %d of %d tables differ (%s)\n", different, len(tables)+len(extra), took)
		return errDifferent
	}
	fmt.Fprintf(out, "verified: %d tables, %d rows equal (%s)\n", len(tables), rows, took)
	return nil
}

// compareTable counts and hashes both sides; when they differ it reads both again in key order
// to name the differing keys.
func compareTable(ctx context.Context, t *tenant.Tenant, m mirrorDB, tb schema.Table, c *tableCheck) error {
	src, err := t.AllRows(ctx, tb.Name)
	if err != nil {
		return err
	}
	c.srcRows, c.srcHash, err = hashRows(tb, sourceRows{src}, m.normalize)
	src.Close()
	if err != nil {
		return fmt.Errorf("source table %s: %w", tb.Name, err)
	}
	mr, err := m.rows(ctx, tb)
	if err != nil {
		c.problem = err.Error()
		return nil
	}
	c.mirrorRows, c.mirrorHash, err = hashRows(tb, mr, m.normalize)
	mr.Close()
	if err != nil {
		c.problem = err.Error()
		return nil
	}
	if c.srcRows == c.mirrorRows && c.srcHash == c.mirrorHash {
		return nil
	}
	if c.srcRows != c.mirrorRows {
		c.problem = fmt.Sprintf("%d rows at the source, %d in the mirror", c.srcRows, c.mirrorRows)
	} else {
		c.problem = "content hash differs"
	}
	c.keys, err = differingKeys(ctx, t, m, tb)
	return err
}

// sourceRows adapts the tenant's rows to valueRows.
type sourceRows struct{ r *tenant.Rows }

func (s sourceRows) Next() bool    { return s.r.Next() }
func (s sourceRows) Values() []any { return s.r.Row().Values }
func (s sourceRows) Err() error    { return s.r.Err() }
func (s sourceRows) Close()        { s.r.Close() }

// hashRows counts rows and sums a hash of each row's canonical text: a sum does not depend on
// the order rows come in.
func hashRows(tb schema.Table, rows valueRows, normalize func(schema.Column, any) any) (n int64, sum uint64, err error) {
	for rows.Next() {
		h, err := rowHash(tb, rows.Values(), normalize)
		if err != nil {
			return n, sum, err
		}
		sum += h
		n++
	}
	return n, sum, rows.Err()
}

// rowHash hashes each column's name and canonical text (bulk.FormatValue), NULL apart from
// every text.
func rowHash(tb schema.Table, vals []any, normalize func(schema.Column, any) any) (uint64, error) {
	h := fnv.New64a()
	for i, c := range tb.Columns {
		h.Write([]byte(c.Name))
		v := normalize(c, vals[i])
		if v == nil {
			h.Write([]byte{0xff})
			continue
		}
		text, err := bulk.FormatValue(c, v)
		if err != nil {
			return 0, fmt.Errorf("column %s: %w", c.Name, err)
		}
		h.Write([]byte{0})
		h.Write([]byte(text))
		h.Write([]byte{1})
	}
	return h.Sum64(), nil
}

// differingKeys merges both sides in key order and lists up to maxListedKeys keys that are
// missing on one side or differ, with the first differing column.
func differingKeys(ctx context.Context, t *tenant.Tenant, m mirrorDB, tb schema.Table) ([]string, error) {
	key := tb.Key()[0]
	src, err := t.AllRows(ctx, tb.Name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	mr, err := m.rows(ctx, tb)
	if err != nil {
		return nil, nil
	}
	defer mr.Close()
	keyOf := func(vals []any) int64 { k, _ := vals[key].(int64); return k }
	var out []string
	sOK, mOK := src.Next(), mr.Next()
	for (sOK || mOK) && len(out) < maxListedKeys {
		switch {
		case !mOK || sOK && keyOf(src.Row().Values) < keyOf(mr.Values()):
			out = append(out, fmt.Sprintf("%d (missing in the mirror)", keyOf(src.Row().Values)))
			sOK = src.Next()
		case !sOK || keyOf(mr.Values()) < keyOf(src.Row().Values):
			out = append(out, fmt.Sprintf("%d (only in the mirror)", keyOf(mr.Values())))
			mOK = mr.Next()
		default:
			sv, mv := src.Row().Values, mr.Values()
			for i, c := range tb.Columns {
				a, b := m.normalize(c, sv[i]), m.normalize(c, mv[i])
				if !bulk.EqualValues(a, b) {
					out = append(out, fmt.Sprintf("%d (column %s: source %s, mirror %s)", keyOf(sv), c.Name, show(c, a), show(c, b)))
					break
				}
			}
			sOK, mOK = src.Next(), mr.Next()
		}
	}
	return out, errors.Join(src.Err(), mr.Err())
}

func show(c schema.Column, v any) string {
	if v == nil {
		return "NULL"
	}
	s, err := bulk.FormatValue(c, v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// openMirror opens the mirror database named database under target: a folder (or
// sqlite:///folder) holding <database>.db, or a PostgreSQL server.
func openMirror(ctx context.Context, target, database string) (mirrorDB, string, error) {
	target = strings.TrimSpace(target)
	scheme, _, hasScheme := strings.Cut(target, "://")
	if !hasScheme {
		scheme = ""
	}
	switch strings.ToLower(scheme) {
	case "", "sqlite", "file":
		dir := target
		if hasScheme {
			u, err := url.Parse(target)
			if err != nil {
				return nil, "", fmt.Errorf("--target %q: %v", target, err)
			}
			dir = u.Host + u.Path
		}
		path := filepath.Join(dir, database+".db")
		if _, err := os.Stat(path); err != nil {
			return nil, path, fmt.Errorf("mirror %s: %w", path, err)
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
		if err != nil {
			return nil, path, err
		}
		return &sqliteMirror{db: db}, path, nil
	case "postgres", "postgresql":
		cfg, err := pgx.ParseConfig(target)
		if err != nil {
			return nil, "", fmt.Errorf("--target: %v", err)
		}
		cfg.Database = database
		where := fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, database)
		conns := make(chan *pgx.Conn, 4)
		for range cap(conns) {
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				close(conns)
				for c := range conns {
					c.Close(ctx)
				}
				return nil, where, fmt.Errorf("mirror database %s: %w", database, err)
			}
			conns <- conn
		}
		return &pgMirror{conns: conns}, where, nil
	}
	return nil, "", fmt.Errorf("--target %q: unknown scheme %q (want a folder, sqlite:// or postgres://)", target, scheme)
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func selectAll(tb schema.Table, column func(c schema.Column) string) string {
	cols := make([]string, len(tb.Columns))
	for i, c := range tb.Columns {
		cols[i] = column(c)
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + quoteIdent(tb.Name) +
		" ORDER BY " + quoteIdent(tb.Columns[tb.Key()[0]].Name)
}

// sqliteMirror reads mirrord's SQLite target, which keeps integers, floats, strings and bytes
// natively and the other types as canonical text (bulk/sqlite/TYPES.md): the same decoding as
// the tenant's own file.
type sqliteMirror struct{ db *sql.DB }

func (m *sqliteMirror) close() { m.db.Close() }

func (m *sqliteMirror) normalize(_ schema.Column, v any) any { return v }

func (m *sqliteMirror) lsns(ctx context.Context, tenant string) (map[string]int64, error) {
	rows, err := m.db.QueryContext(ctx, "SELECT tablename, lsn FROM "+quoteIdent(bulk.StateTable(tenant))+" WHERE tablename <> '"+bulk.CycleRow+"'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var lsn int64
		if err := rows.Scan(&name, &lsn); err != nil {
			return nil, err
		}
		out[name] = lsn
	}
	return out, rows.Err()
}

func (m *sqliteMirror) rows(ctx context.Context, tb schema.Table) (valueRows, error) {
	for _, c := range tb.Columns {
		if err := schema.CheckName("column", c.Name); err != nil {
			return nil, err
		}
	}
	rows, err := m.db.QueryContext(ctx, selectAll(tb, func(c schema.Column) string { return quoteIdent(c.Name) }))
	if err != nil {
		return nil, fmt.Errorf("reading the mirror: %w", err)
	}
	r := &sqlRows{rows: rows, tb: tb, raw: make([]any, len(tb.Columns)), ptrs: make([]any, len(tb.Columns))}
	for i := range r.raw {
		r.ptrs[i] = &r.raw[i]
	}
	return r, nil
}

type sqlRows struct {
	rows *sql.Rows
	tb   schema.Table
	raw  []any
	ptrs []any
	vals []any
	err  error
}

func (r *sqlRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	if r.err = r.rows.Scan(r.ptrs...); r.err != nil {
		return false
	}
	r.vals = make([]any, len(r.raw))
	for i, c := range r.tb.Columns {
		v, err := tenant.DecodeSQLite(c, r.raw[i])
		if err != nil {
			r.err = fmt.Errorf("mirror table %s, column %s: %w", r.tb.Name, c.Name, err)
			return false
		}
		r.vals[i] = v
	}
	return true
}

func (r *sqlRows) Values() []any { return r.vals }

func (r *sqlRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *sqlRows) Close() { r.rows.Close() }

// pgMirror reads mirrord's PostgreSQL target (bulk/pgsql/types.go) through a few connections.
type pgMirror struct{ conns chan *pgx.Conn }

func (m *pgMirror) close() {
	close(m.conns)
	for c := range m.conns {
		c.Close(context.Background())
	}
}

func (m *pgMirror) lsns(ctx context.Context, tenant string) (map[string]int64, error) {
	conn := <-m.conns
	defer func() { m.conns <- conn }()
	rows, err := conn.Query(ctx, "SELECT tablename, lsn FROM "+quoteIdent(bulk.StateTable(tenant))+" WHERE tablename <> '"+bulk.CycleRow+"'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var lsn int64
		if err := rows.Scan(&name, &lsn); err != nil {
			return nil, err
		}
		out[name] = lsn
	}
	return out, rows.Err()
}

// normalize keeps what PostgreSQL keeps of a value, as documented beside its target:
// fractional seconds truncated to microseconds (milliseconds for datetime, none for
// smalldatetime), and of a datetimeoffset the instant only.
func (m *pgMirror) normalize(c schema.Column, v any) any {
	switch x := v.(type) {
	case time.Time:
		digits := 6
		switch c.Type {
		case schema.DateTime:
			digits = 3
		case schema.SmallDateTime:
			digits = 0
		case schema.DateTime2, schema.DateTimeOffset:
			digits = min(c.Scale, 6)
		}
		unit := time.Second
		for range digits {
			unit /= 10
		}
		x = x.Truncate(unit)
		if c.Type == schema.DateTimeOffset {
			return x.UTC()
		}
		return x
	case bulk.TimeOfDay:
		return bulk.TimeOfDay(time.Duration(x).Truncate(time.Microsecond))
	}
	return v
}

func (m *pgMirror) rows(ctx context.Context, tb schema.Table) (valueRows, error) {
	for _, c := range tb.Columns {
		if err := schema.CheckName("column", c.Name); err != nil {
			return nil, err
		}
	}
	// Decimals and times come as text, which bulk.ParseValue reads exactly.
	q := selectAll(tb, func(c schema.Column) string {
		switch c.Type {
		case schema.Decimal, schema.Numeric, schema.Money, schema.SmallMoney, schema.Time:
			return quoteIdent(c.Name) + "::text"
		}
		return quoteIdent(c.Name)
	})
	conn := <-m.conns
	rows, err := conn.Query(ctx, q)
	if err != nil {
		m.conns <- conn
		return nil, fmt.Errorf("reading the mirror: %w", err)
	}
	return &pgRows{m: m, conn: conn, rows: rows, tb: tb}, nil
}

type pgRows struct {
	m      *pgMirror
	conn   *pgx.Conn
	rows   pgx.Rows
	tb     schema.Table
	vals   []any
	err    error
	closed bool
}

func (r *pgRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	raw, err := r.rows.Values()
	if err != nil {
		r.err = err
		return false
	}
	r.vals = make([]any, len(raw))
	for i, c := range r.tb.Columns {
		v, err := fromPG(c, raw[i])
		if err != nil {
			r.err = fmt.Errorf("mirror table %s, column %s: %w", r.tb.Name, c.Name, err)
			return false
		}
		r.vals[i] = v
	}
	return true
}

func (r *pgRows) Values() []any { return r.vals }

func (r *pgRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func (r *pgRows) Close() {
	if r.closed {
		return
	}
	r.closed = true
	r.rows.Close()
	r.m.conns <- r.conn
}

// fromPG converts a value pgx decoded into the bulk value of column c.
func fromPG(c schema.Column, raw any) (any, error) {
	if raw == nil {
		return nil, nil
	}
	switch x := raw.(type) {
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case bool:
		return x, nil
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	case []byte:
		return x, nil
	case [16]byte:
		return bulk.UUID(x), nil
	case time.Time:
		if c.Type == schema.DateTimeOffset {
			return x.UTC(), nil
		}
		// date and timestamp carry no zone: the wall clock as stored, in UTC.
		return time.Date(x.Year(), x.Month(), x.Day(), x.Hour(), x.Minute(), x.Second(), x.Nanosecond(), time.UTC), nil
	case string:
		switch c.Type {
		case schema.Char, schema.VarChar, schema.NChar, schema.NVarChar, schema.Text, schema.NText, schema.XML:
			return x, nil
		}
		return bulk.ParseValue(c, x)
	}
	return nil, fmt.Errorf("a %T value does not hold a %s", raw, c.TypeString())
}
