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
	// routes is the --routes file, and route the routes given one by one (--route, or an
	// array in --config), which come first: tenants matching a route live on its target.
	routes string
	route  listFlag
	// router is the Router open opened when routes is set, for SIGHUP to give new routes to.
	router *target.Router
}

func (t *targetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.dsn, "target", DefaultTarget,
		"where the mirrors live: a folder or sqlite:///folder (SQLite, one file per tenant), postgres://user:pass@host/postgres or sqlserver://user:pass@host?database=master (the database to connect to for CREATE DATABASE)")
	fs.StringVar(&t.dbName, "db-name", "Mirror_{ctx}", "name template of a tenant's mirror database; {ctx} is the tenant's context identifier")
	fs.StringVar(&t.routes, "routes", "", "a file of routes, one a line: PATTERN TARGET [DB-NAME-TEMPLATE]; a tenant lives on the target of the first route its context id matches (a glob, * for all), else on --target")
	fs.Var(&t.route, "route", "one route, \"PATTERN TARGET [DB-NAME-TEMPLATE]\", tried before those of --routes; repeatable (an array in --config)")
	fs.StringVar(&t.mssqlCreate, "mssql-create-options", "", "SQL Server only: options after CREATE DATABASE [name], e.g. (EDITION = 'GeneralPurpose', SERVICE_OBJECTIVE = 'GP_S_Gen5_2') on Azure SQL Database")
}

// open opens the target the DSN names, and describes it for the log.
func (t *targetFlags) open(ctx context.Context) (bulk.Target, string, error) {
	if !strings.Contains(t.dbName, "{ctx}") {
		return nil, "", fmt.Errorf("--db-name %q must contain {ctx}", t.dbName)
	}
	opts := target.Options{NameTemplate: t.dbName, MaxConnsPerTenant: t.poolPerTenant, MSSQLCreateOptions: t.mssqlCreate}
	if t.routes == "" && len(t.route) == 0 {
		return target.Open(ctx, t.dsn, opts)
	}
	fallback, err := target.Parse(t.dsn)
	if err != nil {
		return nil, "", err
	}
	routes, err := t.readRoutes()
	if err != nil {
		return nil, "", err
	}
	t.router = target.NewRouter(routes, target.Route{Pattern: "*", Spec: fallback}, opts)
	return t.router, fmt.Sprintf("%d routes, else %s", len(routes), fallback), nil
}

// readRoutes reads the --route routes, then those of the --routes file.
func (t *targetFlags) readRoutes() ([]target.Route, error) {
	routes, err := target.ParseRoutes(strings.NewReader(strings.Join(t.route, "\n")), "--route")
	if err != nil {
		return nil, err
	}
	if t.routes != "" {
		more, err := target.ReadRoutes(t.routes)
		if err != nil {
			return nil, err
		}
		routes = append(routes, more...)
	}
	return routes, nil
}

// reloadRoutes reads the --routes file again for the tenants opened from now on. A file that
// does not read keeps the routes in use.
func (t *targetFlags) reloadRoutes() (int, error) {
	if t.router == nil {
		return 0, nil
	}
	routes, err := t.readRoutes()
	if err != nil {
		return 0, err
	}
	t.router.SetRoutes(routes)
	return len(routes), nil
}
