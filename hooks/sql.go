package hooks

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// SQLHook is one --hook-sql: SQL run in the tenant's mirror database for each event of one kind.
type SQLHook struct {
	Event string
	File  string // read once, when the Dispatcher is built
}

// ParseSQLHook reads EVENT=FILE.
func ParseSQLHook(s string) (SQLHook, error) {
	event, file, ok := strings.Cut(s, "=")
	event, file = strings.TrimSpace(event), strings.TrimSpace(file)
	if !ok || file == "" {
		return SQLHook{}, fmt.Errorf("SQL hook %q: want EVENT=FILE, EVENT one of %v", s, Events)
	}
	if err := CheckEvent(event); err != nil {
		return SQLHook{}, fmt.Errorf("SQL hook %q: %w", s, err)
	}
	return SQLHook{Event: event, File: file}, nil
}

// RunSQL runs text in the tenant's mirror database, {{table}} standing for table's quoted name
// (empty for an event of no table) and {{tenant}} for the tenant as a string literal: the
// engine's RunSQL.
type RunSQL func(ctx context.Context, tenant, table, text string) error

// sqlDeliver reads the hook's file and returns how its sink delivers an event.
func sqlDeliver(h SQLHook, run RunSQL, timeout time.Duration) (func(context.Context, Event, []byte) error, error) {
	if run == nil {
		return nil, fmt.Errorf("SQL hook %s=%s: no mirror to run it in", h.Event, h.File)
	}
	data, err := os.ReadFile(h.File)
	if err != nil {
		return nil, fmt.Errorf("SQL hook %s: %w", h.Event, err)
	}
	text := string(data)
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("SQL hook %s=%s: the file holds no SQL", h.Event, h.File)
	}
	if !hasTable(h.Event) && strings.Contains(text, "{{table}}") {
		return nil, fmt.Errorf("SQL hook %s=%s: {{table}} has no value for %s, an event of no table", h.Event, h.File, h.Event)
	}
	return func(ctx context.Context, ev Event, _ []byte) error {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return run(ctx, ev.Tenant, ev.Table, text)
	}, nil
}

// hasTable says whether an event names one table.
func hasTable(event string) bool { return event == TableBefore || event == TableWiped }
