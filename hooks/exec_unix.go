//go:build unix

package hooks

import (
	"os/exec"
	"syscall"
)

// killGroup starts the command in a process group of its own and makes the timeout kill the
// whole group, so that a shell script's children go with it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
