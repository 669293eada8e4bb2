package bench

import "testing"

func TestVmHWM(t *testing.T) {
	cases := []struct {
		name   string
		status string
		want   uint64
		ok     bool
	}{
		{"typical", "Name:\tbench.test\nVmPeak:\t 2000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t 1024 kB\n", 40960 << 10, true},
		{"last line without newline", "Name:\tx\nVmHWM:\t12 kB", 12 << 10, true},
		{"absent", "Name:\tx\nVmRSS:\t12 kB\n", 0, false},
		{"no unit", "VmHWM:\t12\n", 0, false},
		{"not a number", "VmHWM:\tlots kB\n", 0, false},
		{"empty", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := vmHWM(c.status)
			if got != c.want || ok != c.ok {
				t.Fatalf("vmHWM = %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
