package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

var (
	mirrordOnce sync.Once
	mirrordBin  string
	mirrordErr  error
)

// buildMirrord builds cmd/mirrord once for the test binary.
func buildMirrord(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs mirrord processes; skipped in -short")
	}
	mirrordOnce.Do(func() {
		dir, err := os.MkdirTemp("", "mirrord-bin")
		if err != nil {
			mirrordErr = err
			return
		}
		mirrordBin = filepath.Join(dir, "mirrord")
		out, err := exec.Command("go", "build", "-o", mirrordBin, "github.com/mirrord/mirrord/cmd/mirrord").CombinedOutput()
		if err != nil {
			mirrordErr = fmt.Errorf("build mirrord: %v\n%s", err, out)
		}
	})
	if mirrordErr != nil {
		t.Fatal(mirrordErr)
	}
	return mirrordBin
}

var listening = regexp.MustCompile(`msg=serving .*\blisten=(\S+)`)

// startMirrord starts a real mirrord serve process on target and returns it and its endpoint.
func startMirrord(t *testing.T, target string, extra ...string) (*exec.Cmd, string) {
	t.Helper()
	bin := buildMirrord(t)
	k := testKeys(t)
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--target", target,
		"--app-id", testAppID, "--partner-key", k.PartnerXML, "--superoffice-cert", k.SuperOfficeCert}, extra...)
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if m := listening.FindStringSubmatch(lines.Text()); m != nil {
			go func() { // keep draining the log so that the server never blocks on it
				for lines.Scan() {
				}
			}()
			return cmd, "http://" + m[1] + "/mirroring"
		}
	}
	t.Fatalf("mirrord serve did not start: %v", lines.Err())
	return nil, ""
}

// processTarget is a target two processes share: how to point mirrord and verify at it, and a
// target of the test's own to look into the mirror.
type processTarget struct {
	name     string
	target   string   // --target of mirrord and verify
	extra    []string // further flags of mirrord and verify (--db-name)
	inspect  bulk.Target
	teardown func()
}

func processTargets(t *testing.T) []processTarget {
	dir := t.TempDir()
	lite, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := []processTarget{{name: "sqlite", target: dir, inspect: lite, teardown: func() { lite.Close() }}}
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		t.Log("MIRRORD_TEST_PG_DSN is not set: the two-process runs use SQLite only")
		return out
	}
	ctx := context.Background()
	template := fmt.Sprintf("mp%d_{ctx}", rand.Uint32())
	pg, err := pgsql.Open(ctx, dsn, pgsql.Options{NameTemplate: template})
	if err != nil {
		t.Fatal(err)
	}
	return append(out, processTarget{name: "postgres", target: dsn, extra: []string{"--db-name", template}, inspect: pg, teardown: func() {
		pg.Close()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		rows, _ := conn.Query(ctx, "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", strings.TrimSuffix(template, "{ctx}"))
		names, _ := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, n := range names {
			conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)")
		}
	}})
}

// TestTwoProcessesCycles: two mirrord processes serve one target behind a round-robin balancer;
// whole cycles with changes and every kind of schema change between them leave the mirror equal.
func TestTwoProcessesCycles(t *testing.T) {
	for _, pt := range processTargets(t) {
		t.Run(pt.name, func(t *testing.T) {
			defer pt.teardown()
			_, a := startMirrord(t, pt.target, pt.extra...)
			_, b := startMirrord(t, pt.target, pt.extra...)
			k := testKeys(t)
			src := filepath.Join(t.TempDir(), "two.db")
			runOK(t, "init", "--source", src, "--scale", "3000", "--seed", "21", "--tenant", "Cust21")
			syncBoth := func() string {
				return runOK(t, "sync", "--source", src, "--url", a+","+b, "--app-id", testAppID,
					"--superoffice-cert", k.SuperOfficeCert, "--superoffice-key", k.SuperOfficeKey,
					"--partner-pub", k.PartnerPublicPEM, "--parallel", "3", "--batch-bytes", "30000")
			}
			verify := func() { runOK(t, "verify", append([]string{"--source", src, "--target", pt.target}, pt.extra...)...) }
			syncBoth()
			verify()
			for i, kind := range []string{"add-column", "change-type", "widen-column", "add-table", "drop-table"} {
				runOK(t, "change", "--source", src, "--seed", fmt.Sprint(40+i), "--changes", "300")
				runOK(t, "alter", "--source", src, "--kind", kind)
				syncBoth()
				verify()
			}
		})
	}
}

func runOK(t *testing.T, cmd string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), cmd, args, &out); err != nil {
		t.Fatalf("mirrortask %s: %v\n%s", cmd, err, out.String())
	}
	return out.String()
}

// processClient makes calls for one tenant to one mirrord process.
func processClient(t *testing.T, url, tenant string) *client {
	k := testKeys(t)
	key, cert, err := loadSigner(k.SuperOfficeCert, k.SuperOfficeKey)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := auth.LoadPartnerPublicKey(k.PartnerPublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	tk := &task{urls: []string{url}, appID: testAppID, soKey: key, soCert: cert, partnerPub: pub, client: &http.Client{Timeout: time.Minute}}
	return &client{task: tk, tenant: tenant}
}

// rows sends one RowData call of one batch to a process and returns the table's answer.
func sendRows(t *testing.T, c *client, table string, cols []schema.Column, lsn int64, rows ...[]any) wire.RowDataTableState {
	t.Helper()
	token, err := c.token("")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	rw := wire.NewRowDataWriter(&body, token, "")
	if err := rw.Begin(table, cols); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := rw.Row(r[0].(bulk.Op), lsn, r[1:]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := rw.EndLSN(lsn); err != nil {
		t.Fatal(err)
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := c.rowData(context.Background(), body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Tables[0]
}

// TestTwoProcessesNoSilentLoss replays the two ways rows were lost while success was answered:
// process B read the catalog before process A changed a table's key, then B inserted rows the
// old key would have merged into one; and a mirrored table named like the staging table.
func TestTwoProcessesNoSilentLoss(t *testing.T) {
	ctx := context.Background()
	for _, pt := range processTargets(t) {
		t.Run(pt.name, func(t *testing.T) {
			defer pt.teardown()
			_, a := startMirrord(t, pt.target, pt.extra...)
			_, b := startMirrord(t, pt.target, pt.extra...)
			const tenant = "CustLoss"
			ca, cb := processClient(t, a, tenant), processClient(t, b, tenant)
			id := schema.Column{Name: "id", Type: schema.Int, PrimaryKey: true}
			k := schema.Column{Name: "k", Type: schema.Int}
			v := schema.Column{Name: "v", Type: schema.NVarChar, Length: 10, Nullable: true}
			before := schema.Table{Name: "t", Columns: []schema.Column{id, k, v}}
			k.PrimaryKey = true
			after := schema.Table{Name: "t", Columns: []schema.Column{id, k, v}}
			stage := schema.Table{Name: "mirrord_stage_1", Columns: []schema.Column{id, v}}

			if _, err := ca.authenticate(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := ca.tableSchema(ctx, []schema.Table{before, stage}); err != nil {
				t.Fatal(err)
			}
			if _, err := cb.authenticate(ctx); err != nil { // B reads the catalog: key (id)
				t.Fatal(err)
			}
			if _, err := ca.tableSchema(ctx, []schema.Table{after, stage}); err != nil { // A: key (id, k)
				t.Fatal(err)
			}
			st := sendRows(t, cb, "t", after.Columns, 7,
				[]any{bulk.Insert, int64(1), int64(1), "a"}, []any{bulk.Insert, int64(1), int64(2), "b"})
			if st.ErrorMessage != "" || st.Inserted != 2 || st.LSN != 7 {
				t.Fatalf("B's answer after A changed the key: %+v", st)
			}
			m, err := pt.inspect.Open(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := m.RowCount(ctx, "t"); err != nil || n != 2 {
				t.Fatalf("table t holds %d rows (%v) after B answered Inserted=2", n, err)
			}

			// The table named like a staging table takes its rows, through staging too.
			sendRows(t, ca, stage.Name, stage.Columns, 1, []any{bulk.Insert, int64(1), "x"}, []any{bulk.Insert, int64(2), "y"})
			st = sendRows(t, cb, stage.Name, stage.Columns, 2, []any{bulk.Update, int64(1), "x2"}, []any{bulk.Delete, int64(2), nil}, []any{bulk.Insert, int64(3), "z"})
			if st.ErrorMessage != "" || st.Inserted != 1 || st.Updated != 1 || st.Deleted != 1 || st.LSN != 2 {
				t.Fatalf("the staging-named table's answer: %+v", st)
			}
			if n, err := m.RowCount(ctx, stage.Name); err != nil || n != 2 {
				t.Fatalf("table %s holds %d rows (%v), want 2", stage.Name, n, err)
			}
			states, err := m.States(ctx)
			if err != nil || states[stage.Name].LSN != 2 || states["t"].LSN != 7 {
				t.Fatalf("LSNs %+v, %v", states, err)
			}
		})
	}
}
