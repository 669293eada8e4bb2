//go:build unix

package wire

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used, so that a benchmark on a shared
// machine can report its rate per core rather than per second of wall clock.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
