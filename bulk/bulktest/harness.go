// Package bulktest is the conformance suite that every bulk.Target must pass, run from each
// target's own tests.
//
// Run drives a target through everything the engine asks of one: opening mirrors, migrations of
// every kind (in place, recreate, defaults), wipes, drops and invalidations, the cycle's
// bookkeeping, applies of every value type in every column set (fresh and incremental, keys sent
// twice, partial updates, deletes of missing keys), exact counts, LSN rules, concurrent applies,
// names that could collide with the target's own objects, and a partner's objects left alone. It
// reads every mirror back through the target's bulk.Inspector and compares each value with what
// was written, as the target's Kept says it keeps it, and holds the target to the Limits it
// declares: a departure from an exact round trip fails unless it is declared, and a declared one
// fails unless it is there. The same suite runs against an in-memory reference model.
package bulktest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mirrord/mirrord/bulk"
	"github.com/mirrord/mirrord/schema"
)

// Harness is what a target's test file gives Run.
//
// Open (required) returns a new Target over a namespace of its own: a fresh folder, or a database
// name prefix with a random suffix, so that the fixed tenant names the suite uses (CustOpen,
// CustMain, …) cannot meet another test's databases. The suite closes the Target (and every
// Mirror it opens); Open registers with t.Cleanup whatever removes the namespace afterwards
// (dropping the databases), which then runs after the suite's own Close.
//
// Every Mirror the targets open must be a bulk.Inspector: the suite reads tables back with its
// ReadRows (a partner's own table too), and checks that each value read back is what Kept says
// the mirror keeps of the value written.
//
// ExecSQL (optional) runs one statement of the target's SQL in the tenant database of m. The
// suite uses it for portable statements only (CREATE TABLE and INSERT with double-quoted names,
// types INT and VARCHAR(n), and SELECT COUNT(*)). Without it the partner-table subtests skip.
//
// Reopen (optional) returns a new Target over the same namespace as old, which the suite has
// closed, as a restarted mirrord would see it. Without it the restart subtest skips.
//
// Limits declares what the target cannot hold exactly. The zero value means it holds every value
// exactly except U+0000 in strings and the sign of a float zero (set NulInText and SignedZero
// when it can).
type Harness struct {
	Open    func(t *testing.T) bulk.Target
	ExecSQL func(ctx context.Context, m bulk.Mirror, sql string) error
	Reopen  func(t *testing.T, old bulk.Target) bulk.Target
	Limits  Limits
}

// Limits are a target's documented departures from exact round trips. The suite asserts exactly
// the declared behaviour, so a limit that is declared but absent fails as well as one that is
// present but not declared (except for TimePrecision, where a finer target also passes only if
// it declares its real precision).
type Limits struct {
	// TimePrecision is the finest fraction of a second that time, datetime2 and datetimeoffset
	// keep: 0 means 100 ns, the SQL Server unit; PostgreSQL keeps time.Microsecond. Finer digits
	// are truncated (toward the past), never rounded.
	TimePrecision time.Duration
	// KeepsOffset says a datetimeoffset comes back in its own offset. Without it the same
	// instant comes back, in any zone.
	KeepsOffset bool
	// NulInText says strings may hold U+0000. Without it Apply of such a string fails with an
	// error that names the table and the column, and writes nothing.
	NulInText bool
	// SignedZero says float and real keep -0 apart from 0. Without it -0 comes back as 0.
	SignedZero bool
	// NoFloatSpecials says float cannot hold INF, -INF or NaN (SQL Server): the round trip
	// leaves them out, and one apply of such a value must fail and write nothing.
	NoFloatSpecials bool
	// AllDefaults says the database evaluates every SQL Server default itself (SQL Server):
	// none is kept in the state table alone.
	AllDefaults bool
	// VarcharUnicode says char and varchar hold any character (a UTF-8 database), so that the
	// character key test also sends keys outside code page 1252 ("A😀", "Łódź"). Without it
	// the test sends keys of code page 1252 only, which every target must keep apart.
	VarcharUnicode bool
}

// Run runs the conformance suite against the targets that h opens.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("bulktest: the Harness needs Open")
	}
	target := h.Open(t)
	t.Cleanup(func() {
		if err := target.Close(); err != nil {
			t.Errorf("closing the target: %v", err)
		}
	})
	s := &suite{h: h, target: target}
	main := s.mirror(t, "CustMain")
	t.Run("Open", s.testOpen)
	t.Run("PartnerTables", s.testPartnerTables)
	t.Run("Migrate", func(t *testing.T) { s.testMigrate(t, main) })
	t.Run("RoundTrip", func(t *testing.T) { s.testRoundTrip(t, main) })
	t.Run("CompositeKey", func(t *testing.T) { s.testCompositeKey(t, main) })
	t.Run("CharKeys", func(t *testing.T) { s.testCharKeys(t, main) })
	t.Run("NulInText", func(t *testing.T) { s.testNulInText(t, main) })
	t.Run("FloatSpecials", func(t *testing.T) { s.testFloatSpecials(t, main) })
	t.Run("Apply", func(t *testing.T) { s.testApply(t, main) })
	t.Run("EmptyLoad", func(t *testing.T) { s.testEmptyLoad(t, main) })
	t.Run("NoKey", func(t *testing.T) { s.testNoKey(t, main) })
	t.Run("Atomicity", func(t *testing.T) { s.testAtomicity(t, main) })
	t.Run("SchemaAgreement", func(t *testing.T) { s.testSchemaAgreement(t, main) })
	t.Run("LSNRules", func(t *testing.T) { s.testLSNRules(t, main) })
	t.Run("Counts", func(t *testing.T) { s.testCounts(t, main) })
	t.Run("Cycle", s.testCycle)
	t.Run("ReservedNames", func(t *testing.T) { s.testReservedNames(t, main) })
	t.Run("Defaults", func(t *testing.T) { s.testDefaults(t, main) })
	t.Run("WipeDropInvalidate", s.testWipeDropInvalidate)
	t.Run("Concurrency", s.testConcurrency)
}

// ReadAll reads every row of table in m, which must be a bulk.Inspector, into memory: for tests,
// whose tables are small.
func ReadAll(ctx context.Context, m bulk.Mirror, table schema.Table) ([][]any, error) {
	ins, ok := m.(bulk.Inspector)
	if !ok {
		return nil, fmt.Errorf("mirror %T cannot read its tables back: it is not a bulk.Inspector", m)
	}
	var rows [][]any
	err := ins.ReadRows(ctx, table, func(values []any) error {
		rows = append(rows, slices.Clone(values))
		return nil
	})
	return rows, err
}
