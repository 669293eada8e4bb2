package bulktest

import (
	"os"
	"testing"
)

// Golden compares got, with a newline added, to the golden file at path; with update it
// rewrites the file instead. Targets keep their exact SQL text in such files.
func Golden(t *testing.T, path, got string, update bool) {
	t.Helper()
	got += "\n"
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}
