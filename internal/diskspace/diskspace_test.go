package diskspace

import (
	"runtime"
	"testing"
)

func TestSpace(t *testing.T) {
	free, total, ok := Space(t.TempDir())
	if !ok {
		if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
			t.Skip("no statfs here")
		}
		t.Fatal("no space known for a temporary folder")
	}
	if free <= 0 || total <= 0 || free > total {
		t.Fatalf("free %d of %d", free, total)
	}
	if _, _, ok := Space("/nonexistent/folder"); ok {
		t.Fatal("space known for a folder that does not exist")
	}
}
