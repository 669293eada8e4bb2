package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestRecommend(t *testing.T) {
	res := func(per, overall int, rates ...float64) sweepResult {
		return sweepResult{sweepSetting: sweepSetting{perTenant: per, maxApplies: overall}, rates: rates}
	}
	tests := []struct {
		name       string
		results    []sweepResult
		tolerance  float64
		best, pick int
	}{
		{"nothing measured", nil, 5, -1, -1},
		{"one setting", []sweepResult{res(1, 4, 100)}, 5, 0, 0},
		{"the best is also the fewest", []sweepResult{res(1, 1, 200), res(1, 2, 150), res(2, 4, 190)}, 5, 0, 0},
		{"a smaller cap within tolerance wins", []sweepResult{res(4, 16, 1000), res(4, 4, 960), res(2, 8, 990)}, 5, 0, 1},
		{"just outside tolerance loses", []sweepResult{res(4, 16, 1000), res(4, 4, 949)}, 5, 0, 0},
		{"on the edge of tolerance counts", []sweepResult{res(4, 16, 1000), res(4, 4, 950)}, 5, 0, 1},
		{"same cap: fewer per tenant", []sweepResult{res(4, 8, 1000), res(2, 8, 990), res(8, 8, 1000)}, 5, 0, 1},
		{"zero tolerance takes the best", []sweepResult{res(1, 1, 999), res(8, 32, 1000)}, 0, 1, 1},
		{"median of the rounds, not the best round", []sweepResult{res(1, 1, 1000, 10, 20), res(2, 2, 500, 500, 500)}, 5, 1, 1},
	}
	for _, tt := range tests {
		best, pick := recommend(tt.results, tt.tolerance)
		if best != tt.best || pick != tt.pick {
			t.Errorf("%s: best %d, pick %d; want %d, %d", tt.name, best, pick, tt.best, tt.pick)
		}
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{nil, 0}, {[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %g, want %g", tt.in, got, tt.want)
		}
	}
}

func TestSweepGrid(t *testing.T) {
	s := func(pairs ...int) []sweepSetting {
		var out []sweepSetting
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, sweepSetting{perTenant: pairs[i], maxApplies: pairs[i+1]})
		}
		return out
	}
	tests := []struct {
		name       string
		per, over  []int
		tenants    int
		room       int
		grid, left []sweepSetting
	}{
		{"doubling up to what the tenants use", []int{1, 2}, nil, 4, 0, s(1, 1, 1, 2, 1, 4, 2, 2, 2, 4, 2, 8), nil},
		{"a cap that is not a power of two", []int{2}, nil, 3, 0, s(2, 2, 2, 4, 2, 6), nil},
		{"one tenant", []int{1, 4}, nil, 1, 0, s(1, 1, 4, 4), nil},
		{"values given", []int{1, 4}, []int{8, 16}, 4, 0, s(1, 8, 1, 16, 4, 8, 4, 16), nil},
		// 4 tenants at 4 per tenant may hold 4*(4+1)+1 = 21 connections.
		{"over the connection room", []int{2, 4}, nil, 4, 20, s(2, 2, 2, 4, 2, 8), s(4, 4, 4, 8, 4, 16)},
	}
	for _, tt := range tests {
		var fits func(sweepSetting) bool
		if tt.room > 0 {
			fits = func(st sweepSetting) bool { return connsNeeded(st, tt.tenants) <= tt.room }
		}
		grid, left := sweepGrid(tt.per, tt.over, tt.tenants, fits)
		if !slices.Equal(grid, tt.grid) || !slices.Equal(left, tt.left) {
			t.Errorf("%s: grid %v, left %v; want %v, %v", tt.name, grid, left, tt.grid, tt.left)
		}
	}
}

func TestSweepFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"--url", "x"}, false},
		{[]string{"--rows", "5", "--sweep"}, true},
		{[]string{"-sweep=true"}, true},
		{[]string{"--", "--sweep"}, false},
	} {
		if got := sweepRequested(tt.args); got != tt.want {
			t.Errorf("sweepRequested(%q) = %t", tt.args, got)
		}
	}
	var l intList
	if err := l.Set("8, 2,2,1"); err != nil || l.String() != "1,2,8" {
		t.Errorf("intList: %v, %v", l, err)
	}
	for _, bad := range []string{"0", "two", "1,,2"} {
		if err := l.Set(bad); err == nil {
			t.Errorf("intList accepted %q", bad)
		}
	}
	err := run(context.Background(), "bench", []string{"--sweep", "--target", t.TempDir(), "--tolerance", "100"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--tolerance 100") {
		t.Errorf("--tolerance 100: %v", err)
	}
	err = run(context.Background(), "bench", []string{"--sweep"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--target") {
		t.Errorf("no --target: %v", err)
	}
}

// sweepTable reads the table of a sweep's output: the settings measured, and the one
// recommended.
func sweepTable(t *testing.T, out string) (measured []sweepSetting, recommended sweepSetting) {
	t.Helper()
	lines := strings.Split(out, "\n")
	head := slices.IndexFunc(lines, func(l string) bool { return strings.Fields(l) != nil && strings.Fields(l)[0] == "tenants" })
	if head < 0 {
		t.Fatalf("no table in the output:\n%s", out)
	}
	if got := strings.Fields(lines[head]); !slices.Equal(got, []string{"tenants", "per-tenant", "max-applies", "rows/s", "cpu-s", "vs", "best"}) {
		t.Fatalf("table header %q", lines[head])
	}
	bests := 0
	for _, l := range lines[head+1:] {
		f := strings.Fields(l)
		if len(f) == 0 || f[0] == "recommend:" {
			break
		}
		var n [4]float64
		for i := range n {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Fatalf("row %q: column %d is not a number", l, i+1)
			}
			n[i] = v
		}
		if n[3] <= 0 {
			t.Errorf("row %q: no throughput", l)
		}
		if f[4] != "-" {
			if _, err := strconv.ParseFloat(f[4], 64); err != nil {
				t.Errorf("row %q: cpu-s %q", l, f[4])
			}
		}
		if f[5] == "best" {
			bests++
		} else if v, err := strconv.ParseFloat(strings.TrimSuffix(f[5], "%"), 64); err != nil || v > 0 || !strings.HasSuffix(f[5], "%") {
			t.Errorf("row %q: vs best %q is not a percentage at or below the best", l, f[5])
		}
		measured = append(measured, sweepSetting{perTenant: int(n[1]), maxApplies: int(n[2])})
	}
	if bests != 1 {
		t.Errorf("%d rows are the best, want one", bests)
	}
	var rec string
	for _, l := range lines {
		if after, ok := strings.CutPrefix(l, "recommend: "); ok {
			rec = after
		}
	}
	if _, err := fmt.Sscanf(rec, "--max-applies %d --max-applies-per-tenant %d", &recommended.maxApplies, &recommended.perTenant); err != nil {
		t.Fatalf("recommend line %q: %v", rec, err)
	}
	if !slices.Contains(measured, recommended) {
		t.Errorf("recommended %v is none of the measured %v", recommended, measured)
	}
	return measured, recommended
}

func TestSweepSQLite(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := run(context.Background(), "bench", []string{"--sweep", "--target", dir, "--tenants", "2", "--rows", "300",
		"--repeat", "2", "--batch-bytes", "50000", "--spool-dir", t.TempDir()}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	measured, _ := sweepTable(t, out.String())
	// SQLite writes one table of a tenant at a time: only per-tenant 1 is measured, and the
	// output says why.
	if want := []sweepSetting{{1, 1}, {1, 2}}; !slices.Equal(measured, want) {
		t.Errorf("measured %v, want %v", measured, want)
	}
	if !strings.Contains(out.String(), "SQLite: a file takes one writer") {
		t.Errorf("the output does not say why per-tenant is 1 on SQLite")
	}
	if n := strings.Count(out.String(), "round "); n != 4 {
		t.Errorf("%d measurements, want 2 settings x 2 rounds", n)
	}
	left, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(left) != 0 {
		t.Errorf("the sweep left %v in the target folder (%v)", left, err)
	}
}

func TestSweepPostgres(t *testing.T) {
	dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
	if dsn == "" {
		t.Skip("MIRRORD_TEST_PG_DSN is not set")
	}
	var id [3]byte
	rand.Read(id[:])
	prefix := "sweeptest_" + hex.EncodeToString(id[:]) + "_"
	var out bytes.Buffer
	err := run(context.Background(), "bench", []string{"--sweep", "--target", dsn, "--db-name", prefix + "{ctx}",
		"--tenants", "2", "--rows", "300", "--repeat", "1", "--per-tenant", "1,2", "--spool-dir", t.TempDir()}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	measured, _ := sweepTable(t, out.String())
	if want := []sweepSetting{{1, 1}, {1, 2}, {2, 2}, {2, 4}}; !slices.Equal(measured, want) {
		t.Errorf("measured %v, want %v", measured, want)
	}
	if !strings.Contains(out.String(), "connections: PostgreSQL has") {
		t.Errorf("the output does not say how many connections PostgreSQL has free")
	}
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM pg_database WHERE datname LIKE $1", prefix+"%").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the sweep's mirror databases are left", left)
	}
}
