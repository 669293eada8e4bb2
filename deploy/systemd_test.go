package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	unitPath = "deploy/systemd/mirrord.service"
	envPath  = "deploy/systemd/mirrord.env"
)

// unitFile is a systemd unit: per section, each key's values in order.
type unitFile map[string]map[string][]string

func parseUnit(t *testing.T, text string) unitFile {
	t.Helper()
	u := unitFile{}
	section := ""
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[' && line[len(line)-1] == ']':
			section = line[1 : len(line)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: %q is not key=value in a section", unitPath, n+1, line)
			}
			k = strings.TrimSpace(k)
			u[section][k] = append(u[section][k], strings.TrimSpace(v))
		}
	}
	return u
}

// last is a key's effective value: the last assignment.
func (u unitFile) last(section, key string) (string, bool) {
	vs := u[section][key]
	if len(vs) == 0 {
		return "", false
	}
	return vs[len(vs)-1], true
}

// parseEnv reads the KEY=value lines of an EnvironmentFile, unquoting '…' and "…".
func parseEnv(t *testing.T, text string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`).MatchString(k) {
			t.Fatalf("%s:%d: %q is not NAME=value", envPath, n+1, line)
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	return env
}

// systemdDuration reads a systemd time span of the forms this unit uses: "90", "90s", "2min",
// "1min 30s".
func systemdDuration(s string) (time.Duration, error) {
	var total time.Duration
	units := map[string]time.Duration{"": time.Second, "s": time.Second, "sec": time.Second, "m": time.Minute, "min": time.Minute, "h": time.Hour, "hr": time.Hour, "ms": time.Millisecond}
	for _, part := range regexp.MustCompile(`(\d+)\s*([a-z]*)`).FindAllStringSubmatch(s, -1) {
		n, err := strconv.Atoi(part[1])
		if err != nil {
			return 0, err
		}
		unit, ok := units[part[2]]
		if !ok {
			return 0, &time.ParseError{Layout: "systemd time span", Value: s}
		}
		total += time.Duration(n) * unit
	}
	if total == 0 {
		return 0, &time.ParseError{Layout: "systemd time span", Value: s}
	}
	return total, nil
}

// serveFlags runs `mirrord serve -h` and returns each flag with its default ("" when it has none).
func serveFlags(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(mirrordBinary(t), "serve", "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("mirrord serve -h: %v\n%s", err, out)
	}
	flags := map[string]string{}
	name := ""
	for _, line := range strings.Split(string(out), "\n") {
		if m := regexp.MustCompile(`^  -([a-z0-9-]+)`).FindStringSubmatch(line); m != nil {
			name = m[1]
			flags[name] = ""
		}
		if m := regexp.MustCompile(`\(default "?([^")]*)"?\)$`).FindStringSubmatch(line); m != nil && name != "" {
			flags[name] = m[1]
		}
	}
	if len(flags) < 10 {
		t.Fatalf("read %d flags from mirrord serve -h:\n%s", len(flags), out)
	}
	return flags
}

func TestSystemdUnitFitsServe(t *testing.T) {
	u := parseUnit(t, readFile(t, unitPath))
	env := parseEnv(t, readFile(t, envPath))
	flags := serveFlags(t)

	// The unit runs mirrord serve as the dedicated user, with its settings from the env file.
	for _, want := range [][3]string{
		{"Service", "ExecStart", "/usr/local/bin/mirrord serve"},
		{"Service", "EnvironmentFile", "/etc/mirrord/mirrord.env"},
		{"Service", "User", "mirrord"},
		{"Service", "Restart", "on-failure"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "NoNewPrivileges", "true"},
		{"Service", "CapabilityBoundingSet", ""},
	} {
		if got, ok := u.last(want[0], want[1]); !ok || got != want[2] {
			t.Errorf("[%s] %s=%q, want %q", want[0], want[1], got, want[2])
		}
	}

	// Every variable of the example env file is a flag of serve.
	for k := range env {
		name := strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(k, "MIRRORD_")), "_", "-")
		if _, ok := flags[name]; !ok || !strings.HasPrefix(k, "MIRRORD_") {
			t.Errorf("%s: %s is not a flag of mirrord serve", envPath, k)
		}
	}
	for _, required := range []string{"MIRRORD_APP_ID", "MIRRORD_PARTNER_KEY", "MIRRORD_ENVIRONMENT", "MIRRORD_TARGET"} {
		if _, ok := env[required]; !ok {
			t.Errorf("%s does not show %s, which serve needs", envPath, required)
		}
	}

	// A stop lets calls drain for --shutdown-timeout: systemd must wait longer before SIGKILL.
	stopValue, ok := u.last("Service", "TimeoutStopSec")
	if !ok {
		t.Fatal("no TimeoutStopSec: systemd's default (90s, or DefaultTimeoutStopSec) may be shorter than mirrord's drain")
	}
	stop, err := systemdDuration(stopValue)
	if err != nil {
		t.Fatalf("TimeoutStopSec=%s: %v", stopValue, err)
	}
	drainValue := flags["shutdown-timeout"]
	if v, ok := env["MIRRORD_SHUTDOWN_TIMEOUT"]; ok {
		drainValue = v
	}
	drain, err := time.ParseDuration(drainValue)
	if err != nil {
		t.Fatalf("shutdown timeout %q: %v", drainValue, err)
	}
	if stop < drain+15*time.Second {
		t.Errorf("TimeoutStopSec=%s is not comfortably longer than the %s mirrord drains for", stopValue, drain)
	}

	// Under ProtectSystem=strict only the unit's own folders are writable: every folder mirrord
	// writes must be one of them.
	writable := []string{}
	for _, d := range u["Service"]["StateDirectory"] {
		writable = append(writable, "/var/lib/"+d)
	}
	for _, d := range u["Service"]["CacheDirectory"] {
		writable = append(writable, "/var/cache/"+d)
	}
	for _, d := range u["Service"]["ReadWritePaths"] {
		writable = append(writable, strings.Fields(d)...)
	}
	inWritable := func(p string) bool {
		for _, w := range writable {
			if p == w || strings.HasPrefix(p, w+"/") {
				return true
			}
		}
		return false
	}
	paths := map[string]string{"MIRRORD_SPOOL_DIR": env["MIRRORD_SPOOL_DIR"], "MIRRORD_CAPTURE_DIR": env["MIRRORD_CAPTURE_DIR"]}
	if target := env["MIRRORD_TARGET"]; !strings.Contains(target, "://") {
		paths["MIRRORD_TARGET"] = target
	} else if p, ok := strings.CutPrefix(target, "sqlite://"); ok {
		paths["MIRRORD_TARGET"] = p
	}
	if wd, ok := u.last("Service", "WorkingDirectory"); ok {
		paths["WorkingDirectory"] = wd
	}
	if _, set := env["MIRRORD_SPOOL_DIR"]; !set && u["Service"]["PrivateTmp"] != nil {
		t.Errorf("%s sets no MIRRORD_SPOOL_DIR: rows would spool to the private /tmp, which may be memory", envPath)
	}
	for what, p := range paths {
		if p == "" {
			continue
		}
		if !filepath.IsAbs(p) || !inWritable(filepath.Clean(p)) {
			t.Errorf("%s=%s: not under the unit's writable folders %v", what, p, writable)
		}
	}
}

// TestSystemdVerify runs systemd-analyze verify on the unit, with ExecStart pointing at a built
// mirrord (verify checks that the binary exists), and fails on anything it says of the unit.
func TestSystemdVerify(t *testing.T) {
	analyze := lookTool(t, "systemd-analyze", "the unit is not verified by systemd")
	dir := t.TempDir()
	bin := mirrordBinary(t)
	unit := readFile(t, unitPath)
	re := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/mirrord `)
	if !re.MatchString(unit) {
		t.Fatalf("%s: no ExecStart=/usr/local/bin/mirrord … to point at a built binary", unitPath)
	}
	unit = re.ReplaceAllLiteralString(unit, "ExecStart="+bin+" ")
	path := filepath.Join(dir, "mirrord.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	var about []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "mirrord.service") {
			about = append(about, line)
		}
	}
	if err != nil || len(about) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(out) > 0 {
		t.Logf("systemd-analyze verify said, of other units:\n%s", out)
	}
}
