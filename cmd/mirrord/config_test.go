package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mirrord.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func serveFlagSet() (*flag.FlagSet, *serveFlags) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	return fs, &f
}

// A flag wins over its environment variable, which wins over the file.
func TestConfigPrecedence(t *testing.T) {
	path := writeConfig(t, `
# settings of the service
app-id = "from-file"
listen = "127.0.0.1:9999"
max-applies = 7
max-body = "2MiB"
wait = "45s"
status-on-listen = true
pause = ["Cust1", "Cust2"]
`)
	t.Setenv("MIRRORD_LISTEN", "127.0.0.1:8888")
	fs, f := serveFlagSet()
	from, err := parseFlagsFrom(fs, []string{"--config", path, "--max-applies", "9"})
	if err != nil {
		t.Fatal(err)
	}
	if f.appID != "from-file" || f.listen != "127.0.0.1:8888" || f.maxApplies != 9 || f.maxBody != 2<<20 ||
		f.wait.String() != "45s" || !f.statusOnListen || strings.Join(f.pause, ",") != "Cust1,Cust2" {
		t.Fatalf("settings %+v", f)
	}
	for name, want := range map[string]string{"app-id": fromFile, "listen": "MIRRORD_LISTEN", "max-applies": fromFlag, "path": fromDefault} {
		if from[name] != want {
			t.Errorf("%s came from %q, want %q", name, from[name], want)
		}
	}
}

func TestConfigRefusesWhatIsNoSetting(t *testing.T) {
	for text, want := range map[string]string{
		`lisen = ":1"`:              `"lisen" is not a setting`,
		`max-applies = "many"`:      "max-applies",
		`listen = [":1", ":2"]`:     "takes one value",
		`pause = [1, 2]`:            "array of strings",
		"[routing]\ntarget = \"x\"": `"routing" is not a setting`,
		`app-id = "unterminated`:    "mirrord.toml",
	} {
		fs, _ := serveFlagSet()
		_, err := parseFlagsFrom(fs, []string{"--config", writeConfig(t, text)})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want one with %q", text, err, want)
		}
	}
	// A setting of serve that another command lacks is left alone there.
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var tf targetFlags
	tf.register(fs)
	if err := parseFlags(fs, []string{"--config", writeConfig(t, "listen = \":1\"\ntarget = \"/tmp/m\"\n")}); err != nil || tf.dsn != "/tmp/m" {
		t.Fatalf("status with serve's config: %v, target %q", err, tf.dsn)
	}
}

// --print-config masks secrets and reads back as the same settings.
func TestPrintConfigRoundTrip(t *testing.T) {
	fs, _ := serveFlagSet()
	from, err := parseFlagsFrom(fs, []string{"--target", "postgres://mirrord:s3cret@db/postgres?sslmode=require", "--pause", `Cust"1`,
		"--max-body", "3MiB", "--read-timeout", "2m", "--status-on-listen", "--route", "Cust12020 postgres://mirrord:s3cret@big-db/postgres Mirror_{ctx}"})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := printConfig(&out, fs, from); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if strings.Contains(text, "s3cret") {
		t.Fatalf("--print-config shows the password:\n%s", text)
	}
	for _, want := range []string{`max-body = "3MiB"  # flag`, `read-timeout = "2m0s"  # flag`, "status-on-listen = true  # flag", "max-applies = 16  # default",
		`route = ["Cust12020 postgres://mirrord:xxxxx@big-db/postgres Mirror_{ctx}"]  # flag`} {
		if !strings.Contains(text, want) {
			t.Fatalf("--print-config lacks %q:\n%s", want, text)
		}
	}
	again, f := serveFlagSet()
	if _, err := parseFlagsFrom(again, []string{"--config", writeConfig(t, text)}); err != nil {
		t.Fatalf("the printed settings do not read back: %v\n%s", err, text)
	}
	if f.maxBody != 3<<20 || f.readTimeout.String() != "2m0s" || !f.statusOnListen || len(f.pause) != 1 || f.pause[0] != `Cust"1` {
		t.Fatalf("read back as %+v", f)
	}
}
