package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadPauseFile(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
		all        bool
		err        string
	}{
		{name: "empty", text: ""},
		{name: "names and comments", text: "# maintenance\nCust1\n\n  Cust2   # until noon\n#Cust3\n", want: []string{"Cust1", "Cust2"}},
		{name: "all", text: "Cust1\n*\n", want: []string{"Cust1"}, all: true},
		{name: "bad name", text: "Cust1\nCust-2\n", err: "line 2"},
		{name: "two names on a line", text: "Cust1 Cust2\n", err: "line 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "paused")
			if err := os.WriteFile(path, []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			names, all, err := readPauseFile(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %v, want one naming %s and %q", err, path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if all != tc.all || len(names) != len(tc.want) {
				t.Fatalf("got %v all=%v, want %v all=%v", names, all, tc.want, tc.all)
			}
			for _, n := range tc.want {
				if !names[n] {
					t.Fatalf("%s not paused: %v", n, names)
				}
			}
		})
	}
}

func TestPauseListStartsOnlyWithAGoodFile(t *testing.T) {
	if _, err := newPauseList(nil, filepath.Join(t.TempDir(), "missing"), nil); err == nil {
		t.Fatal("a missing pause file was accepted at start")
	}
	if _, err := newPauseList([]string{"bad name"}, "", nil); err == nil {
		t.Fatal("a bad --pause name was accepted")
	}
	p, err := newPauseList([]string{"*"}, "", nil)
	if err != nil || !p.Paused("anyone") {
		t.Fatalf("--pause '*' does not pause everyone: %v", err)
	}
}
