// Package netproxy forwards TCP connections to a server, optionally holding every byte back for
// a while each way, and counts the round trips the clients make: what a database across a
// network costs, measured on one machine.
package netproxy

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy listens on a loopback port and forwards each connection to its server.
type Proxy struct {
	ln     net.Listener
	server string
	delay  time.Duration
	turns  atomic.Int64
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

// Start listens on 127.0.0.1 and forwards connections to server (host:port), every byte held
// back by delay in each direction (0 for none): a network whose round trip is twice delay, plus
// the timer's resolution (on Linux, sleeps under a millisecond take about one).
func Start(server string, delay time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, server: server, delay: delay}
	p.wg.Go(p.accept)
	return p, nil
}

// StartURL starts a proxy for the server a URL names (its port, or defaultPort when it names
// none) and returns the URL with the proxy in the server's place.
func StartURL(rawURL string, defaultPort int, delay time.Duration) (*Proxy, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("netproxy: %q is not a URL naming a server", rawURL)
	}
	server := u.Host
	if u.Port() == "" {
		server = net.JoinHostPort(u.Hostname(), strconv.Itoa(defaultPort))
	}
	p, err := Start(server, delay)
	if err != nil {
		return nil, "", err
	}
	u.Host = p.Addr()
	return p, u.String(), nil
}

// Addr is the host:port clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// RoundTrips counts the times, over all connections, that a client sent after the server had
// answered (or sent first): each is a round trip the client waited for, however many messages
// it carried. Bytes arriving in several reads in one direction count once.
func (p *Proxy) RoundTrips() int64 { return p.turns.Load() }

// Close stops listening and closes every connection.
func (p *Proxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.server)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		if p.closed { // Close has passed the connections already
			p.mu.Unlock()
			client.Close()
			server.Close()
			return
		}
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		// serverSpoke is whether the last bytes of this connection went to the client.
		serverSpoke := &atomic.Bool{}
		serverSpoke.Store(true)
		p.wg.Go(func() {
			p.forward(server, client, func() {
				if serverSpoke.Swap(false) {
					p.turns.Add(1)
				}
			})
		})
		p.wg.Go(func() { p.forward(client, server, func() { serverSpoke.Store(true) }) })
	}
}

// delayed is bytes read at one time, to be written delay later.
type delayed struct {
	data []byte
	due  time.Time
}

// forward copies src to dst, calling read on every read, and writes each read's bytes delay
// after it was read. A reader and a writer run apart, so that bytes keep arriving while earlier
// ones wait: the delay is latency, not a pause of the stream.
func (p *Proxy) forward(dst, src net.Conn, read func()) {
	queue := make(chan delayed, 4096)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for d := range queue {
			if wait := time.Until(d.due); wait > 0 {
				time.Sleep(wait)
			}
			if _, err := dst.Write(d.data); err != nil {
				for range queue {
				}
				return
			}
		}
		if tcp, ok := dst.(*net.TCPConn); ok {
			tcp.CloseWrite()
		}
	}()
	for {
		buf := make([]byte, 64<<10)
		n, err := src.Read(buf)
		if n > 0 {
			read()
			queue <- delayed{data: buf[:n], due: time.Now().Add(p.delay)}
		}
		if err != nil {
			break
		}
	}
	close(queue)
	<-done
}
