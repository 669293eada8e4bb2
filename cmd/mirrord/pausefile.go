package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mirrord/mirrord/schema"
)

// pauseList answers whether a tenant is paused: the fixed --pause names and those of
// --pause-file, read again when the file changes (checked at each Authenticate) and on SIGHUP.
// A file that no longer reads or parses keeps the names read last, and says why through onError
// once per change.
type pauseList struct {
	fixed    map[string]bool
	fixedAll bool // --pause '*'
	path     string
	onError  func(error)

	mu       sync.Mutex
	fromFile map[string]bool
	all      bool      // the file has "*": every tenant is paused
	modified time.Time // of the file when last read
	size     int64
}

func newPauseList(fixed []string, path string, onError func(error)) (*pauseList, error) {
	p := &pauseList{fixed: map[string]bool{}, path: path}
	for _, t := range fixed {
		if t == "*" {
			p.fixedAll = true
			continue
		}
		if err := schema.CheckName("--pause tenant", t); err != nil {
			return nil, err
		}
		p.fixed[t] = true
	}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	p.onError = onError // from now on a broken file keeps the old names: say why
	return p, nil
}

// Paused is soapfront.Config's Paused.
func (p *pauseList) Paused(tenant string) bool {
	if p.fixedAll || p.fixed[tenant] {
		return true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.path != "" {
		if fi, err := os.Stat(p.path); err == nil && (!fi.ModTime().Equal(p.modified) || fi.Size() != p.size) {
			p.reloadLocked()
		}
	}
	return p.all || p.fromFile[tenant]
}

// Reload reads the file again whether or not it changed (SIGHUP). It returns the error that kept
// the old names, if any.
func (p *pauseList) Reload() error {
	if p.path == "" {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reloadLocked()
}

// reloadLocked reads the file. On failure it keeps the old names and remembers the file's time,
// so that a broken file is reported once, not at every call.
func (p *pauseList) reloadLocked() error {
	fi, statErr := os.Stat(p.path)
	names, all, err := readPauseFile(p.path)
	if statErr == nil {
		p.modified, p.size = fi.ModTime(), fi.Size()
	}
	if err != nil {
		if p.onError != nil {
			p.onError(err)
		}
		return err
	}
	p.fromFile, p.all = names, all
	return nil
}

// Count is how many tenants the list names, and whether it pauses all.
func (p *pauseList) Count() (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.fixed) + len(p.fromFile), p.fixedAll || p.all
}

// readPauseFile reads a pause file: one context identifier a line, "*" for every tenant; blank
// lines and lines starting with # are ignored, and so is anything after a " #".
func readPauseFile(path string) (names map[string]bool, all bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("--pause-file: %w", err)
	}
	defer f.Close()
	names = map[string]bool{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case line == "*":
			all = true
		default:
			if err := schema.CheckName("tenant", line); err != nil {
				return nil, false, fmt.Errorf("--pause-file %s, line %d: %w", path, n, err)
			}
			names[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("--pause-file %s: %w", path, err)
	}
	return names, all, nil
}
