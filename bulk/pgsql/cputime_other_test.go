//go:build !unix

package pgsql

import "time"

// processCPU is not measured here; the benchmarks then report 0 CPU per row.
func processCPU() time.Duration { return 0 }
