//go:build !unix

package main

import "time"

// processCPU is not measured here: the sweep prints its CPU column as "-".
func processCPU() (time.Duration, bool) { return 0, false }
