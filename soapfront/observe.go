package soapfront

import (
	"errors"
	"time"

	"github.com/mirrord/mirrord/engine"
)

// An Observer hears what each call of a verified tenant did, once its answer is written: the
// status page keeps its tallies from it. Observe runs on the call's goroutine after the answer,
// so it delays no reply, but it must return quickly and must not keep the Call's slices.
type Observer interface {
	Observe(Call)
}

// Observers is an Observer that tells each of its observers in turn: the status page and the
// partner's hooks, say.
type Observers []Observer

// Observe tells every observer.
func (o Observers) Observe(c Call) {
	for _, one := range o {
		one.Observe(c)
	}
}

// Call is what one call of a verified tenant did.
type Call struct {
	ID        string
	Operation string // one of the wire.Op names
	Tenant    string
	Start     time.Time
	Duration  time.Duration
	// Outcome is the outcome label of mirrord_soap_calls_total: "ok", "partial" (RowData with
	// tables rolled back), "rejected" (Authenticate refused), "client_fault", "server_fault", …
	Outcome string
	// Err is the error the caller was answered (secrets and addresses removed); empty on ok.
	Err string
	// Tables is RowData's answer per table, in the order of the request; a table's Err has its
	// secrets removed.
	Tables []engine.TableApplyResult
	// Wiped names the tables a Wipe emptied.
	Wiped []string
	// Completion is what ReplicationCompleted reported, when it succeeded.
	Completion *engine.Completion
	// Bytes is the request body's size on the wire.
	Bytes int64
	// ClientState is the request's ClientState, when the call read it.
	ClientState string
}

// observe tells the Observer what a finished call did, if its caller was a verified tenant.
func (s *Server) observe(c *call, d time.Duration, wireBytes int64) {
	if s.cfg.Observer == nil || !c.verified || c.tenant == "" {
		return
	}
	tables := make([]engine.TableApplyResult, len(c.results))
	for i, res := range c.results {
		tables[i] = res
		if res.Err != nil {
			tables[i].Err = errors.New(redact(res.Err.Error()))
		}
	}
	s.cfg.Observer.Observe(Call{
		ID: c.id, Operation: c.op, Tenant: c.tenant, Start: c.start, Duration: d,
		Outcome: c.outcome, Err: c.errMsg, Tables: tables, Wiped: c.wiped,
		Completion: c.completion, Bytes: wireBytes, ClientState: c.clientState,
	})
}
