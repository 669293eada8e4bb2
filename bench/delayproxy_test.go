package bench

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/internal/netproxy"
)

// delayedDSN is dsn sent through a netproxy.Proxy of delay, and the proxy.
func delayedDSN(tb testing.TB, dsn string, delay time.Duration) (string, *netproxy.Proxy) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := netproxy.Start(net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)), delay)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.Close)
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		tb.Fatalf("the delay proxy needs a URL DSN (postgres://…), not %q", dsn)
	}
	u.Host = p.Addr()
	return u.String(), p
}

// roundTrip is the median time of a trivial query on dsn: the network's round trip as the
// database's clients see it.
func roundTrip(ctx context.Context, dsn string) (time.Duration, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	times := make([]time.Duration, 0, 51)
	for range cap(times) {
		start := time.Now()
		if _, err := conn.Exec(ctx, "SELECT 1"); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[len(times)/2], nil
}
