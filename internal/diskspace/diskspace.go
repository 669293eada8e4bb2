// Package diskspace tells how much room a folder's file system has, where the system can say.
package diskspace

// Space is the room an unprivileged writer may still use on dir's file system (free) and the
// file system's size (total). ok is false where it cannot be known (no statfs, or dir is gone).
func Space(dir string) (free, total int64, ok bool) { return space(dir) }
