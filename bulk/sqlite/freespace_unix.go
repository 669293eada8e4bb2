//go:build unix

package sqlite

import "golang.org/x/sys/unix"

// FreeSpace is the space an unprivileged writer may still use on dir's file system.
func FreeSpace(dir string) (int64, bool) {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return 0, false
	}
	return int64(fs.Bavail) * int64(fs.Bsize), true
}
