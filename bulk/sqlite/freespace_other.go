//go:build !unix

package sqlite

// FreeSpace is unknown on systems without statfs; the check then leaves it out.
func FreeSpace(dir string) (int64, bool) { return 0, false }
