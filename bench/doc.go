// Package bench holds mirrord's benchmarks: apply strategies side by side against the database's own bulk-load limit.
package bench
