package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/contact"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/internal/pgupsert"
	"github.com/mirrord/mirrord/schema"
)

// maxCopyConns caps the connections of the raw COPY baseline, as mirrord's --max-applies caps its own.
const maxCopyConns = 16

// baseline is a load straight into PostgreSQL, the figure mirrord is measured against.
type baseline struct {
	what  string
	rows  int64
	conns int
	took  time.Duration
}

func (r *baseline) rowsPerSecond() float64 { return rate(r.rows, r.took) }

func (r *baseline) print(out io.Writer) {
	fmt.Fprintf(out, "%s: %d rows on %d connections in %s: %.0f rows/s\n",
		r.what, r.rows, r.conns, r.took.Round(time.Millisecond), r.rowsPerSecond())
}

// scratch is a fresh database per baseline tenant on --pg, with the bench's tables created by
// the PostgreSQL target itself, so that they are the same tables mirrord writes.
type scratch struct {
	dsn    string
	target *pgsql.Target
	dbs    []string
	conns  []*pgx.Conn
}

func (b *bench) openScratch(ctx context.Context, n int) (*scratch, error) {
	sc := &scratch{dsn: b.s.pgDSN}
	prefix := "mirrord_benchcopy_" + b.runID + "_"
	target, err := pgsql.Open(ctx, b.s.pgDSN, pgsql.Options{NameTemplate: prefix + "{ctx}"})
	if err != nil {
		return nil, fmt.Errorf("--pg: %w", err)
	}
	sc.target = target
	cfg, err := pgx.ParseConfig(b.s.pgDSN)
	if err != nil {
		sc.close()
		return nil, fmt.Errorf("--pg: %w", err)
	}
	for i := range n {
		name := fmt.Sprintf("T%d", i+1)
		m, err := target.Open(ctx, name)
		if err == nil {
			for _, t := range benchTables(b.s.tables) {
				if err = m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, t)}); err != nil {
					break
				}
			}
		}
		if err != nil {
			sc.close()
			return nil, fmt.Errorf("--pg: scratch database: %w", err)
		}
		db, err := target.DatabaseName(name)
		if err != nil {
			sc.close()
			return nil, err
		}
		sc.dbs = append(sc.dbs, db)
		c := cfg.Copy()
		c.Database = db
		conn, err := pgx.ConnectConfig(ctx, c)
		if err != nil {
			sc.close()
			return nil, fmt.Errorf("--pg: database %s: %w", db, err)
		}
		sc.conns = append(sc.conns, conn)
	}
	return sc, nil
}

func (sc *scratch) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, c := range sc.conns {
		c.Close(ctx)
	}
	sc.target.Close()
	dropDatabases(ctx, sc.dsn, sc.dbs)
}

// copyPlan copies a plan's rows, each a full row of its key, into the tables of one connection.
func copyPlan(ctx context.Context, conn *pgx.Conn, p *benchPlan) error {
	names := contact.Columns()
	for _, t := range p.tables {
		var ids []int64
		if err := t.each(func(_ bulk.Op, id, _ int64) error { ids = append(ids, id); return nil }); err != nil {
			return err
		}
		next := 0
		n, err := conn.CopyFrom(ctx, pgx.Identifier{t.table.Name}, names, pgx.CopyFromFunc(func() ([]any, error) {
			if next >= len(ids) {
				return nil, nil
			}
			next++
			return contact.Row(ids[next-1], p.gen), nil
		}))
		if err != nil {
			return fmt.Errorf("COPY into %s: %w", t.table.Name, err)
		}
		if n != int64(len(ids)) {
			return fmt.Errorf("COPY into %s: %d rows of %d", t.table.Name, n, len(ids))
		}
	}
	return nil
}

// rawCopy loads the plan's rows of every tenant by COPY into fresh copies of the tables, one
// connection per tenant up to maxCopyConns at once: the database's limit for the same rows.
func (b *bench) rawCopy(ctx context.Context, p *benchPlan) (*baseline, error) {
	conns := min(b.s.tenants, maxCopyConns)
	sc, err := b.openScratch(ctx, conns)
	if err != nil {
		return nil, err
	}
	defer sc.close()
	var next int
	var mu sync.Mutex
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		next++
		return next <= b.s.tenants
	}
	errs := make([]error, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for i, conn := range sc.conns {
		wg.Go(func() {
			for used := false; take(); used = true {
				// A connection's next tenant starts on empty tables, as mirrord's next tenant does.
				if used {
					if err := truncate(ctx, conn, p); err != nil {
						errs[i] = err
						return
					}
				}
				if err := copyPlan(ctx, conn, p); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &baseline{what: "raw COPY (pgx CopyFrom) into fresh tables", rows: p.rows() * int64(b.s.tenants), conns: conns, took: took}, nil
}

// truncate empties the plan's tables. Its cost is counted, which errs in mirrord's favour
// only when there are more tenants than connections.
func truncate(ctx context.Context, conn *pgx.Conn, p *benchPlan) error {
	var names []string
	for _, t := range p.tables {
		names = append(names, pgx.Identifier{t.table.Name}.Sanitize())
	}
	_, err := conn.Exec(ctx, "TRUNCATE "+strings.Join(names, ", "))
	return err
}

// batchedUpsert is what generic CDC sinks do: on one tenant's tables loaded with base (not
// counted), the changes as INSERT ... ON CONFLICT DO UPDATE and DELETE statements pipelined a
// thousand at a time, in one transaction.
func (b *bench) batchedUpsert(ctx context.Context, base, changes *benchPlan) (*baseline, error) {
	sc, err := b.openScratch(ctx, 1)
	if err != nil {
		return nil, err
	}
	defer sc.close()
	conn := sc.conns[0]
	if err := copyPlan(ctx, conn, base); err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return nil, err
	}
	start := time.Now()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	for _, t := range changes.tables {
		upsert, del := pgupsert.SQL(t.table)
		batch := &pgx.Batch{}
		flush := func() error {
			if batch.Len() == 0 {
				return nil
			}
			err := tx.SendBatch(ctx, batch).Close()
			batch = &pgx.Batch{}
			return err
		}
		err := t.each(func(op bulk.Op, id, _ int64) error {
			if op == bulk.Delete {
				batch.Queue(del, id)
			} else {
				batch.Queue(upsert, changes.values(op, id)...)
			}
			if batch.Len() >= 1000 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return nil, fmt.Errorf("batched upsert into %s: %w", t.table.Name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return &baseline{what: "pipelined batched upsert (1000 statements a round trip, one tenant)", rows: changes.rows(), conns: 1, took: time.Since(start)}, nil
}

// dropDatabases drops databases from the server of dsn, closing their sessions.
func dropDatabases(ctx context.Context, dsn string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var errs []error
	for _, name := range names {
		if err := schema.CheckName("database", name); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			errs = append(errs, fmt.Errorf("drop database %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
