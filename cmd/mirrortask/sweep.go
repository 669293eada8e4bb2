package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mirrord/mirrord/bulk/target"
)

// sweepSettings are the flags of mirrortask bench --sweep.
type sweepSettings struct {
	target      string
	dbName      string
	mssqlCreate string
	tenants     int
	rows        int64
	repeat      int
	tolerance   float64 // percent
	perTenant   []int
	overall     []int // empty: from each per-tenant value up to what the tenants can use
	maxConns    int   // 0: read from the target where it tells
	parallel    int   // 0: the largest per-tenant value
	batchBytes  int
	seed        uint64
	spoolDir    string
	keep        bool
	timeout     time.Duration
}

// sweepRequested reports whether bench's arguments ask for the sweep, which has flags of its own.
func sweepRequested(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-sweep", "--sweep", "-sweep=true", "--sweep=true":
			return true
		}
	}
	return false
}

// intList is a flag of comma-separated positive integers.
type intList []int

func (l *intList) String() string {
	parts := make([]string, len(*l))
	for i, v := range *l {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ",")
}

func (l *intList) Set(s string) error {
	var out []int
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || v < 1 {
			return fmt.Errorf("%q is not a whole number of at least 1", part)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	*l = out
	return nil
}

func cmdSweep(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("bench --sweep")
	var s sweepSettings
	fs.Bool("sweep", true, "measure mirrord's worker counts against --target and recommend --max-applies and --max-applies-per-tenant")
	fs.StringVar(&s.target, "target", "", "the target to measure, as mirrord serve takes it: a folder (SQLite), postgres://…/postgres or sqlserver://…?database=master")
	fs.StringVar(&s.dbName, "db-name", "Mirror_{ctx}", "name template of the sweep tenants' mirror databases (or files), as mirrord's --db-name")
	fs.StringVar(&s.mssqlCreate, "mssql-create-options", "", "SQL Server only: options after CREATE DATABASE [name], as mirrord's")
	fs.IntVar(&s.tenants, "tenants", 4, "tenants syncing at once, each its own mirror: how many of yours sync at the same time at peak")
	fs.Int64Var(&s.rows, "rows", 40_000, "about how many rows each tenant sends, over 31 SuperOffice tables (about 1 KB a row)")
	fs.IntVar(&s.repeat, "repeat", 3, "rounds over every setting; each setting's figure is the median of its rounds")
	fs.Float64Var(&s.tolerance, "tolerance", 5, "a setting whose throughput is at most this many percent below the best counts as good as the best")
	perTenant := intList{1, 2, 4, 8}
	fs.Var(&perTenant, "per-tenant", "--max-applies-per-tenant values to measure (default 1,2,4,8; 1 on a target that writes one table of a tenant at a time, as SQLite does)")
	var overall intList
	fs.Var(&overall, "max-applies", "--max-applies values to measure (default: for each per-tenant value, doubling from it up to --tenants times it)")
	fs.IntVar(&s.maxConns, "max-connections", 0, "database connections the sweep may use; settings that may need more are left out (default: what PostgreSQL has free; none on SQLite)")
	fs.IntVar(&s.parallel, "parallel", 0, "RowData calls in flight per tenant, one table per call (default: 4, as mirrortask sync sends them, or the largest per-tenant value when that is more)")
	fs.IntVar(&s.batchBytes, "batch-bytes", DefaultBatchBytes, "bytes of encoded XML per RowData call")
	fs.Uint64Var(&s.seed, "seed", 1, "seed of the tenants' content")
	fs.StringVar(&s.spoolDir, "spool-dir", "", "folder of the temporary files: the encoded requests, the source tenant and throwaway keys (default: the system's temporary folder)")
	fs.BoolVar(&s.keep, "keep", false, "keep the sweep tenants' mirrors (by default they are dropped, or emptied on SQL Server)")
	fs.DurationVar(&s.timeout, "timeout", 10*time.Minute, "longest wait for one call, and for an apply slot inside mirrord")
	if err := parse(fs, args, "target"); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "per-tenant":
			s.perTenant = perTenant
		case "max-applies":
			s.overall = overall
		}
	})
	if err := s.check(); err != nil {
		return err
	}
	spec, err := target.Parse(s.target)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	sw := &sweep{s: s, spec: spec, out: out}
	return sw.run(ctx)
}

func (s *sweepSettings) check() error {
	switch {
	case s.tenants < 1, s.rows < 1, s.repeat < 1, s.batchBytes < 1:
		return fmt.Errorf("%w: --tenants, --rows, --repeat and --batch-bytes must be at least 1", errUsage)
	case s.parallel < 0, s.maxConns < 0:
		return fmt.Errorf("%w: --parallel and --max-connections cannot be negative", errUsage)
	case s.tolerance < 0 || s.tolerance >= 100:
		return fmt.Errorf("%w: --tolerance %g is not a percentage from 0 to below 100", errUsage, s.tolerance)
	case !strings.Contains(s.dbName, "{ctx}"):
		return fmt.Errorf("%w: --db-name %q has no {ctx}", errUsage, s.dbName)
	}
	return nil
}

// sweepSetting is one point of the grid: mirrord serve's two worker counts.
type sweepSetting struct {
	perTenant  int // --max-applies-per-tenant
	maxApplies int // --max-applies
}

func (st sweepSetting) String() string {
	return fmt.Sprintf("--max-applies %d --max-applies-per-tenant %d", st.maxApplies, st.perTenant)
}

// sweepGrid lists the settings to measure, per-tenant value by value: the overall values given,
// or else doubling from the per-tenant value up to tenants times it (a cap above what the
// tenants can run at once measures the same as that). A setting that fits rejects is left out
// and returned apart.
func sweepGrid(perTenant, overall []int, tenants int, fits func(sweepSetting) bool) (grid, left []sweepSetting) {
	for _, per := range perTenant {
		values := overall
		if len(values) == 0 {
			for v := per; v < tenants*per; v *= 2 {
				values = append(values, v)
			}
			values = append(values, tenants*per)
		}
		for _, v := range values {
			st := sweepSetting{perTenant: per, maxApplies: v}
			if fits != nil && !fits(st) {
				left = append(left, st)
				continue
			}
			grid = append(grid, st)
		}
	}
	return grid, left
}

// connsNeeded is the most connections mirrord may hold on a PostgreSQL or SQL Server target at
// a setting: each tenant's pool keeps up to one for each apply the tenant ran at once and one
// for catalog reads, and the target keeps one more to create databases.
func connsNeeded(st sweepSetting, tenants int) int {
	return tenants*(min(st.perTenant, st.maxApplies)+1) + 1
}

// sweepResult is one setting's measurements, a round each.
type sweepResult struct {
	sweepSetting
	rates []float64       // rows per second
	cpu   []time.Duration // CPU of this process in the timed phase; empty where not measured
}

func (r *sweepResult) rate() float64 { return median(r.rates) }

func (r *sweepResult) cpuSeconds() (float64, bool) {
	if len(r.cpu) == 0 {
		return 0, false
	}
	secs := make([]float64, len(r.cpu))
	for i, d := range r.cpu {
		secs[i] = d.Seconds()
	}
	return median(secs), true
}

// median of the values; the mean of the middle two for an even count.
func median(values []float64) float64 {
	if len(values) == 0 {
		return 0
	}
	v := slices.Clone(values)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// recommend picks the setting to run with: of the settings whose median rows/s is within
// tolerance percent of the best, the one with the fewest connections (the smallest
// --max-applies), then the fewest per tenant. It returns the indexes of the best and of the
// pick, or -1 for both when there are no results.
func recommend(results []sweepResult, tolerance float64) (best, pick int) {
	best, pick = -1, -1
	for i := range results {
		if best < 0 || results[i].rate() > results[best].rate() {
			best = i
		}
	}
	if best < 0 {
		return -1, -1
	}
	floor := results[best].rate() * (1 - tolerance/100)
	for i := range results {
		r := &results[i]
		if r.rate() < floor {
			continue
		}
		if pick < 0 || r.maxApplies < results[pick].maxApplies ||
			r.maxApplies == results[pick].maxApplies && r.perTenant < results[pick].perTenant {
			pick = i
		}
	}
	return best, pick
}

// printSweep writes the table of measurements and the recommendation.
func printSweep(out io.Writer, tenants int, results []sweepResult, tolerance float64) {
	best, pick := recommend(results, tolerance)
	if best < 0 {
		fmt.Fprintln(out, "nothing was measured")
		return
	}
	fmt.Fprintf(out, "%7s  %10s  %11s  %9s  %7s  %7s\n", "tenants", "per-tenant", "max-applies", "rows/s", "cpu-s", "vs best")
	top := results[best].rate()
	for i := range results {
		r := &results[i]
		cpu := "-"
		if secs, ok := r.cpuSeconds(); ok {
			cpu = fmt.Sprintf("%.2f", secs)
		}
		vs := "best"
		if i != best {
			vs = fmt.Sprintf("%+.1f%%", 100*(r.rate()/top-1))
		}
		mark := ""
		if i == pick {
			mark = "  <- recommended"
		}
		fmt.Fprintf(out, "%7d  %10d  %11d  %9.0f  %7s  %7s%s\n", tenants, r.perTenant, r.maxApplies, r.rate(), cpu, vs, mark)
	}
	fmt.Fprintf(out, "recommend: %s   (within %g%% of the best, fewest connections)\n", results[pick].sweepSetting, tolerance)
}
