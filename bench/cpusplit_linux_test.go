package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
)

// Where the engine's time goes: for the same loads as BenchmarkRepopulate/Engine and
// BenchmarkIncremental/Engine, the CPU time of this process (the client side: the engine, the
// value conversion and pgx; no XML is decoded) and of the PostgreSQL backends serving the
// tenant database, each per operation beside the wall time. Linux only: it reads /proc.
//
//	go test ./bench -run '^$' -bench EngineCPUSplit -benchtime 3x -count 3 [-cpuprofile cpu.out]

// userHZ is the unit of the CPU times in /proc/<pid>/stat; 100 on every Linux architecture Go
// supports.
const userHZ = 100

func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU returns the CPU time of each PostgreSQL backend connected to database, by pid. It
// needs the server on this machine and /proc readable for its processes.
func backendCPU(b *testing.B, conn *pgx.Conn, database string) map[int]time.Duration {
	rows, _ := conn.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		b.Fatal(err)
	}
	out := make(map[int]time.Duration, len(pids))
	for _, pid := range pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Skipf("cannot read the CPU time of PostgreSQL backend %d (is the server on another machine?): %v", pid, err)
		}
		cpu, err := procStatCPU(string(stat))
		if err != nil {
			b.Fatalf("/proc/%d/stat: %v", pid, err)
		}
		out[int(pid)] = cpu
	}
	return out
}

// procStatCPU returns the user plus system CPU time of a /proc/<pid>/stat line.
func procStatCPU(stat string) (time.Duration, error) {
	// The command name may hold spaces and parentheses; the fields after its last closing
	// parenthesis do not.
	end := strings.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("no command name in %.80q", stat)
	}
	fields := strings.Fields(stat[end+1:])
	// utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%d fields after the command name, want at least 13", len(fields))
	}
	utime, err := strconv.ParseInt(fields[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("utime %q: %w", fields[11], err)
	}
	stime, err := strconv.ParseInt(fields[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stime %q: %w", fields[12], err)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// cpuSplit accumulates the wall, client and server time of the timed loads of one benchmark,
// and, from samples of pg_stat_activity, the time the tenant database's backends spent in each
// kind of statement.
type cpuSplit struct {
	wall, client, server time.Duration
	database             string
	// observer is a connection to another database of the server, so that sampling is not
	// counted as the tenant's server time.
	observer *pgx.Conn
	// statements is the sampled time per statement kind (first word of the statement).
	statements map[string]time.Duration
}

func newCPUSplit(b *testing.B, p *pgBench) *cpuSplit {
	cfg, err := pgx.ParseConfig(os.Getenv("MIRRORD_TEST_PG_DSN"))
	if err != nil {
		b.Fatal(err)
	}
	observer, err := pgx.ConnectConfig(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { observer.Close(context.Background()) })
	return &cpuSplit{database: p.conn.Config().Database, observer: observer, statements: map[string]time.Duration{}}
}

// sampleEvery is the period of the pg_stat_activity samples: fine enough for loads of
// hundreds of milliseconds, coarse enough not to load a two-core machine.
const sampleEvery = 10 * time.Millisecond

// sampleStatements adds sampleEvery to the kind of each active statement of the tenant's
// backends, sampled until stop is closed.
func (s *cpuSplit) sampleStatements(b *testing.B, stop <-chan struct{}) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		rows, _ := s.observer.Query(context.Background(),
			"SELECT upper(split_part(ltrim(query), ' ', 1)) FROM pg_stat_activity WHERE datname = $1 AND state = 'active'", s.database)
		kinds, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			b.Error(err)
			return
		}
		for _, k := range kinds {
			s.statements[k] += sampleEvery
		}
	}
}

// measure runs load once and adds its times. Backends that exit during load are not counted;
// the engine keeps its connections open, so none do.
func (s *cpuSplit) measure(b *testing.B, conn *pgx.Conn, load func()) {
	serverBefore := backendCPU(b, conn, s.database)
	clientBefore := processCPUTime()
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		s.sampleStatements(b, stop)
	}()
	start := time.Now()
	// The label follows the goroutines load starts, so that a CPU profile of this benchmark
	// can keep the loads apart from the setup: go tool pprof -tagfocus=phase=load.
	pprof.Do(context.Background(), pprof.Labels("phase", "load"), func(context.Context) { load() })
	s.wall += time.Since(start)
	s.client += processCPUTime() - clientBefore
	close(stop)
	<-sampled
	for pid, t := range backendCPU(b, conn, s.database) {
		s.server += t - serverBefore[pid]
	}
}

func (s *cpuSplit) report(b *testing.B, rowsPerOp int) {
	n := float64(b.N)
	b.ReportMetric(float64(rowsPerOp)*n/s.wall.Seconds(), "rows/s")
	b.ReportMetric(s.wall.Seconds()*1e3/n, "wall-ms/op")
	b.ReportMetric(s.client.Seconds()*1e3/n, "client-cpu-ms/op")
	b.ReportMetric(s.server.Seconds()*1e3/n, "server-cpu-ms/op")
	for kind, d := range s.statements {
		b.ReportMetric(d.Seconds()*1e3/n, "ms-in-"+strings.ToLower(kind)+"/op")
	}
}

func BenchmarkEngineCPUSplit(b *testing.B) {
	b.Run("Repopulate", func(b *testing.B) {
		p := setupPG(b)
		e := engine.New(p.target, engine.Options{})
		defer e.Close()
		changes := make([]change, repopulateRows)
		for i := range changes {
			changes[i] = newChange(bulk.Insert, contact.Row(int64(i+1), 0))
		}
		split := newCPUSplit(b, p)
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			if err := e.Wipe(ctx, p.tenant, []string{"contact"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			split.measure(b, p.conn, func() { viaEngine(b, e, p.tenant, changes, int64(i+1)) })
		}
		split.report(b, repopulateRows)
	})
	b.Run("Incremental", func(b *testing.B) {
		p := setupPG(b)
		e := engine.New(p.target, engine.Options{})
		defer e.Close()
		base := make([][]any, 0, 50_000)
		for id := int64(1); id <= incrementalBase; id++ {
			base = append(base, contact.Row(id, 0))
			if len(base) == cap(base) || id == incrementalBase {
				p.rawCopy(b, "contact", base)
				base = base[:0]
			}
		}
		p.exec(b, "VACUUM ANALYZE contact")
		split := newCPUSplit(b, p)
		next := int64(incrementalBase)
		for gen := 1; b.Loop(); gen++ {
			b.StopTimer()
			changes := incrementalChanges(incrementalRows, incrementalBase, &next, gen)
			b.StartTimer()
			split.measure(b, p.conn, func() { viaEngine(b, e, p.tenant, changes, int64(gen)) })
		}
		split.report(b, incrementalRows)
	})
}
