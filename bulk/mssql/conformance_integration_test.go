package mssql

import (
	"testing"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/bulk/bulktest"
)

// TestConformance runs the shared target suite against MIRRORD_TEST_MSSQL_DSN, on mirror
// databases of the server's default collation.
func TestConformance(t *testing.T) {
	// SQL Server keeps 100 ns, the offset of a datetimeoffset and U+0000 in strings; whether a
	// float keeps -0 has not been measured against a live server.
	conformance(t, Options{}, bulktest.Limits{KeepsOffset: true, NulInText: true, NoFloatSpecials: true, AllDefaults: true})
}

// TestConformanceUTF8 runs the suite again on mirror databases created with a UTF-8 collation
// (SQL Server 2019 and later): varchar holds any character there, so the character keys include
// emoji and letters outside code page 1252, and text and ntext columns take a collation without
// the flags (legacyCollation).
func TestConformanceUTF8(t *testing.T) {
	conformance(t, Options{CreateOptions: "COLLATE Latin1_General_100_CI_AS_SC_UTF8"},
		bulktest.Limits{KeepsOffset: true, NulInText: true, NoFloatSpecials: true, VarcharUnicode: true, AllDefaults: true})
}

func conformance(t *testing.T, base Options, limits bulktest.Limits) {
	dsn := testDSN(t)
	templates := map[bulk.Target]Options{}
	bulktest.Run(t, bulktest.Harness{
		Open: func(t *testing.T) bulk.Target {
			prefix := uniquePrefix()
			opts := base
			opts.NameTemplate = prefix + "{ctx}"
			target, err := Open(t.Context(), dsn, opts)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			templates[target] = opts
			t.Cleanup(func() { dropDatabases(t, dsn, prefix) })
			return target
		},
		Reopen: func(t *testing.T, old bulk.Target) bulk.Target {
			opts := templates[old]
			target, err := Open(t.Context(), dsn, opts)
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			templates[target] = opts
			return target
		},
		ExecSQL: execSQL,
		Limits:  limits,
	})
}
