package bench

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mirrord/mirrord/internal/netproxy"
)

// delayedDSN is dsn sent through a netproxy.Proxy of delay, and the proxy.
func delayedDSN(tb testing.TB, dsn string, delay time.Duration) (string, *netproxy.Proxy) {
	p, proxied, err := netproxy.StartURL(dsn, 5432, delay)
	if err != nil {
		tb.Fatalf("the delay proxy needs a URL DSN (postgres://…): %v", err)
	}
	tb.Cleanup(p.Close)
	return proxied, p
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
