package hooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// ExecHook is one --hook-exec: a command run for each event of one kind.
type ExecHook struct {
	Event   string
	Command string // split by SplitArgs; run without a shell
}

// ParseExecHook reads EVENT=COMMAND.
func ParseExecHook(s string) (ExecHook, error) {
	event, command, ok := strings.Cut(s, "=")
	event = strings.TrimSpace(event)
	if !ok || strings.TrimSpace(command) == "" {
		return ExecHook{}, fmt.Errorf("hook %q: want EVENT=COMMAND, EVENT one of %v", s, Events)
	}
	if err := CheckEvent(event); err != nil {
		return ExecHook{}, fmt.Errorf("hook %q: %w", s, err)
	}
	if _, err := SplitArgs(command); err != nil {
		return ExecHook{}, fmt.Errorf("hook %q: %w", s, err)
	}
	return ExecHook{Event: event, Command: command}, nil
}

// stderrKeep is how much of a failed command's stderr its error carries.
const stderrKeep = 1 << 10

// waitDelay bounds how long a command that exited is waited for when something it started
// still holds its stderr.
const waitDelay = 2 * time.Second

// runCommand runs argv with the event's JSON on stdin and the event in its environment, killed
// (with every process it started, where the system allows) after timeout.
func runCommand(ctx context.Context, argv []string, timeout time.Duration, ev Event, body []byte) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(body)
	cmd.Env = commandEnv(ev)
	stderr := &headWriter{max: stderrKeep}
	cmd.Stderr = stderr
	cmd.WaitDelay = waitDelay
	killGroup(cmd)
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// It exited well; something it left running keeps stderr open.
		err = nil
	}
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(stderr.String())
	switch {
	case ctx.Err() != nil:
		err = fmt.Errorf("%s: stopped, the call it ran for ended: %w", argv[0], context.Cause(ctx))
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("%s: killed after %s (--hook-timeout)", argv[0], timeout)
	default:
		err = fmt.Errorf("%s: %w", argv[0], err)
	}
	if msg != "" {
		return fmt.Errorf("%w: %s", err, msg)
	}
	return err
}

// commandEnv is mirrord's environment without its own MIRRORD_* settings (a DSN's password, the
// webhook secret), and the event.
func commandEnv(ev Event) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MIRRORD_") {
			env = append(env, kv)
		}
	}
	return append(env, "MIRRORD_EVENT="+ev.Event, "MIRRORD_TENANT="+ev.Tenant, "MIRRORD_TABLE="+ev.Table)
}

// headWriter keeps the first max bytes written to it and takes the rest without keeping it.
type headWriter struct {
	max int
	buf bytes.Buffer
}

func (w *headWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (w *headWriter) String() string { return strings.ToValidUTF8(w.buf.String(), "") }
