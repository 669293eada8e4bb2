package hooks

import (
	"time"

	"github.com/mirrord/mirrord/soapfront"
	"github.com/mirrord/mirrord/soapfront/wire"
)

// Observe hears every call of a verified tenant after its answer (a soapfront.Observer): it
// keeps the tenant's client state and when its cycle began, and fires cycle.completed after a
// ReplicationCompleted and call.failed after any call that failed, once for each table a
// RowData call rolled back. It only queues: it never waits for a sink.
func (d *Dispatcher) Observe(c soapfront.Call) {
	start := d.seen(c)
	switch {
	case c.Operation == wire.OpReplicationCompleted && c.Completion != nil:
		ev := newEvent(CycleCompleted, c.Tenant)
		ev.ClientState = d.clientState(c.Tenant)
		for _, tc := range c.Completion.Tables {
			ev.Tables = append(ev.Tables, TableCycle{TableCounts{tc.Name, tc.Inserted, tc.Updated, tc.Deleted}, tc.LSN})
		}
		for _, tc := range c.Completion.Sent {
			ev.Sent = append(ev.Sent, TableCounts{tc.Name, tc.Inserted, tc.Updated, tc.Deleted})
		}
		ev.Dropped = c.Completion.Dropped
		if !start.IsZero() {
			ev.DurationSeconds = c.Start.Add(c.Duration).Sub(start).Seconds()
		}
		d.fireAsync(ev)
	case c.Outcome == "ok":
	case len(c.Tables) > 0:
		for _, t := range c.Tables {
			if t.Err != nil {
				d.fireAsync(d.failed(c, t.Name, t.Err.Error()))
			}
		}
	default:
		d.fireAsync(d.failed(c, "", c.Err))
	}
}

func (d *Dispatcher) failed(c soapfront.Call, table, msg string) Event {
	ev := newEvent(CallFailed, c.Tenant)
	ev.Table, ev.Call, ev.Operation, ev.Error, ev.ClientState = table, c.ID, c.Operation, msg, d.clientState(c.Tenant)
	return ev
}

// seen records what the call says of the tenant's cycle, and returns when the cycle it completes
// (if it is a ReplicationCompleted) began: zero when this process did not see it begin.
func (d *Dispatcher) seen(c soapfront.Call) time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	t := d.tenants[c.Tenant]
	if t == nil {
		t = &tenantSeen{}
		d.tenants[c.Tenant] = t
	}
	if c.ClientState != "" {
		t.clientState = c.ClientState
	}
	ok := c.Outcome == "ok"
	switch {
	case c.Operation == wire.OpAuthenticate && ok && t.cycleStart.IsZero():
		// A second Authenticate inside a cycle continues it, as the mirror does.
		t.cycleStart = c.Start
	case c.Operation == wire.OpReplicationCompleted && ok:
		start := t.cycleStart
		t.cycleStart = time.Time{}
		return start
	}
	return time.Time{}
}
