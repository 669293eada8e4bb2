package soapfront

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Outcomes of a call, as the calls metric and the log line name them.
const (
	outcomeOK          = "ok"
	outcomeRejected    = "rejected"     // Authenticate answered IsSuccessful=false
	outcomeClientFault = "client_fault" // s:Client: the caller's mistake, token refused included
	outcomeServerFault = "server_fault" // s:Server: mirrord's or the database's failure
	outcomePartial     = "partial"      // RowData where at least one table rolled back
	outcomeTooLarge    = "too_large"    // 413
	outcomeUnavailable = "unavailable"  // 503 while draining
	outcomeTransport   = "transport"    // 400, 405, 415: the HTTP layer refused it before any SOAP
)

var allOutcomes = []string{outcomeOK, outcomeRejected, outcomeClientFault, outcomeServerFault,
	outcomePartial, outcomeTooLarge, outcomeUnavailable, outcomeTransport}

// opUnknown labels calls whose operation could not be told.
const opUnknown = "unknown"

// serverMetrics are created once in New; the per-tenant-and-table ones on first use of a pair,
// then looked up in a map rather than by formatting a name on every call.
type serverMetrics struct {
	set *metrics.Set

	calls    map[string]map[string]*metrics.Counter // operation -> outcome
	duration map[string]*metrics.Histogram          // operation
	bytesIn  map[string]*metrics.Counter            // operation: request bytes as sent

	applyDuration  *metrics.Histogram // RowData: BeginApply to Finish
	finishDuration *metrics.Histogram // RowData: end of body to Finish, the wait on the loaders

	inflightCalls atomic.Int64
	inflightBytes atomic.Int64 // decoded request bytes read by calls still running

	tables sync.Map // tableKey -> *tableMetrics
}

type tableKey struct{ tenant, table string }

type tableMetrics struct {
	inserted, updated, deleted *metrics.Counter
	bytes                      *metrics.Counter
	failed                     *metrics.Counter
}

func newServerMetrics(set *metrics.Set) *serverMetrics {
	m := &serverMetrics{
		set:      set,
		calls:    map[string]map[string]*metrics.Counter{},
		duration: map[string]*metrics.Histogram{},
		bytesIn:  map[string]*metrics.Counter{},
	}
	for _, op := range append(operationNames(), opUnknown) {
		m.calls[op] = map[string]*metrics.Counter{}
		for _, outcome := range allOutcomes {
			m.calls[op][outcome] = set.GetOrCreateCounter(fmt.Sprintf(`mirrord_soap_calls_total{operation=%q,outcome=%q}`, op, outcome))
		}
		m.duration[op] = set.GetOrCreateHistogram(fmt.Sprintf(`mirrord_soap_call_duration_seconds{operation=%q}`, op))
		m.bytesIn[op] = set.GetOrCreateCounter(fmt.Sprintf(`mirrord_soap_request_bytes_total{operation=%q}`, op))
	}
	m.applyDuration = set.GetOrCreateHistogram(`mirrord_rowdata_apply_duration_seconds`)
	m.finishDuration = set.GetOrCreateHistogram(`mirrord_rowdata_finish_wait_seconds`)
	set.GetOrCreateGauge(`mirrord_soap_calls_inflight`, func() float64 { return float64(m.inflightCalls.Load()) })
	set.GetOrCreateGauge(`mirrord_soap_request_bytes_inflight`, func() float64 { return float64(m.inflightBytes.Load()) })
	return m
}

// call records the end of a call.
func (m *serverMetrics) call(op, outcome string, d time.Duration, wireBytes int64) {
	byOutcome, ok := m.calls[op]
	if !ok {
		op, byOutcome = opUnknown, m.calls[opUnknown]
	}
	if c := byOutcome[outcome]; c != nil {
		c.Inc()
	}
	m.duration[op].Update(d.Seconds())
	if wireBytes > 0 {
		m.bytesIn[op].Add(int(wireBytes))
	}
}

// table returns the metrics of a tenant's table, or nil when a name is not one that may become
// a label (the engine refuses such names anyway).
func (m *serverMetrics) table(tenant, table string) *tableMetrics {
	key := tableKey{tenant, table}
	if t, ok := m.tables.Load(key); ok {
		return t.(*tableMetrics)
	}
	if schema.CheckName("tenant", tenant) != nil || schema.CheckName("table", table) != nil {
		return nil
	}
	labels := fmt.Sprintf(`tenant=%q,table=%q`, tenant, table)
	t := &tableMetrics{
		inserted: m.set.GetOrCreateCounter(`mirrord_rows_total{` + labels + `,op="inserted"}`),
		updated:  m.set.GetOrCreateCounter(`mirrord_rows_total{` + labels + `,op="updated"}`),
		deleted:  m.set.GetOrCreateCounter(`mirrord_rows_total{` + labels + `,op="deleted"}`),
		bytes:    m.set.GetOrCreateCounter(`mirrord_row_bytes_total{` + labels + `}`),
		failed:   m.set.GetOrCreateCounter(`mirrord_table_apply_failures_total{` + labels + `}`),
	}
	actual, _ := m.tables.LoadOrStore(key, t)
	return actual.(*tableMetrics)
}

// applied records one table's outcome of a RowData call: rows committed and value bytes decoded.
func (m *serverMetrics) applied(tenant, table string, counts bulk.Counts, valueBytes int64, failed bool) {
	t := m.table(tenant, table)
	if t == nil {
		return
	}
	if failed {
		t.failed.Inc()
		return
	}
	t.inserted.Add(int(counts.Inserted))
	t.updated.Add(int(counts.Updated))
	t.deleted.Add(int(counts.Deleted))
	t.bytes.Add(int(valueBytes))
}

// cycleCompleted records when a tenant's ReplicationCompleted succeeded, so that an alert can
// name the one tenant that stopped completing cycles among many that did not.
func (m *serverMetrics) cycleCompleted(tenant string, at time.Time) {
	if schema.CheckName("tenant", tenant) != nil {
		return
	}
	m.set.GetOrCreateGauge(fmt.Sprintf(`mirrord_cycle_completed_timestamp_seconds{tenant=%q}`, tenant), nil).
		Set(float64(at.UnixNano()) / 1e9)
}
