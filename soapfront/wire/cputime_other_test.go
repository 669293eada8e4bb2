//go:build !unix

package wire

import "time"

func processCPU() time.Duration { return 0 }
