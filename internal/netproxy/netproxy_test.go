package netproxy

import (
	"bufio"
	"net"
	"testing"
	"time"
)

// echo serves lines back to each connection.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					if err != nil {
						return
					}
					c.Write(line)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestProxyCountsRoundTripsAndDelays(t *testing.T) {
	const delay = 20 * time.Millisecond
	p, err := Start(echo(t), delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	start := time.Now()
	for i := range 3 {
		// Two lines sent before the answers are read: one round trip, not two.
		if _, err := c.Write([]byte("a\nb\n")); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if line != "a\n" && line != "b\n" {
				t.Fatalf("round %d: got %q", i, line)
			}
		}
	}
	if took := time.Since(start); took < 3*2*delay {
		t.Errorf("3 round trips through a delay of %s each way took %s, less than %s", delay, took, 3*2*delay)
	}
	if n := p.RoundTrips(); n != 3 {
		t.Errorf("counted %d round trips, want 3", n)
	}
}

func TestStartURL(t *testing.T) {
	p, proxied, err := StartURL("postgres://u:pw@"+echo(t)+"/db?sslmode=disable", 5432, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if want := "postgres://u:pw@" + p.Addr() + "/db?sslmode=disable"; proxied != want {
		t.Errorf("got %s, want %s", proxied, want)
	}
	if _, _, err := StartURL("host=db port=5432", 5432, 0); err == nil {
		t.Error("a keyword DSN was taken for a URL")
	}
}
