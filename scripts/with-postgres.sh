#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: installs PostgreSQL where it is missing,
# initdb's a cluster in a temporary folder, exports MIRRORD_TEST_PG_DSN, and stops and removes the
# cluster when the command ends. An existing MIRRORD_TEST_PG_DSN is used as it is.
set -euo pipefail

if [ -n "${MIRRORD_TEST_PG_DSN:-}" ]; then
	exec "$@"
fi

find_bin() {
	ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
	echo "with-postgres: PostgreSQL not found; installing it with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
	bin=$(find_bin)
fi
[ -x "$bin/initdb" ] || { echo "with-postgres: no initdb after install" >&2; exit 1; }

dir=$(mktemp -d /tmp/mirrord-pg.XXXXXX)
port=${MIRRORD_TEST_PG_PORT:-$((20000 + RANDOM % 20000))}
run_as=()
if [ "$(id -u)" = 0 ]; then
	chown postgres:postgres "$dir" 2>/dev/null || { useradd -r postgres && chown postgres:postgres "$dir"; }
	run_as=(runuser -u postgres --)
fi

cleanup() {
	"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U mirrord -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; exit 1; }
"${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -o \
	"-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=256MB" \
	start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export MIRRORD_TEST_PG_DSN="postgres://mirrord@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port" >&2
"$@"
