package hooks

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// sink is one --hook-exec or --webhook: what it does with an event, and its metrics.
type sink struct {
	name    string // exec1, webhook2, …: its metrics' label, in flag order
	events  []string
	deliver func(ctx context.Context, ev Event, body []byte) error
	log     *slog.Logger

	runs, failures map[string]*metrics.Counter // by event
	durations      map[string]*metrics.Histogram
	dropped        *metrics.Counter
	retries        *metrics.Counter // webhooks only
	queue          *queue           // nil for an exec hook of a synchronous event
}

func newSink(set *metrics.Set, log *slog.Logger, name string, events []string, deliver func(context.Context, Event, []byte) error) *sink {
	s := &sink{name: name, events: events, deliver: deliver, log: log,
		runs: map[string]*metrics.Counter{}, failures: map[string]*metrics.Counter{}, durations: map[string]*metrics.Histogram{}}
	for _, ev := range events {
		labels := fmt.Sprintf(`{sink=%q,event=%q}`, name, ev)
		s.runs[ev] = set.GetOrCreateCounter("mirrord_hook_runs_total" + labels)
		s.failures[ev] = set.GetOrCreateCounter("mirrord_hook_failures_total" + labels)
		s.durations[ev] = set.GetOrCreateHistogram("mirrord_hook_duration_seconds" + labels)
	}
	s.dropped = set.GetOrCreateCounter(fmt.Sprintf(`mirrord_hook_dropped_total{sink=%q}`, name))
	return s
}

// run delivers one event now, and records and logs how it went.
func (s *sink) run(ctx context.Context, ev Event, body []byte) error {
	start := time.Now()
	err := s.deliver(ctx, ev, body)
	s.runs[ev.Event].Inc()
	s.durations[ev.Event].UpdateDuration(start)
	if err != nil {
		s.failures[ev.Event].Inc()
		s.log.Warn("hook failed", "sink", s.name, "event", ev.Event, "id", ev.ID, "tenant", ev.Tenant, "table", ev.Table,
			"duration", time.Since(start), "err", err)
		return fmt.Errorf("hook %s (%s): %w", s.name, ev.Event, err)
	}
	s.log.Debug("hook ran", "sink", s.name, "event", ev.Event, "id", ev.ID, "tenant", ev.Tenant, "table", ev.Table, "duration", time.Since(start))
	return nil
}

// queue holds a sink's events for one worker that delivers them in order, so that no call waits
// for the sink. A full queue drops the event and counts it.
type queue struct {
	s    *sink
	ch   chan queued
	done chan struct{}
	// lastDropLog rate-limits the drop log line to one a second: a sink that cannot keep up
	// would otherwise flood the log with it.
	lastDropLog atomic.Int64
}

type queued struct {
	ev   Event
	body []byte
}

func newQueue(set *metrics.Set, s *sink, size int) *queue {
	q := &queue{s: s, ch: make(chan queued, size), done: make(chan struct{})}
	set.GetOrCreateGauge(fmt.Sprintf(`mirrord_hook_queued{sink=%q}`, s.name), func() float64 { return float64(len(q.ch)) })
	return q
}

// push queues the event, or drops it when the queue is full.
func (q *queue) push(ev Event, body []byte) {
	select {
	case q.ch <- queued{ev, body}:
	default:
		q.s.dropped.Inc()
		now := time.Now().UnixNano()
		if last := q.lastDropLog.Load(); now-last >= int64(time.Second) && q.lastDropLog.CompareAndSwap(last, now) {
			q.s.log.Warn("hook queue full: event dropped", "sink", q.s.name, "event", ev.Event, "tenant", ev.Tenant,
				"queue", cap(q.ch), "dropped_total", q.s.dropped.Get())
		}
	}
}

// work delivers the queued events until the queue is closed, or until ctx ends, which counts
// what is left as dropped.
func (q *queue) work(ctx context.Context) {
	defer close(q.done)
	for item := range q.ch {
		if ctx.Err() != nil {
			q.s.dropped.Inc()
			continue
		}
		_ = q.s.run(ctx, item.ev, item.body) // run logs and counts a failure; nobody waits for it
	}
}
