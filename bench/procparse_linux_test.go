package bench

import (
	"testing"
	"time"
)

func TestProcStatCPU(t *testing.T) {
	// Fields after the name: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime stime ...
	const tail = " S 1 2 3 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 123 456 789"
	cases := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		{"plain name", "4242 (postgres)" + tail, 3 * time.Second, false},
		{"name with spaces and parentheses", "4242 (postgres: mirrord db (x) 127.0.0.1 COPY)" + tail, 3 * time.Second, false},
		{"zero", "7 (p) S 1 2 3 0 -1 0 0 0 0 0 0 0", 0, false},
		{"no name", "4242 postgres S 1 2", 0, true},
		{"too few fields", "4242 (postgres) S 1 2 3", 0, true},
		{"utime not a number", "4242 (p) S 1 2 3 0 -1 0 0 0 0 0 x 50", 0, true},
		{"stime not a number", "4242 (p) S 1 2 3 0 -1 0 0 0 0 0 250 y", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := procStatCPU(c.stat)
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("procStatCPU = %v, %v; want %v, error %v", got, err, c.want, c.wantErr)
			}
		})
	}
}
