package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/target"
	"github.com/mirrord/mirrord/schema"
)

// maxListedKeys is how many differing keys verify lists per table.
const maxListedKeys = 10

func cmdVerify(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("verify")
	source := fs.String("source", "", "the tenant file")
	target := fs.String("target", "", "where the mirrors live: a folder or sqlite:///folder, postgres://… or sqlserver://…")
	dbName := fs.String("db-name", "Mirror_{ctx}", "name template of the mirror database; {ctx} is the tenant")
	name := fs.String("tenant", "", "context identifier of the mirror (default: the tenant's own)")
	if err := parse(fs, args, "source", "target"); err != nil {
		return err
	}
	t, err := tenant.Open(ctx, *source)
	if err != nil {
		return err
	}
	defer t.Close()
	ctxName := *name
	if ctxName == "" {
		ctxName = t.Name()
	}
	return verify(ctx, t, *target, *dbName, ctxName, out)
}

// tableCheck is one table's comparison.
type tableCheck struct {
	name                 string
	srcRows, mirrorRows  int64
	srcHash, mirrorHash  uint64
	problem              string
	keys                 []string
	sourceLSN, mirrorLSN int64
}

func (c *tableCheck) differs() bool { return c.problem != "" }

func verify(ctx context.Context, t *tenant.Tenant, target, dbName, ctxName string, out io.Writer) error {
	if !strings.Contains(dbName, "{ctx}") {
		return fmt.Errorf("%w: --db-name %q must contain {ctx}", errUsage, dbName)
	}
	if err := schema.CheckName("tenant", ctxName); err != nil {
		return err
	}
	start := time.Now()
	m, where, err := openMirror(ctx, target, dbName, ctxName)
	if err != nil {
		fmt.Fprintf(out, "verify tenant %s: DIFFERENT: %v\n", ctxName, err)
		return errDifferent
	}
	defer m.close()
	current, err := t.CurrentLSN(ctx)
	if err != nil {
		return err
	}
	states, err := m.States(ctx)
	if err != nil {
		fmt.Fprintf(out, "verify tenant %s: DIFFERENT: reading the state table of %s: %v\n", ctxName, where, err)
		return errDifferent
	}
	// The state table's cycle row is no table: only real tables' LSNs are compared.
	lsns := map[string]int64{}
	for name, st := range states {
		if name != bulk.CycleRow {
			lsns[name] = st.LSN
		}
	}
	catalog, err := m.Tables(ctx)
	if err != nil {
		fmt.Fprintf(out, "verify tenant %s: DIFFERENT: reading the tables of %s: %v\n", ctxName, where, err)
		return errDifferent
	}
	tables := t.Tables()
	checks := make([]*tableCheck, len(tables))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	var fatal error
	var fatalOnce sync.Once
	for i, tb := range tables {
		checks[i] = &tableCheck{name: tb.Name, sourceLSN: current, mirrorLSN: bulk.NoLSN}
		lsn, mirrored := lsns[tb.Name]
		if !mirrored {
			checks[i].problem = "not mirrored (no row in the state table)"
			continue
		}
		checks[i].mirrorLSN = lsn
		// The rows are read by the source's columns, so a column the mirror has besides them,
		// or one of another type, shows only here.
		if st, ok := catalog[tb.Name]; ok {
			if diff := columnsDiffer(st.Table, tb); diff != "" {
				checks[i].problem = "its columns differ from the source's: " + diff
				continue
			}
		}
		wg.Add(1)
		go func(c *tableCheck, tb schema.Table) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := compareTable(ctx, t, m, tb, c); err != nil {
				fatalOnce.Do(func() { fatal = err })
			}
		}(checks[i], tb)
	}
	wg.Wait()
	if fatal != nil {
		return fatal
	}
	inSource := map[string]bool{}
	for _, tb := range tables {
		inSource[tb.Name] = true
	}
	var extra []string
	for name := range lsns {
		if !inSource[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)

	fmt.Fprintf(out, "verify tenant %s: source %s (LSN %d) against %s\n", ctxName, t.Path(), current, where)
	fmt.Fprintf(out, "%-20s %10s %10s %10s  %s\n", "table", "source", "mirror", "mirrorLSN", "result")
	var rows int64
	different := 0
	for _, c := range checks {
		result := "equal"
		if c.differs() {
			different++
			result = "DIFFERENT: " + c.problem
			if len(c.keys) > 0 {
				result += "; keys: " + strings.Join(c.keys, ", ")
			}
		} else if c.mirrorLSN != c.sourceLSN {
			result = fmt.Sprintf("equal (mirror LSN %d, source %d: the next cycle resends)", c.mirrorLSN, c.sourceLSN)
		}
		rows += c.srcRows
		fmt.Fprintf(out, "%-20s %10d %10d %10d  %s\n", c.name, c.srcRows, c.mirrorRows, c.mirrorLSN, result)
	}
	for _, name := range extra {
		different++
		fmt.Fprintf(out, "%-20s %10s %10s %10d  DIFFERENT: mirrored but not at the source (dropped there)\n", name, "-", "-", lsns[name])
	}
	took := time.Since(start).Round(time.Millisecond)
	if different > 0 {
		fmt.Fprintf(out, "verify: DIFFERENT: %d of %d tables differ (%s)\n", different, len(tables)+len(extra), took)
		return errDifferent
	}
	fmt.Fprintf(out, "verified: %d tables, %d rows equal (%s)\n", len(tables), rows, took)
	return nil
}

// compareTable counts and hashes both sides; when they differ it reads both again in key order
// to name the differing keys.
func compareTable(ctx context.Context, t *tenant.Tenant, m *mirror, tb schema.Table, c *tableCheck) error {
	src, err := t.AllRows(ctx, tb.Name)
	if err != nil {
		return err
	}
	source := tableHash{tb: tb, kept: m.Kept}
	for src.Next() {
		if err = source.add(src.Row().Values); err != nil {
			break
		}
	}
	if err == nil {
		err = src.Err()
	}
	src.Close()
	if err != nil {
		return fmt.Errorf("source table %s: %w", tb.Name, err)
	}
	c.srcRows, c.srcHash = source.rows, source.sum
	mirrored := tableHash{tb: tb, kept: m.Kept}
	if err := m.ReadRows(ctx, tb, mirrored.add); err != nil {
		c.problem = err.Error()
		return nil
	}
	c.mirrorRows, c.mirrorHash = mirrored.rows, mirrored.sum
	if c.srcRows == c.mirrorRows && c.srcHash == c.mirrorHash {
		return nil
	}
	if c.srcRows != c.mirrorRows {
		c.problem = fmt.Sprintf("%d rows at the source, %d in the mirror", c.srcRows, c.mirrorRows)
	} else {
		c.problem = "content hash differs"
	}
	c.keys, err = differingKeys(ctx, t, m, tb)
	return err
}

// tableHash counts rows and sums a hash of each row's canonical text: a sum does not depend on
// the order rows come in.
type tableHash struct {
	tb   schema.Table
	kept func(schema.Column, any) any
	rows int64
	sum  uint64
}

func (h *tableHash) add(vals []any) error {
	x, err := rowHash(h.tb, vals, h.kept)
	if err != nil {
		return err
	}
	h.sum += x
	h.rows++
	return nil
}

// rowHash hashes each column's name and canonical text (bulk.FormatValue) of what the mirror
// keeps of the value, NULL apart from every text.
func rowHash(tb schema.Table, vals []any, kept func(schema.Column, any) any) (uint64, error) {
	// Each value goes in with its length, so that no text can shift bytes into the next column
	// and hash the same (a separator byte could stand inside a text value).
	h := fnv.New64a()
	var n [binary.MaxVarintLen64]byte
	for i, c := range tb.Columns {
		h.Write([]byte(c.Name))
		v := kept(c, vals[i])
		if v == nil {
			h.Write(n[:binary.PutVarint(n[:], -1)])
			continue
		}
		text, err := bulk.FormatValue(c, v)
		if err != nil {
			return 0, fmt.Errorf("column %s: %w", c.Name, err)
		}
		h.Write(n[:binary.PutVarint(n[:], int64(len(text)))])
		h.Write([]byte(text))
	}
	return h.Sum64(), nil
}

// columnsDiffer says how the mirror's table, as its catalog reads back, differs from the source's
// in its columns: what TableSchema would change. Defaults are left out: the mirror keeps them
// as text in its state table, and a default changes no row.
func columnsDiffer(mirrored, source schema.Table) string {
	plan := schema.Diff(&mirrored, source)
	if plan.Action == schema.Recreate {
		return plan.Reason
	}
	var parts []string
	name := func(cols []schema.Column) string {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		return strings.Join(names, ", ")
	}
	if len(plan.Add) > 0 {
		parts = append(parts, "lacks "+name(plan.Add))
	}
	if len(plan.Widen) > 0 {
		parts = append(parts, "narrower or NOT NULL "+name(plan.Widen))
	}
	if len(plan.Drop) > 0 {
		parts = append(parts, "has besides "+strings.Join(plan.Drop, ", "))
	}
	return strings.Join(parts, "; ")
}

// errListed ends the mirror's read once enough keys are listed.
var errListed = errors.New("enough differing keys are listed")

// differingKeys merges both sides in key order and lists up to maxListedKeys keys that are
// missing on one side or differ, with the first differing column.
func differingKeys(ctx context.Context, t *tenant.Tenant, m *mirror, tb schema.Table) ([]string, error) {
	key := tb.Key()[0]
	src, err := t.AllRows(ctx, tb.Name)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	keyOf := func(vals []any) int64 { k, _ := vals[key].(int64); return k }
	var out []string
	sOK := src.Next()
	// The mirror's rows come in key order too; the source's are pulled along to meet each.
	err = m.ReadRows(ctx, tb, func(mv []any) error {
		mk := keyOf(mv)
		for sOK && keyOf(src.Row().Values) < mk {
			out = append(out, fmt.Sprintf("%d (missing in the mirror)", keyOf(src.Row().Values)))
			sOK = src.Next()
			if len(out) == maxListedKeys {
				return errListed
			}
		}
		if !sOK || mk < keyOf(src.Row().Values) {
			out = append(out, fmt.Sprintf("%d (only in the mirror)", mk))
		} else {
			sv := src.Row().Values
			for i, c := range tb.Columns {
				a, b := m.Kept(c, sv[i]), m.Kept(c, mv[i])
				if !bulk.EqualValues(a, b) {
					out = append(out, fmt.Sprintf("%d (column %s: source %s, mirror %s)", mk, c.Name, show(c, a), show(c, b)))
					break
				}
			}
			sOK = src.Next()
		}
		if len(out) == maxListedKeys {
			return errListed
		}
		return nil
	})
	if errors.Is(err, errListed) {
		return out, src.Err()
	}
	for sOK && len(out) < maxListedKeys {
		out = append(out, fmt.Sprintf("%d (missing in the mirror)", keyOf(src.Row().Values)))
		sOK = src.Next()
	}
	return out, errors.Join(src.Err(), err)
}

func show(c schema.Column, v any) string {
	if v == nil {
		return "NULL"
	}
	s, err := bulk.FormatValue(c, v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// mirror is a tenant's mirror opened to be read back, with the target that holds it.
type mirror struct {
	bulk.Mirror
	bulk.Inspector
	target bulk.Target
}

func (m *mirror) close() {
	m.Mirror.Close()
	m.target.Close()
}

// openMirror opens the tenant's existing mirror on the target spec names (bulk/target), and
// names where it is. A missing mirror is an error: verify creates nothing.
func openMirror(ctx context.Context, spec, dbName, tenant string) (*mirror, string, error) {
	tg, _, err := target.Open(ctx, spec, target.Options{NameTemplate: dbName})
	if err != nil {
		return nil, "", err
	}
	m, where, err := openExisting(ctx, tg, tenant)
	if err != nil {
		tg.Close()
		return nil, where, err
	}
	return m, where, nil
}

func openExisting(ctx context.Context, tg bulk.Target, tenant string) (*mirror, string, error) {
	loc, ok := tg.(bulk.Locator)
	if !ok {
		return nil, "", fmt.Errorf("target %T cannot tell whether a mirror exists", tg)
	}
	where, exists, err := loc.Locate(ctx, tenant)
	if err != nil {
		return nil, where, err
	}
	if !exists {
		return nil, where, fmt.Errorf("mirror %s does not exist", where)
	}
	bm, err := tg.Open(ctx, tenant)
	if err != nil {
		return nil, where, fmt.Errorf("mirror %s: %w", where, err)
	}
	ins, ok := bm.(bulk.Inspector)
	if !ok {
		bm.Close()
		return nil, where, fmt.Errorf("mirror %s cannot be read back (%T is no bulk.Inspector)", where, bm)
	}
	return &mirror{Mirror: bm, Inspector: ins, target: tg}, where, nil
}
