#!/usr/bin/env bash
# make demo: one whole mirroring story on this machine with nothing but the two programs that
# make build put in ./bin. It makes keys, starts mirrord on the embedded SQLite target, creates
# a synthetic SuperOffice tenant, mirrors it, changes and alters it, mirrors again, verifies the
# mirror equal to the source, prints a summary and stops the server.
#
# Settings (environment): DEMO_DIR (default demo), DEMO_SCALE (rows, default 200000),
# DEMO_TENANT (default Cust12020), BIN (default bin).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin}
DIR=${DEMO_DIR:-demo}
SCALE=${DEMO_SCALE:-200000}
TENANT=${DEMO_TENANT:-Cust12020}
APP_ID=mirrord-demo

for b in mirrord mirrortask; do
	if [ ! -x "$BIN/$b" ]; then
		echo "demo: $BIN/$b is missing; run make build first" >&2
		exit 1
	fi
done

rm -rf "$DIR"
mkdir -p "$DIR"
started=$(date +%s)

echo "== keys: a partner key pair and a test SuperOffice certificate"
"$BIN/mirrord" keygen --dir "$DIR/keys" >/dev/null

echo "== mirrord serve on the embedded SQLite target ($DIR/mirrors)"
# Port 0 lets the system choose a free port; the server logs the address it got.
"$BIN/mirrord" serve --listen 127.0.0.1:0 --target "$DIR/mirrors" --app-id "$APP_ID" \
	--partner-key "$DIR/keys/partner.xml" --superoffice-cert "$DIR/keys/superoffice.crt" \
	2>"$DIR/mirrord.log" &
server=$!
stop() {
	if kill -0 "$server" 2>/dev/null; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
}
trap stop EXIT

addr=""
for _ in $(seq 1 100); do
	addr=$(sed -n 's/.*msg=serving .* listen=\([^ ]*\).*/\1/p' "$DIR/mirrord.log" | head -n 1)
	[ -n "$addr" ] && break
	if ! kill -0 "$server" 2>/dev/null; then
		echo "demo: mirrord exited:" >&2
		cat "$DIR/mirrord.log" >&2
		exit 1
	fi
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "demo: mirrord did not report its address; its log:" >&2
	cat "$DIR/mirrord.log" >&2
	exit 1
fi
host=${addr%:*}
port=${addr##*:}

# /readyz through bash's own /dev/tcp, so that no curl is needed.
ready() {
	local status
	exec 3<>"/dev/tcp/$host/$port" || return 1
	printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$addr" >&3
	read -r _ status _ <&3 || status=""
	exec 3<&- 3>&-
	[ "$status" = "200" ]
}
for _ in $(seq 1 100); do
	ready 2>/dev/null && break
	sleep 0.1
done
ready || { echo "demo: mirrord at $addr is not ready" >&2; cat "$DIR/mirrord.log" >&2; exit 1; }
url="http://$addr/mirroring"
echo "   listening on $url"

sync() {
	"$BIN/mirrortask" sync --source "$DIR/source.db" --url "$url" --app-id "$APP_ID" \
		--superoffice-cert "$DIR/keys/superoffice.crt" --superoffice-key "$DIR/keys/superoffice.key" \
		--partner-pub "$DIR/keys/partner.pub.pem" --batch-bytes 1000000 --parallel 4
}

echo "== a synthetic tenant $TENANT of about $SCALE rows"
"$BIN/mirrortask" init --source "$DIR/source.db" --scale "$SCALE" --seed 1 --tenant "$TENANT"

echo "== first cycle: every table is new to the mirror, so it is repopulated"
sync | tee "$DIR/sync1.txt" | tail -n 1

echo "== changes and schema changes at the source"
"$BIN/mirrortask" change --source "$DIR/source.db" --seed 2 --changes 5000
for kind in add-column widen-column change-type add-table; do
	"$BIN/mirrortask" alter --source "$DIR/source.db" --kind "$kind"
done
"$BIN/mirrortask" change --source "$DIR/source.db" --seed 3 --changes 2000

echo "== second cycle: changes since the mirror's LSN; the retyped table is recreated"
sync | tee "$DIR/sync2.txt" | grep -E ' full |^total' || true

echo "== verify: every table of the source against the mirror"
verified=no
if "$BIN/mirrortask" verify --source "$DIR/source.db" --target "sqlite://$DIR/mirrors" --tenant "$TENANT" >"$DIR/verify.txt"; then
	verified=yes
fi
tail -n 1 "$DIR/verify.txt"

first=$(tail -n 1 "$DIR/sync1.txt")
second=$(tail -n 1 "$DIR/sync2.txt")
field() { sed -n "s|.*, \([0-9.]*\) $2.*|\1|p" <<<"$1"; }
echo
echo "== summary"
echo "   tenant:          $TENANT ($DIR/source.db), mirror $DIR/mirrors"
echo "   first cycle:     $(field "$first" tables,) tables, $(field "$first" rows,) rows, $(field "$first" 'rows/s') rows/s"
echo "   second cycle:    $(field "$second" tables,) tables, $(field "$second" rows,) rows, $(field "$second" 'rows/s') rows/s"
echo "   verified equal:  $verified"
echo "   took:            $(($(date +%s) - started))s (server log: $DIR/mirrord.log)"
[ "$verified" = yes ] || { cat "$DIR/verify.txt"; exit 1; }
