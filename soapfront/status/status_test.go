package status

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// clock is a settable clock for a Board.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time          { return c.now }
func (c *clock) advance(d time.Duration) { c.now = c.now.Add(d) }
func newClock() *clock                   { return &clock{now: time.Date(2026, 12, 1, 12, 0, 30, 0, time.UTC)} }
func call(tenant, op string) soapfront.Call {
	return soapfront.Call{ID: "c-" + op, Operation: op, Tenant: tenant, Outcome: "ok"}
}

func applied(tenant string, results ...engine.TableApplyResult) soapfront.Call {
	c := call(tenant, wire.OpRowData)
	c.Tables = results
	for _, r := range results {
		if r.Err != nil {
			c.Outcome = "partial"
		}
	}
	return c
}

func completed(tenant string, counts ...engine.TableCounts) soapfront.Call {
	c := call(tenant, wire.OpReplicationCompleted)
	c.Completion = &engine.Completion{Counts: counts}
	return c
}

// cycle runs a whole cycle of tenant on b, each call a second after the one before.
func runCycle(b *Board, clk *clock, tenant string, rows int64) {
	c := call(tenant, wire.OpAuthenticate)
	c.Start = clk.now
	b.Observe(c)
	clk.advance(time.Second)
	b.Observe(call(tenant, wire.OpTableSchema))
	clk.advance(time.Second)
	b.Observe(applied(tenant, engine.TableApplyResult{Name: "contact", LSN: 100 + rows, Counts: bulk.Counts{Inserted: rows}}))
	clk.advance(time.Second)
	b.Observe(completed(tenant, engine.TableCounts{Name: "contact", Counts: bulk.Counts{Inserted: rows}}))
}

func tenantByName(t *testing.T, v pageView, name string) tenantView {
	t.Helper()
	for _, tv := range v.Tenants {
		if tv.Name == name {
			return tv
		}
	}
	t.Fatalf("tenant %s is not on the page", name)
	return tenantView{}
}

func TestBoardStates(t *testing.T) {
	clk := newClock()
	b := New(Options{Now: clk.Now, Behind: time.Hour})

	runCycle(b, clk, "Cust1", 40)
	v := b.view()
	one := tenantByName(t, v, "Cust1")
	if one.State != stateOK || one.CycleRows != 40 || one.Duration != "3s" || one.RowsHour != 40 {
		t.Fatalf("after a whole cycle: %+v", one)
	}
	if len(one.Tables) != 1 || one.Tables[0].LSN != 140 || one.Tables[0].Rows != 40 {
		t.Fatalf("tables after a whole cycle: %+v", one.Tables)
	}

	// A cycle in progress.
	b.Observe(call("Cust2", wire.OpAuthenticate))
	if two := tenantByName(t, b.view(), "Cust2"); two.State != stateRunning || two.LastCycle != "never" {
		t.Fatalf("a tenant in its first cycle: %+v", two)
	}

	// A table that rolls back fails its tenant until it applies again; its LSN is the mirror's.
	b.Observe(applied("Cust1",
		engine.TableApplyResult{Name: "contact", LSN: 140, Err: errors.New(`duplicate key <script>alert(1)</script>`)},
		engine.TableApplyResult{Name: "person", LSN: 7, Counts: bulk.Counts{Updated: 2}}))
	one = tenantByName(t, b.view(), "Cust1")
	if one.State != stateFailing || len(one.Failing) != 1 || one.Failing[0].Name != "contact" || one.Failing[0].LSN != 140 {
		t.Fatalf("after a table rolled back: %+v", one)
	}
	if v := b.view(); v.Tenants[0].Name != "Cust1" {
		t.Fatalf("a failing tenant is not listed first: %s", v.Tenants[0].Name)
	}
	b.Observe(completed("Cust1", engine.TableCounts{Name: "person", Counts: bulk.Counts{Updated: 2}}))
	one = tenantByName(t, b.view(), "Cust1")
	if len(one.CycleFails) != 1 || one.CycleFails[0] != "contact" {
		t.Fatalf("the cycle does not say which table rolled back: %+v", one)
	}
	b.Observe(applied("Cust1", engine.TableApplyResult{Name: "contact", LSN: 150, Counts: bulk.Counts{Deleted: 1}}))
	if one = tenantByName(t, b.view(), "Cust1"); one.State == stateFailing {
		t.Fatalf("a table that applied again still fails its tenant: %+v", one)
	}

	// A call that fails as a whole fails its tenant until a later call succeeds.
	failed := call("Cust2", wire.OpTableSchema)
	failed.Outcome, failed.Err = "server_fault", "the database is gone"
	b.Observe(failed)
	two := tenantByName(t, b.view(), "Cust2")
	if two.State != stateFailing || two.CallErr == nil || two.CallErr.Msg != "the database is gone" {
		t.Fatalf("after a failed call: %+v", two)
	}
	b.Observe(call("Cust2", wire.OpTableSchema))
	if two = tenantByName(t, b.view(), "Cust2"); two.State == stateFailing {
		t.Fatalf("a later call succeeded, still failing: %+v", two)
	}

	// No completed cycle within Behind.
	clk.advance(61 * time.Minute)
	v = b.view()
	if one, two := tenantByName(t, v, "Cust1"), tenantByName(t, v, "Cust2"); one.State != stateBehind || two.State != stateBehind {
		t.Fatalf("an hour without a cycle, want both behind: %s %q, %s %q", one.State, one.Why, two.State, two.Why)
	}
	if v.Counts[stateBehind] != 2 {
		t.Fatalf("counts %v", v.Counts)
	}
	// The rows of more than an hour ago have left the chart.
	if one := tenantByName(t, v, "Cust1"); one.RowsHour != 0 {
		t.Fatalf("rows an hour old still counted: %d", one.RowsHour)
	}
}

func TestMinutesRing(t *testing.T) {
	clk := newClock()
	var m minutes
	m.add(clk.now, 60)
	clk.advance(time.Minute)
	m.add(clk.now, 120)
	s := m.series(clk.now)
	if s[window-1] != 120 || s[window-2] != 60 || m.total(clk.now) != 180 {
		t.Fatalf("series ends %v, total %d", s[window-3:], m.total(clk.now))
	}
	// A slot reused an hour later starts from zero.
	clk.advance(window * time.Minute)
	m.add(clk.now, 5)
	if got := m.total(clk.now); got != 5 {
		t.Fatalf("total after an hour %d, want 5", got)
	}
	c := chart(m.series(clk.now), clk.now)
	if c.PeakRPS != "0.1" || len(c.Bars) != window || c.Bars[window-1].H != chartHeight {
		t.Fatalf("chart peak %s, %d bars, last height %v", c.PeakRPS, len(c.Bars), c.Bars[window-1].H)
	}
}

func TestPageIsReadOnlyAndEscaped(t *testing.T) {
	clk := newClock()
	b := New(Options{Now: clk.Now, Version: "v9"})
	runCycle(b, clk, `Cust"<b>`, 3)
	b.Observe(applied(`Cust"<b>`, engine.TableApplyResult{Name: "contact", Err: errors.New("bad <img src=x>")}))
	srv := httptest.NewServer(b)
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(body)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("no restrictive CSP: %q", csp)
	}
	for _, raw := range []string{"<b>", "<img src=x>", "<script"} {
		if strings.Contains(page, raw) {
			t.Fatalf("the page carries %q unescaped", raw)
		}
	}
	for _, want := range []string{"Cust&#34;&lt;b&gt;", "bad &lt;img src=x&gt;", "v9", "<svg", `name="viewport"`} {
		if !strings.Contains(page, want) {
			t.Fatalf("the page lacks %q", want)
		}
	}

	resp, err = http.Post(srv.URL, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST answered %d, want 405", resp.StatusCode)
	}
}

func TestClipKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", maxErrLen)
	got := clip(s)
	if !strings.HasSuffix(got, "…") || len(got) > maxErrLen+len("…") || !utf8Valid(got) {
		t.Fatalf("clip gave %d bytes, valid %v", len(got), utf8Valid(got))
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }
