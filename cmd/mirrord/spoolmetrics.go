package main

import (
	"os"

	"github.com/VictoriaMetrics/metrics"

	"github.com/mirrord/mirrord/internal/diskspace"
)

// registerSpoolMetrics exports the room left on the spool folder's file system, for the alert
// on the spool filling up: rows of tables waiting for a connection go there, and a full disk
// fails their calls. Nothing is exported where the room cannot be known.
func registerSpoolMetrics(set *metrics.Set, dir string) {
	if dir == "" {
		dir = os.TempDir()
	}
	if _, _, ok := diskspace.Space(dir); !ok {
		return
	}
	set.NewGauge(`mirrord_spool_free_bytes`, func() float64 {
		free, _, _ := diskspace.Space(dir)
		return float64(free)
	})
	set.NewGauge(`mirrord_spool_size_bytes`, func() float64 {
		_, total, _ := diskspace.Space(dir)
		return float64(total)
	})
}
