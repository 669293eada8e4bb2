#!/usr/bin/env bash
# One end-to-end benchmark run: starts a fresh `mirrord serve` on PostgreSQL with the serve flags
# given as the first argument, runs `mirrortask bench` with the remaining arguments against it,
# stops mirrord, and prints one Markdown table row: bench flags, serve flags, mirrord rows/s with
# p50 and p99 call latency, the ratio to raw COPY, mirrord's peak RSS and the load average.
#
#   make build
#   MIRRORD_TEST_PG_DSN=postgres://user@127.0.0.1:5432/postgres?sslmode=disable \
#     scripts/bench-e2e.sh "--max-applies-per-tenant 4" --mode repopulation --rows 1000000 --tables 4 --parallel 4
set -euo pipefail
: "${MIRRORD_TEST_PG_DSN:?set MIRRORD_TEST_PG_DSN to a PostgreSQL DSN that may CREATE DATABASE}"
cd "$(dirname "$0")/.."
[ -x bin/mirrord ] && [ -x bin/mirrortask ] || { echo "bench-e2e: run make build first" >&2; exit 1; }
serveflags=$1
shift
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
bin/mirrord keygen --dir "$work/keys" >/dev/null
port=$((19000 + RANDOM % 1000))
# shellcheck disable=SC2086 # the serve flags are words
bin/mirrord serve --listen "127.0.0.1:$port" --target "$MIRRORD_TEST_PG_DSN" --app-id bench \
	--partner-key "$work/keys/partner.key" --superoffice-cert "$work/keys/superoffice.crt" \
	--log-level warn $serveflags 2>"$work/serve.log" &
pid=$!
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
	sleep 0.1
done
out=$(bin/mirrortask bench --url "http://127.0.0.1:$port/mirroring" --app-id bench \
	--superoffice-cert "$work/keys/superoffice.crt" --superoffice-key "$work/keys/superoffice.key" \
	--partner-pub "$work/keys/partner.pub.pem" --pg "$MIRRORD_TEST_PG_DSN" --mirrord-pid "$pid" "$@" 2>&1) ||
	{ echo "$out" >&2; exit 1; }
rate=$(sed -n 's/^mirrord: .* \([0-9]*\) rows\/s.*call latency p50 \([^,]*\), p99 \([^,]*\),.*/\1, \2, \3/p' <<<"$out")
ratio=$(sed -n 's/^ratios: mirrord\/raw COPY rows\/s = \([0-9.]*%\).*/\1/p' <<<"$out")
rss=$(sed -n 's/.*VmHWM of pid [0-9]*): \([0-9]*\) kB.*/\1/p' <<<"$out")
echo "| $* | ${serveflags:-defaults} | $rate | $ratio | $((rss / 1024)) MiB | $(cut -d' ' -f1 /proc/loadavg) |"
