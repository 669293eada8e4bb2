package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bench/tenant"
	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
	"github.com/mirrord/mirrord/schema"
)

// BenchmarkVerify measures verify over a whole synthetic tenant of about 20,000 rows whose
// mirror is equal: every row is read back from the mirror and hashed, the source's too.
func BenchmarkVerify(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		dir := b.TempDir()
		target, err := sqlite.Open(dir, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer target.Close()
		benchVerify(b, target, dir, "Mirror_{ctx}")
	})
	b.Run("postgres", func(b *testing.B) {
		dsn := os.Getenv("MIRRORD_TEST_PG_DSN")
		if dsn == "" {
			b.Skip("MIRRORD_TEST_PG_DSN is not set")
		}
		template := "mtverifybench_{ctx}"
		target, err := pgsql.Open(context.Background(), dsn, pgsql.Options{NameTemplate: template})
		if err != nil {
			b.Fatal(err)
		}
		defer func() {
			target.Close()
			conn, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				b.Error(err)
				return
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), `DROP DATABASE IF EXISTS "mtverifybench_CustBench" WITH (FORCE)`); err != nil {
				b.Error(err)
			}
		}()
		benchVerify(b, target, dsn, template)
	})
}

// benchVerify fills the tenant's mirror on target straight from the source (as a full sync
// would leave it) and runs verify against it b.N times.
func benchVerify(b *testing.B, target bulk.Target, verifyTarget, dbName string) {
	ctx := context.Background()
	src := filepath.Join(b.TempDir(), "source.db")
	tn, err := tenant.Create(ctx, src, tenant.Config{Scale: 20000, Seed: 7, Name: "CustBench"})
	if err != nil {
		b.Fatal(err)
	}
	fillMirror(b, target, tn)
	tn.Close()
	var out strings.Builder
	if err := run(ctx, "verify", []string{"--source", src, "--target", verifyTarget, "--db-name", dbName}, &out); err != nil {
		b.Fatalf("verify: %v\n%s", err, out.String())
	}
	b.ResetTimer()
	for b.Loop() {
		if err := run(ctx, "verify", []string{"--source", src, "--target", verifyTarget, "--db-name", dbName}, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// fillMirror migrates every table of the tenant into its mirror on target and loads its rows
// with the tenant's current LSN, inside a cycle that has begun, as a full sync leaves it.
func fillMirror(tb testing.TB, target bulk.Target, tn *tenant.Tenant) {
	ctx := context.Background()
	lsn, err := tn.CurrentLSN(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	m, err := target.Open(ctx, tn.Name())
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.BeginCycle(ctx); err != nil {
		tb.Fatal(err)
	}
	for _, t := range tn.Tables() {
		if err := m.Migrate(ctx, bulk.Migration{Plan: schema.Diff(nil, t)}); err != nil {
			tb.Fatal(err)
		}
		rows, err := tn.AllRows(ctx, t.Name)
		if err != nil {
			tb.Fatal(err)
		}
		cols := make([]int, len(t.Columns))
		for i := range cols {
			cols[i] = i
		}
		var all []bulk.Row
		for rows.Next() {
			all = append(all, bulk.Row{Op: bulk.Insert, Columns: cols, Values: rows.Row().Values})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			tb.Fatal(err)
		}
		if _, err := m.Apply(ctx, t, bulk.NewSliceRows(all), bulk.ApplyOptions{LSN: func() (int64, bool) { return lsn, true }, Fresh: true}); err != nil {
			tb.Fatal(err)
		}
	}
}
