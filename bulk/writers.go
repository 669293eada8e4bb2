package bulk

// WriterLimiter is implemented by a Mirror that writes only so many tables at once, such as a
// SQLite file, which has one writer. The caller sizes its own cap on a tenant's Applies from
// it, so that the tables over the cap wait in the caller, where their rows can be held aside
// (the engine spools them to disk), and not inside the mirror, where a waiting Apply would stop
// taking rows.
//
// That matters to a caller that feeds several Applies from one goroutine, as the engine feeds
// the tables of one call from one decoder: an Apply that waits inside the mirror blocks the
// feeder on its rows, while the Apply that writes waits for rows the feeder has not reached.
// Such a caller must never have more Applies of one mirror running than MaxWriters. Applies
// beyond it that come from goroutines of their own are still safe: they wait for a writer
// until their context ends.
//
// A Mirror that wraps another should implement it too, forwarding the wrapped one's answer.
type WriterLimiter interface {
	// MaxWriters is how many Applies this mirror takes at once; a Mirror that does not
	// implement WriterLimiter takes any number, and so does one that answers less than 1.
	MaxWriters() int
}
