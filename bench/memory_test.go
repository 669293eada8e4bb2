package bench

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// Peak memory while one large RowData request streams through the whole server (issue 3: under
// 100 MB for 1 GiB). The default run sends 64 MiB (16 MiB under the race detector, which slows
// the SQLite path twentyfold) and asserts a bound on the heap in use, which does not depend on
// what else the machine runs; the full 1 GiB run is
//
//	MIRRORD_BENCH_MEMORY=1 go test ./bench -run TestRowDataMemory -v -timeout 30m

const (
	memoryTenant = "Cust7"
	// memoryHeapBound is the issue's goal of 100 MB, asserted on the peak of the Go heap in use.
	memoryHeapBound = 100_000_000
	// smallBody is the always-on size: large enough that a decoder or loader holding the body
	// would pass the bound many times over, small enough to keep the test suite fast.
	smallBody = 64 << 20
	raceBody  = 16 << 20
)

// rowDataStream is a RowData request of contact rows with distinct keys, rendered as it is
// read: nothing but one block of rows is ever held.
type rowDataStream struct {
	buf   bytes.Buffer
	w     *wire.RowDataWriter
	size  int64 // bytes of rows to send before the request is closed
	sent  int64
	rows  int64
	done  bool
	err   error
	block int // rows rendered per refill
}

func newRowDataStream(token string, size int64) (*rowDataStream, error) {
	s := &rowDataStream{size: size, block: 500}
	s.w = wire.NewRowDataWriter(&s.buf, token, "memory")
	if err := s.w.Begin(contact.Table.Name, contact.Table.Columns); err != nil {
		return nil, err
	}
	return s, s.w.Flush()
}

func (s *rowDataStream) Read(p []byte) (int, error) {
	for s.buf.Len() == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.done {
			return 0, io.EOF
		}
		s.err = s.refill()
	}
	n, _ := s.buf.Read(p)
	s.sent += int64(n)
	return n, nil
}

func (s *rowDataStream) refill() error {
	if s.sent >= s.size {
		s.done = true
		if err := s.w.EndLSN(s.rows); err != nil {
			return err
		}
		return s.w.Close()
	}
	for range s.block {
		s.rows++
		if err := s.w.Row(bulk.Insert, s.rows, contact.Row(s.rows, 0)...); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

// memorySampler records the peak of the Go heap in use (objects, live or not yet swept, plus
// the free space of spans in use: what runtime.MemStats calls HeapInuse) and of the memory the
// Go runtime holds from the system and has not returned.
type memorySampler struct {
	stop    chan struct{}
	done    sync.WaitGroup
	samples []metrics.Sample

	mu           sync.Mutex
	peakHeap     uint64
	peakRuntime  uint64
	sampleCount  int
	peakWhenHeap time.Duration
}

func startMemorySampler(every time.Duration) *memorySampler {
	m := &memorySampler{stop: make(chan struct{}), samples: []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}}
	start := time.Now()
	m.sample(start)
	m.done.Add(1)
	go func() {
		defer m.done.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				m.sample(start)
				return
			case <-tick.C:
				m.sample(start)
			}
		}
	}()
	return m
}

func (m *memorySampler) sample(start time.Time) {
	metrics.Read(m.samples)
	heap := m.samples[0].Value.Uint64() + m.samples[1].Value.Uint64()
	held := m.samples[2].Value.Uint64() - m.samples[3].Value.Uint64()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sampleCount++
	if heap > m.peakHeap {
		m.peakHeap, m.peakWhenHeap = heap, time.Since(start)
	}
	m.peakRuntime = max(m.peakRuntime, held)
}

func (m *memorySampler) finish() {
	close(m.stop)
	m.done.Wait()
}

// heapInUse is the heap in use now, after a collection.
func heapInUse() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux 4.0 and later); it reports
// whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// peakRSS reads VmHWM, the process's peak resident set, or 0 where /proc is not available.
func peakRSS() uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	n, _ := vmHWM(string(status))
	return n
}

// vmHWM returns the VmHWM line of a /proc/<pid>/status text in bytes, and whether there was a
// well-formed one.
func vmHWM(status string) (uint64, bool) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "VmHWM:")
		if !ok {
			continue
		}
		number, ok := strings.CutSuffix(strings.TrimSpace(rest), " kB")
		if !ok {
			return 0, false
		}
		kb, err := strconv.ParseUint(strings.TrimSpace(number), 10, 64)
		if err != nil {
			return 0, false
		}
		return kb << 10, true
	}
	return 0, false
}

// memoryServer is a soapfront.Server over an engine on target, behind httptest, with keys
// made by auth.GenerateKeys.
type memoryServer struct {
	url  string
	sign func(t testing.TB) string
	// engine is the server's engine, for loads that bypass the front end (untimed set-up).
	engine *engine.Engine
	// issue signs a token for any tenant; a random nonce when nonce is empty.
	issue func(tenant, nonce string) (string, error)
}

func newMemoryServer(t testing.TB, files auth.KeyFiles, target bulk.Target, maxBody int64) *memoryServer {
	partner, err := auth.LoadPartnerKey(files.PartnerXML)
	if err != nil {
		t.Fatal(err)
	}
	soKey, err := auth.LoadPartnerKey(files.SuperOfficeKey)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := auth.ReadCertificates(files.SuperOfficeCert)
	if err != nil {
		t.Fatal(err)
	}
	v := &auth.Verifier{}
	if err := v.SetCertificates(certs...); err != nil {
		t.Fatal(err)
	}
	e := engine.New(target, engine.Options{})
	t.Cleanup(func() { e.Close() })
	const appID = "mirrord-bench"
	srv, err := soapfront.New(e, soapfront.Config{AppID: appID, Verifier: v, PartnerKey: partner, MaxBody: maxBody})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(srv.Path(), srv)
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	cert := certs[0]
	return &memoryServer{url: hs.URL + srv.Path(), sign: func(t testing.TB) string {
		return signToken(t, soKey, cert, appID)
	}, engine: e, issue: func(tenant, nonce string) (string, error) {
		return auth.IssueToken(soKey, cert, auth.IssueClaims{AppID: appID, Tenant: tenant, Nonce: nonce})
	}}
}

func signToken(t testing.TB, key *rsa.PrivateKey, cert *x509.Certificate, appID string) string {
	tok, err := auth.IssueToken(key, cert, auth.IssueClaims{AppID: appID, Tenant: memoryTenant})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post sends one call and returns the response body, failing unless the status is 200.
func (s *memoryServer) post(t *testing.T, op string, body io.Reader) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"`+wire.Action(op)+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: status %d: %.500s", op, resp.StatusCode, out)
	}
	return out
}

// TestRowDataMemory streams one RowData request through the server into SQLite, and into
// PostgreSQL when MIRRORD_TEST_PG_DSN is set, and checks the peak heap in use against the goal.
func TestRowDataMemory(t *testing.T) {
	size := int64(smallBody)
	if raceEnabled {
		size = raceBody
	}
	if os.Getenv("MIRRORD_BENCH_MEMORY") == "1" {
		size = 1 << 30
	}
	keys, err := auth.GenerateKeys(t.TempDir(), auth.KeygenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sqlite", func(t *testing.T) {
		target, err := sqlite.Open(t.TempDir(), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		measureRowDataMemory(t, keys, target, size)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
		if dsn == "" {
			t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run (set it to a superuser DSN)")
		}
		measureRowDataMemory(t, keys, pgTarget(t, dsn), size)
	})
}

// pgTarget opens a PostgreSQL target whose tenant databases carry a random prefix, and drops
// them when the test ends.
func pgTarget(t *testing.T, dsn string) bulk.Target {
	ctx := context.Background()
	prefix := fmt.Sprintf("benchmem%d_", rand.Uint32())
	target, err := pgsql.Open(ctx, dsn, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		target.Close()
		conn, err := pgx.ConnectConfig(ctx, admin)
		if err != nil {
			t.Errorf("dropping %s%s: %v", prefix, memoryTenant, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{prefix + memoryTenant}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("dropping %s%s: %v", prefix, memoryTenant, err)
		}
	})
	return target
}

func measureRowDataMemory(t *testing.T, keys auth.KeyFiles, target bulk.Target, size int64) {
	srv := newMemoryServer(t, keys, target, size+(16<<20))
	var buf bytes.Buffer
	if err := wire.WriteTableSchemaRequest(&buf, srv.sign(t), wire.TableSchemaRequest{Tables: []schema.Table{contact.Table}}); err != nil {
		t.Fatal(err)
	}
	srv.post(t, wire.OpTableSchema, &buf)

	body, err := newRowDataStream(srv.sign(t), size)
	if err != nil {
		t.Fatal(err)
	}
	before := heapInUse()
	rssReset := resetPeakRSS()
	sampler := startMemorySampler(5 * time.Millisecond)
	start := time.Now()
	out := srv.post(t, wire.OpRowData, body)
	elapsed := time.Since(start)
	sampler.finish()
	rss := peakRSS()

	resp, err := wire.ReadRowDataResponse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Tables) != 1 || resp.Tables[0].ErrorMessage != "" || resp.Tables[0].Inserted != body.rows || resp.Tables[0].LSN != body.rows {
		t.Fatalf("RowData of %d rows answered %+v", body.rows, resp.Tables)
	}
	rssNote := "peak RSS since start of process"
	if rssReset {
		rssNote = "peak RSS during the call"
	}
	t.Logf("%d MiB body, %d rows in %v (%.1f MB/s): peak heap in use %.1f MiB (%.1f MiB before the call), "+
		"peak Go runtime memory %.1f MiB, %s %.1f MiB; %d samples, heap peak at %v",
		body.sent>>20, body.rows, elapsed.Round(time.Millisecond), float64(body.sent)/1e6/elapsed.Seconds(),
		mib(sampler.peakHeap), mib(before), mib(sampler.peakRuntime), rssNote, mib(rss),
		sampler.sampleCount, sampler.peakWhenHeap.Round(time.Millisecond))
	if sampler.peakHeap > memoryHeapBound {
		t.Errorf("peak heap in use %.1f MiB while a %d MiB RowData request streamed; the bound is %.1f MiB (100 MB)",
			mib(sampler.peakHeap), body.sent>>20, mib(memoryHeapBound))
	}
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
