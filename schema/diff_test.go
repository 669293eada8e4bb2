package schema

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected plans in testdata/diff_cases.json from what Diff returns")

const diffCasesFile = "testdata/diff_cases.json"

// diffCase is one schema change: the mirror's table (nil: none yet), the table the source
// describes, and the plan Diff must make. Columns are specs (see parseColumn).
type diffCase struct {
	Name    string       `json:"name"`
	Current []string     `json:"current"`
	Desired []string     `json:"desired"`
	Plan    expectedPlan `json:"plan"`
}

type expectedPlan struct {
	Action string   `json:"action"`
	Add    []string `json:"add,omitempty"`
	Widen  []string `json:"widen,omitempty"`
	Drop   []string `json:"drop,omitempty"`
	// Defaults are the specs of the columns whose default changes, each with its new default
	// (a spec without one drops it).
	Defaults []string `json:"defaults,omitempty"`
	// Reason lists texts a Recreate's Reason must contain: the column and both types, or the keys.
	Reason []string `json:"reason,omitempty"`
}

func TestDiffCases(t *testing.T) {
	cases := readDiffCases(t)
	if len(cases) < 40 {
		t.Fatalf("%s holds %d cases; the schema rules need at least 40", diffCasesFile, len(cases))
	}
	seen := make(map[string]bool, len(cases))
	for i := range cases {
		tc := &cases[i]
		if seen[tc.Name] {
			t.Fatalf("case %q appears twice", tc.Name)
		}
		seen[tc.Name] = true
		t.Run(tc.Name, func(t *testing.T) {
			desired := parseTable(t, "contact", tc.Desired)
			if _, err := desired.Validate(); err != nil {
				t.Fatalf("desired table is invalid: %v", err)
			}
			var current *Table
			if tc.Current != nil {
				c := parseTable(t, "contact", tc.Current)
				current = &c
			}
			plan := Diff(current, desired)
			got := expectedPlan{
				Action:   plan.Action.String(),
				Add:      formatColumns(plan.Add),
				Widen:    formatColumns(plan.Widen),
				Drop:     plan.Drop,
				Defaults: formatColumns(plan.Defaults),
				Reason:   tc.Plan.Reason,
			}
			if *update {
				tc.Plan = got
			}
			if !equalPlans(got, tc.Plan) {
				t.Errorf("plan:\n got  %s\n want %s", mustJSON(t, got), mustJSON(t, tc.Plan))
			}
			if !equalTables(plan.Desired, desired.Normalize()) {
				t.Errorf("plan.Desired = %v, want the normalized desired table %v", plan.Desired, desired.Normalize())
			}
			checkReason(t, plan, tc.Plan.Reason)
		})
	}
	if *update {
		writeDiffCases(t, cases)
	}
}

func checkReason(t *testing.T, plan Plan, want []string) {
	t.Helper()
	if plan.Action != Recreate {
		if plan.Reason != "" {
			t.Errorf("a %s plan has reason %q", plan.Action, plan.Reason)
		}
		return
	}
	if len(want) == 0 {
		t.Errorf("recreate case names no text its reason must hold; the reason is %q", plan.Reason)
	}
	for _, w := range want {
		if !strings.Contains(plan.Reason, w) {
			t.Errorf("reason %q does not contain %q", plan.Reason, w)
		}
	}
}

func equalPlans(a, b expectedPlan) bool {
	return a.Action == b.Action && slices.Equal(a.Add, b.Add) && slices.Equal(a.Widen, b.Widen) &&
		slices.Equal(a.Drop, b.Drop) && slices.Equal(a.Defaults, b.Defaults)
}

func equalTables(a, b Table) bool {
	return a.Name == b.Name && slices.Equal(a.Columns, b.Columns)
}

func readDiffCases(t *testing.T) []diffCase {
	t.Helper()
	data, err := os.ReadFile(diffCasesFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cases []diffCase
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("%s: %v", diffCasesFile, err)
	}
	return cases
}

// writeDiffCases writes one field a line, so that a case reads as a unit and an update shows
// as a small diff.
func writeDiffCases(t *testing.T, cases []diffCase) {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, tc := range cases {
		b.WriteString("  {\n")
		b.WriteString(`    "name": ` + mustJSON(t, tc.Name) + ",\n")
		b.WriteString(`    "current": ` + mustJSON(t, tc.Current) + ",\n")
		b.WriteString(`    "desired": ` + mustJSON(t, tc.Desired) + ",\n")
		b.WriteString(`    "plan": ` + mustJSON(t, tc.Plan) + "\n")
		b.WriteString("  }")
		if i < len(cases)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("]\n")
	if err := os.WriteFile(filepath.FromSlash(diffCasesFile), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.Replace(strings.TrimSuffix(b.String(), "\n"), `","`, `", "`, -1)
}
