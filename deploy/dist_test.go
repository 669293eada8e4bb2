package deploy_test

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// TestDist runs `make dist` for one platform (this machine's, where it is a release platform) and
// checks what it leaves: the binaries by their names, SHA256SUMS listing exactly them with their
// sums, static binaries stamped with the version and commit, and `mirrord version` saying so.
func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: make dist builds two binaries")
	}
	lookTool(t, "bash", "make dist (scripts/dist.sh) is not run")
	const version, commit = "v0.0.0-disttest", "0123456789abcdef0123456789abcdef01234567"
	goos, goarch := "linux", "amd64"
	if runtime.GOOS == "linux" && runtime.GOARCH == "arm64" || runtime.GOOS == "windows" && runtime.GOARCH == "amd64" {
		goos, goarch = runtime.GOOS, runtime.GOARCH
	}
	ext := ""
	if goos == "windows" {
		ext = ".exe"
	}
	dir := t.TempDir()
	settings := []string{"VERSION=" + version, "COMMIT=" + commit, "DIST_DIR=" + dir, "PLATFORMS=" + goos + "/" + goarch}
	if _, err := exec.LookPath("make"); err == nil {
		run(t, root, nil, "make", append([]string{"--no-print-directory", "dist"}, settings...)...)
	} else {
		t.Log("make not found: running scripts/dist.sh itself")
		run(t, root, settings, "bash", "scripts/dist.sh")
	}

	var names []string
	for _, c := range []string{"mirrord", "mirrortask"} {
		names = append(names, c+"_"+version+"_"+goos+"_"+goarch+ext)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	want := append([]string{"SHA256SUMS"}, names...)
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("make dist left %v, want %v", got, want)
	}

	// SHA256SUMS: "<sum>  <name>", one line per binary, each sum that of the file.
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(readAbs(t, filepath.Join(dir, "SHA256SUMS"))), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS: %q is not \"<sha256>  <name>\"", line)
		}
		listed[strings.TrimPrefix(name, "*")] = sum
	}
	if len(listed) != len(names) {
		t.Errorf("SHA256SUMS lists %d files, want %d", len(listed), len(names))
	}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if listed[name] != hex.EncodeToString(sum[:]) {
			t.Errorf("SHA256SUMS gives %s for %s, its sum is %x", listed[name], name, sum)
		}

		// Built without cgo, for the platform of its name, without this machine's paths (-trimpath,
		// which also keeps -ldflags out of the build information).
		info, err := buildinfo.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := map[string]string{}
		for _, kv := range info.Settings {
			s[kv.Key] = kv.Value
		}
		if s["CGO_ENABLED"] != "0" || s["GOOS"] != goos || s["GOARCH"] != goarch || s["-trimpath"] != "true" {
			t.Errorf("%s: built with CGO_ENABLED=%s GOOS=%s GOARCH=%s -trimpath=%s", name, s["CGO_ENABLED"], s["GOOS"], s["GOARCH"], s["-trimpath"])
		}
		// mirrord carries the version and commit that -X stamped (mirrortask has no such variables).
		if strings.HasPrefix(name, "mirrord_") && (!bytes.Contains(b, []byte(version)) || !bytes.Contains(b, []byte(commit))) {
			t.Errorf("%s does not hold the version %s and commit %s", name, version, commit)
		}
		if goos == "linux" {
			f, err := elf.Open(filepath.Join(dir, name))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP {
					t.Errorf("%s asks for a dynamic loader: not static", name)
				}
			}
			f.Close()
		}
	}

	if goos != runtime.GOOS || goarch != runtime.GOARCH {
		t.Logf("%s/%s binaries do not run here: mirrord version not checked", goos, goarch)
		return
	}
	out, err := exec.Command(filepath.Join(dir, names[0]), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", names[0], err, out)
	}
	if want := "mirrord " + version + " (commit " + commit + ","; !strings.HasPrefix(string(out), want) {
		t.Errorf("%s version printed %q, want it to begin %q", names[0], out, want)
	}
}

func readAbs(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
