// Package hooks lets a partner's own code follow and gate the mirroring: it turns what the engine
// and the SOAP front end do into events (table.before, table.wiped, cycle.completed, call.failed),
// one JSON shape for every sink, and delivers them to commands (--hook-exec) and webhooks
// (--webhook). Its contract: table.before and table.wiped are synchronous for commands (the
// engine waits, and a command that fails refuses the table's rows or fails the Wipe call);
// cycle.completed and call.failed reach commands after the call's answer, from a bounded queue;
// webhooks get every event from a bounded queue and never hold a call up. A full queue drops the
// event and counts it. Every sink counts its runs, failures, durations and drops
// (mirrord_hook_*) and logs each failure.
package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/engine"
)

// Defaults of Config.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultQueueSize = 1000
	DefaultTries     = 5
	DefaultBackoff   = time.Second
)

// Config says which sinks get the events.
type Config struct {
	Exec []ExecHook
	// SQL are the --hook-sql hooks, run through RunSQL (the engine's) in the tenant's mirror.
	SQL    []SQLHook
	RunSQL RunSQL
	// Webhooks are URLs every event is POSTed to; Secret, when set, signs each body.
	Webhooks []string
	Secret   string
	// Timeout bounds a command's run and each try of a webhook; DefaultTimeout when zero.
	Timeout time.Duration
	// QueueSize bounds each sink's queue of events not yet delivered; DefaultQueueSize when zero.
	QueueSize int
	// Tries and Backoff: a webhook is tried Tries times, waiting Backoff before the second try
	// and twice as long before each next; DefaultTries and DefaultBackoff when zero.
	Tries   int
	Backoff time.Duration
	// Client sends the webhooks; a client of its own when nil.
	Client  *http.Client
	Metrics *metrics.Set // a new set when nil
	Logger  *slog.Logger // nothing is logged when nil
}

// Dispatcher hands events to the sinks. It is the engine's Hooks and a soapfront Observer.
type Dispatcher struct {
	log   *slog.Logger
	sinks sinks // guarded by mu: Reload replaces them

	ctx    context.Context // of the queues' deliveries; ended when Close gives up
	cancel context.CancelFunc

	mu      sync.RWMutex
	closed  bool
	tenants map[string]*tenantSeen
}

// tenantSeen is what the dispatcher saw of a tenant's calls.
type tenantSeen struct {
	clientState string
	cycleStart  time.Time // zero when no cycle begun by an Authenticate is open
}

// New builds the sinks and starts their queues' workers. Close stops them.
func New(cfg Config) (*Dispatcher, error) {
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{log: cfg.Logger, ctx: ctx, cancel: cancel, tenants: map[string]*tenantSeen{}}
	sk, err := buildSinks(cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	d.sinks = sk
	sk.start(ctx)
	return d, nil
}

// withDefaults fills in what Config leaves zero.
func (cfg Config) withDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Tries <= 0 {
		cfg.Tries = DefaultTries
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewSet()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return cfg
}

// sinks are a Dispatcher's commands, SQL hooks and webhooks, as one Config made them.
type sinks struct {
	execs   map[string][]*sink // commands and SQL hooks by event, commands first, in flag order
	queued  []*sink            // those with a queue: asynchronous commands and SQL hooks, webhooks
	webhook []*sink
}

func (sk sinks) any() bool { return len(sk.execs) > 0 || len(sk.webhook) > 0 }

func (sk sinks) start(ctx context.Context) {
	for _, s := range sk.queued {
		go s.queue.work(ctx)
	}
}

// buildSinks makes the sinks of cfg, whose defaults are filled in.
func buildSinks(cfg Config) (sinks, error) {
	d := &sinks{execs: map[string][]*sink{}}
	for i, h := range cfg.Exec {
		if err := CheckEvent(h.Event); err != nil {
			return sinks{}, err
		}
		argv, err := SplitArgs(h.Command)
		if err != nil {
			return sinks{}, err
		}
		// Found now, so that a misspelt command stops mirrord at start rather than every table.
		if _, err := exec.LookPath(argv[0]); err != nil {
			return sinks{}, fmt.Errorf("hook %s=%s: %w", h.Event, argv[0], err)
		}
		timeout := cfg.Timeout
		s := newSink(cfg.Metrics, cfg.Logger, fmt.Sprintf("exec%d", i+1), []string{h.Event}, func(ctx context.Context, ev Event, body []byte) error {
			return runCommand(ctx, argv, timeout, ev, body)
		})
		if !synchronous(h.Event) {
			s.queue = newQueue(cfg.Metrics, s, cfg.QueueSize)
			d.queued = append(d.queued, s)
		}
		d.execs[h.Event] = append(d.execs[h.Event], s)
		cfg.Logger.Info("hook", "sink", s.name, "event", h.Event, "command", argv[0], "synchronous", synchronous(h.Event))
	}
	for i, h := range cfg.SQL {
		if err := CheckEvent(h.Event); err != nil {
			return sinks{}, err
		}
		deliver, err := sqlDeliver(h, cfg.RunSQL, cfg.Timeout)
		if err != nil {
			return sinks{}, err
		}
		s := newSink(cfg.Metrics, cfg.Logger, fmt.Sprintf("sql%d", i+1), []string{h.Event}, deliver)
		if !synchronous(h.Event) {
			s.queue = newQueue(cfg.Metrics, s, cfg.QueueSize)
			d.queued = append(d.queued, s)
		}
		d.execs[h.Event] = append(d.execs[h.Event], s)
		cfg.Logger.Info("hook", "sink", s.name, "event", h.Event, "sql", h.File, "synchronous", synchronous(h.Event))
	}
	if len(cfg.Webhooks) > 0 && cfg.Secret == "" {
		cfg.Logger.Warn("webhooks are sent unsigned: no --webhook-secret")
	}
	for i, u := range cfg.Webhooks {
		if err := CheckWebhookURL(u); err != nil {
			return sinks{}, err
		}
		w := &webhook{url: u, secret: []byte(cfg.Secret), client: cfg.Client, timeout: cfg.Timeout, tries: cfg.Tries, backoff: cfg.Backoff}
		s := newSink(cfg.Metrics, cfg.Logger, fmt.Sprintf("webhook%d", i+1), Events, w.deliver)
		s.retries = cfg.Metrics.GetOrCreateCounter(fmt.Sprintf(`mirrord_hook_retries_total{sink=%q}`, s.name))
		w.retried = s.retries.Inc
		s.queue = newQueue(cfg.Metrics, s, cfg.QueueSize)
		d.queued = append(d.queued, s)
		d.webhook = append(d.webhook, s)
		cfg.Logger.Info("hook", "sink", s.name, "event", "all", "webhook", redactURL(u))
	}
	return *d, nil
}

// Any reports whether any sink is configured: without one, nothing need hear the events.
func (d *Dispatcher) Any() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.sinks.any()
}

// Reload replaces the sinks with those of cfg (SIGHUP): commands looked up and SQL files read
// again. A cfg that does not build keeps the sinks in use. Events already queued for the old
// sinks are still delivered, for at most the old Timeout.
func (d *Dispatcher) Reload(cfg Config) error {
	cfg = cfg.withDefaults()
	sk, err := buildSinks(cfg)
	if err != nil {
		return err
	}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("hooks: reload after Close")
	}
	old := d.sinks
	d.sinks = sk
	sk.start(d.ctx)
	// No push can reach the old queues now: pushes hold the read lock and take the sinks then.
	for _, s := range old.queued {
		close(s.queue.ch)
	}
	d.mu.Unlock()
	return nil
}

// Close stops taking events and waits until the queued ones are delivered, or until ctx ends:
// the deliveries still running are then stopped, and what is left is counted as dropped.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	queued := d.sinks.queued
	if !d.closed {
		d.closed = true
		for _, s := range queued {
			close(s.queue.ch)
		}
	}
	d.mu.Unlock()
	var err error
	for _, s := range queued {
		select {
		case <-s.queue.done:
			continue
		case <-ctx.Done():
			err = fmt.Errorf("hook events still queued when mirrord stopped were dropped: %w", ctx.Err())
			d.cancel()
		}
		<-s.queue.done
	}
	d.cancel()
	return err
}

// fire delivers ev: to the webhooks' queues, and to the event's commands, in flag order, now
// when the event is synchronous (the first that fails ends the run and is the error), or through
// their queues.
func (d *Dispatcher) fire(ctx context.Context, ev Event) error {
	if !d.Any() {
		return nil
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("event %s: %w", ev.Event, err)
	}
	d.mu.RLock()
	execs := d.sinks.execs[ev.Event]
	if !d.closed {
		for _, s := range d.sinks.webhook {
			s.queue.push(ev, body)
		}
		for _, s := range execs {
			if s.queue != nil {
				s.queue.push(ev, body)
			}
		}
	}
	d.mu.RUnlock()
	for _, s := range execs {
		if s.queue != nil {
			continue
		}
		if err := s.run(ctx, ev, body); err != nil {
			return err
		}
	}
	return nil
}

// BeforeTable fires table.before and waits for its commands (engine.Hooks).
func (d *Dispatcher) BeforeTable(ctx context.Context, tenant, table string, change engine.Change) error {
	ev := newEvent(TableBefore, tenant)
	ev.Table, ev.SchemaChange, ev.ClientState = table, strings.ToLower(string(change)), d.clientState(tenant)
	return d.fire(ctx, ev)
}

// Wiped fires table.wiped and waits for its commands (engine.Hooks).
func (d *Dispatcher) Wiped(ctx context.Context, tenant, table string) error {
	ev := newEvent(TableWiped, tenant)
	ev.Table, ev.ClientState = table, d.clientState(tenant)
	return d.fire(ctx, ev)
}

func (d *Dispatcher) clientState(tenant string) string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if t := d.tenants[tenant]; t != nil {
		return t.clientState
	}
	return ""
}

// fireAsync fires an event whose sinks all run from queues: nothing here waits.
func (d *Dispatcher) fireAsync(ev Event) {
	if err := d.fire(d.ctx, ev); err != nil {
		d.log.Error("hook event not delivered", "event", ev.Event, "tenant", ev.Tenant, "err", err)
	}
}

var _ engine.Hooks = (*Dispatcher)(nil)
