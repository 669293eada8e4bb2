// Package target opens a bulk.Target from a --target string: a folder or sqlite:// (or file://)
// URL for SQLite, postgres:// or postgresql:// for PostgreSQL, sqlserver:// for SQL Server.
package target

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/mssql"
	"github.com/mirrord/mirrord/bulk/pgsql"
	"github.com/mirrord/mirrord/bulk/sqlite"
)

// Kind is the database a --target string names.
type Kind string

const (
	SQLite     Kind = "sqlite"
	PostgreSQL Kind = "postgres"
	SQLServer  Kind = "sqlserver"
)

// Spec is a --target string read.
type Spec struct {
	Kind Kind
	// Dir is the folder of a SQLite target.
	Dir string
	// DSN is the server's DSN of a PostgreSQL or SQL Server target, as given: it may hold
	// secrets, so only String (or Redact) may reach a log.
	DSN string
}

// Parse reads a --target string.
func Parse(spec string) (Spec, error) {
	spec = strings.TrimSpace(spec)
	scheme, _, hasScheme := strings.Cut(spec, "://")
	if !hasScheme {
		scheme = ""
	}
	switch strings.ToLower(scheme) {
	case "", "sqlite", "file":
		dir := spec
		if hasScheme {
			u, err := url.Parse(spec)
			if err != nil {
				return Spec{}, fmt.Errorf("--target %q: %v", spec, err)
			}
			dir = u.Host + u.Path
		}
		if dir == "" {
			return Spec{}, fmt.Errorf("--target %q names no folder", spec)
		}
		return Spec{Kind: SQLite, Dir: dir}, nil
	case "postgres", "postgresql":
		return Spec{Kind: PostgreSQL, DSN: spec}, nil
	case "sqlserver":
		return Spec{Kind: SQLServer, DSN: spec}, nil
	}
	return Spec{}, fmt.Errorf("--target %q: unknown scheme %q (want a folder, sqlite://, postgres:// or sqlserver://)", Redact(spec), scheme)
}

// String describes the target for logs, with no secret: "sqlite <folder>", "postgres <DSN>" or
// "sqlserver <DSN>".
func (s Spec) String() string {
	if s.Kind == SQLite {
		return string(s.Kind) + " " + s.Dir
	}
	return string(s.Kind) + " " + Redact(s.DSN)
}

// Options say how to open a target. The zero value takes each target's defaults.
type Options struct {
	// NameTemplate names a tenant's mirror database, {ctx} standing for the tenant; a SQLite
	// file's name is the template and ".db". Empty takes the target's default (Mirror_{ctx}).
	NameTemplate string
	// MaxConnsPerTenant caps the connections of a tenant's database (PostgreSQL, SQL Server);
	// zero takes the target's default.
	MaxConnsPerTenant int32
	// MSSQLCreateOptions follow CREATE DATABASE [name] on SQL Server (mssql.Options.CreateOptions).
	MSSQLCreateOptions string
}

// Open opens the target spec names, and returns it with its description for logs (Spec.String).
func Open(ctx context.Context, spec string, opts Options) (bulk.Target, string, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, "", err
	}
	t, err := s.Open(ctx, opts)
	if err != nil {
		return nil, "", err
	}
	return t, s.String(), nil
}

// Open opens the target s names.
func (s Spec) Open(ctx context.Context, opts Options) (bulk.Target, error) {
	// Each case returns its own nil on failure: a nil *Target is not a nil bulk.Target.
	switch s.Kind {
	case SQLite:
		file := ""
		if opts.NameTemplate != "" {
			file = opts.NameTemplate + ".db"
		}
		t, err := sqlite.Open(s.Dir, sqlite.Options{NameTemplate: file})
		if err != nil {
			return nil, err
		}
		return t, nil
	case PostgreSQL:
		t, err := pgsql.Open(ctx, s.DSN, pgsql.Options{NameTemplate: opts.NameTemplate, MaxConnsPerTenant: opts.MaxConnsPerTenant})
		if err != nil {
			return nil, err
		}
		return t, nil
	case SQLServer:
		t, err := mssql.Open(ctx, s.DSN, mssql.Options{NameTemplate: opts.NameTemplate, MaxConnsPerTenant: opts.MaxConnsPerTenant, CreateOptions: opts.MSSQLCreateOptions})
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("target kind %q is none of sqlite, postgres and sqlserver", s.Kind)
}

// Redact hides the secrets of a DSN (the URL's password, and query parameters such as password
// or clientassertion) so that they never reach a log.
func Redact(dsn string) string { return mssql.RedactDSN(dsn) }
