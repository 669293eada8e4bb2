package soapfront

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/schema"
	"github.com/mirrord/mirrord/soapfront/auth"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// recorder is an Observer that keeps every Call.
type recorder struct {
	mu    sync.Mutex
	calls []Call
}

func (r *recorder) Observe(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
}

func (r *recorder) all() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

func TestObserverHearsVerifiedCalls(t *testing.T) {
	rec := &recorder{}
	forEachBackend(t, func(t *testing.T, fx *fixture) {
		rec.mu.Lock()
		rec.calls = nil
		rec.mu.Unlock()
		fx.seed(t)
		noKey := schema.Table{Name: "nokey", Columns: []schema.Column{{Name: "v", Type: schema.Int, Nullable: true}}}
		status, out := fx.post(wire.OpTableSchema, tableSchemaBody(t, fx.token(), "", contactTable(), personTable(), noKey))
		mustOK(t, status, out)
		status, out = fx.post(wire.OpRowData, rowDataBody(t, fx.token(), "",
			rowBatch{table: noKey, rows: []testRow{{'U', 1, []any{int64(1)}}}, lsn: 7, lastLSN: true},
			rowBatch{table: contactTable(), rows: contactRows('I', 50, 51), lsn: 1051, lastLSN: true},
		))
		mustOK(t, status, out)
		status, out = fx.post(wire.OpWipe, wipeBody(t, fx.token(), "", "person"))
		mustOK(t, status, out)
		status, out = fx.post(wire.OpReplicationCompleted, completedBody(t, fx.token(), ""))
		mustOK(t, status, out)
		// A call whose token is refused is nobody's: the observer does not hear it.
		bad := fx.token(func(c *auth.IssueClaims) { c.AppID = "someone-else" })
		if status, _ := fx.post(wire.OpWipe, wipeBody(t, bad, "", "person")); status == 200 {
			t.Fatalf("a token for another app was accepted")
		}

		calls := rec.all()
		var ops []string
		for _, c := range calls {
			ops = append(ops, c.Operation)
			if c.Tenant != fx.tenant || c.ID == "" || c.Start.IsZero() {
				t.Fatalf("call %+v lacks its tenant, id or start", c)
			}
		}
		want := "Authenticate TableSchema RowData TableSchema RowData Wipe ReplicationCompleted"
		if got := strings.Join(ops, " "); got != want {
			t.Fatalf("observed %s, want %s", got, want)
		}
		rd := calls[4]
		if rd.Outcome != outcomePartial || len(rd.Tables) != 2 || rd.Tables[0].Err == nil || rd.Tables[1].Err != nil ||
			rd.Tables[1].LSN != 1051 || rd.Tables[1].Counts.Inserted != 2 {
			t.Fatalf("the RowData call observed as %+v", rd)
		}
		if w := calls[5]; len(w.Wiped) != 1 || w.Wiped[0] != "person" {
			t.Fatalf("the Wipe observed as %+v", w)
		}
		if done := calls[6].Completion; done == nil || len(done.Counts) == 0 {
			t.Fatalf("ReplicationCompleted observed without its counts: %+v", calls[6])
		}

		// The completed cycle is also the tenant's gauge, for a per-tenant alert.
		var m bytes.Buffer
		fx.srv.Metrics().WritePrometheus(&m)
		prefix := fmt.Sprintf("mirrord_cycle_completed_timestamp_seconds{tenant=%q} ", fx.tenant)
		var at float64
		for _, line := range strings.Split(m.String(), "\n") {
			if v, ok := strings.CutPrefix(line, prefix); ok {
				at, _ = strconv.ParseFloat(v, 64)
			}
		}
		if since := time.Since(time.Unix(0, int64(at*1e9))); since < 0 || since > time.Minute {
			t.Fatalf("the cycle gauge says %v (%v ago):\n%s", at, since, m.String())
		}
	}, func(c *Config) { c.Observer = rec })
}
