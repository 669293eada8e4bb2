package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
)

const testAppID = "mirrortask-test"

// keyFiles are made once: RSA key generation is the slow part of a small test.
var (
	keysOnce sync.Once
	keys     auth.KeyFiles
	keysErr  error
)

func testKeys(t *testing.T) auth.KeyFiles {
	keysOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mirrortask-keys")
		if err != nil {
			keysErr = err
			return
		}
		keys, keysErr = auth.GenerateKeys(dir, auth.KeygenOptions{})
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keys
}

// harness is a real mirrord (soapfront over the engine over a real target) on an httptest
// server, and the flags that point mirrortask at it.
type harness struct {
	t      *testing.T
	url    string
	target string // verify's --target
	dbName string // verify's --db-name
	dir    string
	// dropMirror removes every mirrored table of a tenant, as an operator's hard reset does.
	dropMirror func(tenant string)
	mirrors    bulk.Target
	// cleanup removes a tenant's mirror database at the end (PostgreSQL).
	cleanup func(tenant string)
	// kill, when set, makes the server drop the connection of the RowData calls it returns
	// true for, as a server killed mid-cycle would.
	kill atomic.Pointer[func() bool]
}

func newHarness(t *testing.T, target bulk.Target, verifyTarget, dbName string) *harness {
	t.Helper()
	k := testKeys(t)
	verifier := &auth.Verifier{AppID: testAppID}
	if err := verifier.LoadCertificates(k.SuperOfficeCert); err != nil {
		t.Fatal(err)
	}
	key, err := auth.LoadPartnerKey(k.PartnerXML)
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(target, engine.Options{Wait: 30 * time.Second})
	srv, err := soapfront.New(eng, soapfront.Config{AppID: testAppID, Verifier: verifier, PartnerKey: key})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, target: verifyTarget, dbName: dbName, dir: t.TempDir(), mirrors: target}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kill := h.kill.Load(); kill != nil && strings.HasSuffix(r.Header.Get("SOAPAction"), `/RowData"`) && (*kill)() {
			panic(http.ErrAbortHandler)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		eng.Close()
	})
	h.url = hs.URL + srv.Path()
	return h
}

// run runs a mirrortask command and returns its output; it fails the test on an error unless
// wantErr.
func (h *harness) run(wantErr bool, cmd string, args ...string) string {
	h.t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), cmd, args, &out)
	if (err != nil) != wantErr {
		h.t.Fatalf("mirrortask %s %s: err %v (want error: %t)\n%s", cmd, strings.Join(args, " "), err, wantErr, out.String())
	}
	h.t.Logf("mirrortask %s:\n%s", cmd, out.String())
	return out.String()
}

func (h *harness) source(name string) string { return filepath.Join(h.dir, name+".db") }

func (h *harness) syncArgs(source string, extra ...string) []string {
	k := testKeys(h.t)
	return append([]string{"--source", source, "--url", h.url, "--app-id", testAppID,
		"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey,
		"--partner-pub", k.PartnerPublicPEM, "--parallel", "3"}, extra...)
}

func (h *harness) sync(source string, extra ...string) string {
	return h.run(false, "sync", h.syncArgs(source, extra...)...)
}

func (h *harness) verify(source string) string {
	return h.run(false, "verify", "--source", source, "--target", h.target, "--db-name", h.dbName)
}

func (h *harness) verifyFails(source string) string {
	out := h.run(true, "verify", "--source", source, "--target", h.target, "--db-name", h.dbName)
	if !strings.Contains(out, "DIFFERENT") {
		h.t.Fatalf("verify failed without naming a difference:\n%s", out)
	}
	return out
}

// mode returns the sync mode a report line gives table.
func mode(report, table string) string {
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == table {
			return f[1]
		}
	}
	return ""
}

// scenarios runs the whole-cycle scenarios against one target.
func scenarios(t *testing.T, h *harness) {
	src := h.source("a")
	h.run(false, "init", "--source", src, "--scale", "3000", "--seed", "11", "--tenant", "Cust11")

	t.Run("new tenant", func(t *testing.T) {
		out := h.sync(src)
		if mode(out, "text") != "full" || !strings.Contains(out, "LSN -1") {
			t.Fatalf("a new mirror should be repopulated:\n%s", out)
		}
		h.verify(src)
	})
	t.Run("incremental with small calls", func(t *testing.T) {
		h.run(false, "change", "--source", src, "--seed", "1", "--changes", "400")
		h.run(false, "change", "--source", src, "--seed", "2", "--changes", "400")
		h.verifyFails(src)
		out := h.sync(src, "--batch-bytes", "20000")
		if mode(out, "text") != "changes" {
			t.Fatalf("changes should be sent incrementally:\n%s", out)
		}
		h.verify(src)
		again := h.sync(src)
		if !strings.Contains(again, " 0 rows") {
			t.Fatalf("a cycle with nothing changed should send nothing:\n%s", again)
		}
	})
	t.Run("schema changes", func(t *testing.T) {
		for i, kind := range []string{"add-column", "widen-column", "change-type", "add-table", "drop-table", "drop-table"} {
			h.run(false, "alter", "--source", src, "--kind", kind)
			h.run(false, "change", "--source", src, "--seed", fmt.Sprint(10+i), "--changes", "100")
			out := h.sync(src)
			switch kind {
			case "add-column":
				if mode(out, "person") != "changes" {
					t.Fatalf("a column added in place should keep the table's data:\n%s", out)
				}
			case "change-type":
				if mode(out, "project") != "full" {
					t.Fatalf("a column whose type changed should make the mirror recreate and repopulate the table:\n%s", out)
				}
			}
			h.verify(src)
		}
	})
	t.Run("wire variants", func(t *testing.T) {
		// Requests shaped as a real Task might send them, each through two cycles with changes
		// and a table dropped at the source in between: the mirror ends equal every time.
		variants := map[string][]string{
			"unknown elements": {"--variant", "unknown-elements"},
			"datacontract":     {"--variant", "datacontract"},
			"xsi nil":          {"--variant", "xsi-nil"},
			"defaults":         {"--defaults"},
			"schema per table": {"--schema-per-table"},
			"summary":          {"--summary"},
			"all of them":      {"--variant", "unknown-elements,datacontract,xsi-nil", "--defaults", "--schema-per-table", "--summary"},
		}
		for i, name := range slices.Sorted(maps.Keys(variants)) {
			flags := variants[name]
			t.Run(name, func(t *testing.T) {
				tenant := fmt.Sprintf("CustVar%d", i)
				if h.cleanup != nil {
					h.cleanup(tenant)
				}
				src := h.source("variant" + fmt.Sprint(i))
				h.run(false, "init", "--source", src, "--scale", "600", "--seed", fmt.Sprint(50+i), "--tenant", tenant)
				h.sync(src, flags...)
				h.verify(src)
				h.run(false, "change", "--source", src, "--seed", fmt.Sprint(60+i), "--changes", "200")
				h.run(false, "alter", "--source", src, "--kind", "drop-table")
				out := h.sync(src, flags...)
				if mode(out, "person") != "changes" {
					t.Fatalf("the second cycle should send changes, not repopulate:\n%s", out)
				}
				h.verify(src)
			})
		}
	})
	t.Run("restore makes the mirror ahead", func(t *testing.T) {
		backup := h.source("a-backup")
		h.run(false, "backup", "--source", src, "--to", backup)
		h.run(false, "change", "--source", src, "--seed", "30", "--changes", "50")
		h.sync(src)
		h.run(false, "restore", "--source", src, "--from", backup)
		out := h.sync(src)
		if !strings.Contains(out, "ahead of the source") {
			t.Fatalf("the restored source should see the mirror ahead:\n%s", out)
		}
		h.verify(src)
	})
	t.Run("retention exceeded", func(t *testing.T) {
		h.run(false, "change", "--source", src, "--seed", "40", "--changes", "300", "--retention", "100")
		out := h.sync(src)
		if !strings.Contains(out, "retention window") {
			t.Fatalf("tables past retention should be repopulated:\n%s", out)
		}
		h.verify(src)
	})
	t.Run("mirror tables dropped", func(t *testing.T) {
		h.dropMirror("Cust11")
		h.sync(src)
		h.verify(src)
	})
	t.Run("hidden restore needs invalidate", func(t *testing.T) {
		backup := h.source("a-backup2")
		h.run(false, "backup", "--source", src, "--to", backup)
		h.run(false, "change", "--source", src, "--seed", "50", "--changes", "60")
		h.sync(src)
		h.run(false, "restore", "--source", src, "--from", backup)
		h.run(false, "change", "--source", src, "--seed", "51", "--changes", "60")
		h.run(false, "change", "--source", src, "--seed", "52", "--changes", "60")
		h.sync(src)
		// The source's LSN passed the mirror's again, so the cycle cannot see the restore.
		h.verifyFails(src)
		m, err := h.mirrors.Open(context.Background(), "Cust11")
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Invalidate(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		h.sync(src)
		h.verify(src)
	})
	t.Run("cycle interrupted and rerun", func(t *testing.T) {
		h.run(false, "change", "--source", src, "--seed", "60", "--changes", "300")
		h.dropMirror("Cust11")
		var calls atomic.Int32
		kill := func() bool { return calls.Add(1) == 4 }
		h.kill.Store(&kill)
		var out bytes.Buffer
		err := run(context.Background(), "sync", h.syncArgs(src, "--batch-bytes", "50000"), &out)
		h.kill.Store(nil)
		if err == nil {
			t.Fatalf("a cycle whose server died reported success:\n%s", out.String())
		}
		h.sync(src)
		h.verify(src)
	})
	t.Run("three tenants at once", func(t *testing.T) {
		var wg sync.WaitGroup
		srcs := []string{h.source("t1"), h.source("t2"), h.source("t3")}
		for i, s := range srcs {
			h.run(false, "init", "--source", s, "--scale", "800", "--seed", fmt.Sprint(100+i))
			h.run(false, "change", "--source", s, "--seed", "1", "--changes", "50")
		}
		errs := make([]error, len(srcs))
		for i, s := range srcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out bytes.Buffer
				errs[i] = run(context.Background(), "sync", h.syncArgs(s, "--batch-bytes", "100000"), &out)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("tenant %d: %v", i, err)
			}
			h.verify(srcs[i])
		}
		if h.cleanup != nil {
			for i := range srcs {
				h.cleanup(fmt.Sprint("Cust", 100+i))
			}
		}
	})
}

func TestScenariosSQLite(t *testing.T) {
	t.Parallel() // the two scenario runs share nothing, and they are the package's longest tests
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, target, "sqlite://"+dir, "Mirror_{ctx}")
	h.dropMirror = func(tenant string) {
		// The target keeps the file open, so a deleted file would live on under its handle:
		// the hard reset drops every mirrored table instead.
		m, err := target.Open(context.Background(), tenant)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := m.Tables(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range tables {
			names = append(names, n)
		}
		if err := m.Drop(context.Background(), names); err != nil {
			t.Fatal(err)
		}
	}
	scenarios(t, h)
}

func TestScenariosPostgres(t *testing.T) {
	t.Parallel()
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("MIRRORD_TEST_PG_DSN is not set: the PostgreSQL scenarios need a server (make test starts one)")
	}
	ctx := context.Background()
	template := fmt.Sprintf("mt%d_{ctx}", rand.Uint32())
	target, err := pgsql.Open(ctx, dsn, pgsql.Options{NameTemplate: template})
	if err != nil {
		t.Fatal(err)
	}
	dropDB := func(tenant string) {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		name := strings.ReplaceAll(template, "{ctx}", tenant)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		target.Close()
		dropDB("Cust11")
	})
	h := newHarness(t, target, dsn, template)
	h.cleanup = func(tenant string) { t.Cleanup(func() { dropDB(tenant) }) }
	h.dropMirror = func(tenant string) {
		m, err := target.Open(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		tables, err := m.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for n := range tables {
			names = append(names, n)
		}
		if err := m.Drop(ctx, names); err != nil {
			t.Fatal(err)
		}
	}
	scenarios(t, h)
}

func TestSyncRefusesAWrongPartnerKey(t *testing.T) {
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, target, dir, "Mirror_{ctx}")
	other, err := auth.GenerateKeys(t.TempDir(), auth.KeygenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := h.source("b")
	h.run(false, "init", "--source", src, "--scale", "200", "--seed", "3")
	k := testKeys(t)
	var out bytes.Buffer
	err = run(context.Background(), "sync", []string{"--source", src, "--url", h.url, "--app-id", testAppID,
		"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey,
		"--partner-pub", other.PartnerPublicPEM}, &out)
	if err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("sync trusted an answer signed by another partner key: %v", err)
	}
	if errors.Is(err, errDifferent) {
		t.Fatal(err)
	}
}

// TestOneTableFails has the mirror refuse one table's rows (an operator's trigger): that table
// fails with the server's reason, the other tables of the same calls commit, and the next
// cycle, with the trigger gone, catches up.
func TestOneTableFails(t *testing.T) {
	dir := t.TempDir()
	target, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, target, dir, "Mirror_{ctx}")
	src := h.source("c")
	h.run(false, "init", "--source", src, "--scale", "1500", "--seed", "21", "--tenant", "Cust21")
	h.sync(src)
	db, err := sql.Open("sqlite", filepath.Join(dir, "Mirror_Cust21.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string) {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TRIGGER no_phones BEFORE INSERT ON "phone" BEGIN SELECT RAISE(ABORT, 'no new phones today'); END`)
	h.run(false, "change", "--source", src, "--seed", "5", "--changes", "600")
	var out bytes.Buffer
	err = run(context.Background(), "sync", h.syncArgs(src, "--parallel", "1"), &out)
	if err == nil || !strings.Contains(err.Error(), "phone") || !strings.Contains(out.String(), "no new phones today") {
		t.Fatalf("want table phone to fail with the mirror's reason; err %v\n%s", err, out.String())
	}
	report := h.verifyFails(src)
	for _, line := range strings.Split(report, "\n") {
		if strings.Contains(line, "DIFFERENT:") && !strings.HasPrefix(line, "phone ") && !strings.HasPrefix(line, "verify:") {
			t.Fatalf("only phone should differ:\n%s", report)
		}
	}
	exec(`DROP TRIGGER no_phones`)
	h.sync(src)
	h.verify(src)
}
