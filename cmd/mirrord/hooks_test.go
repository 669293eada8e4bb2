package main

import (
	"flag"
	"io"
	"slices"
	"testing"

	"github.com/mirrord/mirrord/hooks"
)

func TestHookFlagsFromEnvironment(t *testing.T) {
	t.Setenv("MIRRORD_HOOK_EXEC", "table.before=/bin/sh -c 'echo a, b; echo \"c;\"' \\; ; cycle.completed=true\n\ncall.failed=x")
	t.Setenv("MIRRORD_WEBHOOK", "http://a.example/h,https://b.example/h")
	t.Setenv("MIRRORD_HOOK_TIMEOUT", "5s")
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var f serveFlags
	f.register(fs)
	if err := parseFlags(fs, []string{"--hook-exec", "call.failed=logger -t mirrord"}); err != nil {
		t.Fatal(err)
	}
	// The command line wins over the environment, as for every flag.
	if len(f.hooks.exec) != 1 || f.hooks.exec[0] != (hooks.ExecHook{Event: hooks.CallFailed, Command: "logger -t mirrord"}) {
		t.Fatalf("--hook-exec = %+v", f.hooks.exec)
	}
	if len(f.hooks.webhooks) != 2 || f.hooks.timeout.String() != "5s" {
		t.Fatalf("webhooks %v, timeout %s", f.hooks.webhooks, f.hooks.timeout)
	}

	fs = flag.NewFlagSet("serve", flag.ContinueOnError)
	f = serveFlags{}
	f.register(fs)
	if err := parseFlags(fs, nil); err != nil {
		t.Fatal(err)
	}
	want := []hooks.ExecHook{{Event: hooks.TableBefore, Command: `/bin/sh -c 'echo a, b; echo "c;"' \;`}, {Event: hooks.CycleCompleted, Command: "true"}, {Event: hooks.CallFailed, Command: "x"}}
	if !slices.Equal(f.hooks.exec, want) {
		t.Fatalf("MIRRORD_HOOK_EXEC gave %+v, want %+v", f.hooks.exec, want)
	}

	for _, bad := range []string{"table.after=true", "table.before", "table.before=", "table.before=a | b"} {
		fs = flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f = serveFlags{}
		f.register(fs)
		if err := parseFlags(fs, []string{"--hook-exec", bad}); err == nil {
			t.Errorf("--hook-exec %q was accepted", bad)
		}
	}
}
