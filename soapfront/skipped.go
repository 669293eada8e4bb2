package soapfront

import (
	"fmt"
	"sync"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/engine"
)

// maxSkippedNames bounds the names the skipped-elements metric and log keep apart: a caller whose
// token checks out could otherwise send any number of made-up element names, each a new series.
// Names past the bound count under "other".
const maxSkippedNames = 200

// maxSkippedName bounds the length of a name the metric and log keep.
const maxSkippedName = 100

// skippedNames counts what the wire skipped, by operation and element, and logs each name once.
type skippedNames struct {
	mu   sync.Mutex
	seen map[[2]string]*metrics.Counter
}

// skipped is the decoder's OnSkip: an element or attribute of a request that the contract does not
// have, which the Mirroring Task sends and mirrord ignores.
func (s *Server) skipped(operation, element string) {
	if len(element) > maxSkippedName {
		element = element[:maxSkippedName] + "…"
	}
	key := [2]string{operation, element}
	s.skips.mu.Lock()
	counter, ok := s.skips.seen[key]
	if !ok {
		if s.skips.seen == nil {
			s.skips.seen = map[[2]string]*metrics.Counter{}
		}
		if len(s.skips.seen) >= maxSkippedNames {
			key[1] = "other"
			counter, ok = s.skips.seen[key]
		}
		if !ok {
			counter = s.cfg.Metrics.GetOrCreateCounter(fmt.Sprintf(`mirrord_wire_skipped_total{operation=%q,element=%q}`, key[0], key[1]))
			s.skips.seen[key] = counter
			s.log.Info("the request holds something mirrord does not read; skipped", "operation", operation, "element", key[1])
		}
	}
	s.skips.mu.Unlock()
	counter.Inc()
}

// logSummary logs, per table, the counts the Mirroring Task sent with ReplicationCompleted beside
// the ones mirrord counted: where they differ, the log is where an operator sees it.
func (s *Server) logSummary(c *call, done engine.Completion) {
	if len(done.Sent) == 0 {
		return
	}
	ours := map[string]engine.TableCounts{}
	for _, tc := range done.Counts {
		ours[tc.Name] = tc
	}
	for _, sent := range done.Sent {
		mine := ours[sent.Name]
		s.log.Info("cycle summary", "call", c.id, "tenant", c.tenant, "table", sent.Name,
			"sent_inserted", sent.Inserted, "sent_updated", sent.Updated, "sent_deleted", sent.Deleted,
			"inserted", mine.Inserted, "updated", mine.Updated, "deleted", mine.Deleted,
			"agree", sent.Counts == mine.Counts)
	}
}
