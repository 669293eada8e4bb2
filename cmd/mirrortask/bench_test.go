package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/internal/pgupsert"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		sorted []time.Duration
		p      int
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 10, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %d) = %s, want %s", tt.sorted, tt.p, got, tt.want)
		}
	}
}

func TestBenchSettingsCheck(t *testing.T) {
	good := benchSettings{mode: benchIncremental, tenants: 1, tables: 2, rows: 100, changes: 10, parallel: 1, batchBytes: 1, dbName: "Mirror_{ctx}"}
	if err := good.check(); err != nil {
		t.Fatalf("good settings: %v", err)
	}
	tests := []struct {
		name   string
		change func(*benchSettings)
		want   string
	}{
		{"mode", func(s *benchSettings) { s.mode = "fast" }, `--mode "fast"`},
		{"tenants", func(s *benchSettings) { s.tenants = 0 }, "at least 1"},
		{"rows", func(s *benchSettings) { s.rows = 1 }, "fewer than one row per table"},
		{"changes", func(s *benchSettings) { s.changes = 101 }, "--changes 101"},
		{"db-name", func(s *benchSettings) { s.dbName = "Mirror" }, "has no {ctx}"},
	}
	for _, tt := range tests {
		s := good
		tt.change(&s)
		err := s.check()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestChangePlanMix(t *testing.T) {
	b := &bench{s: benchSettings{tables: 2, rows: 10_000, changes: 2_000, seed: 3}}
	p := b.changePlan(10_001)
	if got := p.rows(); got != 2_000 {
		t.Fatalf("plan has %d changes, want 2000", got)
	}
	counts := map[bulk.Op]int{}
	seen := map[int64]bool{}
	lastLSN := int64(10_000)
	for ti, tb := range p.tables {
		deleting := false
		err := tb.each(func(op bulk.Op, id, lsn int64) error {
			counts[op]++
			if seen[id] {
				t.Errorf("key %d comes twice", id)
			}
			seen[id] = true
			if lsn != lastLSN+1 {
				t.Errorf("table %s: LSN %d follows %d", tb.table.Name, lsn, lastLSN)
			}
			lastLSN = lsn
			switch {
			case op == bulk.Delete:
				deleting = true
			case deleting:
				t.Errorf("table %s: a live row after the deletes", tb.table.Name)
			}
			lo, hi := int64(ti)*5_000+1, int64(ti+1)*5_000
			if op == bulk.Insert && id <= 10_000 || op != bulk.Insert && (id < lo || id > hi) {
				t.Errorf("table %s: %s of key %d outside its range", tb.table.Name, op, id)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if counts[bulk.Update] != 1_200 || counts[bulk.Insert] != 500 || counts[bulk.Delete] != 300 {
		t.Errorf("mix %v, want 1200 updates, 500 inserts, 300 deletes", counts)
	}
	if p.lastLSN != lastLSN {
		t.Errorf("plan's LSN %d, last row's %d", p.lastLSN, lastLSN)
	}
}

// TestEncodeSpool decodes every spooled call with the real codec after splicing a token in,
// as send does, and checks the calls' sizes, rows and LSNs.
func TestEncodeSpool(t *testing.T) {
	var out bytes.Buffer
	b := &bench{s: benchSettings{tables: 2, rows: 3_000, batchBytes: 64 << 10, spoolDir: t.TempDir()}, out: &out}
	p := b.fullPlan(1)
	sp, err := b.encode(p)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.remove()
	if len(sp.tables) != 2 {
		t.Fatalf("%d tables spooled, want 2", len(sp.tables))
	}
	const token = "a.b.c"
	var rows int64
	for ti, calls := range sp.tables {
		if len(calls) < 2 {
			t.Fatalf("table %d: %d calls, want several at 64 KiB a call", ti, len(calls))
		}
		for ci, c := range calls {
			body := make([]byte, c.size)
			if _, err := sp.f.ReadAt(body, c.off); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(body[sp.tokenAt:], []byte(tokenPlaceholder)) {
				t.Fatalf("table %d call %d: no placeholder at byte %d", ti, ci, sp.tokenAt)
			}
			spliced := append(append(append([]byte{}, body[:sp.tokenAt]...), token...), body[sp.tokenAt+int64(len(tokenPlaceholder)):]...)
			if c.size > int64(b.s.batchBytes)+2048 {
				t.Errorf("table %d call %d: %d bytes, more than a row over --batch-bytes", ti, ci, c.size)
			}
			last := ci == len(calls)-1
			if last != (c.lsn == p.lastLSN) || !last && c.lsn != 0 {
				t.Errorf("table %d call %d of %d: LSN %d", ti, ci, len(calls), c.lsn)
			}
			if !bytes.Contains(spliced, []byte(">"+token+"<")) {
				t.Errorf("table %d call %d: the token is not an element's text", ti, ci)
			}
			if n := bytes.Count(spliced, []byte("<Row ")); n != c.rows {
				t.Errorf("table %d call %d: %d rows in the body, %d booked", ti, ci, n, c.rows)
			}
			rows += int64(c.rows)
			if !last && bytes.Contains(spliced, []byte("<Lsn>")) || last && !bytes.Contains(spliced, []byte("<Lsn>3000</Lsn>")) {
				t.Errorf("table %d call %d: wrong <Lsn> element", ti, ci)
			}
		}
	}
	if rows != 3_000 {
		t.Errorf("%d rows spooled, want 3000", rows)
	}
}

func TestUpsertSQL(t *testing.T) {
	tb := benchTables(2)[1]
	upsert, del := pgupsert.SQL(tb)
	wantUpsert := `INSERT INTO "contact_2" ("contact_id", "name", "department", "orgnr", "number1", "category_idx", "business_idx", "registered", "updated", "associate_id", "text_id", "deleted") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT ("contact_id") DO UPDATE SET "name" = EXCLUDED."name", "department" = EXCLUDED."department", "orgnr" = EXCLUDED."orgnr", "number1" = EXCLUDED."number1", "category_idx" = EXCLUDED."category_idx", "business_idx" = EXCLUDED."business_idx", "registered" = EXCLUDED."registered", "updated" = EXCLUDED."updated", "associate_id" = EXCLUDED."associate_id", "text_id" = EXCLUDED."text_id", "deleted" = EXCLUDED."deleted"`
	if upsert != wantUpsert {
		t.Errorf("upsert:\n got %s\nwant %s", upsert, wantUpsert)
	}
	if want := `DELETE FROM "contact_2" WHERE "contact_id" = $1`; del != want {
		t.Errorf("delete: got %s, want %s", del, want)
	}
}
