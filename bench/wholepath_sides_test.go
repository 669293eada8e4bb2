//go:build linux

package bench

// The two databases of BenchmarkWholePath. Each side serves mirrord's target to the server and
// makes, loads, counts and compares the raw load's fresh databases beside it.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/internal/netproxy"
	"github.com/mirrord/mirrord/schema"
)

// rawTable is one table's rows as the raw load takes them.
type rawTable struct {
	table schema.Table
	csv   string // the file the raw load reads: .import's, or COPY's as psql's \copy sends it
}

// wholeSide is one database: mirrord's target, and the raw loads beside it. Tenants of the raw
// load and of mirrord are told apart by name; each gets a fresh database or file.
type wholeSide interface {
	target() bulk.Target
	// rawTable readies rows for the raw load, before any clock.
	rawTable(b *testing.B, t schema.Table, source func() (pgx.CopyFromSource, error)) rawTable
	// prepareRaw makes the raw tenant's fresh database holding tables, by mirrord's DDL.
	prepareRaw(ctx context.Context, tenant string, tables []schema.Table) error
	// rawLoad loads the tables and returns the time the load took.
	rawLoad(ctx context.Context, tenant string, tables []rawTable) (time.Duration, error)
	// settle runs right before each timed load, so that neither pays for the other's writes.
	settle(ctx context.Context) error
	// afterBase runs after a base load of mirrord's tenant, before its timed cycle.
	afterBase(ctx context.Context, tenant string) error
	// count counts the rows of table matching where ("" for all), in the raw tenant's database
	// or in mirrord's mirror.
	count(ctx context.Context, tenant string, raw bool, table, where string) (int64, error)
	// compare checks that the raw load and mirrord stored the same rows, and says what it did.
	compare(ctx context.Context, rawTenant, mirrorTenant string, tables []schema.Table) (string, error)
	// prepareUpsert makes the upsert baseline's tenant holding u's base, loaded as mirrord's
	// tenant's base is, and readies its load, before any clock.
	prepareUpsert(ctx context.Context, tenant string, u *upsertLoad) error
	// upsertLoad runs the upsert baseline and returns the time it took.
	upsertLoad(ctx context.Context, tenant string, u *upsertLoad) (time.Duration, error)
	// compareUpsert checks that the upsert baseline and mirrord stored exactly the same rows.
	compareUpsert(ctx context.Context, upsertTenant, mirrorTenant string, tables []schema.Table) (string, error)
	// drop removes mirrord's tenant's database and the baselines'.
	drop(ctx context.Context, mirrorTenant string, rawTenants ...string) error
}

// pgSide is a PostgreSQL server: mirrord's tenant databases and the raw loads' side by side,
// all named with a random prefix and dropped at the end.
type pgSide struct {
	dsn     string
	prefix  string
	mirrors *pgsql.Target
	raws    *pgsql.Target
	admin   *pgx.Conn
	conns   map[string]*pgx.Conn // the raw tenants' connections
	// csvDir holds the raw load's CSV files, written before any clock.
	csvDir   string
	csvFiles int
	// proxy carries every connection when MIRRORD_BENCH_PG_DELAY is set; nil otherwise.
	proxy *netproxy.Proxy
}

// roundTrips counts the round trips of every connection so far, when a proxy counts them.
func (p *pgSide) roundTrips() (int64, bool) {
	if p.proxy == nil {
		return 0, false
	}
	return p.proxy.RoundTrips(), true
}

func newPGSide(b *testing.B) (p *pgSide) {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		b.Skip("MIRRORD_TEST_PG_DSN is not set; the PostgreSQL whole-path benchmarks need a server (a superuser DSN)")
	}
	ctx := context.Background()
	// MIRRORD_BENCH_PG_DELAY puts a network between the benchmark and the server: every byte
	// held back that long each way (a Go duration: 250us is a round trip of half a millisecond).
	if v := os.Getenv("MIRRORD_BENCH_PG_DELAY"); v != "" {
		delay, err := time.ParseDuration(v)
		if err != nil || delay < 0 {
			b.Fatalf("MIRRORD_BENCH_PG_DELAY=%q: want a duration such as 250us", v)
		}
		var proxy *netproxy.Proxy
		dsn, proxy = delayedDSN(b, dsn, delay)
		rtt, err := roundTrip(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("PostgreSQL through a delay of %s each way: a round trip of %s (median of SELECT 1)", delay, rtt.Round(time.Microsecond))
		defer func() { p.proxy = proxy }()
	}
	p = &pgSide{dsn: dsn, prefix: fmt.Sprintf("whole%d_", rand.Uint32()), conns: map[string]*pgx.Conn{}, csvDir: b.TempDir()}
	var err error
	if p.admin, err = pgx.Connect(ctx, dsn); err != nil {
		b.Fatal(err)
	}
	opts := pgsql.Options{NameTemplate: p.prefix + "{ctx}"}
	if p.mirrors, err = pgsql.Open(ctx, dsn, opts); err != nil {
		b.Fatal(err)
	}
	if p.raws, err = pgsql.Open(ctx, dsn, opts); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, c := range p.conns {
			c.Close(ctx)
		}
		p.mirrors.Close()
		p.raws.Close()
		rows, _ := p.admin.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", p.prefix)
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Errorf("listing the benchmark's databases: %v", err)
		}
		for _, name := range names {
			if _, err := p.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
				b.Errorf("dropping %s: %v", name, err)
			}
		}
		p.admin.Close(ctx)
	})
	return p
}

func (p *pgSide) target() bulk.Target { return p.mirrors }

func (p *pgSide) rawTable(b *testing.B, t schema.Table, source func() (pgx.CopyFromSource, error)) rawTable {
	p.csvFiles++
	return writeRawTable(b, filepath.Join(p.csvDir, fmt.Sprintf("%s-%d.csv", t.Name, p.csvFiles)), t, source, appendPGCSVRow)
}

// writeRawTable writes a table's rows to the CSV file at path, each by appendRow, before any clock.
func writeRawTable(b *testing.B, path string, t schema.Table, source func() (pgx.CopyFromSource, error), appendRow func([]byte, []schema.Column, []any) ([]byte, error)) rawTable {
	src, err := source()
	if err != nil {
		b.Fatalf("rows of %s: %v", t.Name, err)
	}
	if err := writeCSV(path, t.Columns, src, appendRow); err != nil {
		b.Fatal(err)
	}
	return rawTable{table: t, csv: path}
}

func (p *pgSide) connect(ctx context.Context, tenant string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(p.dsn)
	if err != nil {
		return nil, err
	}
	cfg.Database = p.prefix + tenant
	return pgx.ConnectConfig(ctx, cfg)
}

func (p *pgSide) prepareRaw(ctx context.Context, tenant string, tables []schema.Table) error {
	m, err := p.raws.Open(ctx, tenant)
	if err != nil {
		return err
	}
	for _, t := range tables {
		if err := m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, t)}); err != nil {
			return fmt.Errorf("creating raw table %s: %w", t.Name, err)
		}
	}
	conn, err := p.connect(ctx, tenant)
	if err != nil {
		return err
	}
	p.conns[tenant] = conn
	return nil
}

func (p *pgSide) rawLoad(ctx context.Context, tenant string, tables []rawTable) (time.Duration, error) {
	conn := p.conns[tenant]
	runtime.GC()
	start := time.Now()
	for _, t := range tables {
		if _, err := copyCSV(ctx, conn, t.table, t.csv); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}

func (p *pgSide) settle(ctx context.Context) error {
	_, err := p.admin.Exec(ctx, "CHECKPOINT")
	return err
}

func (p *pgSide) afterBase(ctx context.Context, tenant string) error {
	conn, err := p.connect(ctx, tenant)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// As autovacuum leaves a mirror between cycles: statistics, hint bits and visibility map set.
	_, err = conn.Exec(ctx, "VACUUM ANALYZE")
	return err
}

func (p *pgSide) count(ctx context.Context, tenant string, raw bool, table, where string) (int64, error) {
	conn, err := p.connect(ctx, tenant)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	q := "SELECT count(*) FROM " + pgx.Identifier{table}.Sanitize()
	if where != "" {
		q += " WHERE " + where
	}
	var n int64
	if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", q, err)
	}
	return n, nil
}

func (p *pgSide) compare(ctx context.Context, rawTenant, mirrorTenant string, tables []schema.Table) (string, error) {
	return p.compareWith(ctx, "the raw load", rawTenant, mirrorTenant, tables)
}

// compareWith compares the tables of a baseline's tenant, named what, with mirrord's.
func (p *pgSide) compareWith(ctx context.Context, what, rawTenant, mirrorTenant string, tables []schema.Table) (string, error) {
	raw, err := p.connect(ctx, rawTenant)
	if err != nil {
		return "", err
	}
	defer raw.Close(ctx)
	mirror, err := p.connect(ctx, mirrorTenant)
	if err != nil {
		return "", err
	}
	defer mirror.Close(ctx)
	for _, t := range tables {
		a, err := pgDigest(ctx, raw, t)
		if err != nil {
			return "", err
		}
		m, err := pgDigest(ctx, mirror, t)
		if err != nil {
			return "", err
		}
		if a != m {
			return "", fmt.Errorf("table %s: %s holds %s, mirrord %s", t.Name, what, a, m)
		}
	}
	return fmt.Sprintf("every row of %d tables equal in %s and mirrord's mirror (md5 of the rows' text)", len(tables), what), nil
}

func (p *pgSide) drop(ctx context.Context, mirrorTenant string, rawTenants ...string) error {
	for _, t := range rawTenants {
		if c := p.conns[t]; c != nil {
			c.Close(ctx)
			delete(p.conns, t)
		}
	}
	for _, t := range append([]string{mirrorTenant}, rawTenants...) {
		if _, err := p.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{p.prefix + t}.Sanitize()+" WITH (FORCE)"); err != nil {
			return fmt.Errorf("dropping %s: %w", p.prefix+t, err)
		}
	}
	return nil
}

// sqliteSide is a folder of mirrord's SQLite files and a folder of the raw loads' files.
type sqliteSide struct {
	shell          string
	rawDir, csvDir string
	mirrors        *sqlite.Target
	csvFiles       int
}

func newSQLiteSide(b *testing.B) *sqliteSide {
	s := &sqliteSide{shell: lookSQLite3(b), rawDir: b.TempDir(), csvDir: b.TempDir()}
	var err error
	if s.mirrors, err = sqlite.Open(b.TempDir(), sqlite.Options{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.mirrors.Close() })
	return s
}

func (s *sqliteSide) target() bulk.Target { return s.mirrors }

func (s *sqliteSide) rawTable(b *testing.B, t schema.Table, source func() (pgx.CopyFromSource, error)) rawTable {
	s.csvFiles++
	return writeRawTable(b, filepath.Join(s.csvDir, fmt.Sprintf("%s-%d.csv", t.Name, s.csvFiles)), t, source, appendCSVRow)
}

func (s *sqliteSide) rawPath(tenant string) string {
	return filepath.Join(s.rawDir, strings.Replace(sqlite.DefaultFileName, "{ctx}", tenant, 1))
}

func (s *sqliteSide) prepareRaw(ctx context.Context, tenant string, tables []schema.Table) error {
	path, err := sqliteTablesFile(ctx, s.rawDir, tenant, tables)
	if err != nil {
		return err
	}
	if path != s.rawPath(tenant) {
		return fmt.Errorf("the raw file is %s, not %s", path, s.rawPath(tenant))
	}
	return nil
}

func (s *sqliteSide) rawLoad(ctx context.Context, tenant string, tables []rawTable) (time.Duration, error) {
	imports := make([]csvImport, len(tables))
	for i, t := range tables {
		imports[i] = csvImport{table: t.table.Name, path: t.csv}
	}
	return runSQLiteImport(ctx, s.shell, s.rawPath(tenant), imports)
}

func (s *sqliteSide) settle(context.Context) error             { return nil }
func (s *sqliteSide) afterBase(context.Context, string) error  { return nil }
func (s *sqliteSide) mirrorPath(tenant string) (string, error) { return s.mirrors.Path(tenant) }
func (s *sqliteSide) path(tenant string, raw bool) (string, error) {
	if raw {
		return s.rawPath(tenant), nil
	}
	return s.mirrorPath(tenant)
}

func (s *sqliteSide) count(ctx context.Context, tenant string, raw bool, table, where string) (int64, error) {
	path, err := s.path(tenant, raw)
	if err != nil {
		return 0, err
	}
	return sqliteRowCount(ctx, path, table, where)
}

func (s *sqliteSide) compare(ctx context.Context, rawTenant, mirrorTenant string, tables []schema.Table) (string, error) {
	mirror, err := s.mirrorPath(mirrorTenant)
	if err != nil {
		return "", err
	}
	var nulls, tablesWithNulls int64
	for _, t := range tables {
		n, err := compareSQLite(ctx, s.rawPath(rawTenant), mirror, t, false)
		if err != nil {
			return "", err
		}
		nulls += n
		if n > 0 {
			tablesWithNulls++
		}
	}
	return fmt.Sprintf("every value of %d tables equal in the raw load and mirrord's mirror; mirrord's %d NULLs (in %d tables) are '' in the raw load, binary values hex text",
		len(tables), nulls, tablesWithNulls), nil
}

func (s *sqliteSide) drop(_ context.Context, mirrorTenant string, rawTenants ...string) error {
	mirror, err := s.mirrorPath(mirrorTenant)
	if err != nil {
		return err
	}
	var errs []error
	files := []string{mirror}
	for _, t := range rawTenants {
		files = append(files, s.rawPath(t))
	}
	// mirrord keeps its file open until the target closes; unlinking it frees the space then.
	for _, f := range files {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Remove(f + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
