package engine_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/engine"
)

// hookLog is an engine.Hooks that records what it heard and refuses the tables in refuse.
type hookLog struct {
	mu     sync.Mutex
	heard  []string
	refuse map[string]bool
}

func (h *hookLog) BeforeTable(_ context.Context, tenant, table string, change engine.Change) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.heard = append(h.heard, "before "+table+" "+string(change))
	if h.refuse[table] {
		return errors.New("the partner refuses " + table)
	}
	return nil
}

func (h *hookLog) Wiped(_ context.Context, tenant, table string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.heard = append(h.heard, "wiped "+table)
	if h.refuse["wipe"] {
		return errors.New("the partner refuses the wipe")
	}
	return nil
}

// take returns what was heard since the last take.
func (h *hookLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.heard
	h.heard = nil
	return out
}

// TestHooksOncePerTablePerCycle follows the engine's Hooks through cycles: once per table per
// cycle, again after a refusal, again after a later schema change of the same cycle, afresh in
// the next cycle, and Unknown for a table this engine saw no TableSchema of.
func TestHooksOncePerTablePerCycle(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			if b.target == nil {
				t.Skip("MIRRORD_TEST_PG_DSN is not set; skipping the PostgreSQL run")
			}
			h := &hookLog{refuse: map[string]bool{"person": true}}
			e := engine.New(b.target, engine.Options{Wait: 5 * time.Second, Hooks: h})
			const tenant = "HookTenant"
			check := func(step string, want ...string) {
				t.Helper()
				got := h.take()
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("%s: hooks heard %q, want %q", step, got, want)
				}
			}
			ins := func(table string, id int64, at int64) batch {
				return batch{table: table, cols: []string{table + "_id"}, rows: []row{{bulk.Insert, []any{id}}}, lsn: lsn(at)}
			}

			if err := e.Authenticate(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			sync_(t, e, tenant, contact(), person())
			res := apply(t, e, tenant, ins("contact", 1, 10), ins("person", 1, 10))
			check("first rows", "before contact Created", "before person Created")
			if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "the partner refuses person") || res[1].LSN != -1 {
				t.Fatalf("person answered %+v", res[1])
			}
			if c := contents(t, b, tenant, `SELECT count(*) FROM person`); c != "0" {
				t.Fatalf("person holds %s rows its hook refused", c)
			}

			h.mu.Lock()
			h.refuse = nil
			h.mu.Unlock()
			apply(t, e, tenant, ins("contact", 2, 11), ins("person", 1, 10))
			check("next rows", "before person Created")

			// The same cycle changes contact again (a widened column): it hears it again, still
			// as created, since the cycle created it.
			wider := contact()
			wider.Columns[1].Length = 400
			sync_(t, e, tenant, wider, person())
			apply(t, e, tenant, ins("contact", 3, 12), ins("person", 2, 13))
			check("after an alter", "before contact Created")

			if err := e.Wipe(ctx, tenant, []string{"person"}); err != nil {
				t.Fatal(err)
			}
			check("wipe", "wiped person")
			if _, err := e.Complete(ctx, tenant, nil); err != nil {
				t.Fatal(err)
			}

			// Next cycle: once again for each table, with what its TableSchema did.
			if err := e.Authenticate(ctx, tenant); err != nil {
				t.Fatal(err)
			}
			sync_(t, e, tenant, wider, person())
			apply(t, e, tenant, ins("contact", 4, 14), ins("person", 3, 15))
			check("second cycle", "before contact None", "before person None")

			// A failing Wipe hook fails the call, but the wipe is done.
			h.mu.Lock()
			h.refuse = map[string]bool{"wipe": true}
			h.mu.Unlock()
			if err := e.Wipe(ctx, tenant, []string{"contact", "person"}); err == nil || !strings.Contains(err.Error(), "the partner refuses the wipe") {
				t.Fatalf("Wipe with a refusing hook: %v", err)
			}
			check("refused wipe", "wiped contact", "wiped person")
			if c := contents(t, b, tenant, `SELECT count(*) FROM contact`); c != "0" {
				t.Fatalf("contact holds %s rows after its wipe", c)
			}
			if _, err := e.Complete(ctx, tenant, nil); err != nil {
				t.Fatal(err)
			}
			e.Close()

			// Another engine (another process) that saw no TableSchema of the cycle.
			other := engine.New(b.another(t), engine.Options{Wait: 5 * time.Second, Hooks: h})
			defer other.Close()
			apply(t, other, tenant, ins("contact", 5, 16))
			check("another process", "before contact Unknown")
		})
	}
}
