package main

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/hooks"
)

// hookFlags are serve's flags of the partner hooks (package hooks).
type hookFlags struct {
	exec      hookExecFlag
	sql       hookSQLFlag
	webhooks  listFlag
	secret    string
	timeout   time.Duration
	queueSize int
}

func (f *hookFlags) register(fs *flag.FlagSet) {
	fs.Var(&f.exec, "hook-exec", "EVENT=COMMAND: run COMMAND (split like a shell would, run without one) for each event "+strings.Join(hooks.Events, ", ")+
		"; the event's JSON on stdin; repeatable (MIRRORD_HOOK_EXEC: one a line)")
	fs.Var(&f.sql, "hook-sql", "EVENT=FILE: run the SQL of FILE in the tenant's mirror database for each event "+strings.Join(hooks.Events, ", ")+
		"; {{table}} becomes the table's quoted name, {{tenant}} a string literal; repeatable")
	fs.Var(&f.webhooks, "webhook", "POST every event as JSON to this URL; repeatable")
	fs.StringVar(&f.secret, "webhook-secret", "", "sign each webhook body: header X-Mirrord-Signature: sha256=<hex HMAC-SHA256> (prefer MIRRORD_WEBHOOK_SECRET to the command line)")
	fs.DurationVar(&f.timeout, "hook-timeout", hooks.DefaultTimeout, "a hook command is killed after this long; also bounds each webhook try")
	fs.IntVar(&f.queueSize, "hook-queue", hooks.DefaultQueueSize, "events each asynchronous hook or webhook may have waiting; more are dropped and counted")
}

// start builds the hooks. It builds a Dispatcher even when no hook is configured, so that SIGHUP
// can add some (Reload); with no sink it hears the events and does nothing with them.
func (f *hookFlags) start(set *metrics.Set, log *slog.Logger, runSQL hooks.RunSQL) (*hooks.Dispatcher, error) {
	return hooks.New(f.config(set, log, runSQL))
}

// count is how many hooks the flags configure.
func (f *hookFlags) count() int { return len(f.exec) + len(f.sql) + len(f.webhooks) }

func (f *hookFlags) config(set *metrics.Set, log *slog.Logger, runSQL hooks.RunSQL) hooks.Config {
	return hooks.Config{
		Exec: f.exec, SQL: f.sql, RunSQL: runSQL, Webhooks: f.webhooks, Secret: f.secret,
		Timeout: f.timeout, QueueSize: f.queueSize, Metrics: set, Logger: log,
	}
}

// stop delivers what the hooks still have queued, for at most --hook-timeout.
func (f *hookFlags) stop(d *hooks.Dispatcher, log *slog.Logger) {
	if d == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		log.Warn("hooks stopped", "err", err)
	}
}

// hookExecFlag is the repeatable --hook-exec. One value may hold several hooks, each on a line
// of its own or after a ; outside quotes (a command never holds one: without a shell it would
// mean nothing), since MIRRORD_HOOK_EXEC is one variable and a command may hold commas.
type hookExecFlag []hooks.ExecHook

func (h *hookExecFlag) String() string { return strings.Join(h.Values(), "; ") }

// Values are the hooks, each as EVENT=COMMAND (repeatableFlag).
func (h *hookExecFlag) Values() []string {
	var out []string
	for _, x := range *h {
		out = append(out, x.Event+"="+x.Command)
	}
	return out
}

func (h *hookExecFlag) Set(v string) error {
	for _, one := range splitHooks(v) {
		if strings.TrimSpace(one) == "" {
			continue
		}
		x, err := hooks.ParseExecHook(strings.TrimSpace(one))
		if err != nil {
			return err
		}
		*h = append(*h, x)
	}
	return nil
}

// splitHooks cuts v at newlines and at each ; outside quotes and not after a backslash.
func splitHooks(v string) []string {
	var (
		out   []string
		start int
		quote rune
		esc   bool
	)
	for i, r := range v {
		switch {
		case esc:
			esc = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			}
		case r == '\\':
			esc = true
		case quote == '"':
			if r == '"' {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == ';' || r == '\n':
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// hookSQLFlag is the repeatable --hook-sql EVENT=FILE.
type hookSQLFlag []hooks.SQLHook

func (h *hookSQLFlag) String() string { return strings.Join(h.Values(), ",") }

// Values are the hooks, each as EVENT=FILE (repeatableFlag).
func (h *hookSQLFlag) Values() []string {
	parts := make([]string, len(*h))
	for i, x := range *h {
		parts[i] = x.Event + "=" + x.File
	}
	return parts
}

func (h *hookSQLFlag) Set(v string) error {
	hook, err := hooks.ParseSQLHook(v)
	if err != nil {
		return err
	}
	*h = append(*h, hook)
	return nil
}
