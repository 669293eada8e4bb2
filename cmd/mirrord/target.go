package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/target"
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

// open opens the target the DSN names, and describes it for the log.
func (t *targetFlags) open(ctx context.Context) (bulk.Target, string, error) {
	if !strings.Contains(t.dbName, "{ctx}") {
		return nil, "", fmt.Errorf("--db-name %q must contain {ctx}", t.dbName)
	}
	return target.Open(ctx, t.dsn, target.Options{NameTemplate: t.dbName, MaxConnsPerTenant: t.poolPerTenant, MSSQLCreateOptions: t.mssqlCreate})
}
