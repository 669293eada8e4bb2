package hooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/hooks"
	"github.com/mirrord/mirrord/soapfront/wire"
)

const testSecret = "partner-secret"

// receiver is a webhook receiver that checks each delivery's signature and keeps the events.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	events []hooks.Event
	tries  map[string]int // delivery id -> requests seen
	// status answers the nth request (from 1); 200 when nil.
	status func(n int) int
	n      int
}

func newReceiver(t *testing.T) *receiver { return &receiver{t: t, tries: map[string]int{}} }

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.n++
	id := r.Header.Get(hooks.HeaderDelivery)
	rc.tries[id]++
	if status := rc.statusOf(rc.n); status != http.StatusOK {
		w.WriteHeader(status)
		return
	}
	// Checked as a partner would: the HMAC of the exact body under the shared secret.
	if got, want := r.Header.Get(hooks.HeaderSignature), hooks.Sign([]byte(testSecret), body); got != want {
		rc.t.Errorf("delivery %s: signature %q, want %q", id, got, want)
	}
	var ev hooks.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		rc.t.Errorf("delivery %s: %v: %s", id, err, body)
	}
	if ev.ID != id || r.Header.Get(hooks.HeaderEvent) != ev.Event || r.Header.Get("Content-Type") != "application/json" {
		rc.t.Errorf("delivery %s: headers %v do not match the event %+v", id, r.Header, ev)
	}
	rc.events = append(rc.events, ev)
}

func (rc *receiver) statusOf(n int) int {
	if rc.status == nil {
		return http.StatusOK
	}
	return rc.status(n)
}

func (rc *receiver) requests() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.n
}

func (rc *receiver) received() []hooks.Event {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.events)
}

// recorder writes a script that keeps each run's stdin and MIRRORD_* environment in a folder.
type recorder struct{ dir, script string }

func newRecorder(t *testing.T) recorder {
	dir := t.TempDir()
	script := filepath.Join(dir, "record.sh")
	body := "#!/bin/sh\nf=$(mktemp '" + dir + "/run.XXXXXX')\n" +
		"printf '%s\\n%s\\n%s\\n' \"$MIRRORD_EVENT\" \"$MIRRORD_TENANT\" \"$MIRRORD_TABLE\" > \"$f.env\"\ncat > \"$f.json\"\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return recorder{dir: dir, script: script}
}

// runs returns every run's event, after checking that its environment names the same event.
func (r recorder) runs(t *testing.T) []hooks.Event {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(r.dir, "run.*.json"))
	var out []hooks.Event
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var ev hooks.Event
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v: %s", f, err, raw)
		}
		env, _ := os.ReadFile(strings.TrimSuffix(f, ".json") + ".env")
		if want := ev.Event + "\n" + ev.Tenant + "\n" + ev.Table + "\n"; string(env) != want {
			t.Errorf("run of %s had MIRRORD_EVENT, _TENANT, _TABLE %q, want %q", ev.Event, env, want)
		}
		out = append(out, ev)
	}
	return out
}

func unix(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the hook scripts of this test are sh scripts")
	}
}

// summary is an event as the tests compare it: kind, table and schema change.
func summary(evs []hooks.Event) []string {
	var out []string
	for _, ev := range evs {
		s := ev.Event
		if ev.Table != "" {
			s += " " + ev.Table
		}
		if ev.SchemaChange != "" {
			s += " " + ev.SchemaChange
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestEventsOverCycles runs two whole cycles (creates, a wipe, a recreate by a changed key, a
// table that rolls back) and checks that every event reaches a command and a webhook exactly
// once, where it should, with what it should carry.
func TestEventsOverCycles(t *testing.T) {
	unix(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		rec := newRecorder(t)
		rc := newReceiver(t)
		web := httptest.NewServer(rc)
		defer web.Close()
		var execs []hooks.ExecHook
		for _, ev := range hooks.Events {
			execs = append(execs, hooks.ExecHook{Event: ev, Command: rec.script})
		}
		fx := newFixture(t, b, hooks.Config{Exec: execs, Webhooks: []string{web.URL + "/hook?token=x"}, Secret: testSecret})

		// Cycle 1: contact and person are created, person is wiped after its first rows.
		began := time.Now()
		fx.authenticate("cs-1")
		if got := fx.tableSchema("cs-1", contactTable(), personTable()); got["contact"] != "Created" || got["person"] != "Created" {
			t.Fatalf("TableSchema answered %v", got)
		}
		res := fx.rowData(batch{contactTable(), bulk.Insert, rows(1, 3, "c"), 10}, batch{personTable(), bulk.Insert, rows(1, 2, "p"), 20})
		if res["contact"].ErrorMessage != "" || res["person"].ErrorMessage != "" {
			t.Fatalf("RowData answered %+v", res)
		}
		fx.rowData(batch{contactTable(), bulk.Update, rows(1, 1, "c2"), 11})
		if status, out := fx.wipe("person"); status != http.StatusOK {
			t.Fatalf("Wipe: %d %s", status, out)
		}
		fx.rowData(batch{personTable(), bulk.Insert, rows(1, 5, "p"), 21})
		fx.complete(wire.TableSummary{Name: "contact", Inserted: 3, Updated: 1})
		took := time.Since(began)

		// Cycle 2: contact's key changes (recreate), person stays, nokey is created and
		// refuses an update (it has no key), so that table rolls back.
		fx.authenticate("cs-2")
		got := fx.tableSchema("cs-2", contactTable("name"), personTable(), noKeyTable())
		if got["contact"] != "Recreated" || got["person"] != "None" || got["nokey"] != "Created" {
			t.Fatalf("TableSchema answered %v", got)
		}
		res = fx.rowData(batch{contactTable("name"), bulk.Insert, rows(1, 2, "c"), 30},
			batch{personTable(), bulk.Update, rows(1, 1, "p3"), 31},
			batch{noKeyTable(), bulk.Update, [][]any{{int64(1)}}, 32})
		if res["contact"].ErrorMessage != "" || res["person"].ErrorMessage != "" || res["nokey"].ErrorMessage == "" {
			t.Fatalf("RowData answered %+v", res)
		}
		fx.complete()
		if err := fx.hooks.Close(context.Background()); err != nil {
			t.Fatal(err)
		}

		want := []string{
			"call.failed nokey",
			"cycle.completed", "cycle.completed",
			"table.before contact created", "table.before contact recreated",
			"table.before nokey created",
			"table.before person created", "table.before person none",
			"table.wiped person",
		}
		runs := rec.runs(t)
		if got := summary(runs); !slices.Equal(got, want) {
			t.Errorf("commands ran for\n%q\nwant\n%q", got, want)
		}
		hooked := rc.received()
		if got := summary(hooked); !slices.Equal(got, want) {
			t.Errorf("the webhook received\n%q\nwant\n%q", got, want)
		}
		ids := map[string]bool{}
		for _, ev := range hooked {
			ids[ev.ID] = true
		}
		for _, ev := range runs {
			if !ids[ev.ID] {
				t.Errorf("the command's %s event %s never reached the webhook: one event, one shape for every sink", ev.Event, ev.ID)
			}
			if ev.Tenant != testTenant || ev.Time.IsZero() {
				t.Errorf("event %+v lacks its tenant or time", ev)
			}
		}

		for _, ev := range runs {
			switch {
			case ev.Event == hooks.TableBefore && ev.SchemaChange == "created" && ev.Table != "nokey":
				if ev.ClientState != "cs-1" {
					t.Errorf("table.before of cycle 1 has client state %q, want cs-1", ev.ClientState)
				}
			case ev.Event == hooks.CallFailed:
				if ev.Operation != wire.OpRowData || !strings.Contains(ev.Error, "no primary key") || ev.Call == "" {
					t.Errorf("call.failed = %+v", ev)
				}
			case ev.Event == hooks.CycleCompleted && ev.ClientState == "":
				t.Errorf("cycle.completed without the call's client state: %+v", ev)
			}
		}
		var first, second hooks.Event
		for _, ev := range runs {
			if ev.Event == hooks.CycleCompleted {
				if len(ev.Sent) > 0 {
					first = ev
				} else {
					second = ev
				}
			}
		}
		wantFirst := []hooks.TableCycle{
			{TableCounts: hooks.TableCounts{Name: "contact", Inserted: 3, Updated: 1}, LSN: 11},
			// The rows before the wipe count too: what mirrord wrote in the cycle.
			{TableCounts: hooks.TableCounts{Name: "person", Inserted: 7}, LSN: 21},
		}
		if !slices.Equal(first.Tables, wantFirst) || !slices.Equal(first.Sent, []hooks.TableCounts{{Name: "contact", Inserted: 3, Updated: 1}}) {
			t.Errorf("first cycle.completed: tables %+v sent %+v, want tables %+v", first.Tables, first.Sent, wantFirst)
		}
		if first.DurationSeconds <= 0 || first.DurationSeconds > took.Seconds() {
			t.Errorf("first cycle took %gs by its event, at most %s by the test", first.DurationSeconds, took)
		}
		wantSecond := []hooks.TableCycle{
			{TableCounts: hooks.TableCounts{Name: "contact", Inserted: 2}, LSN: 30},
			{TableCounts: hooks.TableCounts{Name: "nokey"}, LSN: -1},
			{TableCounts: hooks.TableCounts{Name: "person", Updated: 1}, LSN: 31},
		}
		if !slices.Equal(second.Tables, wantSecond) {
			t.Errorf("second cycle.completed: tables %+v, want %+v", second.Tables, wantSecond)
		}
		if n := fx.metric(`mirrord_hook_runs_total{sink="exec1",event="table.before"}`); n != 5 {
			t.Errorf("table.before ran %g times by its metric, want 5", n)
		}
		if n := fx.metric(`mirrord_hook_runs_total{sink="webhook1",event="table.before"}`); n != 5 {
			t.Errorf("the webhook delivered %g table.before events by its metric, want 5", n)
		}
	})
}

// refusing writes a table.before script that refuses the table person until the file allow
// exists, and says so on stderr.
func refusing(t *testing.T, dir string) string {
	script := filepath.Join(dir, "refuse.sh")
	body := "#!/bin/sh\ncat > /dev/null\n" +
		"if [ \"$MIRRORD_TABLE\" = person ] && [ ! -e '" + dir + "/allow' ]; then\n" +
		"  echo \"partner says no: index busy on $MIRRORD_TABLE\" >&2; exit 3\nfi\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}

// TestRefusingHook: a table.before command that fails refuses its table's rows (nothing of them
// written, the LSN unchanged, its stderr in the table's ErrorMessage) and leaves the call's other
// tables alone; the table hears table.before again with its next rows. A table.wiped command
// that fails fails the Wipe call, whose wipe stays done.
func TestRefusingHook(t *testing.T) {
	unix(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		script := refusing(t, dir)
		fx := newFixture(t, b, hooks.Config{Exec: []hooks.ExecHook{
			{Event: hooks.TableBefore, Command: script},
			{Event: hooks.TableWiped, Command: "sh -c 'echo wipe refused by the partner for \"$MIRRORD_TABLE\" >&2; exit 1'"},
		}})
		fx.authenticate("")
		fx.tableSchema("", contactTable(), personTable())
		res := fx.rowData(batch{contactTable(), bulk.Insert, rows(1, 3, "c"), 10}, batch{personTable(), bulk.Insert, rows(1, 4, "p"), 20})
		if res["contact"].ErrorMessage != "" || res["contact"].LSN != 10 {
			t.Fatalf("contact answered %+v", res["contact"])
		}
		p := res["person"]
		if !strings.Contains(p.ErrorMessage, "partner says no: index busy on person") || p.LSN != -1 || p.Inserted != 0 {
			t.Fatalf("person answered %+v: want the hook's stderr, LSN -1 and nothing inserted", p)
		}
		if n := b.count(t, testTenant, "person"); n != 0 {
			t.Fatalf("person has %d rows after its hook refused them", n)
		}
		if lsn := fx.lsns(contactTable(), personTable())["person"]; lsn != -1 {
			t.Fatalf("person's LSN is %d after its hook refused its rows, want -1", lsn)
		}

		if err := os.WriteFile(filepath.Join(dir, "allow"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		res = fx.rowData(batch{personTable(), bulk.Insert, rows(1, 4, "p"), 20}, batch{contactTable(), bulk.Insert, rows(4, 4, "c"), 11})
		if res["person"].ErrorMessage != "" || res["person"].Inserted != 4 || res["person"].LSN != 20 {
			t.Fatalf("person answered %+v once the hook allows it", res["person"])
		}
		// contact's hook ran once, person's twice (refused, then allowed).
		if runs, fails := fx.metric(`mirrord_hook_runs_total{sink="exec1",event="table.before"}`),
			fx.metric(`mirrord_hook_failures_total{sink="exec1",event="table.before"}`); runs != 3 || fails != 1 {
			t.Fatalf("table.before ran %g times with %g failures, want 3 and 1", runs, fails)
		}
		if !strings.Contains(fx.logs.String(), "hook failed") {
			t.Errorf("no log line of the failed hook")
		}

		status, out := fx.wipe("person")
		if status == http.StatusOK || !strings.Contains(string(out), "wipe refused by the partner for person") ||
			!strings.Contains(string(out), "was wiped, but its table.wiped hook failed") {
			t.Fatalf("Wipe answered %d: %s", status, out)
		}
		if n := b.count(t, testTenant, "person"); n != 0 {
			t.Fatalf("person has %d rows: the wipe committed before its hook ran, so it stays done", n)
		}
	})
}

// TestSlowHookTimesOut: a table.before command that outlives --hook-timeout is killed with every
// process it started, and its table is refused.
func TestSlowHookTimesOut(t *testing.T) {
	unix(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "child.pid")
		// The child sleeps in the background: killing the shell alone would leave it.
		command := "sh -c 'sleep 60 & echo $! > " + pidFile + "; echo still working >&2; wait'"
		fx := newFixture(t, b, hooks.Config{Exec: []hooks.ExecHook{{Event: hooks.TableBefore, Command: command}}, Timeout: 500 * time.Millisecond})
		fx.authenticate("")
		fx.tableSchema("", contactTable())
		start := time.Now()
		res := fx.rowData(batch{contactTable(), bulk.Insert, rows(1, 3, "c"), 10})
		if took := time.Since(start); took > 8*time.Second {
			t.Fatalf("RowData took %s with a hook killed after 500ms", took)
		}
		c := res["contact"]
		if !strings.Contains(c.ErrorMessage, "killed after 500ms") || !strings.Contains(c.ErrorMessage, "still working") || c.LSN != -1 {
			t.Fatalf("contact answered %+v", c)
		}
		if n := b.count(t, testTenant, "contact"); n != 0 {
			t.Fatalf("contact has %d rows after its hook timed out", n)
		}
		raw, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatal(err)
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
		deadline := time.Now().Add(5 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("the hook's child %d still runs: the process group was not killed", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// alive reports whether the process runs (a zombie waiting to be reaped does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// TestWebhookDownThenUp: a webhook whose receiver is down is tried again with backoff, and the
// event arrives once the receiver is up, signed, under the same delivery id on every try.
func TestWebhookDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: connections are refused

	rc := newReceiver(t)
	rc.status = func(n int) int { // up, but failing once before it takes the event
		if n == 1 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	fx := &fixture{t: t}
	d, set := dispatcher(t, hooks.Config{Webhooks: []string{"http://" + addr + "/hook"}, Secret: testSecret, Backoff: 100 * time.Millisecond})
	fx.metrics = set
	if err := d.Wiped(context.Background(), testTenant, "contact"); err != nil {
		t.Fatalf("a webhook failed a synchronous event: %v", err)
	}
	waitFor(t, func() bool { return fx.metric(`mirrord_hook_retries_total{sink="webhook1"}`) >= 1 })
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the receiver's port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	defer srv.Close()

	if err := d.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rc.received()
	if len(got) != 1 || got[0].Event != hooks.TableWiped || got[0].Table != "contact" {
		t.Fatalf("received %+v", got)
	}
	rc.mu.Lock()
	n := rc.tries[got[0].ID]
	rc.mu.Unlock()
	if n != 2 {
		t.Errorf("the receiver saw the delivery %d times, want 2 (a 503, then taken)", n)
	}
	if runs, fails := fx.metric(`mirrord_hook_runs_total{sink="webhook1",event="table.wiped"}`), fx.metric(`mirrord_hook_failures_total{sink="webhook1",event="table.wiped"}`); runs != 1 || fails != 0 {
		t.Errorf("runs %g, failures %g: want one delivery, no failure", runs, fails)
	}
	if n := fx.metric(`mirrord_hook_retries_total{sink="webhook1"}`); n < 2 {
		t.Errorf("retries %g: want the refused connections and the 503 retried", n)
	}
}

// TestWebhookGivesUp: a receiver that never takes the event is tried Tries times, then the
// event counts as failed; a 4xx is not tried again.
func TestWebhookGivesUp(t *testing.T) {
	rc := newReceiver(t)
	rc.status = func(int) int { return http.StatusBadGateway }
	web := httptest.NewServer(rc)
	defer web.Close()
	refusing := newReceiver(t)
	refusing.status = func(int) int { return http.StatusForbidden }
	web2 := httptest.NewServer(refusing)
	defer web2.Close()
	fx := &fixture{t: t}
	d, set := dispatcher(t, hooks.Config{Webhooks: []string{web.URL, web2.URL}, Backoff: time.Millisecond, Tries: 3})
	fx.metrics = set
	d.Wiped(context.Background(), testTenant, "contact")
	d.Close(context.Background())
	if a, b := rc.requests(), refusing.requests(); a != 3 || b != 1 {
		t.Fatalf("tries: %d on a 502 (want 3), %d on a 403 (want 1)", a, b)
	}
	for _, sink := range []string{"webhook1", "webhook2"} {
		if n := fx.metric(`mirrord_hook_failures_total{sink="` + sink + `",event="table.wiped"}`); n != 1 {
			t.Errorf("%s failures %g, want 1", sink, n)
		}
	}
}

// TestFullQueueDrops: a sink that cannot keep up has its queue fill; further events are dropped
// and counted, and never hold up the caller.
func TestFullQueueDrops(t *testing.T) {
	release := make(chan struct{})
	got := make(chan string, 100)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(hooks.HeaderDelivery)
		<-release
	}))
	defer web.Close()
	fx := &fixture{t: t}
	d, set := dispatcher(t, hooks.Config{Webhooks: []string{web.URL}, QueueSize: 2})
	fx.metrics = set
	ctx := context.Background()
	d.Wiped(ctx, testTenant, "t0")
	<-got // the first is being delivered: the queue is empty again
	start := time.Now()
	for i := 1; i <= 9; i++ {
		if err := d.Wiped(ctx, testTenant, fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("firing into a full queue took %s", took)
	}
	if n := fx.metric(`mirrord_hook_dropped_total{sink="webhook1"}`); n != 7 {
		t.Errorf("dropped %g, want 7 (2 fit the queue)", n)
	}
	if n := fx.metric(`mirrord_hook_queued{sink="webhook1"}`); n != 2 {
		t.Errorf("queued %g, want 2", n)
	}
	close(release)
	d.Close(ctx)
	if n := fx.metric(`mirrord_hook_runs_total{sink="webhook1",event="table.wiped"}`); n != 3 {
		t.Errorf("delivered %g, want 3", n)
	}
}

func dispatcher(t *testing.T, cfg hooks.Config) (*hooks.Dispatcher, *metrics.Set) {
	cfg.Metrics = metrics.NewSet()
	d, err := hooks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	return d, cfg.Metrics
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
