// Package deploy_test checks the files under deploy/ against mirrord itself: the dashboard's and
// the alerts' queries name only metrics mirrord exports, the rules load in promtool, the systemd
// unit verifies and fits serve's flags, and `make dist` builds what it says.
package deploy_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// root is the repository's top folder, seen from this package's folder.
const root = ".."

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// lookTool finds a command on PATH, or skips the test saying what is missing and what goes
// unchecked.
func lookTool(t *testing.T, name, unchecked string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found on PATH, so %s", name, unchecked)
	}
	return p
}

// run runs a command and fails the test with its output when it fails.
func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	// A make that runs this test (make test) passes its flags and command-line variables down
	// in MAKEFLAGS; a make run here must not take them.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
	buildOut  []byte
	buildDir  string
)

// mirrordBinary builds cmd/mirrord for this machine once per test run and returns its path.
func mirrordBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "mirrord-deploy-test-")
		if buildErr != nil {
			return
		}
		builtPath = filepath.Join(buildDir, "mirrord")
		cmd := exec.Command("go", "build", "-o", builtPath, "./cmd/mirrord")
		cmd.Dir = root
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("go build ./cmd/mirrord: %v\n%s", buildErr, buildOut)
	}
	return builtPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}
