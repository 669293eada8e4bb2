package hooks

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// The events, as an Event's "event" field and the EVENT of --hook-exec name them.
const (
	TableBefore    = "table.before"
	TableWiped     = "table.wiped"
	CycleCompleted = "cycle.completed"
	CallFailed     = "call.failed"
)

// Events lists every event, the synchronous ones first.
var Events = []string{TableBefore, TableWiped, CycleCompleted, CallFailed}

// synchronous reports whether mirrord waits for the event's exec hooks and fails what they refuse.
func synchronous(event string) bool { return event == TableBefore || event == TableWiped }

// CheckEvent reports an error naming the events when event is not one of them.
func CheckEvent(event string) error {
	if !slices.Contains(Events, event) {
		return fmt.Errorf("event %q is not one of %v", event, Events)
	}
	return nil
}

// Event is what every sink receives, as JSON: the same shape for every event, each field
// present where the event has it.
type Event struct {
	Event string `json:"event"`
	// ID names the event: a webhook's X-Mirrord-Delivery, the same on every try.
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Tenant string    `json:"tenant"`
	// Table is the table of table.before and table.wiped, and of a call.failed that one table
	// of a RowData call rolled back.
	Table string `json:"table,omitempty"`
	// SchemaChange (table.before) is none, created, altered or recreated: what this cycle's
	// TableSchema did to the table; unknown when another process served it.
	SchemaChange string `json:"schema_change,omitempty"`
	// ClientState is the ClientState of the tenant's last call this process answered.
	ClientState string `json:"client_state,omitempty"`
	// Call (call.failed) is the id the call's log line carries, and Operation its operation.
	Call      string `json:"call,omitempty"`
	Operation string `json:"operation,omitempty"`
	// Error (call.failed) is the error the caller was answered, with secrets removed.
	Error string `json:"error,omitempty"`
	// Tables (cycle.completed) is every mirrored table: the rows mirrord counted for it in the
	// cycle and its LSN.
	Tables []TableCycle `json:"tables,omitempty"`
	// Sent (cycle.completed) is the summary the Mirroring Task sent, where it sent one.
	Sent []TableCounts `json:"sent,omitempty"`
	// Dropped (cycle.completed) names the tables dropped because no TableSchema of the cycle named them.
	Dropped []string `json:"dropped,omitempty"`
	// DurationSeconds (cycle.completed) is the time from the Authenticate that began the cycle to
	// its ReplicationCompleted, when this process served both.
	DurationSeconds float64 `json:"duration_seconds,omitempty"`
}

// TableCounts are one table's rows of a cycle.
type TableCounts struct {
	Name     string `json:"name"`
	Inserted int64  `json:"inserted"`
	Updated  int64  `json:"updated"`
	Deleted  int64  `json:"deleted"`
}

// TableCycle is one table at the end of a cycle: its rows and its LSN.
type TableCycle struct {
	TableCounts
	LSN int64 `json:"lsn"`
}

func newEvent(event, tenant string) Event {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return Event{Event: event, ID: hex.EncodeToString(b[:]), Time: time.Now().UTC(), Tenant: tenant}
}
