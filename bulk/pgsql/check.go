package pgsql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/bulk"
)

var _ bulk.Checker = (*Target)(nil)

// Check checks the server and the login before mirrord serves: the server's version (15 or
// later: MERGE), the right to create databases, and, in a scratch database it creates and drops,
// that the login can create a table, COPY into it, MERGE and alter it. It ends within ctx.
func (t *Target) Check(ctx context.Context) []bulk.Check {
	var checks []bulk.Check
	add := func(name string, err error, ok string) {
		c := bulk.Check{Name: name, OK: err == nil, Detail: ok}
		if err != nil {
			c.Detail = err.Error()
		}
		checks = append(checks, c)
	}
	var version string
	var number int
	err := t.admin.QueryRow(ctx, "SELECT current_setting('server_version'), current_setting('server_version_num')::int").Scan(&version, &number)
	if err != nil {
		add("server", fmt.Errorf("does not answer: %w", err), "")
		return checks
	}
	if number < 150000 {
		add("server", fmt.Errorf("PostgreSQL %s; mirrord needs 15 or later (MERGE)", version), "")
	} else {
		add("server", nil, "PostgreSQL "+version)
	}
	var user string
	var createDB, super bool
	err = t.admin.QueryRow(ctx, "SELECT current_user, rolcreatedb, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &createDB, &super)
	switch {
	case err != nil:
		add("create database", fmt.Errorf("cannot read the login's rights: %w", err), "")
		return checks
	case !createDB && !super:
		add("create database", fmt.Errorf("login %s may not create databases; grant it: ALTER ROLE %s CREATEDB", user, quote(user)), "")
		return checks
	}
	add("create database", nil, "login "+user+" may create databases")
	add("tables and bulk load", t.probe(ctx), "created a table in a scratch database, copied, merged and altered it, and dropped the database")
	return checks
}

// probe creates a scratch database, does in it what an apply does, and drops it.
func (t *Target) probe(ctx context.Context) error {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "mirrord_check_" + hex.EncodeToString(b[:])
	if _, err := t.admin.Exec(ctx, createDatabaseSQL(name)); err != nil {
		return fmt.Errorf("create a scratch database: %w", err)
	}
	defer func() {
		drop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_, _ = t.admin.Exec(drop, "DROP DATABASE IF EXISTS "+quote(name)+" WITH (FORCE)")
	}()
	cfg := t.base.ConnConfig.Copy()
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to the scratch database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	steps := []string{
		"CREATE TABLE probe (id integer PRIMARY KEY, v text)",
		"CREATE TEMP TABLE probe_stage (id integer, v text) ON COMMIT DROP",
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"probe_stage"}, []string{"id", "v"}, pgx.CopyFromRows([][]any{{int32(1), "a"}, {int32(2), "b"}})); err != nil {
		return fmt.Errorf("COPY: %w", err)
	}
	for _, s := range []string{
		"MERGE INTO probe AS d USING probe_stage AS s ON d.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.v)",
		"ALTER TABLE probe ADD COLUMN w bigint",
	} {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}
