package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/mssql"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
)

// DefaultTarget is the embedded SQLite folder used when no target is named.
const DefaultTarget = "./mirrors"

// targetFlags are the flags that name the mirror databases, shared by every command.
type targetFlags struct {
	dsn    string
	dbName string
	// mssqlCreate is appended to SQL Server's CREATE DATABASE (edition and service objective
	// on Azure SQL Database).
	mssqlCreate string
	// poolPerTenant is the connections a PostgreSQL tenant database's pool may open; zero
	// takes the target's default.
	poolPerTenant int32
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.dsn, "target", DefaultTarget,
		"where the mirrors live: a folder or sqlite:///folder (SQLite, one file per tenant), postgres://user:pass@host/postgres or sqlserver://user:pass@host?database=master (the database to connect to for CREATE DATABASE)")
	fs.StringVar(&t.dbName, "db-name", "Mirror_{ctx}", "name template of a tenant's mirror database; {ctx} is the tenant's context identifier")
	fs.StringVar(&t.mssqlCreate, "mssql-create-options", "", "SQL Server only: options after CREATE DATABASE [name], e.g. (EDITION = 'GeneralPurpose', SERVICE_OBJECTIVE = 'GP_S_Gen5_2') on Azure SQL Database")
}

// open opens the target the DSN names.
func (t *targetFlags) open(ctx context.Context) (bulk.Target, string, error) {
	if !strings.Contains(t.dbName, "{ctx}") {
		return nil, "", fmt.Errorf("--db-name %q must contain {ctx}", t.dbName)
	}
	dsn := strings.TrimSpace(t.dsn)
	scheme, _, hasScheme := strings.Cut(dsn, "://")
	if !hasScheme {
		scheme = ""
	}
	switch strings.ToLower(scheme) {
	case "", "sqlite", "file":
		dir := dsn
		if hasScheme {
			u, err := url.Parse(dsn)
			if err != nil {
				return nil, "", fmt.Errorf("--target %q: %v", dsn, err)
			}
			dir = u.Host + u.Path
		}
		if dir == "" {
			return nil, "", fmt.Errorf("--target %q names no folder", dsn)
		}
		tg, err := sqlite.Open(dir, sqlite.Options{NameTemplate: t.dbName + ".db"})
		return tg, "sqlite " + dir, err
	case "postgres", "postgresql":
		tg, err := pgsql.Open(ctx, dsn, pgsql.Options{NameTemplate: t.dbName, MaxConnsPerTenant: t.poolPerTenant})
		return tg, "postgres " + redactDSN(dsn), err
	case "sqlserver":
		tg, err := mssql.Open(ctx, dsn, mssql.Options{NameTemplate: t.dbName, MaxConnsPerTenant: t.poolPerTenant, CreateOptions: t.mssqlCreate})
		return tg, "sqlserver " + redactDSN(dsn), err
	}
	return nil, "", fmt.Errorf("--target %q: unknown scheme %q (want a folder, sqlite://, postgres:// or sqlserver://)", redactDSN(dsn), scheme)
}

// redactDSN hides passwords and other secrets of a DSN (the URL's password, and query
// parameters such as password or clientassertion) so that they never reach a log.
func redactDSN(dsn string) string { return mssql.RedactDSN(dsn) }
